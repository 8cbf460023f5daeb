#!/usr/bin/env bash
# One Docker daemon per lab node, inside that node's network namespace.
#   dockerd.sh start <node-name> <netns-name> <state-dir> [--mount-ns=FILE]   prints the socket path (DOCKER_HOST=unix://that)
#   dockerd.sh stop  <node-name> <netns-name> <state-dir> [--keep-containers] [--mount-ns=FILE]
#   dockerd.sh status <node-name> <netns-name> <state-dir>  exit 0 and print the socket when running
#
# --mount-ns=FILE: the node's mount namespace (nsenter --mount=FILE), where its engine mounts the
# image: the daemon runs there, so a container's bind source is the node's mount, as on a host.
#
# Layout: <state-dir>/exec (exec root), <state-dir>/sock/docker.sock (dir 0700), dockerd.pid,
# dockerd.log, daemon.json. Data root: $HALAB_DOCKER_DATA_ROOT/<node> (default /var/lib/halab/docker),
# kept across lab runs so images stay loaded. Containers run with network_mode: host, i.e. in
# the node's namespace; no bridge, no iptables; cgroup parent halab-<node>.
#
# Why nsenter and not `ip netns exec`: the latter also gives the daemon a mount namespace of its
# own, and a filesystem the engine mounts or unmounts afterwards never reaches the daemon:
# containers would bind the bare mount point, and an unmount would leave the filesystem pinned in
# the daemon's namespace. With nsenter the daemon shares the engine's mount namespace (the node's
# with --mount-ns, else the host's).
#
# stop: by default removes the node's containers first (their logs saved to
# <state-dir>/containers/<name>.log), so `restart: always` cannot bring them back at the next
# start; --keep-containers leaves them defined (a daemon restart, as after a host reboot).
# Then TERM the daemon by PID, wait, KILL; then leftovers: processes of this daemon's
# containerd/shims/containers (by PID: cmdline names this exec root, or in cgroup
# halab-<node>), mounts under the exec root and the data root, the cgroups, the exec root.
# Idempotent: safe after a failed test, with or without a running daemon.
set -euo pipefail
. "$(dirname "$0")/common.sh"

usage() { echo "usage: dockerd.sh start|stop|status <node-name> <netns-name> <state-dir> [--keep-containers] [--mount-ns=FILE]" >&2; exit 2; }
[ $# -ge 4 ] || usage
verb=$1 node=$2 netns=$3 state=$4
shift 4
keep=0
mntns=''
for opt in "$@"; do
  case "$opt" in
    --keep-containers) keep=1 ;;
    --mount-ns=/*) mntns=${opt#--mount-ns=} ;;
    *) usage ;;
  esac
done
# in the daemon's mount namespace: what it mounted (layers, shm) is only visible there
in_mntns() { if [ -n "$mntns" ] && [ -e "$mntns" ]; then nsenter --mount="$mntns" -- "$@"; else "$@"; fi; }
[[ "$node" =~ ^[A-Za-z0-9_.-]+$ ]] || { echo "dockerd.sh: bad node name: $node" >&2; exit 2; }
[[ "$netns" =~ ^[A-Za-z0-9_.-]+$ ]] || { echo "dockerd.sh: bad netns name: $netns" >&2; exit 2; }
case "$state" in /*) ;; *) echo "dockerd.sh: state dir must be absolute: $state" >&2; exit 2 ;; esac
state=${state%/}
case "$state${HALAB_DOCKER_DATA_ROOT:-}" in
  *[[:space:]]*) echo "dockerd.sh: no whitespace in the state dir or data root, please: $state" >&2; exit 2 ;;
esac

data_root=${HALAB_DOCKER_DATA_ROOT:-/var/lib/halab/docker}/$node
exec_root=$state/exec
sock_dir=$state/sock
sock=$sock_dir/docker.sock
pidfile=$state/dockerd.pid
log=$state/dockerd.log
cgparent=halab-$node

log_() { printf 'dockerd.sh[%s]: %s\n' "$node" "$*" >&2; }

# the daemon's PID when it is alive and really ours (a recycled PID is not)
daemon_pid() {
  local pid
  [ -f "$pidfile" ] || return 1
  pid=$(cat "$pidfile" 2>/dev/null || true)
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  [ -r "/proc/$pid/cmdline" ] || return 1
  tr '\0' '\n' < "/proc/$pid/cmdline" | grep -qxF -- "--exec-root=$exec_root" || return 1
  echo "$pid"
}

wait_gone() { # pid seconds
  local i
  for ((i = 0; i < $2 * 10; i++)); do [ -d "/proc/$1" ] || return 0; sleep 0.1; done
  return 1
}

# PIDs of what this daemon left: containerd and shims naming our exec root, container processes in our cgroups
leftover_pids() {
  local p comm f args
  for p in /proc/[0-9]*; do
    p=${p#/proc/}
    [ "$p" = "$$" ] && continue
    # builtins only: this walks every process
    read -r comm 2>/dev/null < "/proc/$p/comm" || continue
    case "$comm" in
      dockerd | containerd | containerd-shim* | runc | docker-proxy) ;;
      *) continue ;;
    esac
    mapfile -d '' args 2>/dev/null < "/proc/$p/cmdline" || continue
    for f in "${args[@]}"; do
      case "$f" in "$exec_root/"* | "--exec-root=$exec_root") echo "$p"; break ;; esac
    done
  done
  for f in /sys/fs/cgroup/*/"$cgparent"; do
    [ -d "$f" ] || continue
    find "$f" -name cgroup.procs -exec cat {} + 2>/dev/null || true
  done
}

