#!/usr/bin/env bash
# The seeded fault campaign on the lab (root; Debian 12; one lab per machine at a time). Writes
# reports/campaign.json. Arguments go to lab/campaign/main.ts: --seeds 1,2,3 | --count N --from S | --short, --out FILE.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d node_modules ] || npm ci --no-audit --no-fund
npm run -s build
bash scripts/lab-deps.sh
# the lab's nodes run the package, as operators do
npm run -s package
exec node --import tsx lab/campaign/main.ts "$@"
