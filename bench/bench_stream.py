"""Kernel-to-frontend metric throughput through the real Jupyter protocol (prints a table; not a test).

    .venv/bin/python bench/bench_stream.py [points]

Starts an ipykernel with ``jupyter_client`` in a temporary folder, loads nbprov (which opens the
``nbprov`` comm from the kernel side), runs a cell that logs N points in a tight loop inside
``nbprov.run()``, and reads every ``comm_msg`` of that comm on iopub as a frontend would: each
message carries many records; each ``metrics`` record's arrays arrive as binary buffers, are
decoded and checked (count, steps, values, order). Comm messages are counted (the most sent in one
second, by the kernel's clock) against the stream's budget.
End to end = first point logged (kernel clock) -> last point received (client clock; same
machine). A second cell times ``log_metric`` in blocks with the comm connected.
"""

from __future__ import annotations

import os
import queue
import sys
import tempfile
import time
import zlib
from typing import Any

import numpy as np
from jupyter_client.manager import KernelManager

from nbprov.framing import decode_array

POINTS = 2_000_000
COST_BLOCKS = 15
COST_BLOCK_POINTS = 200_000
TIMEOUT_S = 120.0

_DTYPES = {"steps": "<i8", "values": "<f8", "timestamps": "<i8", "epochs": "<i4"}

LOG_CELL = """
import time, nbprov
values = [float(i) for i in range(POINTS)]
with nbprov.run(name="stream-bench", energy=False) as run:
    log_metric = run.log_metric
    first_logged_ns = time.time_ns()
    for value in values:
        log_metric("x", value)
    last_logged_ns = time.time_ns()
print(first_logged_ns, last_logged_ns)
"""

COST_CELL = """
import statistics, time, nbprov
per_call = []
with nbprov.run(name="cost-bench", energy=False) as run:
    log_metric = run.log_metric
    for _ in range(BLOCKS):
        started = time.perf_counter()
        for _ in range(BLOCK_POINTS):
            log_metric("loss", 0.5)
        per_call.append((time.perf_counter() - started) / BLOCK_POINTS)
print(statistics.median(per_call), min(per_call), max(per_call))
"""


def _comm_array(value: Any, field: str, dtype: str, count: int, buffers: list[Any]) -> np.ndarray:
    """One framed array of a comm series (nbprov/stream.py ``split_buffers``): a buffer index, a
    compressed buffer's ``{"zlib": index}``, or a ``start`` / ``same`` form."""
    if isinstance(value, int):
        return np.frombuffer(buffers[value], dtype=dtype)
    if isinstance(value, dict) and isinstance(value.get("zlib"), int):
        return np.frombuffer(zlib.decompress(buffers[value["zlib"]]), dtype=dtype)
    return np.asarray(decode_array(value, field, count), dtype=dtype)


class Receiver:
    """Reads iopub as a frontend: the nbprov comm's messages, a cell's stdout and its end."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.comm_id: str | None = None

    def execute(self, code: str, on_comm: Any = None) -> str:
        """Runs a cell; passes each nbprov ``comm_msg`` (data, buffers, kernel send time) to
        ``on_comm``; returns the cell's stdout."""
        msg_id = self.client.execute(code)
        stdout: list[str] = []
        deadline = time.monotonic() + TIMEOUT_S
        while True:
            try:
                msg = self.client.get_iopub_msg(timeout=max(0.1, deadline - time.monotonic()))
            except queue.Empty:
                raise TimeoutError("kernel did not finish the cell in time") from None
            kind = msg["header"]["msg_type"]
            content = msg["content"]
            if kind == "comm_open" and content.get("target_name") == "nbprov":
                self.comm_id = content["comm_id"]
            elif kind == "comm_msg" and content.get("comm_id") == self.comm_id and on_comm:
                on_comm(content["data"], msg.get("buffers") or [], msg["header"]["date"].timestamp())
            elif kind == "stream" and content.get("name") == "stdout":
                stdout.append(content["text"])
            elif kind == "error":
                raise RuntimeError("cell failed: " + "\n".join(content["traceback"]))
            parent = msg.get("parent_header", {}).get("msg_id")
            if kind == "status" and content["execution_state"] == "idle" and parent == msg_id:
                return "".join(stdout)


