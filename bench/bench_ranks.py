"""Ranks benchmark (issue #16): 64 processes logging 100,000 points each into one run.

    .venv/bin/python bench/bench_ranks.py [--ranks 64] [--points 100000]

A script process starts the run (energy on: where the CPU counters cannot be read the readings say
"unavailable"), launches the ranks as ``torchrun`` would (``RANK``/``LOCAL_RANK``/``WORLD_SIZE``),
each a plain ``import nbprov`` + ``nbprov.log_metric`` loop, ends the run, then exports with the CLI.
Prints: the ranks' wall time, journal bytes (total, per point, file count), the export time (merge of
every rank journal + prov.json + Zarr), and the page ingest (bench/bench_ranks_ingest.ts) for the
rank-0 view and for all ranks. The page figures need ``npx esbuild`` (see its header)."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CHILD = """
import sys, nbprov
for step in range({points}):
    nbprov.log_metric("loss", 1.0 / (step + 1), step=step)
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--ranks", type=int, default=64)
    parser.add_argument("--points", type=int, default=100_000)
    options = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="nbprov-bench-ranks-"))
    notebook = folder / "bench.ipynb"
    notebook.write_text(json.dumps({"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    os.environ["NBPROV_NOTEBOOK"] = str(notebook)
    sys.path.insert(0, str(REPO))
    import nbprov
    from nbprov.export import cli_command

    run = nbprov.start_run("ranks", energy=True)
    nbprov._tracking.flush()
    started = time.perf_counter()
    children = [
        subprocess.Popen(
            [sys.executable, "-c", CHILD.format(points=options.points)],
            env={**os.environ, "RANK": str(rank), "LOCAL_RANK": str(rank), "WORLD_SIZE": str(options.ranks)},
        )
        for rank in range(options.ranks)
    ]
    assert all(child.wait() == 0 for child in children)
    ranks_s = time.perf_counter() - started
    run.end()
    nbprov._stop_tracking()
    journal = folder / "bench.prov" / "journal"
    files = sorted(journal.glob("k-*.jsonl"))
    journal_bytes = sum(path.stat().st_size for path in files)
    points = options.ranks * options.points
    started = time.perf_counter()
    subprocess.run(cli_command("export", str(notebook)), check=True, capture_output=True)
    export_s = time.perf_counter() - started
    document = json.loads((folder / "bench.prov" / "prov.json").read_text())
    activity = document["activity"][f"nbprov:run.{run.id}"]
    assert len(json.loads(activity["nbprov:ranks"])) == options.ranks
    print(f"ranks: {options.ranks} processes x {options.points} points, wall {ranks_s:.1f} s")
    print(f"journal: {len(files)} files, {journal_bytes / 1e6:.1f} MB, {journal_bytes / points:.1f} bytes/point")
    print(f"export (merge + prov.json + metrics.zarr), CLI process: {export_s:.2f} s")
    print(f"run energy: {activity.get('provml:energy', activity.get('nbprov:energy_reason'))}")
    bundle = Path(tempfile.gettempdir()) / "bench_ranks_ingest.cjs"
    built = subprocess.run(
        ["npx", "esbuild", "bench/bench_ranks_ingest.ts", "--bundle", "--platform=node", f"--outfile={bundle}"],
        cwd=REPO,
        capture_output=True,
    )
    if built.returncode == 0:
        subprocess.run(["node", str(bundle), str(journal), str(options.points)], check=True)
    else:
        print("page ingest: not measured (esbuild failed)", built.stderr.decode()[-500:])


if __name__ == "__main__":
    main()
