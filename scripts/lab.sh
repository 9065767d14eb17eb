#!/usr/bin/env bash
# Sets up (scripts/setup.sh), then starts JupyterLab with nbprov on the demo notebook. No browser is
# installed; JupyterLab takes port 8888 or, when that is busy, the next free one.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
ROOT_FLAG=$([ "$(id -u)" = 0 ] && echo "--allow-root" || echo "")
exec .venv/bin/jupyter lab $ROOT_FLAG --ServerApp.root_dir=examples --LabApp.default_url=/lab/tree/demo.ipynb "$@"
