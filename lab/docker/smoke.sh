#!/usr/bin/env bash
# End-to-end check of the lab's Docker pieces, on its own (not the Ceph lab):
#   a throwaway netns (loopback only) with its own dockerd, the halab images, a loop-mounted
#   ext4 file standing in for the RBD image's filesystem, the installer's prepare, then the
#   engine's compose path (docker-compose --project-directory DIR -p harbor up -d / ps / down),
#   Harbor's health via nginx, a push with skopeo, a database outage, and the `restart: always`
#   hazard with and without the guards. Prints timings. Leaves nothing behind (trap).
#   HALAB_SMOKE_NS (default halab-dk), HALAB_SMOKE_STATE (default /run/halab-dk)
# shellcheck disable=SC2015  # ok() never fails
set -euo pipefail
. "$(dirname "$0")/common.sh"
repo=$(cd "$HALAB_DOCKER_DIR/../.." && pwd)

NS=${HALAB_SMOKE_NS:-halab-dk}
NODE=dk
STATE=${HALAB_SMOKE_STATE:-/run/halab-dk}
PORT=80
work=$(mktemp -d /tmp/halab-dk.XXXXXX)
img=$work/rbd.img
mnt=$work/mnt          # the "RBD" filesystem's mount point
proj=$mnt/installer    # harbor.projectDir, on the image as in the engine
data=$mnt/data         # data_volume, as the engine patches it
fails=0
declare -a timings=()

now() { date +%s%3N; }
say() { printf '\n== %s\n' "$*"; }
ok() { printf '   ok: %s\n' "$*"; }
bad() { printf '   FAIL: %s\n' "$*"; fails=$((fails + 1)); }
timing() { timings+=("$(printf '%-44s %6d ms' "$1" "$2")"); printf '   %s: %d ms\n' "$1" "$2"; }
inns() { nsenter --net="/run/netns/$NS" -- "$@"; }
dk() { "$DOCKER" -H "unix://$sock" "$@"; }
compose() { DOCKER_HOST="unix://$sock" "$COMPOSE" --project-directory "$proj" -p harbor "$@"; }
health() { inns curl -s -m 2 -o "$work/health.json" -w '%{http_code}' "http://127.0.0.1:$PORT/api/v2.0/health" 2>/dev/null || true; }
health_status() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["status"])' "$work/health.json" 2>/dev/null || echo none; }
wait_health() { # want timeout_s -> prints ms waited
  local want=$1 t0 code
  t0=$(now)
  while [ $(($(now) - t0)) -lt $(($2 * 1000)) ]; do
    code=$(health)
    if [ "$code" = 200 ] && [ "$(health_status)" = "$want" ]; then echo $(($(now) - t0)); return 0; fi
    sleep 0.1
  done
  echo $(($(now) - t0))
  return 1
}
mounted() { mountpoint -q "$mnt"; }

cleanup() {
  set +e
  if [ -n "${sock:-}" ] && [ -S "$sock" ]; then compose down -t 5 >/dev/null 2>&1; fi
  "$HALAB_DOCKER_DIR/dockerd.sh" stop "$NODE" "$NS" "$STATE" >/dev/null 2>&1
  chattr -i "$mnt" 2>/dev/null
  while mounted; do umount "$mnt" || break; done
  ip netns del "$NS" 2>/dev/null
  rm -rf -- "$work" "$STATE"
}
trap cleanup EXIT

say "setup: netns $NS (loopback only), loop-mounted ext4 as the image's filesystem"
ip netns del "$NS" 2>/dev/null || true
ip netns add "$NS"
ip -n "$NS" link set lo up
truncate -s 1G "$img"
mkfs.ext4 -q -F "$img"
mkdir -p "$mnt"
mount -o loop "$img" "$mnt"

say "dockerd in $NS"
t0=$(now)
sock=$("$HALAB_DOCKER_DIR/dockerd.sh" start "$NODE" "$NS" "$STATE")
timing "dockerd start" $(($(now) - t0))
dk info --format 'driver={{.Driver}} cgroup={{.CgroupDriver}} root={{.DockerRootDir}}'
[ "$(inns readlink /proc/self/ns/net)" = "$(readlink "/proc/$(cat "$STATE/dockerd.pid")/ns/net")" ] \
  && ok "dockerd runs in $NS's network namespace" || bad "dockerd is not in $NS"

