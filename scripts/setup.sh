#!/usr/bin/env bash
# Installs what developing nbprov needs, idempotently: a Python virtual environment with JupyterLab
# and nbprov (editable, with its test tools), the npm packages, and the builds (TypeScript, the
# JupyterLab extension, the Node CLI). No browser: scripts/test.sh installs the one the UI tests use.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi

export PATH="$PWD/.venv/bin:$PATH"
# The develop link made below must not be in place while pip installs: pip would write the
# labextension's files (install.json among them) through it into nbprov/labextension.
if [ -L .venv/share/jupyter/labextensions/nbprov ]; then
  rm .venv/share/jupyter/labextensions/nbprov
fi
# The integrations' tests need torch: the CPU-only build, which the local wheel index has (PyPI's
# default build brings gigabytes of CUDA libraries). Installed first, so the test extra keeps it.
TORCH=2.13.0+cpu
if [ "$(python -c 'import torch; print(torch.__version__)' 2> /dev/null)" != "$TORCH" ]; then
  python -m pip install -q "torch==$TORCH"
fi
# The editable install's build hook runs `npm run build` (TypeScript, development labextension, CLI).
python -m pip install -q -e ".[test]"
# Point JupyterLab at the built extension through a link, so that `npm run build` is picked up.
jupyter-builder develop --overwrite . > /dev/null