mounts_under() { # prefix...; deepest first
  local pre
  for pre in "$@"; do
    in_mntns findmnt -rn -o TARGET | awk -v p="$pre/" 'index($0, p) == 1 || $0 == substr(p, 1, length(p) - 1)'
  done | awk '{ print length($0) " " $0 }' | sort -rn | cut -d' ' -f2-
}

# containerd 1.6 shim sockets: /run/containerd/s/<sha256 of "<address>/<namespace>/<id>">; a
# SIGKILLed shim leaves its socket behind
shim_sockets() { # pid...
  local p a ns id addr args
  for p in "$@"; do
    mapfile -d '' args 2>/dev/null < "/proc/$p/cmdline" || continue
    ns='' id='' addr=''
    for ((a = 0; a < ${#args[@]} - 1; a++)); do
      case "${args[a]}" in
        -namespace) ns=${args[a + 1]} ;;
        -id) id=${args[a + 1]} ;;
        -address) addr=${args[a + 1]} ;;
      esac
    done
    if [ -z "$ns" ] || [ -z "$id" ] || [ "$addr" != "$exec_root/containerd/containerd.sock" ]; then continue; fi
    printf '/run/containerd/s/%s\n' "$(printf '%s' "$addr/$ns/$id" | sha256sum | cut -c1-64)"
  done
}

