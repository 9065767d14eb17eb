"""A real IPython kernel (jupyter_client) for adversarial tests: run cells, interrupt, read outputs."""

from __future__ import annotations

import queue
import time
import warnings
from pathlib import Path
from typing import Any

from conftest import kernel_env
from jupyter_client.manager import KernelManager

from nbprov.framing import decode_series
from nbprov.journal import read_journal

IDLE_WITHOUT_REPLY_S = 3.0


class Kernel:
    """One kernel started in ``folder``; ``NBPROV_NOTEBOOK`` names its notebook."""

    def __init__(self, folder: Path, notebook: str = "train.ipynb", env: dict[str, str] | None = None) -> None:
        self.folder = folder
        self.manager = KernelManager(kernel_name="python3")
        self.manager.start_kernel(
            cwd=str(folder), env=kernel_env({"NBPROV_NOTEBOOK": notebook, "NBPROV_ENERGY": "0", **(env or {})})
        )
        self.client = self.manager.client()
        self.client.start_channels()
        self.client.wait_for_ready(timeout=60)

    def close(self) -> None:
        self.client.stop_channels()
        self.manager.shutdown_kernel(now=True)

    def __enter__(self) -> Kernel:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self, code: str) -> str:
        """Send a cell without waiting; returns its msg_id."""
        return self.client.execute(code)

    def finish(self, msg_id: str, timeout: float = 120) -> tuple[dict[str, Any], str]:
        """Wait for the cell's reply; returns (reply content, everything it printed)."""
        deadline = time.monotonic() + timeout
        text: list[str] = []
        reply: dict[str, Any] | None = None
        idle = False
        seen: list[str] = []
        idle_at: float | None = None
        while reply is None or not idle:
            if idle_at is not None and time.monotonic() - idle_at > IDLE_WITHOUT_REPLY_S:
                # ipykernel drops the reply when an interrupt reaches it before the cell's code
                # runs: the kernel is idle again and nothing of the cell ran.
                return {"status": "dropped"}, "".join(text)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"cell did not finish (seen: {seen}); output so far: {''.join(text)[-2000:]}")
            if reply is None:
                try:
                    message = self.client.get_shell_msg(timeout=0.05)
                    if message["parent_header"].get("msg_id") == msg_id:
                        reply = message["content"]
                except queue.Empty:
                    pass
            try:
                message = self.client.get_iopub_msg(timeout=0.05)
            except queue.Empty:
                continue
            if message["parent_header"].get("msg_id") != msg_id:
                continue
            kind, content = message["msg_type"], message["content"]
            seen.append(kind if kind != "status" else content["execution_state"])
            if kind == "stream":
                text.append(content["text"])
            elif kind in ("execute_result", "display_data"):
                text.append(content["data"].get("text/plain", "") + "\n")
            elif kind == "error":
                text.append("\n".join(content["traceback"]))
            elif kind == "status" and content["execution_state"] == "idle":
                idle = True
                idle_at = time.monotonic()
        return reply, "".join(text)

    def run(self, code: str, timeout: float = 120) -> tuple[dict[str, Any], str]:
        return self.finish(self.start(code), timeout)

    def ok(self, code: str, timeout: float = 120) -> str:
        """Run a cell that must succeed; returns what it printed."""
        reply, text = self.run(code, timeout)
        assert reply["status"] == "ok", text
        return text

    def interrupt(self) -> None:
        self.manager.interrupt_kernel()


def journal_records(folder: Path, tolerant: bool = False) -> list[dict[str, Any]]:
    """Every kernel record under a journal folder; a damaged line fails the test, unless
    ``tolerant`` (a journal still being written, or cut by a kill: such lines are skipped)."""
    if tolerant and not folder.is_dir():
        return []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore" if tolerant else "error")
        return read_journal(folder)


def series_points(records: list[dict[str, Any]], run: str) -> dict[str, dict[str, list]]:
    """metric name -> {steps, values, epochs} of one run, in journal order."""
    merged: dict[str, dict[str, list]] = {}
    for record in records:
        if record["type"] == "metrics" and record["run"] == run:
            for series in record["series"]:
                decoded = decode_series(series)
                into = merged.setdefault(series["metric"], {"steps": [], "values": [], "epochs": []})
                for field in into:
                    into[field] += decoded[field].tolist()
    return merged


def assert_journal_consistent(records: list[dict[str, Any]]) -> None:
    """seq runs 1..n without repeats, and no run has two batches with the same number."""
    assert [r["seq"] for r in records] == list(range(1, len(records) + 1))
    batches = [(r["run"], r["batch"]) for r in records if r["type"] == "metrics"]
    assert len(batches) == len(set(batches))
    started: set[str] = set()
    ended: set[str] = set()
    for record in records:  # a run's records come after its run_start, its points before its run_end
        if record["type"] == "run_start":
            started.add(record["run"])
        elif record.get("run") is not None and record["type"] != "gap":
            assert record["run"] in started, f"{record['type']} seq {record['seq']} before its run_start"
        if record["type"] == "run_end":
            ended.add(record["run"])
        elif record["type"] in ("metrics", "context_end"):
            assert record["run"] not in ended, f"{record['type']} seq {record['seq']} after its run_end"
