"""Shared fixtures: a real IPython shell tracked by nbprov in a temporary folder."""

from __future__ import annotations

import base64
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from IPython.core.interactiveshell import InteractiveShell

import nbprov
from nbprov.journal import read_journal

REPO_ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable


class TrackedShell:
    """An InteractiveShell with ``%load_ext nbprov`` done, working in a temporary folder."""

    def __init__(self, shell: InteractiveShell, folder: Path) -> None:
        self.shell = shell
        self.folder = folder

    def run(self, source: str) -> Any:
        return self.shell.run_cell(source, store_history=True)

    @property
    def journal_folder(self) -> Path:
        return self.folder / "demo.prov" / "journal"

    def records(self, record_type: str | None = None) -> list[dict[str, Any]]:
        nbprov._tracking.flush()
        records = read_journal(self.journal_folder)
        return [r for r in records if record_type is None or r["type"] == record_type]


@pytest.fixture
def shell_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NBPROV_NOTEBOOK", "demo.ipynb")
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    return tmp_path


@pytest.fixture
def tracked(shell_folder: Path) -> Iterator[TrackedShell]:
    shell = InteractiveShell.instance()
    shell.run_cell("%load_ext nbprov", store_history=True)
    try:
        yield TrackedShell(shell, shell_folder)
    finally:
        shell.run_cell("%unload_ext nbprov", store_history=True)
        nbprov._settings.update(notebook=None, energy=True)


def kernel_env(extra: dict[str, str]) -> dict[str, str]:
    """Environment for kernels started by jupyter_client / nbclient: this checkout importable."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    env.update(extra)
    return env


def journal_form(record: dict, buffers: list) -> dict:
    """A record received over the comm as the journal writes it: each buffer index of its metric
    arrays (``n`` or ``{"zlib": n}``) replaced by that buffer's base64 text."""
    if record.get("type") != "metrics":
        return record

    def text(index: int) -> str:
        return base64.b64encode(buffers[index]).decode()

    def field(value: object) -> object:
        if isinstance(value, int):
            return text(value)
        if isinstance(value, dict) and isinstance(value.get("zlib"), int):
            return {"zlib": text(value["zlib"])}
        return value

    arrays = ("steps", "values", "timestamps", "epochs")
    return {**record, "series": [{**s, **{f: field(s[f]) for f in arrays}} for s in record["series"]]}
