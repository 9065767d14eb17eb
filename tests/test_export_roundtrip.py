"""Round trip of `nbprov export`: journal fixtures written per the contract (ARCHITECTURE.md),
the bundled Node CLI, then the export read back with the real `prov`, `zarr` and `rocrate`."""

from __future__ import annotations

import base64
import json
import math
import re
import shutil
import struct
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import prov.model
import pytest
import zarr
from rocrate.rocrate import ROCrate

REPO_ROOT = Path(__file__).resolve().parent.parent
CLI = REPO_ROOT / "nbprov" / "cli" / "nbprov.cjs"
NODE = shutil.which("node")

pytestmark = pytest.mark.skipif(NODE is None, reason="needs Node.js")

SESSION = "a1b2c3d4e5f6"
RUN_DONE = "0123456789abcdef0123456789abcdef"
RUN_OPEN = "fedcba9876543210fedcba9876543210"
HOSTILE_NAME = "<img src=x onerror=alert(1)>/../../etc/passwd ü 😀"


def b64(fmt: str, values: list[Any]) -> str:
    return base64.b64encode(struct.pack(f"<{len(values)}{fmt}", *values)).decode("ascii")


def series(metric: str, ctx: int | None, steps: list[int], values: list[float], epochs: list[int]) -> dict[str, Any]:
    timestamps = [1_700_000_000_000 + s for s in steps]
    return {
        "metric": metric,
        "ctx": ctx,
        "n": len(steps),
        "steps": b64("q", steps),
        "values": b64("d", values),
        "timestamps": b64("q", timestamps),
        "epochs": b64("i", epochs),
    }


def t(second: int) -> str:
    return f"2025-01-02T03:04:{second:02d}.000+00:00"


# The values each metric must read back as, by (run, metric name).
LOSS_BATCH_1 = [1.5, math.nan, math.inf]
LOSS_BATCH_2 = [-math.inf, 0.25, -0.0]
ACC = [0.1, 0.2]


def kernel_records() -> list[dict[str, Any]]:
    source_v1 = "x = 1\nprint(x)\n"
    source_v2 = "x = 2\nprint(x)\n"
    records: list[dict[str, Any]] = [
        {
            "type": "kernel_start",
            "t": t(0),
            "session": SESSION,
            "kernel_id": None,
            "pid": 1,
            "hostname": "h",
            "python": "3.11",
            "nbprov_version": "0.1.0",
            "notebook": "demo.ipynb",
            "user": "alice <b>",
        },
        {
            "type": "exec_start",
            "t": t(1),
            "exec": f"{SESSION}-1",
            "msg_id": "m1",
            "cell": "cell/../1",
            "count": 1,
            "source": source_v1,
        },
        {"type": "exec_end", "t": t(2), "exec": f"{SESSION}-1", "status": "ok"},
        {
            "type": "exec_start",
            "t": t(3),
            "exec": f"{SESSION}-2",
            "msg_id": "m2",
            "cell": "cell/../1",
            "count": 2,
            "source": source_v2,
        },
        {
            "type": "run_start",
            "t": t(4),
            "run": RUN_DONE,
            "name": HOSTILE_NAME,
            "experiment": "exp",
            "exec": f"{SESSION}-2",
            "energy": True,
            "code": {
                "git": {
                    "root": "/r",
                    "commit": "c0ffee",
                    "branch": "main",
                    "remote": None,
                    "dirty": True,
                    "diff": "--- a\n+++ b\n",
                    "diff_encoding": "utf-8",
                    "diff_sha256": "0" * 64,
                    "diff_size": 12,
                    "diff_truncated": False,
                    "untracked": ["a.txt", "a.txt"],
                    "notebook": "demo.ipynb",
                },
                "python": "3.11",
                "packages": {"numpy": "2.0"},
            },
        },
        {"type": "param", "t": t(4), "run": RUN_DONE, "key": "lr", "value": 0.01, "role": "input"},
        {"type": "param", "t": t(4), "run": RUN_DONE, "key": HOSTILE_NAME, "value": "x", "role": "output"},
        {"type": "context_start", "t": t(5), "run": RUN_DONE, "ctx": 1, "name": "train", "epoch": None, "parent": None},
        {
            "type": "metrics",
            "t": t(6),
            "run": RUN_DONE,
            "batch": 1,
            "series": [
                series(HOSTILE_NAME, 1, [0, 1, 2], LOSS_BATCH_1, [-1, -1, -1]),
                series("acc", None, [0], ACC[:1], [0]),
            ],
        },
        # the same batch again (a re-sent copy): must be dropped
        {
            "type": "metrics",
            "t": t(6),
            "run": RUN_DONE,
            "batch": 1,
            "series": [
                series(HOSTILE_NAME, 1, [0, 1, 2], LOSS_BATCH_1, [-1, -1, -1]),
                series("acc", None, [0], ACC[:1], [0]),
            ],
        },
        {
            "type": "metrics",
            "t": t(7),
            "run": RUN_DONE,
            "batch": 2,
            "series": [
                series(HOSTILE_NAME, 1, [3, 4, 5], LOSS_BATCH_2, [0, 0, 1]),
                series("acc", None, [1], ACC[1:], [1]),
            ],
        },
        {"type": "context_end", "t": t(8), "run": RUN_DONE, "ctx": 1},
        {
            "type": "artifact",
            "t": t(8),
            "run": RUN_DONE,
            "path": "../../model.pt",
            "name": "model",
            "sha256": "1" * 64,
            "size": 10,
            "role": "output",
        },
        {
            "type": "energy",
            "t": t(9),
            "run": RUN_DONE,
            "scope": "run",
            "ref": RUN_DONE,
            "device": "cpu",
            "joules": None,
            "method": "rapl",
            "reason": "no permission",
            "resolution_limited": False,
        },
        {"type": "run_end", "t": t(9), "run": RUN_DONE, "status": "finished", "ename": None, "evalue": None},
        {"type": "exec_end", "t": t(10), "exec": f"{SESSION}-2", "status": "ok"},
        {
            "type": "exec_start",
            "t": t(11),
            "exec": f"{SESSION}-3",
            "msg_id": "m3",
            "cell": "c2",
            "count": 3,
            "source": "run = nbprov.run('open')",
        },
        {
            "type": "run_start",
            "t": t(12),
            "run": RUN_OPEN,
            "name": "open",
            "experiment": "",
            "exec": f"{SESSION}-3",
            "code": None,
            "energy": False,
        },
        {
            "type": "metrics",
            "t": t(13),
            "run": RUN_OPEN,
            "batch": 1,
            "series": [
                series("loss", None, [0, 1], [3.0, 2.0], [-1, -1]),
            ],
        },
    ]
    for seq, record in enumerate(records, start=1):
        record["seq"] = seq
    return records


