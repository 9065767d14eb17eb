#!/usr/bin/env bash
# Proves the wheel installs as users install it. Builds it from this checkout, then:
#   1. a fresh venv with the newest supported JupyterLab (nbprov[jupyterlab]): `jupyter labextension
#      list` reports nbprov enabled and OK; with PATH stripped of any system Node.js, every command's
#      --help works and a notebook run headless by nbclient exports, read back by `prov` and `zarr`;
#   2. a fresh venv with the oldest supported JupyterLab (4.4): the extension is enabled and OK and a
#      UI smoke test (ui-tests/compat) renders the runs widget there.
# Needs scripts/setup.sh first (npm packages, .venv) and Debian's Chromium for step 2.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
OLDEST_JUPYTERLAB=4.4.10
WORK=$(mktemp -d /tmp/nbprov-install-XXXXXX)
trap 'rm -rf "$WORK"' EXIT

echo "-- wheel"
rm -rf dist
.venv/bin/python -m pip wheel -q --no-deps -w dist .
WHEEL=$(ls dist/nbprov-*.whl)
echo "$WHEEL: $(du -k "$WHEEL" | cut -f1) KiB"

# A PATH with python and git only: no system Node.js (/usr/bin/node) reachable.
mkdir "$WORK/bin"
ln -s "$(command -v python3)" "$WORK/bin/python3"
ln -s "$(command -v git)" "$WORK/bin/git"

# Usage: expect_enabled_ok <venv>
expect_enabled_ok() {
  local listing
  # Without the colour codes it prints even into a pipe.
  listing=$("$1/bin/jupyter" labextension list 2>&1 | sed 's/\x1b\[[0-9;]*m//g')
  if ! grep -Eq '^\s*nbprov v[0-9.]+ enabled OK' <<< "$listing"; then
    echo "$listing"
    echo "nbprov is not 'enabled OK' in $1"
    exit 1
  fi
  echo "labextension list: $(grep -E '^\s*nbprov ' <<< "$listing" | xargs)"
}

echo "-- newest JupyterLab"
python3 -m venv "$WORK/newest"
"$WORK/newest/bin/pip" install -q "$WHEEL[jupyterlab]" nbclient prov zarr
"$WORK/newest/bin/jupyter" lab --version
expect_enabled_ok "$WORK/newest"
(
  export PATH="$WORK/newest/bin:$WORK/bin"
  if command -v node > /dev/null; then
    echo "node is still on PATH: $(command -v node)"
    exit 1
  fi
  for args in "--help" "export --help" "restore --help"; do
    # shellcheck disable=SC2086 # the arguments are meant to split
    nbprov $args > "$WORK/help.txt"
    read -r usage < "$WORK/help.txt" && echo "nbprov $args: $usage" # a builtin: PATH has no head
  done
  cd "$WORK" && python3 "$ROOT/scripts/check_install_notebook.py"
)

echo "-- oldest JupyterLab ($OLDEST_JUPYTERLAB)"
python3 -m venv "$WORK/oldest"
"$WORK/oldest/bin/pip" install -q "$WHEEL" "jupyterlab==$OLDEST_JUPYTERLAB"
expect_enabled_ok "$WORK/oldest"
PORT=${NBPROV_COMPAT_PORT:-$(.venv/bin/python scripts/free_port.py)}
# NBPROV_UI_LOCK (optional): a lock file serialising browser runs on a machine shared by several checkouts.
(cd ui-tests/compat && CI=1 NBPROV_COMPAT_PORT=$PORT NBPROV_COMPAT_VENV="$WORK/oldest" ${NBPROV_UI_LOCK:+flock "$NBPROV_UI_LOCK"} npx playwright test)
echo "install check: OK"
