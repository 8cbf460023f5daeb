#!/usr/bin/env bash
# The main job on the local default: the two-node lab with a live failover (root; Debian 12).
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d node_modules ] || npm ci --no-audit --no-fund
npm run -s build
bash scripts/lab-deps.sh
exec node --import tsx lab/demo.ts
