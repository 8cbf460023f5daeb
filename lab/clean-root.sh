#!/usr/bin/env bash
# A clean Debian 12 host's root for the install tests, built ONCE per machine and cached:
#   /var/cache/halab/images/cleanroot-<key>.tar, key = hash of this script.
# debootstrap --variant=minbase plus systemd (a real host has it: units are enabled with
# systemctl, checked with systemd-analyze). Nothing else: the package's Depends must bring the rest.
#   clean-root.sh tar          print the cached tar's path (building it first when missing)
#   clean-root.sh up DIR       unpack a fresh root into DIR, mount /proc and /dev, apt ready
#                              (no service starts: policy-rc.d exits 101; .debs cached across runs)
#   clean-root.sh down DIR     unmount and delete DIR
set -euo pipefail
. "$(dirname "$0")/docker/common.sh"
DEBS_CACHE="$HALAB_IMAGE_CACHE/cleanroot-apt"

# the recipe (what debootstrap is given) names the cached tar; change it and the tar is rebuilt
RECIPE="$HALAB_SUITE minbase +systemd v1"
key=$(printf "%s" "$RECIPE" | sha256sum | cut -c1-16)
tarball="$HALAB_IMAGE_CACHE/cleanroot-$key.tar"

unmount_under() {
  local m
  for m in $(findmnt -rn -o TARGET | grep -F -- "$1/" | sort -r); do umount -l "$m" 2>/dev/null || true; done
}

build_tar() {
  [ -s "$tarball" ] && return 0
  mkdir -p "$HALAB_IMAGE_CACHE" "$HALAB_IMAGE_CACHE/debs"
  exec 9>"$HALAB_IMAGE_CACHE/.cleanroot.lock"
  flock 9
  [ -s "$tarball" ] && return 0
  work="$HALAB_IMAGE_CACHE/cleanroot.$$"
  trap 'unmount_under "${work:-/nonexistent}"; rm -rf -- "${work:-/nonexistent}"' EXIT
  mkdir -p "$work/root"
  debootstrap --variant=minbase --cache-dir="$HALAB_IMAGE_CACHE/debs" --include=systemd \
    "$HALAB_SUITE" "$work/root" "$HALAB_DEBIAN_MIRROR" > "$work/debootstrap.log" 2>&1 \
    || { tail -30 "$work/debootstrap.log" >&2; exit 1; }
  unmount_under "$work"
  rm -rf -- "$work"/root/var/cache/apt/archives/*.deb "$work"/root/var/lib/apt/lists/*
  tar --numeric-owner -C "$work/root" -cf "$work/root.tar" --exclude='./proc/*' --exclude='./sys/*' --exclude='./dev/*' .
  mv -- "$work/root.tar" "$tarball"
  find "$HALAB_IMAGE_CACHE" -maxdepth 1 -name 'cleanroot-*.tar' ! -path "$tarball" -delete
}

case "${1:-}" in
tar)
  build_tar
  echo "$tarball"
  ;;
up)
  dir=${2:?DIR}
  build_tar
  rm -rf -- "$dir"
  mkdir -p "$dir"
  tar --numeric-owner -C "$dir" -xf "$tarball"
  mount -t proc proc "$dir/proc"
  mount --bind /dev "$dir/dev"
  printf '#!/bin/sh\n# install tests: no service starts in this root\nexit 101\n' > "$dir/usr/sbin/policy-rc.d"
  chmod 0755 "$dir/usr/sbin/policy-rc.d"
  cp /etc/resolv.conf "$dir/etc/resolv.conf"
  # the .debs apt fetches are kept for the next run (the host's own cache is not touched)
  mkdir -p "$DEBS_CACHE/partial"
  mount --bind "$DEBS_CACHE" "$dir/var/cache/apt/archives"
  # apt's sandbox user cannot write the bind-mounted cache
  echo 'APT::Sandbox::User "root";' > "$dir/etc/apt/apt.conf.d/99halab-sandbox"
  echo 'Binary::apt::APT::Keep-Downloaded-Packages "true";' > "$dir/etc/apt/apt.conf.d/99halab-keep"
  chroot "$dir" apt-get update -qq
  ;;
down)
  dir=${2:?DIR}
  [ -d "$dir" ] || exit 0
  unmount_under "$dir"
  for m in var/cache/apt/archives dev proc; do umount -l "$dir/$m" 2>/dev/null || true; done
  rm -rf --one-file-system -- "$dir"
  ;;
*)
  echo "usage: $0 tar | up DIR | down DIR" >&2
  exit 2
  ;;
esac
