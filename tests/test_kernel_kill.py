"""kill -9 of a real kernel mid-run: the journal keeps everything older than 1 s, and the next
kernel marks the run crashed."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from conftest import kernel_env
from jupyter_client.manager import KernelManager
from kernels import journal_records

from nbprov.framing import decode_series

TRAINING_CELL = """
import time, nbprov
run = nbprov.start_run(name='doomed', params={'lr': 0.1, 'batch': 32})
step = 0
while True:
    nbprov.log_metric('loss', 1.0 / (step + 1), step=step)
    step += 1
    time.sleep(0.005)
"""


def _start_kernel(folder: Path) -> KernelManager:
    manager = KernelManager(kernel_name="python3")
    manager.start_kernel(cwd=str(folder), env=kernel_env({"NBPROV_NOTEBOOK": "train.ipynb", "NBPROV_ENERGY": "0"}))
    return manager


def _execute(manager: KernelManager, code: str, timeout: float = 60) -> dict:
    client = manager.client()
    client.start_channels()
    try:
        client.wait_for_ready(timeout=60)
        return client.execute_interactive(code, timeout=timeout)
    finally:
        client.stop_channels()


def test_kill_9_mid_run_loses_nothing_older_than_a_second(tmp_path: Path) -> None:
    journal = tmp_path / "train.prov" / "journal"
    manager = _start_kernel(tmp_path)
    try:
        reply = _execute(manager, "%load_ext nbprov")
        assert reply["content"]["status"] == "ok"
        client = manager.client()
        client.start_channels()
        client.execute(TRAINING_CELL)
        # wait until the run is on disk, then let it log for ~1.5 s
        deadline = time.monotonic() + 30
        while (
            not any(r["type"] == "run_start" for r in journal_records(journal, tolerant=True))
            and time.monotonic() < deadline
        ):
            time.sleep(0.05)
        time.sleep(1.5)
        killed_at_ms = time.time() * 1000
        pid = manager.provisioner.pid
        os.kill(pid, signal.SIGKILL)
        manager.provisioner.process.wait(timeout=10)  # reap: a zombie would still look alive
        client.stop_channels()
    finally:
        manager.cleanup_resources()

    records = journal_records(journal, tolerant=True)
    (start,) = [r for r in records if r["type"] == "run_start"]
    assert start["name"] == "doomed"
    assert {r["key"]: r["value"] for r in records if r["type"] == "param"} == {"lr": 0.1, "batch": 32}
    assert not [r for r in records if r["type"] == "run_end"]
    steps: list[int] = []
    timestamps: list[int] = []
    for record in records:
        if record["type"] == "metrics":
            for series in record["series"]:
                decoded = decode_series(series)
                steps += decoded["steps"].tolist()
                timestamps += decoded["timestamps"].tolist()
    # Points are logged in step order, so "no gap from step 0" plus "the newest point on disk is
    # younger than 1 s" means every point logged more than 1 s before the kill reached the disk.
    assert steps == list(range(len(steps)))
    assert len([t for t in timestamps if t < killed_at_ms - 1000]) > 20
    assert max(timestamps) > killed_at_ms - 1000

    successor = _start_kernel(tmp_path)
    try:
        reply = _execute(successor, "%load_ext nbprov\nimport nbprov\nnbprov._tracking.flush()")
        assert reply["content"]["status"] == "ok"
    finally:
        successor.shutdown_kernel(now=True)
    ends = [r for r in journal_records(journal, tolerant=True) if r["type"] == "run_end"]
    assert [(e["run"], e["status"]) for e in ends] == [(start["run"], "crashed")]
