"""Cost of kernel-side output capture: a cell printing 100,000 lines in a real kernel, timed inside
the kernel, without nbprov and with it (prints a small table; not a test).

    .venv/bin/python bench/bench_outputs.py
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
from pathlib import Path

from jupyter_client.manager import KernelManager

LINES = 100_000
REPEATS = 3
CELL = f"""
import time
_started = time.perf_counter()
for i in range({LINES}):
    print(i)
_elapsed = time.perf_counter() - _started
"""


def _seconds(folder: str, tracked: bool) -> float:
    env = dict(os.environ, NBPROV_NOTEBOOK="bench.ipynb", NBPROV_ENERGY="0")
    env["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(Path(__file__).resolve().parent.parent), env.get("PYTHONPATH")])
    )
    manager = KernelManager(kernel_name="python3")
    manager.start_kernel(cwd=folder, env=env)
    client = manager.client()
    client.start_channels()
    try:
        client.wait_for_ready(timeout=60)
        if tracked:
            client.execute_interactive("%load_ext nbprov", timeout=60)
        client.execute_interactive(CELL, timeout=300, output_hook=lambda message: None)
        texts: list[str] = []
        client.execute_interactive(
            "print(_elapsed)",
            timeout=60,
            output_hook=lambda m: texts.append(m["content"]["text"]) if m["msg_type"] == "stream" else None,
        )
        return float("".join(texts))
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        plain, tracked = [], []
        for _ in range(REPEATS):  # interleaved, so load changes hit both alike
            plain.append(_seconds(folder, False))
            tracked.append(_seconds(folder, True))
    plain_s, tracked_s = statistics.median(plain), statistics.median(tracked)
    print(f"| print {LINES:,} lines (median of {REPEATS}) | without nbprov | with nbprov | per line |")
    print("| --- | --- | --- | --- |")
    print(f"| | {plain_s:.2f} s | {tracked_s:.2f} s | +{(tracked_s - plain_s) / LINES * 1e6:.1f} µs |")


if __name__ == "__main__":
    sys.exit(main())
