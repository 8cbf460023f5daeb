#!/usr/bin/env bash
# load-images.sh <docker-socket>: makes halab/{registry,postgresql,redis,nginx,core}:lab exist
# in the daemon at that socket, doing only what it lacks:
#   1. halab/rootfs:<rootfs-key>  `docker import` of the cached rootfs tar (build-images.sh;
#                                 built first if missing)          ~ seconds, once per data root
#   2. halab/base:lab             + /halab (entrypoints, core.py)  `docker build`, < 1 s
#   3. halab/<name>:lab           ENTRYPOINT/STOPSIGNAL per image  `docker build`, < 1 s each
# Every image carries label halab.key; a matching key means nothing to do (~0.1 s in all).
set -euo pipefail
. "$(dirname "$0")/common.sh"

sock=${1:?usage: load-images.sh <docker-socket>}
[ -S "$sock" ] || { echo "load-images: $sock is not a socket" >&2; exit 1; }
export DOCKER_HOST="unix://$sock" DOCKER_BUILDKIT=0
rkey=$(halab_rootfs_key)
ikey=$(halab_image_key)

label() { "$DOCKER" image inspect --format '{{index .Config.Labels "halab.key"}}' "$1" 2>/dev/null || true; }

up_to_date=1
for name in "${HALAB_IMAGES[@]}"; do
  [ "$(label "halab/$name:lab")" = "$ikey" ] || { up_to_date=0; break; }
done
if [ "$up_to_date" = 1 ]; then
  echo "load-images: images up to date ($ikey)"
  exit 0
fi

if [ "$(label "halab/rootfs:$rkey")" != "$rkey" ]; then
  tar=$("$HALAB_DOCKER_DIR/build-images.sh")
  echo "load-images: importing $tar"
  "$DOCKER" import --change "LABEL halab.key=$rkey" -- "$tar" "halab/rootfs:$rkey" >/dev/null
fi

ctx=$(mktemp -d)
trap 'rm -rf -- "$ctx"' EXIT
mkdir -p "$ctx/halab/entry"
cp -- "$HALAB_DOCKER_DIR/image/core.py" "$ctx/halab/core.py"
cp -- "$HALAB_DOCKER_DIR"/image/entry/* "$ctx/halab/entry/"
chmod 0644 "$ctx/halab/core.py"
chmod 0755 "$ctx/halab/entry"/*
cat > "$ctx/Dockerfile" <<DOCKERFILE
FROM halab/rootfs:$rkey
COPY halab /halab
ENV LANG=C.UTF-8 PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
LABEL halab.key=$ikey
DOCKERFILE
"$DOCKER" build -q -t halab/base:lab -- "$ctx" >/dev/null

for name in "${HALAB_IMAGES[@]}"; do
  case "$name" in
    postgresql) stop=SIGINT ;;   # fast shutdown (SIGTERM is "smart": waits for clients)
    nginx) stop=SIGQUIT ;;       # graceful
    *) stop=SIGTERM ;;
  esac
  printf 'FROM halab/base:lab\nSTOPSIGNAL %s\nENTRYPOINT ["/halab/entry/%s"]\nLABEL halab.key=%s halab.image=%s\n' \
    "$stop" "$name" "$ikey" "$name" | "$DOCKER" build -q -t "halab/$name:lab" - >/dev/null
done

# what older keys left behind: other rootfs tags, then untagged images
for ref in $("$DOCKER" image ls --format '{{.Repository}}:{{.Tag}}' halab/rootfs); do
  [ "$ref" = "halab/rootfs:$rkey" ] || "$DOCKER" image rm -- "$ref" >/dev/null 2>&1 || true
done
"$DOCKER" image prune -f >/dev/null
echo "load-images: loaded ($ikey)"
