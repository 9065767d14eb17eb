"""The journal thread's cost per metric point: CPU time of taking a 65,536-point batch out of the
packed buffer and encoding its journal line, split into zlib (which releases the GIL) and the rest
(which holds it, and so slows the loop that logs). Thread CPU time, so other load on the machine
does not inflate it much. Prints a small table; not a test.

.venv/bin/python bench/bench_journal_thread.py
(the code before a change: PYTHONPATH=<an export of it> .venv/bin/python bench/bench_journal_thread.py)
"""

from __future__ import annotations

import math
import statistics
import time
import zlib

import nbprov
from nbprov.journal import encode_line
from nbprov.runs import _POINT, AUTO_STEP, FLUSH_POINTS, MetricSeries

T0 = 1_700_000_000_000
REPEATS = 30
_compress = zlib.compress
_zlib_seconds = [0.0]


def _timed_compress(data: bytes, level: int = -1) -> bytes:
    started = time.thread_time()
    out = _compress(data, level)
    _zlib_seconds[0] += time.thread_time() - started
    return out


def cost(value_of) -> tuple[float, float, float]:
    """Median CPU ns/point in all, in zlib, and journal line bytes/point."""
    block = b"".join(_POINT.pack(AUTO_STEP, value_of(i), T0 + i // 1000, -1) for i in range(FLUSH_POINTS))
    total, in_zlib = [], []
    line = b""
    for _ in range(REPEATS):
        series = MetricSeries("loss", None, -1)
        series.points += block
        _zlib_seconds[0] = 0.0
        started = time.thread_time()
        record = {"type": "metrics", "t": "x", "run": "r", "batch": 1, "series": [series.take()], "seq": 1}
        line = encode_line(record)
        total.append((time.thread_time() - started) / FLUSH_POINTS)
        in_zlib.append(_zlib_seconds[0] / FLUSH_POINTS)
    return statistics.median(total) * 1e9, statistics.median(in_zlib) * 1e9, len(line) / FLUSH_POINTS


def main() -> None:
    zlib.compress = _timed_compress
    print(f"nbprov from {nbprov.__file__}")
    print(f"{'values':10} {'CPU ns/point':>13} {'zlib (no GIL)':>14} {'GIL held':>9} {'bytes/point':>12}")
    for label, value_of in (("constant", lambda i: 0.5), ("sin(i)", math.sin)):
        total, in_zlib, size = cost(value_of)
        print(f"{label:10} {total:13.0f} {in_zlib:14.0f} {total - in_zlib:9.0f} {size:12.2f}")


if __name__ == "__main__":
    main()
