#!/usr/bin/env bash
# The main job on the local default: the two-node lab with a live failover (root; Debian 12).
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d node_modules ] || npm ci --no-audit --no-fund
npm run -s build
bash scripts/lab-deps.sh
# the nodes run what operators install: this tree's .deb, unpacked into each node's root
npm run -s package
exec node --import tsx lab/demo.ts
