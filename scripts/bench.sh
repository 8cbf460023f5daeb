#!/usr/bin/env bash
# Benchmarks (root): engine overhead and memory, then the lab's recovery times. Writes reports/bench.json.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d node_modules ] || npm ci --no-audit --no-fund
npm run -s build
bash scripts/install-deps.sh keepalived ceph-mon ceph-osd ceph-mgr ceph-common rbd-fuse fuse3 docker-registry skopeo nftables
exec node --expose-gc --import tsx bench/run.ts