def frontend_records() -> list[dict[str, Any]]:
    return [
        {"type": "page_start", "t": t(0), "page": "p1", "notebook": "demo.ipynb", "user": "alice <b>"},
        {
            "type": "exec_output",
            "t": t(2),
            "msg_id": "m1",
            "cell": "cell/../1",
            "count": 1,
            "status": "ok",
            "started": t(1),
            "ended": t(2),
            "outputs": [
                {
                    "output_type": "stream",
                    "name": "stdout",
                    "text": "1\n",
                    "truncated": False,
                    "sha256": "2" * 64,
                    "size": 2,
                },
                {
                    "output_type": "display_data",
                    "mime": "image/png",
                    "truncated": False,
                    "sha256": "3" * 64,
                    "size": 100,
                    "blob": "3" * 64,
                },
            ],
        },
    ]


def write_jsonl(path: Path, records: list[dict[str, Any]], tail: str = "") -> None:
    lines = [json.dumps(r, allow_nan=False, ensure_ascii=False) for r in records]
    path.write_text("\n".join(lines) + "\n" + tail, encoding="utf-8")


@pytest.fixture(scope="session")
def cli() -> Path:
    sources = list((REPO_ROOT / "src" / "core").glob("*.ts")) + list((REPO_ROOT / "src" / "cli").glob("*.ts"))
    if not CLI.is_file() or CLI.stat().st_mtime < max(p.stat().st_mtime for p in sources):
        subprocess.run(["npm", "run", "build:cli"], cwd=REPO_ROOT, check=True, capture_output=True)
    return CLI


@pytest.fixture()
def notebook_dir(tmp_path: Path) -> Path:
    (tmp_path / "demo.ipynb").write_text('{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}')
    journal = tmp_path / "demo.prov" / "journal"
    journal.mkdir(parents=True)
    blobs = tmp_path / "demo.prov" / "blobs"
    blobs.mkdir()
    (blobs / ("3" * 64)).write_bytes(b"\x89PNG")
    # a corrupt line in the middle and a truncated last line: both skipped, the rest recovered
    write_jsonl(journal / f"k-{SESSION}.jsonl", kernel_records(), tail='{"type": "exec_end", "t": "2025')
    write_jsonl(journal / "f-p1-0.jsonl", frontend_records()[:1] + [{"type": 5}] + frontend_records()[1:])
    return tmp_path


def run_export(cli: Path, folder: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [NODE, str(cli), "export", str(folder / "demo.ipynb"), *extra], capture_output=True, text=True, check=False
    )


def snapshot(folder: Path) -> set[Path]:
    return {p.relative_to(folder) for p in folder.rglob("*")}