say "images"
t0=$(now)
"$HALAB_DOCKER_DIR/load-images.sh" "$sock"
timing "load-images (1st call; data root kept across runs)" $(($(now) - t0))
t0=$(now)
"$HALAB_DOCKER_DIR/load-images.sh" "$sock"
timing "load-images (2nd call)" $(($(now) - t0))
dk image ls --format '{{.Repository}}:{{.Tag}} {{.Size}}' | grep halab/ | sort

say "prepare (the installer's, as the engine runs it: cwd = project dir)"
mkdir -p "$proj"
cp -a "$repo/lab/installer/harbor/." "$proj/"
sed -e 's|^hostname:.*|hostname: reg.lab.test|' -e "s|^data_volume:.*|data_volume: $data|" \
  "$repo/lab/harbor.yml" > "$proj/harbor.yml"
(cd "$proj" && ./prepare)
grep -q 'container_name: harbor-db' "$proj/docker-compose.yml" && ok "compose file written" || bad "no compose file"

say "compose up (docker-compose $("$COMPOSE" version --short))"
t0=$(now)
compose up -d 2>&1 | sed 's/^/   /'
up_ms=$(($(now) - t0))
timing "compose up -d" "$up_ms"
if ms=$(wait_health healthy 60); then
  timing "up -d returned -> healthy via nginx" "$ms"
  timing "compose up -d + healthy" $((up_ms + ms))
  ok "health: $(cat "$work/health.json")"
else
  bad "not healthy after 60 s: $(cat "$work/health.json" 2>/dev/null)"
  compose logs --tail 20 2>&1 | sed 's/^/   /'
