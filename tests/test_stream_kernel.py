"""A real kernel (jupyter_client) runs a 400-run sweep with epoch contexts: the nbprov comm stays
within its message budget, every journal record arrives over it exactly once, and the user's own
output is all there (issue #10: one comm message per record exceeded the server's iopub limits)."""

from __future__ import annotations

import json
import queue
import time
from pathlib import Path
from typing import Any

from conftest import journal_form, kernel_env
from jupyter_client.manager import KernelManager

from nbprov.journal import read_journal
from nbprov.stream import MAX_MESSAGE_BYTES, MAX_MESSAGES_PER_S, encoded_size

SWEEP_CELL = """
import nbprov
for i in range(400):
    with nbprov.run(name=f"sweep-{i}", experiment="sweep", params={"lr": 0.001 * (i + 1), "seed": i}) as run:
        for epoch in range(10):
            with run.context("training", epoch=epoch):
                run.log_metric("loss", 1.0 / (epoch + 1))
    print(f"run {i} done")
"""

# One run, many params and contexts: the budget holds whatever is logged.
WIDE_CELL = """
import nbprov
with nbprov.run(name="wide", params={f"p{i}": i for i in range(3000)}) as run:
    for i in range(3000):
        with run.context(f"c{i % 7}"):
            run.log_metric("m", i)
print("wide done")
"""

# Messages the Jupyter server counts against iopub_msg_rate_limit (jupyter_server 2.x,
# ZMQChannelsWebsocketConnection._limit_rate): all iopub messages but these.
_UNCOUNTED = {"status", "comm_open", "execute_input"}
_SERVER_MSG_LIMIT_PER_WINDOW = 1000 * 3  # default iopub_msg_rate_limit x rate_limit_window


class Iopub:
    """What a frontend sees on iopub: the nbprov comm's messages, stdout, everything counted."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.comm_messages: list[tuple[float, dict[str, Any], list[bytes]]] = []
        self.counted_times: list[float] = []
        self.stdout: list[str] = []

    def run(self, code: str, timeout: float = 180) -> None:
        msg_id = self.client.execute(code)
        deadline = time.monotonic() + timeout
        while True:
            msg = self.client.get_iopub_msg(timeout=max(0.1, deadline - time.monotonic()))
            self._note(msg)
            if msg["header"]["msg_type"] == "error":
                raise AssertionError("\n".join(msg["content"]["traceback"]))
            parent = msg["parent_header"].get("msg_id")
            if (
                msg["header"]["msg_type"] == "status"
                and msg["content"]["execution_state"] == "idle"
                and parent == msg_id
            ):
                return

    def drain(self, quiet_s: float = 1.0) -> None:
        """Messages sent after the cell went idle (the stream's last batch)."""
        while True:
            try:
                self._note(self.client.get_iopub_msg(timeout=quiet_s))
            except queue.Empty:
                return

    def _note(self, msg: dict[str, Any]) -> None:
        kind = msg["header"]["msg_type"]
        sent_at = msg["header"]["date"].timestamp()  # the kernel's clock, when it sent the message
        if kind not in _UNCOUNTED:
            self.counted_times.append(sent_at)
        if kind == "comm_msg" and "records" in msg["content"]["data"]:
            self.comm_messages.append((sent_at, msg["content"]["data"], [bytes(b) for b in msg.get("buffers", [])]))
        elif kind == "stream" and msg["content"]["name"] == "stdout":
            self.stdout.append(msg["content"]["text"])

    def records(self) -> list[dict[str, Any]]:
        """Every record received, metric arrays put back as the journal writes them (base64)."""
        out = []
        for _, data, buffers in self.comm_messages:
            for record in data["records"]:
                out.append(journal_form(record, buffers))
        return out


def max_in_window(times: list[float], window_s: float) -> int:
    times = sorted(times)
    most, first = 0, 0
    for last, sent_at in enumerate(times):
        while times[first] < sent_at - window_s:
            first += 1
        most = max(most, last - first + 1)
    return most


def test_a_400_run_sweep_streams_every_record_within_the_message_budget(tmp_path: Path) -> None:
    manager = KernelManager(kernel_name="python3")
    manager.start_kernel(cwd=str(tmp_path), env=kernel_env({"NBPROV_NOTEBOOK": "sweep.ipynb"}))
    client = manager.client()
    client.start_channels()
    try:
        client.wait_for_ready(timeout=60)
        iopub = Iopub(client)
        iopub.run("%load_ext nbprov")
        started = time.monotonic()
        iopub.run(SWEEP_CELL)
        sweep_s = time.monotonic() - started
        iopub.run(WIDE_CELL)
        iopub.run("print('next cell')")
        iopub.run("import nbprov; nbprov._tracking.flush()")
        iopub.drain()  # the last batch goes out after the cell is idle
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)

    lines = "".join(iopub.stdout).splitlines()
    assert lines == [f"run {i} done" for i in range(400)] + ["wide done", "next cell"]

    journal = read_journal(tmp_path / "sweep.prov" / "journal")
    assert sum(r["type"] == "run_start" for r in journal) == 401
    assert sum(r["type"] == "context_start" for r in journal) == 4000 + 3000
    received = iopub.records()
    # Exactly once each, in seq order, and the same content (the journal's JSON: compare as JSON).
    assert [r["seq"] for r in received] == [r["seq"] for r in journal]
    assert json.loads(json.dumps(received)) == journal
    assert not any(data.get("omitted") for _, data, _ in iopub.comm_messages)

    comm_times = [sent_at for sent_at, _, _ in iopub.comm_messages]
    assert max_in_window(comm_times, 1.0) <= MAX_MESSAGES_PER_S + 1
    assert len(received) / len(comm_times) > 50  # coalesced: many records per message
    assert (
        max(encoded_size(data) + sum(map(len, buffers)) for _, data, buffers in iopub.comm_messages)
        <= MAX_MESSAGE_BYTES
    )
    # The server's own count (default limits): far from the point where it drops output.
    assert max_in_window(iopub.counted_times, 3.0) < _SERVER_MSG_LIMIT_PER_WINDOW / 10
    print(
        f"sweep {sweep_s:.1f} s, {len(received)} records in {len(comm_times)} comm messages, "
        f"at most {max_in_window(comm_times, 1.0)} per second"
    )
