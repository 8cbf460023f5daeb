#!/usr/bin/env bash
# Makes /usr/bin/promtool available (the alert rules' tests need it) by installing Debian's
# `prometheus` package, only when promtool is missing. The package would also start a Prometheus
# server; a test machine must not be left running one, so its scripts are told not to start
# services (policy-rc.d exiting 101), and a server started anyway is stopped by the PID this
# install caused (never by name: a Prometheus that ran before is somebody else's). Idempotent.
set -euo pipefail

if command -v promtool >/dev/null 2>&1; then
  echo "install-promtool.sh: promtool present: $(command -v promtool)"
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "install-promtool.sh: promtool is missing and installing Debian's prometheus package needs root" >&2
  exit 1
fi

PROMETHEUS=/usr/bin/prometheus

# PIDs of processes running the Prometheus binary, found by what they execute, not by their name
prometheus_pids() {
  local d exe
  for d in /proc/[0-9]*; do
    exe=$(readlink "$d/exe" 2>/dev/null || true)
    # a binary replaced by the install shows as "… (deleted)"
    case "$exe" in "$PROMETHEUS" | "$PROMETHEUS (deleted)") echo "${d#/proc/}" ;; esac
  done
}

before=" $(prometheus_pids | tr '\n' ' ') "

policy=/usr/sbin/policy-rc.d
ours=0
cleanup() {
  if [ "$ours" = 1 ]; then rm -f "$policy"; fi
}
trap cleanup EXIT

if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\n# harbor-assistant install-promtool.sh: no service starts during this install\nexit 101\n' > "$policy"
  chmod 0755 "$policy"
  ours=1
fi

echo "install-promtool.sh: installing prometheus (for promtool)"
# `apt-get update` only when the lists are missing or older than a day
if [ -z "$(find /var/lib/apt/lists -maxdepth 1 -name '*Packages*' -mtime -1 -print -quit 2>/dev/null)" ]; then
  apt-get update -qq
fi
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null

stop_pid() {
  local pid=$1
  echo "install-promtool.sh: stopping the Prometheus server the package started (pid $pid)" >&2
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 100); do [ -d "/proc/$pid" ] || return 0; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
}

# Only a server that appeared during this install is ours to stop; the pidfile is just another
# way of finding it, so its PID must also be a new process running the Prometheus binary.
started=()
pidfile=/run/prometheus/prometheus.pid # Debian's /etc/init.d/prometheus
if [ -f "$pidfile" ]; then
  pid=$(cat "$pidfile" 2>/dev/null || true)
  if [[ "$pid" =~ ^[0-9]+$ ]]; then started+=("$pid"); fi
fi
mapfile -t running < <(prometheus_pids)
started+=("${running[@]}")
declare -A stopped=()
for pid in "${started[@]}"; do
  [ -n "${stopped[$pid]:-}" ] && continue
  case "$before" in *" $pid "*) continue ;; esac
  exe=$(readlink "/proc/$pid/exe" 2>/dev/null || true)
  case "$exe" in "$PROMETHEUS" | "$PROMETHEUS (deleted)") ;; *) continue ;; esac
  stop_pid "$pid"
  stopped[$pid]=1
done

/usr/bin/promtool --version 2>&1 | head -1