fi
[ "$(inns curl -s -m 2 "http://127.0.0.1:$PORT/api/v2.0/ping")" = Pong ] && ok "ping via nginx: Pong" || bad "ping"
curl -s -m 1 "http://127.0.0.1:$PORT/api/v2.0/ping" >/dev/null 2>&1 && bad "reachable from the host namespace" || ok "not reachable from the host's namespace (only $NS)"

say "push with skopeo through nginx"
node --import tsx -e '
  const { makeOciImage } = await import(process.argv[1]);
  const r = makeOciImage(process.argv[2], "1");
  console.log(r.digest);
' "$repo/lab/oci.ts" "$work/oci" > "$work/digest"
printf '{"default":[{"type":"insecureAcceptAnything"}]}' > "$work/policy.json"
t0=$(now)
if inns skopeo --policy "$work/policy.json" copy -q --dest-tls-verify=false "oci:$work/oci:1" \
     "docker://127.0.0.1:$PORT/library/tiny:1" 2>&1 | sed 's/^/   /'; then
  timing "skopeo push (64 KiB layer)" $(($(now) - t0))
  got=$(inns skopeo --policy "$work/policy.json" inspect --tls-verify=false --format '{{.Digest}}' "docker://127.0.0.1:$PORT/library/tiny:1" 2>&1 || true)
  [ "$got" = "$(cat "$work/digest")" ] && ok "pulled back digest $got" || bad "digest $got != $(cat "$work/digest")"
  [ -d "$data/registry/docker/registry/v2/repositories/library/tiny" ] && ok "blobs on the image's filesystem" || bad "no repository under $data/registry"
else
  bad "skopeo push"
fi

say "machine-readable ps with docker-compose 1.29.2"
rc=0; compose ps --format json > "$work/ps.out" 2>&1 || rc=$?
echo "   'ps --format json' -> exit $rc: $(head -c 400 "$work/ps.out" | tr '\n' '|')"
echo "   ps --services --filter status=running: $(compose ps --services --filter status=running | tr '\n' ' ')"
echo "   ps -q: $(compose ps -q | wc -l) container ids"
echo "   docker ps --filter label=com.docker.compose.project=harbor --format '{{json .}}' (first line):"
dk ps -a --filter label=com.docker.compose.project=harbor --format '{{json .}}' | head -1 | sed 's/^/     /'

say "database outage: stop harbor-db"
dk stop -t 10 harbor-db >/dev/null
code=$(health)
st=$(health_status)
db=$(python3 -c 'import json,sys; print([c for c in json.load(open(sys.argv[1]))["components"] if c["name"]=="database"][0])' "$work/health.json" 2>/dev/null || echo '?')
if [ "$code" = 200 ] && [ "$st" = unhealthy ]; then ok "HTTP $code, status $st, $db"; else bad "HTTP $code status $st"; fi
t0=$(now)
compose up -d postgresql 2>&1 | sed 's/^/   /'
ms=$(wait_health healthy 30) && timing "db back: up -d postgresql -> healthy" $(($(now) - t0)) || bad "not healthy again"

say "compose down"
t0=$(now)
compose down 2>&1 | sed 's/^/   /'
timing "compose down" $(($(now) - t0))
[ -z "$(dk ps -aq)" ] && ok "no containers" || bad "containers left: $(dk ps -a --format '{{.Names}}')"

say "restart: always hazard 1: Harbor's short-syntax bind, daemon restarted while the image is unmounted"
cat > "$work/short.yml" <<YML
version: '2.3'
services:
  redis:
    image: halab/redis:lab
    container_name: redis
    restart: always
    network_mode: host
    volumes:
      - "$data/redis:/var/lib/redis"
YML
DOCKER_HOST="unix://$sock" "$COMPOSE" -f "$work/short.yml" -p short up -d 2>&1 | sed 's/^/   /'
sleep 1
"$HALAB_DOCKER_DIR/dockerd.sh" stop "$NODE" "$NS" "$STATE" --keep-containers
umount "$mnt"
[ -z "$(ls -A "$mnt")" ] && ok "unmounted; bare mount point is empty"
sock=$("$HALAB_DOCKER_DIR/dockerd.sh" start "$NODE" "$NS" "$STATE")
sleep 3
echo "   after daemon restart: $(dk ps -a --format '{{.Names}} {{.Status}}' | tr '\n' ';')"
if [ -n "$(ls -A "$mnt" 2>/dev/null)" ]; then
  echo "   HAZARD REPRODUCED: the bare mount point now holds: $(cd "$mnt" && find . -maxdepth 3 | tr '\n' ' ')"
else
  bad "hazard 1 not reproduced"
fi
dk rm -f redis >/dev/null
rm -rf -- "${mnt:?}"/*

say "guard A: the immutable mount point (chattr +i on the bare directory), same short-syntax container"
chattr +i "$mnt"
mount -o loop "$img" "$mnt"
DOCKER_HOST="unix://$sock" "$COMPOSE" -f "$work/short.yml" -p short up -d 2>&1 | sed 's/^/   /'
"$HALAB_DOCKER_DIR/dockerd.sh" stop "$NODE" "$NS" "$STATE" --keep-containers
umount "$mnt"
sock=$("$HALAB_DOCKER_DIR/dockerd.sh" start "$NODE" "$NS" "$STATE")
sleep 3
echo "   after daemon restart: $(dk ps -a --format '{{.Names}} {{.Status}}' | tr '\n' ';')"
if [ -z "$(ls -A "$mnt")" ]; then ok "bare mount point still empty (mkdir refused: EPERM)"; else bad "written: $(ls -A "$mnt")"; fi
{ grep -o 'mkdir [^"]*operation not permitted' "$STATE/dockerd.log" || true; } | tail -1 | sed 's/^/   dockerd.log: /'
mount -o loop "$img" "$mnt"
DOCKER_HOST="unix://$sock" "$COMPOSE" -f "$work/short.yml" -p short down 2>&1 | sed 's/^/   /'
umount "$mnt"
chattr -i "$mnt"

say "guard B: prepare's long-syntax binds (the lab's compose file), full stack, restart while unmounted"
mount -o loop "$img" "$mnt"
compose up -d 2>&1 | sed 's/^/   /'
wait_health healthy 60 >/dev/null && ok "healthy" || bad "not healthy"
"$HALAB_DOCKER_DIR/dockerd.sh" stop "$NODE" "$NS" "$STATE" --keep-containers
umount "$mnt"
t0=$(now)
sock=$("$HALAB_DOCKER_DIR/dockerd.sh" start "$NODE" "$NS" "$STATE")
timing "dockerd start (5 containers defined)" $(($(now) - t0))
sleep 3
echo "   after daemon restart: $(dk ps -a --format '{{.Names}} {{.Status}}' | tr '\n' ';')"
running=$(dk ps -q | wc -l)
if [ -z "$(ls -A "$mnt")" ]; then ok "bare mount point still empty; $running containers running"; else bad "written: $(ls -A "$mnt")"; fi
{ grep -o 'bind source path does not exist[^"]*\|no such file or directory[^"]*' "$STATE/dockerd.log" || true; } | tail -1 | sed 's/^/   dockerd.log: /'
code=$(health)
echo "   health via nginx meanwhile: HTTP ${code:-none}"
mount -o loop "$img" "$mnt"
t0=$(now)
compose up -d 2>&1 | sed 's/^/   /'
if ms=$(wait_health healthy 60); then timing "remount + up -d -> healthy (containers kept)" $(($(now) - t0)); else bad "not healthy after remount"; fi
[ -d "$data/registry/docker/registry/v2/repositories/library/tiny" ] && ok "the pushed image is still there" || bad "pushed image gone"
t0=$(now)
compose down 2>&1 | sed 's/^/   /'
timing "compose down (2nd)" $(($(now) - t0))

exec_root=$STATE/exec
check_clean() { # dockerd-pid
  [ ! -d "/proc/$1" ] && ok "dockerd $1 gone" || bad "dockerd $1 still running"
  local left procs
  left=$(findmnt -rn -o TARGET | grep -F -e "$exec_root" -e "/var/lib/halab/docker/$NODE" || true)
  [ -z "$left" ] && ok "no mounts under the exec root or data root" || bad "mounts left: $left"
  procs=$(for p in /proc/[0-9]*; do { tr '\0' ' ' 2>/dev/null < "$p/cmdline" | grep -F "$exec_root"; } 2>/dev/null || true; done)
  [ -z "$procs" ] && ok "no processes of this daemon" || bad "processes left: $procs"
  ls -d /sys/fs/cgroup/*/"halab-$NODE" >/dev/null 2>&1 && bad "cgroups left" || ok "no cgroups left"
  [ ! -e "$exec_root" ] && [ ! -e "$STATE/sock" ] && ok "exec root and socket dir removed" || bad "exec root or socket left"
}

