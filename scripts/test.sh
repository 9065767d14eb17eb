#!/usr/bin/env bash
# Sets up (scripts/setup.sh), installs Debian's Chromium for the UI tests, then runs every check:
# lint, jest (TypeScript), pytest (Python), galata (UI, in a real JupyterLab on a port of its own)
# and the install check (scripts/check_install.sh: the wheel in fresh virtual environments).
# Stops at the first failing suite.
#   NBPROV_UI_PORT  port of the galata JupyterLab (default: a free port picked now)
#   NBPROV_UI_LOCK  optional lock file serialising browser runs on a machine shared by checkouts
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PATH="$PWD/.venv/bin:$PATH"

if [ ! -x /usr/bin/chromium ]; then
  SUDO=$([ "$(id -u)" = 0 ] && echo "" || echo sudo)
  $SUDO apt-get update -qq
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium > /dev/null
fi

echo "== lint"
# 1 once the fixers have run over the tree (bash scripts/lint.sh --fix): findings then fail the run.
LINT_ENFORCED=1
if ! bash scripts/lint.sh; then
  if [ "$LINT_ENFORCED" = 1 ]; then
    exit 1
  fi
  echo "lint: reported, not enforced yet (LINT_ENFORCED in scripts/test.sh)"
fi

echo "== jest"
npx jest

echo "== pytest"
python -m pytest tests

echo "== galata"
npx tsc --noEmit -p ui-tests/tsconfig.json
npx tsc --noEmit -p ui-tests/compat/tsconfig.json
PORT=${NBPROV_UI_PORT:-$(python scripts/free_port.py)}
echo "JupyterLab for the UI tests on port $PORT"
(cd ui-tests && CI=1 NBPROV_UI_PORT=$PORT ${NBPROV_UI_LOCK:+flock "$NBPROV_UI_LOCK"} npx playwright test)

echo "== install"
bash scripts/check_install.sh
