#!/usr/bin/env bash
# Installs everything nbprov needs on a fresh machine, idempotently: Debian's Chromium (UI tests),
# a Python virtual environment with nbprov (editable) and JupyterLab, the npm packages, and the builds
# (TypeScript, the prebuilt JupyterLab extension, the Node CLI).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x /usr/bin/chromium ]; then
  SUDO=$([ "$(id -u)" = 0 ] && echo "" || echo sudo)
  $SUDO apt-get update -q
  $SUDO apt-get install -y -q chromium
fi

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip
# JupyterLab first: its jupyter-builder builds the extension, which the nbprov package then ships.
.venv/bin/python -m pip install -q "jupyterlab==4.6.4"

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi

export PATH="$PWD/.venv/bin:$PATH"
npm run build
.venv/bin/python -m pip install -q -e ".[test]"
# Point JupyterLab at the freshly built extension (a link, so rebuilds are picked up).
jupyter-builder develop --overwrite . > /dev/null