cleanup_leftovers() {
  local pids pid m socks
  pids=$(leftover_pids | sort -un)
  if [ -n "$pids" ]; then
    # shellcheck disable=SC2086
    socks=$(shim_sockets $pids)
    log_ "killing leftovers: ${pids//$'\n'/ }"
    for pid in $pids; do kill -KILL "$pid" 2>/dev/null || true; done
    for pid in $pids; do wait_gone "$pid" 5 || log_ "pid $pid did not exit"; done
    for m in $socks; do if [ -S "$m" ]; then rm -f -- "$m"; fi; done
  fi
  for m in $(mounts_under "$exec_root" "$data_root"); do
    in_mntns umount "$m" 2>/dev/null || in_mntns umount -l "$m" 2>/dev/null || log_ "could not unmount $m"
  done
  for m in /sys/fs/cgroup/*/"$cgparent"; do
    [ -d "$m" ] || continue
    find "$m" -depth -type d -exec rmdir {} \; 2>/dev/null || true
  done
  if [ -z "$(mounts_under "$exec_root")" ]; then rm -rf -- "$exec_root"; fi
  rm -rf -- "$sock_dir"
  rm -f -- "$pidfile"
  # empty dirs every daemon shares (shim sockets, plugin sockets): only when no daemon is left
  # (with no containerd or shim left at all, no socket there can be live)
  if ! any_daemon; then
    find /run/containerd/s -maxdepth 1 -type s -delete 2>/dev/null || true
    rmdir /run/containerd/s /run/containerd /run/docker/plugins /run/docker 2>/dev/null || true
  fi
}

any_daemon() {
  local p comm
  for p in /proc/[0-9]*; do
    read -r comm 2>/dev/null < "$p/comm" || continue
    case "$comm" in dockerd | containerd | containerd-shim*) return 0 ;; esac
  done
  return 1
}

start() {
  local pid
  [ -e "/run/netns/$netns" ] || { echo "dockerd.sh: no network namespace $netns" >&2; exit 1; }
  [ -z "$mntns" ] || mountpoint -q "$mntns" || { echo "dockerd.sh: no mount namespace at $mntns" >&2; exit 1; }
  if pid=$(daemon_pid); then
    log_ "already running (pid $pid)"
    echo "$sock"
    return 0
  fi
  cleanup_leftovers
  if [ "${#exec_root}" -gt 70 ]; then
    echo "dockerd.sh: exec root path too long for containerd's sockets: $exec_root" >&2; exit 1
  fi
  mkdir -p "$state" "$exec_root" "$data_root"
  install -d -m 0700 "$sock_dir"
  echo '{}' > "$state/daemon.json"   # not /etc/docker/daemon.json
  : >> "$log"
  local t0=$SECONDS
  local enter=(nsenter --net="/run/netns/$netns")
  if [ -n "$mntns" ]; then enter+=(--mount="$mntns"); fi
  setsid "${enter[@]}" -- "$DOCKERD" \
    --config-file="$state/daemon.json" \
    --data-root="$data_root" --exec-root="$exec_root" --pidfile="$pidfile" \
    --host="unix://$sock" --containerd-namespace=moby --cgroup-parent="$cgparent" \
    --storage-driver=overlay2 --iptables=false --ip6tables=false --ip-forward=false \
    --ip-masq=false --bridge=none --userland-proxy=false --live-restore=false \
    --log-level=warn >> "$log" 2>&1 < /dev/null &
  local launcher=$!
  local i
  for ((i = 0; i < 300; i++)); do
    if [ -S "$sock" ] && "$DOCKER" -H "unix://$sock" version --format '{{.Server.Version}}' >/dev/null 2>&1; then
      pid=$(daemon_pid) || { echo "dockerd.sh: daemon answers but its pidfile is not right" >&2; exit 1; }
      if [ -e "$data_root/.halab-purge" ]; then
        local ids
        ids=$("$DOCKER" -H "unix://$sock" ps -aq)
        # shellcheck disable=SC2086
        [ -z "$ids" ] || "$DOCKER" -H "unix://$sock" rm -f $ids >/dev/null
        rm -f -- "$data_root/.halab-purge"
        log_ "removed containers a dead daemon left: ${ids//$'\n'/ }"
      fi
      log_ "started (pid $pid) in $((SECONDS - t0)) s, data root $data_root"
      echo "$sock"
      return 0
    fi
    if ! kill -0 "$launcher" 2>/dev/null && ! daemon_pid >/dev/null; then
      echo "dockerd.sh: dockerd exited; last log lines:" >&2; tail -20 "$log" >&2; cleanup_leftovers; exit 1
    fi
    sleep 0.1
  done
  echo "dockerd.sh: dockerd did not answer within 30 s" >&2
  tail -20 "$log" >&2
  exit 1
}

stop() {
  local pid ids id name f
  if pid=$(daemon_pid); then
    if [ "$keep" = 0 ] && [ -S "$sock" ]; then
      ids=$(timeout 10 "$DOCKER" -H "unix://$sock" ps -aq 2>/dev/null || true)
      if [ -n "$ids" ]; then
        mkdir -p "$state/containers"
        for id in $ids; do
          name=$(timeout 5 "$DOCKER" -H "unix://$sock" inspect --format '{{.Name}}' "$id" 2>/dev/null || echo "/$id")
          timeout 10 "$DOCKER" -H "unix://$sock" logs --timestamps "$id" > "$state/containers/${name#/}.log" 2>&1 || true
        done
        # shellcheck disable=SC2086
        timeout 60 "$DOCKER" -H "unix://$sock" rm -f $ids >/dev/null 2>&1 || log_ "docker rm -f failed"
      fi
    fi
    kill -TERM "$pid" 2>/dev/null || true
    if ! wait_gone "$pid" 40; then
      log_ "dockerd (pid $pid) ignored TERM for 40 s: KILL"
      kill -KILL "$pid" 2>/dev/null || true
      wait_gone "$pid" 5 || true
    fi
  fi
  cleanup_leftovers
  if [ "$keep" = 0 ] && [ -n "$(ls -A "$data_root/containers" 2>/dev/null)" ]; then
    # the daemon was dead (a crash, a failed test): containers could not be removed. Keep
    # `restart: always` from starting them at the next start, which removes them.
    for f in "$data_root"/containers/*/hostconfig.json; do
      if [ -f "$f" ]; then sed -i 's/"RestartPolicy":{"Name":"[a-z-]*"/"RestartPolicy":{"Name":"no"/' "$f"; fi
    done
    touch "$data_root/.halab-purge"
    log_ "containers left in $data_root (daemon not running): restart policies set to no, next start removes them"
  fi
  log_ "stopped"
}

case "$verb" in
  start) start ;;
  stop) stop ;;
  status) if daemon_pid >/dev/null; then echo "$sock"; else exit 1; fi ;;
  *) usage ;;
esac
