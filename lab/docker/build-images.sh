#!/usr/bin/env bash
# Builds the lab's image rootfs ONCE per machine and caches it:
#   /var/cache/halab/images/rootfs-<key>.tar, key = hash of this script + image/packages.
# A Debian bookworm minbase (debootstrap) with PostgreSQL 15, Redis, nginx, the CNCF registry
# (docker-registry) and python3-psycopg2: one shared rootfs for halab/{registry,postgresql,
# redis,nginx,core}. The per-image layers (entrypoints, core.py) are added by load-images.sh
# with `docker build` (a second or two), so changing them does not redo this step.
# Prints the tar's path. A cached tar costs nothing; a fresh build takes minutes (network).
set -euo pipefail
. "$(dirname "$0")/common.sh"

out=$(halab_rootfs_tar)
if [ -s "$out" ]; then
  echo "$out"
  exit 0
fi
mkdir -p "$HALAB_IMAGE_CACHE"
chmod 0755 "$HALAB_IMAGE_CACHE"
exec 9>"$HALAB_IMAGE_CACHE/.lock"
flock 9
if [ -s "$out" ]; then echo "$out"; exit 0; fi   # built while we waited

work="$HALAB_IMAGE_CACHE/build.$$"
root="$work/root"
unmount_under() {
  # debootstrap mounts /proc and /sys in the target; a failed run may leave them
  local m
  for m in $(findmnt -rn -o TARGET | grep -F -- "$1/" | sort -r); do umount -l "$m" 2>/dev/null || true; done
}
cleanup() { unmount_under "$work"; rm -rf -- "$work"; }
trap cleanup EXIT
rm -rf -- "$work"
mkdir -p "$root"

pkgs=$(grep -v '^#' "$HALAB_DOCKER_DIR/image/packages" | tr -s ' \n' ',' | sed 's/^,//; s/,$//')
t0=$(date +%s.%N)
echo "build-images: debootstrap $HALAB_SUITE minbase with $pkgs" >&2
# debootstrap itself disables service starts inside the target (policy-rc.d, fake start-stop-daemon)
# --cache-dir keeps the .debs: a rebuild after a recipe change downloads nothing
mkdir -p "$HALAB_IMAGE_CACHE/debs"
debootstrap --variant=minbase --cache-dir="$HALAB_IMAGE_CACHE/debs" --include="$pkgs" \
  "$HALAB_SUITE" "$root" "$HALAB_DEBIAN_MIRROR" \
  > "$work/debootstrap.log" 2>&1 || { tail -30 "$work/debootstrap.log" >&2; exit 1; }
t1=$(date +%s.%N)

# the package's default cluster: the image initdb's on its bind mount instead
rm -rf -- "$root/var/lib/postgresql/15/main" "$root/etc/postgresql/15/main"
# PostgreSQL's JIT pulls in LLVM and z3 (~140 MB; nothing else links them); translations
# and locale sources (C.UTF-8 is built into glibc): 475 MiB -> ~260 MiB
rm -rf -- "$root"/usr/lib/postgresql/15/lib/llvmjit*.so "$root"/usr/lib/postgresql/15/lib/bitcode \
  "$root"/usr/lib/*-linux-gnu/libLLVM-*.so* "$root"/usr/lib/*-linux-gnu/libz3.so* \
  "$root"/usr/share/locale/* "$root"/usr/share/i18n
rm -rf -- "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* \
  "$root"/usr/share/doc/* "$root"/usr/share/man/* "$root"/usr/share/info/* "$root"/var/log/*.log
: > "$root/etc/resolv.conf"
echo halab > "$root/etc/hostname"
# sanity: what the entrypoints exec
for f in usr/lib/postgresql/15/bin/postgres usr/lib/postgresql/15/bin/initdb usr/bin/redis-server \
         usr/sbin/nginx usr/bin/docker-registry usr/bin/python3 usr/bin/setpriv; do
  [ -x "$root/$f" ] || { echo "build-images: $f missing from the rootfs" >&2; exit 1; }
done
chroot "$root" /usr/bin/python3 -c 'import psycopg2' || { echo "build-images: psycopg2 missing" >&2; exit 1; }
for cmd in '/usr/lib/postgresql/15/bin/postgres --version' '/usr/bin/redis-server --version' \
           '/usr/sbin/nginx -v' '/usr/bin/docker-registry --version'; do
  # shellcheck disable=SC2086
  chroot "$root" $cmd >/dev/null 2>&1 || { echo "build-images: $cmd fails in the rootfs" >&2; exit 1; }
done

unmount_under "$work"
tar --numeric-owner -C "$root" -cf "$work/rootfs.tar" \
  --exclude='./dev/*' --exclude='./proc/*' --exclude='./sys/*' --exclude='./run/*' --exclude='./tmp/*' .
mv -- "$work/rootfs.tar" "$out"
t2=$(date +%s.%N)
awk -v a="$t0" -v b="$t1" -v c="$t2" -v s="$(stat -c %s "$out")" \
  'BEGIN { printf "build-images: debootstrap %.1f s, tar %.1f s, %d MiB\n", b - a, c - b, s / 1048576 }' >&2
# older rootfs tars of this cache are stale now
find "$HALAB_IMAGE_CACHE" -maxdepth 1 -name 'rootfs-*.tar' ! -path "$out" -delete
echo "$out"
