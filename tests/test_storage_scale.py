"""Storage at scale: a 20 M-point series through the kernel's journal writer and `nbprov export`,
read back bit-exact with zarr-python 3."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time

import numpy as np
import pytest
import zarr
from conftest import TrackedShell

import nbprov
from nbprov.export import cli_command
from nbprov.runs import AUTO_STEP, FLUSH_POINTS

pytestmark = pytest.mark.skipif(shutil.which("node") is None, reason="needs Node.js")

POINTS = 20_000_000
T0 = 1_700_000_000_000


def expected_series(first: int, count: int) -> dict[str, np.ndarray]:
    """Points first .. first + count - 1: float32-origin values (as ``loss.item()`` gives) with a
    NaN, infinities and -0.0 among them, a timestamp every 4 points, 100 epochs."""
    index = np.arange(first, first + count, dtype=np.int64)
    values = (2.0 * np.exp(-index / 5e6) + (index % 1000) / 1e4).astype(np.float32).astype(np.float64)
    for position, special in ((7, np.nan), (11, np.inf), (13, -np.inf), (17, -0.0)):
        values[(index % 1_000_003) == position] = special
    return {
        "steps": index,
        "values": values,
        "timestamps": T0 + index // 4,
        "epochs": (index // (POINTS // 100)).astype(np.int32),
    }


def test_a_20m_point_series_exports_and_reads_back_bit_exact(tracked: TrackedShell) -> None:
    notebook = {"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    (tracked.folder / "demo.ipynb").write_text(json.dumps(notebook))
    run = nbprov.start_run(name="huge", energy=False)
    series = run._add_series("loss", None)
    writer = nbprov._tracking.writer
    point = np.dtype([("step", "<i8"), ("value", "<f8"), ("timestamp", "<i8"), ("epoch", "<i8")])
    started = time.monotonic()
    # The packed points log_metric appends (automatic steps), a flush's worth at a time.
    for first in range(0, POINTS, FLUSH_POINTS):
        part = expected_series(first, min(FLUSH_POINTS, POINTS - first))
        block = np.empty(len(part["values"]), dtype=point)
        block["step"], block["value"] = AUTO_STEP, part["values"]
        block["timestamp"], block["epoch"] = part["timestamps"], part["epochs"]
        series.points += block.tobytes()
        assert writer.flush(timeout=60)
    run.end()
    assert writer.flush(timeout=60)
    journal_bytes = sum(path.stat().st_size for path in tracked.journal_folder.glob("*.jsonl"))
    logged = time.monotonic() - started

    started = time.monotonic()
    export = [sys.executable, "-m", "nbprov", "export", str(tracked.folder / "demo.ipynb")]
    subprocess.run(export, check=True, capture_output=True)
    exported = time.monotonic() - started

    prov = json.loads((tracked.folder / "demo.prov" / "prov.json").read_text())
    (entity,) = [e for e in prov["entity"].values() if e["prov:type"]["$"] == "provml:Metric"]
    assert entity["nbprov:points"] == POINTS
    group = zarr.open_group(tracked.folder / "demo.prov" / "metrics.zarr", mode="r")[entity["dcterms:identifier"]]
    zarr_bytes = sum(
        p.stat().st_size for p in (tracked.folder / "demo.prov" / "metrics.zarr").rglob("*") if p.is_file()
    )
    for first in range(0, POINTS, 1 << 22):  # compared a slice at a time: bounded test memory
        count = min(1 << 22, POINTS - first)
        expected = expected_series(first, count)
        for name, values in expected.items():
            stored = group[name][first : first + count]
            assert stored.dtype == values.dtype, name
            # Bit patterns: NaN equals itself, -0.0 differs from 0.0.
            assert np.array_equal(stored.view(f"u{stored.itemsize}"), values.view(f"u{values.itemsize}")), name
    print(
        f"\n20 M points: logged and journaled in {logged:.1f} s ({journal_bytes / POINTS:.2f} journal bytes/point), "
        f"exported in {exported:.1f} s, sidecar {zarr_bytes / POINTS:.2f} bytes/point"
    )


def test_10000_metric_names_export_in_under_3_s_as_a_few_files(tracked: TrackedShell) -> None:
    notebook = {"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    (tracked.folder / "demo.ipynb").write_text(json.dumps(notebook))
    tracked.run(
        "import nbprov\n"
        "with nbprov.run(name='wide') as run:\n"
        "    for step in range(3):\n"
        "        for m in range(10_000):\n"
        "            run.log_metric(f'm{m}', m + step / 4)\n"
        "        with run.context('validation'):\n"
        "            run.log_metric('m0', -step)\n"
    )
    tracked.records()  # flushed
    started = time.monotonic()
    subprocess.run(cli_command("export", str(tracked.folder / "demo.ipynb")), check=True, capture_output=True)
    elapsed = time.monotonic() - started  # the CLI's process, Node.js start included
    print(f"\n10,000 metric names exported in {elapsed:.2f} s")
    assert elapsed < 3
    store = tracked.folder / "demo.prov" / "metrics.zarr"
    files = [p for p in store.rglob("*") if p.is_file()]
    assert len(files) <= 30  # root, run, two context tables of five columns: metadata and chunks
    prov = json.loads((tracked.folder / "demo.prov" / "prov.json").read_text())
    metrics = [e for e in prov["entity"].values() if e["prov:type"]["$"] == "provml:Metric"]
    assert len(metrics) == 10_001
    root = zarr.open_group(store, mode="r")
    for entity in (metrics[0], metrics[9_999], metrics[-1]):
        table = root[entity["dcterms:identifier"]]
        (entry,) = [m for m in table.attrs["metrics"] if m["name"] == entity["prov:label"]]
        part = slice(entry["start"], entry["start"] + entry["points"])
        m = int(entity["prov:label"][1:])
        expected = [-s for s in range(3)] if table.attrs["context"] == "validation" else [m + s / 4 for s in range(3)]
        assert table["values"][part].tolist() == expected
        assert table["steps"][part].tolist() == [0, 1, 2]