class MetricsCollector:
    """Decodes ``metrics`` records from comm messages and notes when each arrived."""

    def __init__(self) -> None:
        self.arrays: dict[str, list[np.ndarray]] = {field: [] for field in _DTYPES}
        self.points = 0
        self.batches: list[int] = []
        self.sent_at: list[float] = []
        self.last_received_ns = 0

    def __call__(self, data: dict[str, Any], buffers: list[Any], sent_at: float) -> None:
        if data.get("omitted"):
            raise AssertionError(f"the kernel left {data['omitted']} records out of the stream")
        self.sent_at.append(sent_at)
        for record in data.get("records", []):
            if record.get("type") == "metrics":
                self._add(record, buffers)
        self.last_received_ns = time.time_ns()

    def _add(self, record: dict[str, Any], buffers: list[Any]) -> None:
        self.batches.append(record["batch"])
        for series in record["series"]:
            if series["metric"] != "x":
                continue
            for field, dtype in _DTYPES.items():
                decoded = _comm_array(series[field], field, dtype, series["n"], buffers)
                if len(decoded) != series["n"]:
                    raise AssertionError(f"{field}: {len(decoded)} values, record says {series['n']}")
                self.arrays[field].append(decoded)
            self.points += series["n"]

    def most_per_second(self) -> int:
        most, first = 0, 0
        for last, sent_at in enumerate(self.sent_at):
            while self.sent_at[first] < sent_at - 1.0:
                first += 1
            most = max(most, last - first + 1)
        return most

    def verify(self, expected: int) -> None:
        if self.batches != list(range(1, len(self.batches) + 1)):
            raise AssertionError("metrics batches missing or out of order")
        if self.points != expected:
            raise AssertionError(f"received {self.points} points, logged {expected}")
        expected_range = np.arange(expected)
        steps = np.concatenate(self.arrays["steps"])
        values = np.concatenate(self.arrays["values"])
        epochs = np.concatenate(self.arrays["epochs"])
        timestamps = np.concatenate(self.arrays["timestamps"])
        if not np.array_equal(steps, expected_range) or not np.array_equal(values, expected_range.astype(float)):
            raise AssertionError("received steps or values differ from the logged ones")
        if not (epochs == -1).all() or (np.diff(timestamps) < 0).any():
            raise AssertionError("received epochs or timestamps are wrong")


def main() -> None:
    points = int(sys.argv[1]) if len(sys.argv) > 1 else POINTS
    folder = tempfile.mkdtemp(prefix="nbprov-stream-bench-")
    env = {**os.environ, "NBPROV_NOTEBOOK": "bench.ipynb", "NBPROV_ENERGY": "0"}
    manager = KernelManager(kernel_name="python3")
    manager.start_kernel(cwd=folder, env=env)
    client = manager.client()
    client.start_channels()
    try:
        client.wait_for_ready(timeout=60)
        receiver = Receiver(client)
        receiver.execute("%load_ext nbprov")
        if receiver.comm_id is None:
            raise RuntimeError("the kernel did not open the nbprov comm")

        collector = MetricsCollector()
        output = receiver.execute(LOG_CELL.replace("POINTS", str(points)), collector)
        first_logged_ns, last_logged_ns = (int(part) for part in output.split())
        collector.verify(points)
        end_to_end_s = (collector.last_received_ns - first_logged_ns) / 1e9
        logging_s = (last_logged_ns - first_logged_ns) / 1e9

        cost_code = COST_CELL.replace("BLOCK_POINTS", str(COST_BLOCK_POINTS)).replace("BLOCKS", str(COST_BLOCKS))
        median_cost, min_cost, max_cost = (float(part) for part in receiver.execute(cost_code).split())
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)

    rows = [
        ("points logged, received and verified", f"{points:,}"),
        ("metrics batches received over the comm", f"{len(collector.batches):,}"),
        ("comm messages (most in one second)", f"{len(collector.sent_at):,} ({collector.most_per_second()})"),
        ("logging loop in the kernel", f"{logging_s * 1e3:,.0f} ms"),
        ("first point logged -> last point received", f"{end_to_end_s * 1e3:,.0f} ms"),
        ("end-to-end throughput", f"{points / end_to_end_s / 1e6:.2f} M points/s"),
        (
            f"median log_metric, comm connected ({COST_BLOCKS} x {COST_BLOCK_POINTS:,})",
            f"{median_cost * 1e9:.0f} ns (min {min_cost * 1e9:.0f}, max {max_cost * 1e9:.0f})",
        ),
    ]
    width = max(len(label) for label, _ in rows)
    print(f"{'measure':{width}}  value")
    for label, value in rows:
        print(f"{label:{width}}  {value}")


if __name__ == "__main__":
    main()
