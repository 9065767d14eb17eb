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
    (entity,) = [e for e in prov["entity"].values() if e.get("prov:type") == "provml:Metric"]
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
