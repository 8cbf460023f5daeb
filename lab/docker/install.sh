#!/usr/bin/env bash
# Installs what the lab's Docker stack needs from Debian: docker.io (dockerd, containerd, runc,
# the client at /usr/bin/docker), docker-compose (v1.29.2), debootstrap (image rootfs), skopeo
# (pushes in the smoke test), curl. No system-wide daemon may be left running: the package
# scripts are told not to start services (policy-rc.d exiting 101), and any dockerd/containerd
# they started anyway is stopped by the PID in its pidfile. Idempotent.
set -euo pipefail

PKGS=(docker.io docker-compose debootstrap skopeo curl e2fsprogs util-linux iproute2)

missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f '${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

policy=/usr/sbin/policy-rc.d
ours=0
cleanup() {
  if [ "$ours" = 1 ]; then rm -f "$policy"; fi
}
trap cleanup EXIT

if [ "${#missing[@]}" -gt 0 ]; then
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\n# harbor-assistant lab: no service starts during this install\nexit 101\n' > "$policy"
    chmod 0755 "$policy"
    ours=1
  fi
  echo "install.sh: installing ${missing[*]}"
  # `apt-get update` only when the lists are missing or older than a day
  if [ -z "$(find /var/lib/apt/lists -maxdepth 1 -name '*Packages*' -mtime -1 -print -quit 2>/dev/null)" ]; then
    apt-get update -qq
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "install.sh: all packages present"
fi

# A daemon the packages started (policy-rc.d should have prevented it): stop it by its pidfile's PID.
stop_pidfile() {
  local name=$1 pidfile=$2 pid comm
  [ -f "$pidfile" ] || return 0
  pid=$(cat "$pidfile" 2>/dev/null || true)
  [[ "$pid" =~ ^[0-9]+$ ]] || return 0
  [ -d "/proc/$pid" ] || return 0
  comm=$(cat "/proc/$pid/comm" 2>/dev/null || true)
  [ "$comm" = "$name" ] || return 0
  echo "install.sh: stopping system $name (pid $pid) started by the package" >&2
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 100); do [ -d "/proc/$pid" ] || return 0; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
}
stop_pidfile dockerd /var/run/docker.pid
stop_pidfile containerd /run/containerd/containerd.pid
# containerd's init script may have started it without a pidfile: find one whose parent is init
# and whose socket is the default one, by PID (never by name alone).
for pid in $(ps -eo pid=,comm= | awk '$2 == "containerd" || $2 == "dockerd" { print $1 }'); do
  args=$(tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null || true)
  case "$args" in
    *halab*) ;;  # the lab's own per-node daemons: not ours to touch here
    *) echo "install.sh: WARNING: a system daemon is running: pid $pid: $args" >&2 ;;
  esac
done

# sanity: the Debian client, not the static one in /usr/local/bin
/usr/bin/docker --version
/usr/sbin/dockerd --version
/usr/bin/docker-compose version --short
command -v debootstrap skopeo >/dev/null
