# shellcheck shell=bash disable=SC2034
# Shared by the lab's Docker scripts (sourced, bash). Paths and keys only; no side effects.
HALAB_DOCKER_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
HALAB_IMAGE_CACHE=${HALAB_IMAGE_CACHE:-/var/cache/halab/images}
HALAB_DEBIAN_MIRROR=${HALAB_DEBIAN_MIRROR:-http://deb.debian.org/debian}
HALAB_SUITE=bookworm
DOCKER=/usr/bin/docker            # Debian's client; /usr/local/bin/docker is another one
DOCKERD=/usr/sbin/dockerd
COMPOSE=/usr/bin/docker-compose
# the images prepare's docker-compose.yml names (tag :lab)
HALAB_IMAGES=(registry postgresql redis nginx core)

# The rootfs (the slow debootstrap) changes only with its recipe and package list.
halab_rootfs_key() {
  cat "$HALAB_DOCKER_DIR/build-images.sh" "$HALAB_DOCKER_DIR/image/packages" \
    | sha256sum | cut -c1-16
}

# The images change with the rootfs and with every file baked on top of it.
halab_image_key() {
  {
    halab_rootfs_key
    cat "$HALAB_DOCKER_DIR/load-images.sh"
    (cd "$HALAB_DOCKER_DIR/image" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum)
  } | sha256sum | cut -c1-16
}

halab_rootfs_tar() { printf '%s/rootfs-%s.tar\n' "$HALAB_IMAGE_CACHE" "$(halab_rootfs_key)"; }
