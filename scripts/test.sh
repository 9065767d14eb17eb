#!/usr/bin/env bash
# Sets everything up, then runs every test suite: jest (TypeScript), pytest (Python), galata (UI, in a
# real JupyterLab driven by Debian's Chromium). Stops at the first failing suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PATH="$PWD/.venv/bin:$PATH"

echo "== jest"
npx jest

echo "== pytest"
python -m pytest tests

echo "== galata"
npx tsc --noEmit -p ui-tests/tsconfig.json
(cd ui-tests && CI=1 npx playwright test)
