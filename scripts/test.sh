#!/usr/bin/env bash
# The one test command (README, CI): installs what it needs, then runs every suite.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
npm run -s build
npx tsc -p test/tsconfig.json --noEmit
# lint (typescript-eslint strict, type-checked) and formatting (Prettier) are part of passing
npm run -s lint
npm run -s format:check
bash scripts/lab-deps.sh chromium

files=(test/unit/*.test.ts test/integration/*.test.ts test/browser/*.test.ts test/model/*.test.ts test/lab/*.test.ts)
node --import tsx --test "${files[@]}"