def test_export_round_trip(cli: Path, notebook_dir: Path) -> None:
    before = snapshot(notebook_dir)
    result = run_export(cli, notebook_dir)
    assert result.returncode == 0, result.stderr
    assert "truncated last line" in result.stderr
    assert "f-p1-0.jsonl:2" in result.stderr

    # nothing written outside <stem>.prov/
    created = snapshot(notebook_dir) - before
    assert created and all(p.parts[0] == "demo.prov" for p in created)

    prov_path = notebook_dir / "demo.prov" / "prov.json"
    document = prov.model.ProvDocument.deserialize(str(prov_path), format="json")
    raw = json.loads(prov_path.read_text(encoding="utf-8"))

    # two source versions of the cell, derived with a unified diff
    cells = {k: v for k, v in raw["entity"].items() if v.get("prov:type", {}).get("$") == "nbprov:CellSource"}
    assert sorted(v["nbprov:version"] for v in cells.values() if v["nbprov:cell"] == "cell/../1") == [1, 2]
    diffs = [r["nbprov:diff"] for r in raw["wasDerivedFrom"].values() if "nbprov:diff" in r]
    assert any("-x = 1" in d and "+x = 2" in d and "@@ -1,2 +1,2 @@" in d for d in diffs)

    runs = {
        a["nbprov:run_id"]: a
        for a in raw["activity"].values()
        if a.get("prov:type", {}).get("$") == "provml:RunExecution"
    }
    assert runs[RUN_DONE]["nbprov:status"] == "finished"
    assert runs[RUN_OPEN]["nbprov:status"] == "crashed"  # no run_end and its kernel is not live
    assert runs[RUN_DONE]["prov:label"] == HOSTILE_NAME
    assert runs[RUN_DONE]["nbprov:energy"] == "unavailable"
    # The run used its code state (the old inline form, read as one code state entity).
    (code_state,) = [
        raw["entity"][u["prov:entity"]]
        for u in raw["used"].values()
        if u["prov:activity"] == f"nbprov:run.{RUN_DONE}" and u["prov:entity"].startswith("nbprov:code.")
    ]
    assert json.loads(code_state["nbprov:git_untracked"]) == ["a.txt", "a.txt"]

    # no JSON array as an attribute value anywhere
    for section in raw.values():
        for attributes in section.values():
            if isinstance(attributes, dict):
                assert not any(isinstance(v, list) for v in attributes.values())

    # every metric entity names the Zarr group (its context's table) holding exactly the logged values
    expected = {
        (RUN_DONE, HOSTILE_NAME): (LOSS_BATCH_1 + LOSS_BATCH_2, [0, 1, 2, 3, 4, 5], [-1, -1, -1, 0, 0, 1]),
        (RUN_DONE, "acc"): (ACC, [0, 1], [0, 1]),
        (RUN_OPEN, "loss"): ([3.0, 2.0], [0, 1], [-1, -1]),
    }
    metrics = [
        e
        for e in document.get_records(prov.model.ProvEntity)
        if str(e.get_attribute("prov:type").pop()) == "provml:Metric"
    ]
    assert len(metrics) == len(expected)
    root = zarr.open_group(notebook_dir / "demo.prov" / "metrics.zarr", mode="r")
    for entity in metrics:
        group_path = str(next(iter(entity.get_attribute("dcterms:identifier"))))
        group = root[group_path]
        label = str(next(iter(entity.get_attribute("prov:label"))))
        (entry,) = [m for m in group.attrs["metrics"] if m["name"] == label]
        position = group.attrs["metrics"].index(entry)
        part = slice(entry["start"], entry["start"] + entry["points"])
        values, steps, epochs = expected[(group.attrs["run"], label)]
        np.testing.assert_array_equal(group["values"][part], np.array(values, dtype="<f8"), strict=True)
        assert np.array_equal(np.signbit(group["values"][part]), np.signbit(np.array(values)), equal_nan=True)
        np.testing.assert_array_equal(group["steps"][part], np.array(steps, dtype="<i8"), strict=True)
        np.testing.assert_array_equal(group["timestamps"][part], np.array(steps, dtype="<i8") + 1_700_000_000_000)
        np.testing.assert_array_equal(group["epochs"][part], np.array(epochs, dtype="<i4"), strict=True)
        assert set(group["metric"][part].tolist()) == {position}
        assert sum(m["points"] for m in group.attrs["metrics"]) == group["values"].shape[0]
        blosc = group["values"].metadata.codecs[-1].to_dict()
        assert blosc["name"] == "blosc" and blosc["configuration"]["shuffle"] == "bitshuffle"
        assert blosc["configuration"]["cname"] == "zstd"

    crate = ROCrate(notebook_dir / "demo.prov")
    assert crate.root_dataset["license"] is not None
    ids = {e.id for e in crate.get_entities()}
    assert {"prov.json", "metrics.zarr/", f"blobs/{'3' * 64}"} <= ids

    # exporting the same history twice gives byte-identical prov.json
    first = prov_path.read_bytes()
    assert run_export(cli, notebook_dir).returncode == 0
    assert prov_path.read_bytes() == first


