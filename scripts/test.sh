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
# lintian for the package, man-db for the man pages' check, promtool for the alert rules,
# pyflakes3 and mypy for the Ceph session helper (Python, run by the service)
bash scripts/install-deps.sh lintian man-db groff-base pyflakes3 mypy
pyflakes3 src/actions/ceph/ceph-session.py
mypy --strict --cache-dir=/dev/null src/actions/ceph/ceph-session.py
bash scripts/install-promtool.sh
bash scripts/lab-deps.sh chromium

# what operators install: this tree's package (version N), and the same tree as N+1 for the
# upgrade tests; the lab's nodes run the .deb
version=$(node -p 'require("./package.json").version')
npm run -s package
npm run -s package -- --version "${version}+next1" --out dist/package/next

files=(test/unit/*.test.ts test/integration/*.test.ts test/browser/*.test.ts test/model/*.test.ts test/package/*.test.ts test/lab/*.test.ts)
node --import tsx --test "${files[@]}"

# the short fault campaign: fixed seeds on the lab (the long one: npm run campaign)
node --import tsx lab/campaign/main.ts --short --out reports/campaign-short.json
