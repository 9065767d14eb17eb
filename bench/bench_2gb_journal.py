"""A ~2 GB kernel journal exported by `nbprov export`: wall time, peak memory, a sample read back.

.venv/bin/python bench/bench_2gb_journal.py [--gigabytes 2] [--folder /tmp]

The journal comes from the real writer: a sweep of runs in an IPython shell with nbprov loaded, each
logging a noisy float64 loss and gradient norm with their timestamps (values with random low bits,
which the framing cannot compress: 10.7 bytes/point). The points are appended as log_metric packs
them, a flush's worth at a time (log_metric itself costs 1.2 µs a point: 200 M points would take
four minutes of Python loop and measure nothing more). The export runs as a separate process under
`/usr/bin/time -v` (wall time and maximum resident set size); then slices of every series are read
back with zarr-python 3 and compared bit for bit. The folder is deleted afterwards.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import zarr

T0 = 1_700_000_000_000
METRICS = ("loss", "grad_norm")
POINT = np.dtype([("step", "<i8"), ("value", "<f8"), ("timestamp", "<i8"), ("epoch", "<i8")])


def block_values(run: int, metric: int, block: int, count: int) -> dict[str, np.ndarray]:
    """Points of one block of one series: deterministic, so the read-back regenerates them."""
    rng = np.random.default_rng([run, metric, block])
    first = block * count
    index = np.arange(first, first + count, dtype=np.int64)
    values = np.exp(-index / 2e7) * (1 + metric) + rng.normal(0, 0.01, count)
    return {
        "values": values,
        "timestamps": T0 + index * 3 + rng.integers(0, 3, count),
        "epochs": (index // 1_000_000).astype(np.int32),
    }


def generate(work: Path, target_bytes: int) -> tuple[int, int]:
    """Writes the sweep until the journal holds ``target_bytes``; returns (runs, blocks per series)."""
    from IPython.core.interactiveshell import InteractiveShell

    import nbprov
    from nbprov.runs import AUTO_STEP, FLUSH_POINTS

    home = os.getcwd()
    os.chdir(work)
    os.environ["NBPROV_NOTEBOOK"] = str(work / "bench.ipynb")
    os.environ["NBPROV_ENERGY"] = "0"
    (work / "bench.ipynb").write_text(json.dumps({"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    shell = InteractiveShell.instance()
    shell.run_cell("%load_ext nbprov")
    writer = nbprov._tracking.writer
    runs = 8
    # Points per series so that the whole sweep reaches the target (10.7 bytes/point, measured below).
    blocks = max(1, round(target_bytes / 10.7 / (runs * len(METRICS) * FLUSH_POINTS)))
    for run_index in range(runs):
        run = nbprov.start_run(name=f"sweep-{run_index}", params={"lr": 10 ** -(run_index % 4 + 2)}, energy=False)
        series = [run._add_series(name, None) for name in METRICS]
        for block in range(blocks):
            for metric, target in enumerate(series):
                part = block_values(run_index, metric, block, FLUSH_POINTS)
                packed = np.empty(FLUSH_POINTS, dtype=POINT)
                packed["step"], packed["value"] = AUTO_STEP, part["values"]
                packed["timestamp"], packed["epoch"] = part["timestamps"], part["epochs"]
                target.points += packed.tobytes()
            assert writer.flush(timeout=120)
        run.end()
    assert writer.flush(timeout=120)
    shell.run_cell("%unload_ext nbprov")
    os.chdir(home)
    return runs, blocks


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--gigabytes", type=float, default=2.0)
    parser.add_argument("--folder", default=tempfile.gettempdir(), help="where the temporary notebook folder goes")
    args = parser.parse_args()
    from nbprov.runs import FLUSH_POINTS

    work = Path(tempfile.mkdtemp(prefix="nbprov-2gb-", dir=args.folder))
    try:
        started = time.monotonic()
        runs, blocks = generate(work, int(args.gigabytes * 1e9))
        generated = time.monotonic() - started
        journal = work / "bench.prov" / "journal"
        journal_bytes = sum(path.stat().st_size for path in journal.glob("*.jsonl"))
        points = runs * len(METRICS) * blocks * FLUSH_POINTS
        print(
            f"journal: {journal_bytes / 1e9:.2f} GB, {points / 1e6:.1f} M points "
            f"({journal_bytes / points:.2f} bytes/point), written in {generated:.0f} s",
            flush=True,
        )
        export = subprocess.run(
            ["/usr/bin/time", "-v", sys.executable, "-m", "nbprov", "export", str(work / "bench.ipynb")],
            capture_output=True,
            text=True,
        )
        if export.returncode != 0:
            raise SystemExit(f"export failed ({export.returncode}):\n{export.stdout[-4000:]}\n{export.stderr[-4000:]}")
        wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)", export.stderr).group(1)
        rss_kb = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", export.stderr).group(1))
        prov_bytes = (work / "bench.prov" / "prov.json").stat().st_size
        zarr_root = work / "bench.prov" / "metrics.zarr"
        zarr_bytes = sum(path.stat().st_size for path in zarr_root.rglob("*") if path.is_file())
        print(
            f"export: wall {wall}, max RSS {rss_kb / 1024:.0f} MiB (the export process tree's largest), "
            f"prov.json {prov_bytes / 1e6:.2f} MB, metrics.zarr {zarr_bytes / 1e9:.2f} GB",
            flush=True,
        )
        check_read_back(work, runs, blocks)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def check_read_back(work: Path, runs: int, blocks: int) -> None:
    """The first, a middle and the last block of every series, bit for bit, through zarr-python 3."""
    from nbprov.runs import FLUSH_POINTS

    prov = json.loads((work / "bench.prov" / "prov.json").read_text())
    root = zarr.open_group(work / "bench.prov" / "metrics.zarr", mode="r")
    sampled = sorted({0, blocks // 2, blocks - 1})
    checked = 0
    for entity in prov["entity"].values():
        if entity["prov:type"]["$"] != "provml:Metric":
            continue
        table = root[entity["dcterms:identifier"]]
        (entry,) = [m for m in table.attrs["metrics"] if m["name"] == entity["prov:label"]]
        assert entry["points"] == blocks * FLUSH_POINTS, entry
        run_index = int(table.attrs["run_name"].removeprefix("sweep-"))
        metric = METRICS.index(entity["prov:label"])
        for block in sampled:
            at = entry["start"] + block * FLUSH_POINTS
            stored = table["values"][at : at + FLUSH_POINTS]
            expected = block_values(run_index, metric, block, FLUSH_POINTS)["values"]
            if not np.array_equal(stored.view("u8"), expected.view("u8")):
                raise SystemExit(f"values of {entity['prov:label']} block {block} differ from what was logged")
            checked += 1
    assert checked == runs * len(METRICS) * len(sampled), checked
    print(f"read back with zarr-python {zarr.__version__}: {checked} slices of {FLUSH_POINTS} values, bit-exact")


if __name__ == "__main__":
    main()