def test_live_session_keeps_run_running(cli: Path, notebook_dir: Path) -> None:
    assert run_export(cli, notebook_dir, "--live-session", SESSION).returncode == 0
    raw = json.loads((notebook_dir / "demo.prov" / "prov.json").read_text(encoding="utf-8"))
    statuses = {
        a["nbprov:run_id"]: a["nbprov:status"]
        for a in raw["activity"].values()
        if a.get("prov:type", {}).get("$") == "provml:RunExecution"
    }
    assert statuses == {RUN_DONE: "finished", RUN_OPEN: "running"}


def test_user_errors_are_one_line(cli: Path, tmp_path: Path) -> None:
    missing = subprocess.run([NODE, str(cli), "export", str(tmp_path / "nope.ipynb")], capture_output=True, text=True)
    assert missing.returncode == 1
    assert missing.stderr.strip() == f"nbprov export: notebook not found: {tmp_path / 'nope.ipynb'}"
    (tmp_path / "empty.ipynb").write_text("{}")
    no_journal = subprocess.run(
        [NODE, str(cli), "export", str(tmp_path / "empty.ipynb")], capture_output=True, text=True
    )
    assert no_journal.returncode == 1
    assert "no journal" in no_journal.stderr and "at " not in no_journal.stderr
    assert not (tmp_path / "empty.prov").exists()


# prov's record type (local part) → its PROV-N keyword.
PROVN_KEYWORDS = {
    "Entity": "entity",
    "Activity": "activity",
    "Agent": "agent",
    "Usage": "used",
    "Generation": "wasGeneratedBy",
    "Communication": "wasInformedBy",
    "Derivation": "wasDerivedFrom",
    "Membership": "hadMember",
    "Association": "wasAssociatedWith",
    "Attribution": "wasAttributedTo",
    "Delegation": "actedOnBehalfOf",
}


def _record_counts(document: prov.model.ProvDocument) -> dict[str, int]:
    counts: dict[str, int] = {}
    for record in document.get_records():
        counts[record.get_type().localpart] = counts.get(record.get_type().localpart, 0) + 1
    return counts


def test_prov_conventions_and_round_trips_through_prov_n_and_prov_xml(cli: Path, notebook_dir: Path) -> None:
    assert run_export(cli, notebook_dir).returncode == 0
    prov_path = notebook_dir / "demo.prov" / "prov.json"
    raw = json.loads(prov_path.read_text(encoding="utf-8"))
    document = prov.read(str(prov_path), format="json")
    assert not document.has_bundles() and "bundle" not in raw

    nodes = 0
    for element in document.get_records(prov.model.ProvElement):
        nodes += 1
        types = element.get_asserted_types()
        # A QUALIFIED_NAME literal, read as a QualifiedName, never a str.
        assert types and all(isinstance(t, prov.model.QualifiedName) for t in types), element
        labels = list(element.get_attribute("prov:label"))
        assert len(labels) == 1 and isinstance(labels[0], str) and labels[0], element
    assert nodes == sum(len(raw[section]) for section in ("entity", "activity", "agent"))

    # One person (the kernel's user, also the page's here), one agent per kernel session acting for them.
    persons = [
        a for a in document.get_records(prov.model.ProvAgent) if prov.model.PROV["Person"] in a.get_asserted_types()
    ]
    assert [str(next(iter(p.get_attribute("prov:label")))) for p in persons] == ["alice <b>"]
    assert len(list(document.get_records(prov.model.ProvDelegation))) == 1
    executions = [a for a in raw["activity"].values() if a["prov:type"]["$"] == "nbprov:CellExecution"]
    assert executions and all(isinstance(a.get("nbprov:cell_index", 0), int) for a in executions)

    counts = _record_counts(document)
    assert sum(counts.values()) == sum(len(section) for key, section in raw.items() if key != "prefix")

    # PROV-XML: written and read back by prov (lxml), the same records.
    xml = document.serialize(format="xml")
    from_xml = prov.model.ProvDocument.deserialize(content=xml, format="xml")
    assert _record_counts(from_xml) == counts
    assert from_xml == document

    # PROV-N: prov writes it (it has no PROV-N reader); one statement per record, none lost.
    provn = document.serialize(format="provn")
    keywords = "|".join(PROVN_KEYWORDS.values())
    statements = re.findall(rf"^\s*({keywords})\(", provn, flags=re.MULTILINE)
    assert {kind: statements.count(kind) for kind in set(statements)} == {
        PROVN_KEYWORDS[kind]: n for kind, n in counts.items()
    }

    # PROV-JSON written by prov and read again: the same document.
    assert prov.model.ProvDocument.deserialize(content=document.serialize(format="json"), format="json") == document
