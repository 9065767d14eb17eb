"""Storage costs: journal bytes/point, Zarr sidecar bytes/point next to yProv4ML 3.2's (prints a table).

.venv/bin/python bench/bench_storage.py [--yprov-python PATH]

The journal and the sidecar come from the real writers: a tight ``log_metric`` loop in an IPython
shell with nbprov loaded, then ``nbprov export`` (the bundled CLI). yProv4ML's figure comes from its
own writer (``yprov4ml.datamodel.metric_data.MetricInfo.save_to_zarr`` with its Zarr compressor,
``CompressorType.BLOSC_ZSTD``) run by ``--yprov-python``: a Python 3.12 with yprov4ml 3.2 and zarr 3
installed (``PYENV_VERSION=3.12.1 python3.12 -m venv v && v/bin/pip install yprov4ml==3.2.0 && v/bin/pip
install 'zarr>=3'``: yprov4ml pins zarr<3 but its writer needs zarr 3), given the same points.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import struct
import subprocess
import sys
import tempfile
import textwrap
import warnings
from pathlib import Path

POINTS = 100_000
T0 = 1_700_000_000_000


def float32(value: float) -> float:
    return struct.unpack("<f", struct.pack("<f", value))[0]


def loss_points() -> list[tuple[float, int, int]]:
    """A 100k-point training loss as ``loss.item()`` gives it (float32 values widened to float),
    one point every 3-5 ms, 10 epochs; deterministic."""
    state = 12345
    points = []
    timestamp = T0
    for i in range(POINTS):
        state = (state * 1103515245 + 12345) % 2**31
        noise = state / 2**31
        points.append((float32(2.0 * math.exp(-i / 20_000) + 0.05 * noise), timestamp, i // 10_000))
        timestamp += 3 + state % 3
    return points


def folder_bytes(folder: Path) -> int:
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())


def nbprov_costs(work: Path) -> dict[str, float]:
    """Journal bytes/point of three tight loops and the sidecar bytes/point of the loss."""
    from IPython.core.interactiveshell import InteractiveShell

    import nbprov

    home = os.getcwd()
    os.chdir(work)
    os.environ["NBPROV_NOTEBOOK"] = str(work / "bench.ipynb")
    os.environ["NBPROV_ENERGY"] = "0"
    (work / "bench.ipynb").write_text(json.dumps({"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    shell = InteractiveShell.instance()
    shell.run_cell("%load_ext nbprov")
    journal = work / "bench.prov" / "journal"
    costs = {}
    loops = {
        "journal, tight loop of float64 values with random low bits (math.sin(i))": "math.sin(i)",
        "journal, tight loop of a float32 loss (loss.item())": "float32(math.exp(-i / 20_000))",
        "journal, tight loop of a constant": "0.5",
    }
    shell.user_ns.update(math=math, float32=float32, nbprov=nbprov, loss=loss_points())
    for label, value in loops.items():
        before = folder_bytes(journal) if journal.exists() else 0
        shell.run_cell(
            f"with nbprov.run() as run:\n    for i in range(1_000_000):\n        run.log_metric('x', {value})"
        )
        nbprov._tracking.flush()
        costs[label] = (folder_bytes(journal) - before) / 1_000_000
    shell.run_cell(
        "with nbprov.run(name='loss') as run:\n"
        "    for value, timestamp, epoch in loss:\n"
        "        run.log_metric('loss', value, timestamp=timestamp, epoch=epoch)"
    )
    nbprov._tracking.flush()
    shell.run_cell("%unload_ext nbprov")
    os.chdir(home)
    export = subprocess.run(
        [sys.executable, "-m", "nbprov", "export", str(work / "bench.ipynb")], capture_output=True, text=True
    )
    if export.returncode != 0:
        raise SystemExit(export.stderr)
    zarr_root = work / "bench.prov" / "metrics.zarr"
    prov = json.loads((work / "bench.prov" / "prov.json").read_text())
    (group,) = [e["dcterms:identifier"] for e in prov["entity"].values() if e.get("prov:label") == "loss"]
    costs["sidecar, the 100k-point float32 loss (all its arrays and metadata)"] = (
        folder_bytes(zarr_root / group) / POINTS
    )
    return costs


YPROV_WRITER = textwrap.dedent(
    """
    import json, os, sys, warnings
    warnings.simplefilter("ignore")
    from yprov4ml.datamodel.compressor_type import CompressorType
    from yprov4ml.datamodel.metric_data import MetricInfo
    points = json.load(open(sys.argv[1]))
    metric = MetricInfo("loss", "training", "user", use_compressor=CompressorType.BLOSC_ZSTD)
    for value, timestamp, epoch in points:
        metric.add_metric(value, epoch, timestamp)
    metric.save_to_file(sys.argv[2], "zarr")
    (store,) = os.listdir(sys.argv[2])
    root = os.path.join(sys.argv[2], store)
    print(sum(os.path.getsize(os.path.join(d, f)) for d, _, files in os.walk(root) for f in files))
    """
)


def yprov_cost(python: str, work: Path) -> float:
    data = work / "points.json"
    data.write_text(json.dumps(loss_points()))
    out = work / "yprov"
    out.mkdir()
    result = subprocess.run([python, "-c", YPROV_WRITER, str(data), str(out)], capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(result.stderr[-2000:])
    return int(result.stdout.split()[-1]) / POINTS


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--yprov-python", help="a Python with yprov4ml 3.2 and zarr 3 (see the module's docstring)")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    with tempfile.TemporaryDirectory(prefix="nbprov-bench-") as folder:
        work = Path(folder)
        rows = nbprov_costs(work)
        if args.yprov_python:
            rows["sidecar, yProv4ML 3.2's float32 Zarr of the same loss (its writer, blosc zstd)"] = yprov_cost(
                args.yprov_python, work
            )
    print(f"{'measure':84} {'bytes/point':>11}")
    for label, value in rows.items():
        print(f"{label:84} {value:11.2f}")


if __name__ == "__main__":
    main()
