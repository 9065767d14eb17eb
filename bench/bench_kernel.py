"""Kernel-side costs of nbprov (prints a small table; not a test).

.venv/bin/python bench/bench_kernel.py
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
import warnings

from IPython.core.interactiveshell import InteractiveShell
from traitlets.config import Config

import nbprov
from nbprov.runs import _POINT, AUTO_STEP, FLUSH_POINTS

CELL_REPEATS = 200
CELL_BLOCKS = 4
METRIC_POINTS = 1_000_000
METRIC_REPEATS = 5


def _cell_seconds(shell: InteractiveShell, repeats: int) -> list[float]:
    durations = []
    for _ in range(repeats):
        started = time.perf_counter()
        shell.run_cell("x = 1", store_history=True)
        durations.append(time.perf_counter() - started)
    return durations


def cell_overhead() -> tuple[float, float]:
    """Median run_cell time without and with the extension, in alternating blocks so that
    drift (history growth, CPU frequency) affects both alike. History is off: its SQLite
    writes cost ~1 ms a cell and would drown the difference."""
    config = Config()
    config.HistoryManager.enabled = False
    shell = InteractiveShell.instance(config=config)
    without: list[float] = []
    with_tracking: list[float] = []
    for _ in range(CELL_BLOCKS):
        without += _cell_seconds(shell, CELL_REPEATS)
        shell.run_cell("%load_ext nbprov", store_history=True)
        with_tracking += _cell_seconds(shell, CELL_REPEATS)
        shell.run_cell("%unload_ext nbprov", store_history=True)
    shell.run_cell("%load_ext nbprov", store_history=True)
    return statistics.median(without), statistics.median(with_tracking)


def log_metric_cost() -> float:
    per_point = []
    for _ in range(METRIC_REPEATS):
        run = nbprov.start_run(energy=False)
        log_metric = run.log_metric
        started = time.perf_counter()
        for _i in range(METRIC_POINTS):
            log_metric("loss", 0.5)
        per_point.append((time.perf_counter() - started) / METRIC_POINTS)
        run.end()
    return statistics.median(per_point)


def batch_throughput() -> float:
    """Points/s taken out of the point buffers, encoded as ``metrics`` records, handed to the
    listeners (the comm) and written to the journal, all on the journal thread."""
    run = nbprov.start_run(energy=False)
    series = [run._add_series(f"m{i}", None) for i in range(4)]
    block = _POINT.pack(AUTO_STEP, 0.5, 1_700_000_000_000, -1) * FLUSH_POINTS
    writer = nbprov._tracking.writer
    total = 0
    elapsed = 0.0
    for _ in range(20):
        for item in series:
            item.points += block
        started = time.perf_counter()
        writer.flush()
        elapsed += time.perf_counter() - started
        total += 4 * FLUSH_POINTS
    run.end()
    return total / elapsed


def main() -> None:
    os.chdir(tempfile.mkdtemp(prefix="nbprov-bench-"))
    os.environ["NBPROV_NOTEBOOK"] = "bench.ipynb"
    os.environ["NBPROV_ENERGY"] = "0"
    warnings.simplefilter("ignore")
    without, with_tracking = cell_overhead()
    metric = log_metric_cost()
    throughput = batch_throughput()
    print(f"{'measure':52} {'value':>14}")
    print(f"{'median run_cell without nbprov':52} {without * 1e6:11.1f} µs")
    print(f"{'median run_cell with nbprov':52} {with_tracking * 1e6:11.1f} µs")
    print(f"{'median tracking overhead per cell':52} {(with_tracking - without) * 1e6:11.1f} µs")
    print(f"{'median amortised log_metric (1M points, tight loop)':52} {metric * 1e9:11.1f} ns")
    print(f"{'binary batches: take, encode, listeners, journal write':52} {throughput / 1e6:11.2f} M points/s")


if __name__ == "__main__":
    main()
