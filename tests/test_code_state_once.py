"""Code state stored once by content hash: a sweep of 1,000 runs in a repository with a 600 KB
uncommitted diff, in a real kernel, journals each distinct code state once and exports a prov.json
under 10 MB, read back with `prov`; each journal file holds the code states of its own runs."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import prov.model
import pytest
from conftest import TrackedShell
from kernels import Kernel, journal_records

from nbprov import records
from nbprov.export import cli_command

pytestmark = pytest.mark.skipif(
    shutil.which("node") is None or shutil.which("git") is None, reason="needs Node.js and git"
)

RUNS = 1_000
GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "T",
    "GIT_AUTHOR_EMAIL": "t@e.org",
    "GIT_COMMITTER_NAME": "T",
    "GIT_COMMITTER_EMAIL": "t@e.org",
}


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, env={**os.environ, **GIT_IDENTITY}, check=True, capture_output=True)


def repository_with_a_large_diff(folder: Path, diff_bytes: int) -> Path:
    """A repository whose tracked `model.py` has an uncommitted change of about ``diff_bytes``."""
    git(folder, "init", "-q", "-b", "main")
    (folder / "model.py").write_text("x = 0\n")
    (folder / ".gitignore").write_text("*.prov/\n")
    git(folder, "add", ".")
    git(folder, "commit", "-q", "-m", "base")
    lines = [f"weight_{i:06d} = {i * 0.001:.6f}  # an uncommitted tuning change\n" for i in range(diff_bytes // 52)]
    (folder / "model.py").write_text("".join(lines))
    return folder / "model.py"


def test_a_1000_run_sweep_with_a_600_kb_diff_stores_it_once_and_exports_under_10_mb(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    model = repository_with_a_large_diff(tmp_path, 600_000)
    (tmp_path / "train.ipynb").write_text(json.dumps({"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    sweep = (
        "import nbprov\n"
        "for i in range({first}, {last}):\n"
        "    with nbprov.run(name=f'trial-{{i}}', params={{'lr': 1e-3 * (i + 1)}}) as run:\n"
        "        for step in range(3):\n"
        "            run.log_metric('loss', 1 / (step + i + 1), step=step)\n"
    )
    started = time.monotonic()
    with Kernel(tmp_path, env={"GIT_CEILING_DIRECTORIES": str(tmp_path)}) as kernel:
        kernel.ok(sweep.format(first=0, last=RUNS // 2), timeout=600)
        # The code changes halfway: the second half has a code state of its own.
        with model.open("a") as handle:
            handle.write("late_change = True\n")
        kernel.ok(sweep.format(first=RUNS // 2, last=RUNS), timeout=600)
    swept = time.monotonic() - started
    journal = tmp_path / "train.prov" / "journal"
    written = journal_records(journal)
    starts = [r for r in written if r["type"] == records.RUN_START]
    states = [r for r in written if r["type"] == records.CODE_STATE]
    assert len(starts) == RUNS
    assert len(states) == 2, [s["sha256"] for s in states]
    first, second = (s["sha256"] for s in states)
    assert [s["code_sha256"] for s in starts] == [first] * (RUNS // 2) + [second] * (RUNS // 2)
    diff = states[0]["code"]["git"]["diff"]
    assert 590_000 < len(diff) < 1 << 20 and not states[0]["code"]["git"]["diff_truncated"]
    assert all(state["sha256"] == records.code_state_sha256(state["code"]) for state in states)
    journal_bytes = sum(path.stat().st_size for path in journal.glob("*.jsonl"))
    assert journal_bytes < 5_000_000  # before: every run_start carried the diff (923 MB in the issue)

    started = time.monotonic()
    subprocess.run(cli_command("export", str(tmp_path / "train.ipynb")), check=True, capture_output=True, timeout=600)
    exported = time.monotonic() - started
    prov_path = tmp_path / "train.prov" / "prov.json"
    prov_bytes = prov_path.stat().st_size
    assert prov_bytes < 10_000_000

    document = prov.model.ProvDocument.deserialize(str(prov_path), format="json")
    code_type = prov.model.QualifiedName(document.valid_qualified_name("nbprov:CodeState").namespace, "CodeState")
    code_entities = {
        str(record.identifier): record
        for record in document.get_records(prov.model.ProvEntity)
        if code_type in record.get_asserted_types()
    }
    assert set(code_entities) == {f"nbprov:code.{first}", f"nbprov:code.{second}"}
    used = {}
    for relation in document.get_records(prov.model.ProvUsage):
        attributes = dict(relation.formal_attributes)
        entity = str(attributes[prov.model.PROV_ATTR_ENTITY])
        if entity in code_entities:
            used[str(attributes[prov.model.PROV_ATTR_ACTIVITY])] = entity
    run_ids = {f"nbprov:run.{s['run']}": s["code_sha256"] for s in starts}
    assert used == {run: f"nbprov:code.{sha}" for run, sha in run_ids.items()}  # each run linked to its state
    (first_diff,) = code_entities[f"nbprov:code.{first}"].get_attribute("nbprov:git_diff")
    assert first_diff == diff  # the diff text intact
    text = prov_path.read_text()
    assert text.count("weight_000123 = 0.123000") == 2  # once per distinct code state, not per run
    print(
        f"\n{RUNS} runs with a {len(diff) / 1e3:.0f} KB diff: swept in {swept:.1f} s, "
        f"journal {journal_bytes / 1e6:.2f} MB, "
        f"export {exported:.1f} s, prov.json {prov_bytes / 1e6:.2f} MB"
    )


def test_a_journal_file_deleted_under_the_kernel_gets_the_code_state_again(tracked: TrackedShell) -> None:
    """Each journal file holds the code states its runs name: after `forget` deletes the file, the
    next run writes its code state into the new file (which then folds alone)."""
    (tracked.folder / "demo.ipynb").write_text("{}")
    tracked.run("import nbprov\nwith nbprov.run(name='before'):\n    pass")
    (path,) = tracked.journal_folder.glob("k-*.jsonl")
    assert [r["type"] for r in tracked.records()].count(records.CODE_STATE) == 1
    path.unlink()  # what `nbprov forget` does to the file of a live kernel
    tracked.run("with nbprov.run(name='after'):\n    pass")
    written = tracked.records()
    (state,) = [r for r in written if r["type"] == records.CODE_STATE]
    (start,) = [r for r in written if r["type"] == records.RUN_START]
    assert start["name"] == "after" and start["code_sha256"] == state["sha256"] and state["seq"] < start["seq"]
    completed = subprocess.run(cli_command("check", str(path)), capture_output=True, text=True, timeout=60)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    exported = subprocess.run(
        cli_command("export", str(tracked.folder / "demo.ipynb")), capture_output=True, text=True, timeout=120
    )
    assert exported.returncode == 0 and "code state" not in exported.stderr, exported.stderr
    document = json.loads((tracked.folder / "demo.prov" / "prov.json").read_text())
    assert [
        u["prov:entity"] for u in document["used"].values() if u["prov:activity"] == f"nbprov:run.{start['run']}"
    ] == [f"nbprov:code.{state['sha256']}"]
    # Deleted again, and this time another cell's records reach the new file before the next run.
    path.unlink()
    tracked.run("x = 1")
    types = [r["type"] for r in tracked.records()]
    assert "exec_start" in types and records.CODE_STATE not in types  # the new file is open
    tracked.run("with nbprov.run(name='third'):\n    pass")
    written = tracked.records()
    (state,) = [r for r in written if r["type"] == records.CODE_STATE]
    (start,) = [r for r in written if r["type"] == records.RUN_START]
    assert start["name"] == "third" and start["code_sha256"] == state["sha256"]


def test_the_code_state_hash_is_the_one_records_ts_computes() -> None:
    # The same object and digest are in src/core/__tests__/codestate.spec.ts.
    vector = {
        "python": "3.12.1 (main)",
        "packages": {"zarr": "3.0", "numpy": "2.1"},
        "git": {
            "root": "/w/\u00e9",
            "commit": "a" * 40,
            "branch": None,
            "remote": None,
            "remotes": [{"name": "origin", "url": "https://h/x"}],
            "dirty": True,
            "diff": '--- a/x\n+++ b/x\n\t"q" \\ \x01 \u2713 \U0001d11e\n',
            "diff_encoding": "utf-8",
            "diff_sha256": "b" * 64,
            "diff_size": 12,
            "diff_truncated": False,
            "untracked": ["u/"],
            "notebook": "n.ipynb",
        },
    }
    assert records.code_state_sha256(vector) == "f42811ccd8d4ef3e9a464a0cd97b7547154abfc6ac718fe7d58f9106b92c53c6"


def test_a_secret_in_the_diff_is_redacted_before_the_code_state_is_hashed(
    tracked: TrackedShell, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tracked.folder))
    model = repository_with_a_large_diff(tracked.folder, 2_000)
    token = "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"
    with model.open("a") as handle:
        handle.write(f"GITHUB_TOKEN = '{token}'\n")
    (tracked.folder / "demo.ipynb").write_text("{}")
    tracked.run("import nbprov\nwith nbprov.run(name='a'):\n    pass\nwith nbprov.run(name='b'):\n    pass")
    (state,) = tracked.records(records.CODE_STATE)
    assert token not in json.dumps(state) and "[redacted:github_token]" in state["code"]["git"]["diff"]
    assert state["redacted"] == 1
    # The key is the hash of what was written (redacted), so a reader can check it; both runs name it.
    assert state["sha256"] == records.code_state_sha256(state["code"])
    assert [s["code_sha256"] for s in tracked.records(records.RUN_START)] == [state["sha256"]] * 2
    assert token not in "".join(path.read_text() for path in tracked.journal_folder.glob("*.jsonl"))
