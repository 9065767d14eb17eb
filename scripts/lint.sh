#!/usr/bin/env bash
# Lint and format checks, configured in the repository: eslint (eslint.config.mjs) and prettier
# (.prettierrc.json) for TypeScript and JavaScript, ruff (pyproject.toml) for Python, lint and format.
# Runs every tool, then fails when any found something. `--fix` applies the fixers first.
# Needs scripts/setup.sh first (npm packages, .venv with ruff).
set -uo pipefail
cd "$(dirname "$0")/.."
RUFF=.venv/bin/ruff

if [ "${1:-}" = --fix ]; then
  # Every fixer runs; what none can fix is then reported by the checks below.
  npx eslint --fix . > /dev/null
  npx prettier --write --log-level warn .
  "$RUFF" check --fix --quiet .
  "$RUFF" format --quiet .
fi

failed=()
echo "-- eslint"
npx eslint . || failed+=(eslint)
echo "-- prettier"
npx prettier --check --log-level warn . || failed+=(prettier)
echo "-- ruff check"
"$RUFF" check --output-format concise . || failed+=("ruff check")
echo "-- ruff format"
"$RUFF" format --check --output-format concise . || failed+=("ruff format")

if [ ${#failed[@]} -gt 0 ]; then
  echo "lint: findings from: ${failed[*]}"
  exit 1
fi
echo "lint: clean"
