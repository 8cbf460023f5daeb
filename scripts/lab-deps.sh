#!/usr/bin/env bash
# What the lab needs (root, Debian 12): Ceph, rbd-fuse, keepalived, skopeo, nftables, Docker
# Engine and docker-compose (no system daemon), and the images of the lab's Harbor, built once
# per machine from Debian packages (about 7 minutes the first time, cached afterwards).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh keepalived ceph-mon ceph-osd ceph-mgr ceph-common rbd-fuse fuse3 skopeo nftables curl "$@"
bash lab/docker/install.sh
t0=$SECONDS
bash lab/docker/build-images.sh >/dev/null
echo "lab images ready in $((SECONDS - t0)) s"