say "stop dockerd (orderly) and check cleanup"
pid=$(cat "$STATE/dockerd.pid")
t0=$(now)
"$HALAB_DOCKER_DIR/dockerd.sh" stop "$NODE" "$NS" "$STATE"
timing "dockerd stop" $(($(now) - t0))
check_clean "$pid"
"$HALAB_DOCKER_DIR/dockerd.sh" stop "$NODE" "$NS" "$STATE" && ok "second stop is a no-op"

say "a failed test: dockerd SIGKILLed with the stack up, then stop"
sock=$("$HALAB_DOCKER_DIR/dockerd.sh" start "$NODE" "$NS" "$STATE")
compose up -d 2>&1 | sed 's/^/   /'
wait_health healthy 60 >/dev/null && ok "healthy" || bad "not healthy"
pid=$(cat "$STATE/dockerd.pid")
kill -KILL "$pid"
sleep 1
n_ctr=$(cat /sys/fs/cgroup/pids/"halab-$NODE"/*/cgroup.procs 2>/dev/null | wc -l || true)
n_cd=$(for p in /proc/[0-9]*; do { tr '\0' ' ' 2>/dev/null < "$p/cmdline" | grep -qF "$exec_root/"; } 2>/dev/null && echo "$p"; done | wc -l || true)
echo "   left after SIGKILL: $n_ctr container processes, $n_cd containerd/shim processes"
echo "   mounts under the data root: $(findmnt -rn -o TARGET | grep -cF "/var/lib/halab/docker/$NODE" || true)"
t0=$(now)
"$HALAB_DOCKER_DIR/dockerd.sh" stop "$NODE" "$NS" "$STATE"
timing "dockerd stop after SIGKILL (cleanup)" $(($(now) - t0))
check_clean "$pid"
code=$(health)
[ "$code" = 000 ] || [ -z "$code" ] && ok "nothing answers on :$PORT" || bad "still answering: $code"
# the dead daemon's containers (restart: always, image still mounted) must not come back:
# a restarted harbor-db would rewrite postmaster.pid (the SIGKILLed one left it behind)
before=$(stat -c %y "$data/database/postmaster.pid" 2>/dev/null || echo none)
sock=$("$HALAB_DOCKER_DIR/dockerd.sh" start "$NODE" "$NS" "$STATE")
sleep 2
after=$(stat -c %y "$data/database/postmaster.pid" 2>/dev/null || echo none)
[ -z "$(dk ps -aq)" ] && ok "next start: the dead daemon's containers were removed" \
  || bad "containers after restart: $(dk ps -a --format '{{.Names}} {{.Status}}' | tr '\n' ';')"
[ "$before" = "$after" ] && ok "harbor-db did not start in between (postmaster.pid untouched: $before)" \
  || bad "postmaster.pid changed: $before -> $after"
pid=$(cat "$STATE/dockerd.pid")
"$HALAB_DOCKER_DIR/dockerd.sh" stop "$NODE" "$NS" "$STATE"
check_clean "$pid"

say "timings"
printf '   %s\n' "${timings[@]}"
if [ "$fails" -eq 0 ]; then echo "smoke: 1 passed, 0 failed"; else echo "smoke: 0 passed, 1 failed ($fails checks)"; exit 1; fi
