#!/usr/bin/env bash
# Benchmarks (root): engine overhead and memory, then the lab's recovery times. Writes reports/bench.json.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d node_modules ] || npm ci --no-audit --no-fund
npm run -s build
bash scripts/lab-deps.sh
# the lab's nodes run the package, as operators do
npm run -s package
exec node --expose-gc --import tsx bench/run.ts
