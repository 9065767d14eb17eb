"""The comm stream in-process: coalesced ``records`` messages, the message-rate budget, the size
bound, records that cannot travel, the backlog bound, close and fork (see nbprov/stream.py)."""

from __future__ import annotations

import json
import os
import threading
import time
import warnings
from typing import Any

import pytest
from conftest import TrackedShell, journal_form

import nbprov
from nbprov import stream as stream_module
from nbprov.stream import MAX_MESSAGE_BYTES, MAX_MESSAGES_PER_S, encoded_size, split_buffers


class Wire:
    """Stands in for the comm's ``send`` and keeps what went over it, with the time it went.
    Records queued before it was tapped may still come after: ``records`` leaves them out."""

    def __init__(self, tracked: TrackedShell) -> None:
        self.messages: list[tuple[float, dict[str, Any], list[bytes]]] = []
        self.lock = threading.Lock()
        self.since = max(r["seq"] for r in tracked.records())
        nbprov._tracking.stream._comm.send = self.send

    def send(self, data: dict[str, Any], buffers: list[bytes] | None = None) -> None:
        with self.lock:
            self.messages.append((time.monotonic(), data, list(buffers or [])))

    def records(self) -> list[dict[str, Any]]:
        """Every record received, metric arrays put back as the journal has them (base64)."""
        out = []
        with self.lock:
            messages = list(self.messages)
        for _, data, buffers in messages:
            for record in data.get("records", []):
                if record["seq"] <= self.since:
                    continue
                out.append(json.loads(json.dumps(journal_form(record, buffers))))
        return out

    def journal(self, tracked: TrackedShell) -> list[dict[str, Any]]:
        """The journal's records since the tap."""
        return [r for r in tracked.records() if r["seq"] > self.since]

    def omitted(self) -> int:
        with self.lock:
            return sum(data.get("omitted", 0) for _, data, _ in self.messages)

    def wait_for(self, count: int, timeout: float = 10.0) -> None:
        """Until ``count`` records arrived or were reported omitted."""
        deadline = time.monotonic() + timeout
        while len(self.records()) + self.omitted() < count:
            assert time.monotonic() < deadline, f"{len(self.records())} + {self.omitted()} of {count} records arrived"
            time.sleep(0.02)


def max_in_window(times: list[float], window_s: float) -> int:
    """The most messages sent within any ``window_s`` seconds."""
    most, first = 0, 0
    for last, sent_at in enumerate(times):
        while times[first] < sent_at - window_s:
            first += 1
        most = max(most, last - first + 1)
    return most


def message_bytes(data: dict[str, Any], buffers: list[bytes]) -> int:
    return encoded_size(data) + sum(len(buffer) for buffer in buffers)


def test_buffer_indices_continue_across_the_records_of_a_message() -> None:
    record = {
        "type": "metrics",
        "run": "r",
        "batch": 1,
        "series": [
            {"metric": "a", "ctx": None, "n": 1, "steps": b"s", "values": b"v", "timestamps": b"t", "epochs": b"e"},
            {"metric": "b", "ctx": 2, "n": 1, "steps": b"S", "values": b"V", "timestamps": b"T", "epochs": b"E"},
        ],
    }
    data, buffers = split_buffers(record)
    assert buffers == [b"s", b"v", b"t", b"e", b"S", b"V", b"T", b"E"]
    assert [s["values"] for s in data["series"]] == [1, 5]
    assert record["series"][0]["values"] == b"v"  # the journal's copy is untouched
    later, _ = split_buffers(record, first_index=8)
    assert [s["steps"] for s in later["series"]] == [8, 12]
    assert split_buffers({"type": "param"}) == ({"type": "param"}, [])


def test_hello_names_the_journal(tracked: TrackedShell) -> None:
    hello = nbprov._tracking.stream._hello
    session = tracked.records("kernel_start")[0]["session"]
    assert hello == {"session": session, "journal": f"demo.prov/journal/k-{session}.jsonl", "notebook": "demo.ipynb"}
    assert (tracked.folder / hello["journal"]).is_file()


def test_every_record_arrives_once_in_order_in_few_messages(tracked: TrackedShell) -> None:
    wire = Wire(tracked)
    tracked.run(
        "import nbprov\n"
        "for i in range(30):\n"
        "    with nbprov.run(name=f'r{i}', params={'lr': 0.1, 'i': i}) as run:\n"
        "        for epoch in range(10):\n"
        "            with run.context('training', epoch=epoch):\n"
        "                run.log_metric('loss', 1 / (epoch + 1))\n"
    )
    journal = wire.journal(tracked)
    wire.wait_for(len(journal))
    received = wire.records()
    assert received == journal  # each record once, in seq order, metric arrays byte for byte
    assert [r["type"] for r in received].count("code_state") == 1  # the 30 runs' one code state, live too
    assert wire.omitted() == 0
    assert len(wire.messages) < len(journal) / 10
    # A page that reloaded mid-cell knows the session only from the message itself.
    assert {data["session"] for _, data, _ in wire.messages} == {nbprov._tracking.session}


def test_the_message_rate_stays_in_budget_whatever_the_record_rate(tracked: TrackedShell) -> None:
    wire = Wire(tracked)
    writer = nbprov._tracking.writer
    started = time.monotonic()
    appended = 0
    while time.monotonic() - started < 2.5:  # thousands of records per second, from two threads
        worker = threading.Thread(
            target=lambda: [writer.append("param", run="r", key="k", value=1, role="input") for _ in range(50)]
        )
        worker.start()
        for _ in range(50):
            writer.append("context_start", run="r", ctx=1, name="c", epoch=None, parent=None)
        worker.join()
        appended += 100
    assert writer.flush(timeout=120)
    wire.wait_for(appended)
    assert len(wire.records()) == appended
    times = [sent_at for sent_at, _, _ in wire.messages]
    assert appended / (times[-1] - started) > 1000
    assert max_in_window(times, 1.0) <= MAX_MESSAGES_PER_S + 1


def test_messages_are_size_bounded_and_an_oversized_record_is_reported(tracked: TrackedShell) -> None:
    wire = Wire(tracked)
    # Random steps, values and timestamps do not compress: 65,536-point batches are about 1.4 MB of
    # buffers each, and several are split over messages.
    tracked.run(
        "import nbprov, random\n"
        "with nbprov.run(name='big') as run:\n"
        "    run.log_param('notes', 'x' * 5_000_000)\n"
        "    for i in range(400_000):\n"
        "        run.log_metric('x', random.random(), step=random.getrandbits(62), timestamp=random.getrandbits(40))\n"
    )
    journal = wire.journal(tracked)
    wire.wait_for(len(journal))
    assert wire.omitted() == 1  # the 5 MB param: the page reads it from the journal
    assert wire.records() == [r for r in journal if r.get("key") != "notes"]
    sizes = [message_bytes(data, buffers) for _, data, buffers in wire.messages]
    assert max(sizes) <= MAX_MESSAGE_BYTES and len([m for m in wire.messages if m[2]]) >= 3
    # One buffer per array that holds bytes (raw or zlib), none for `start` / `same`.
    assert sum(len(buffers) for _, _, buffers in wire.messages) == sum(
        isinstance(s[f], str) or "zlib" in s[f]
        for r in journal
        if r["type"] == "metrics"
        for s in r["series"]
        for f in ("steps", "values", "timestamps", "epochs")
    )


def test_a_record_the_comm_cannot_encode_is_reported_and_the_rest_arrive(tracked: TrackedShell) -> None:
    wire = Wire(tracked)
    tracked.run(
        "import nbprov\nwith nbprov.run(name='odd') as run:\n    run.log_param('k', '\\ud800')\n"
        "    run.log_param('j', 2)\n"
    )
    journal = wire.journal(tracked)
    wire.wait_for(len(journal))
    assert wire.omitted() == 1
    assert wire.records() == [r for r in journal if r.get("key") != "k"]


def test_a_backlog_beyond_its_bound_is_counted_not_kept(tracked: TrackedShell, monkeypatch: pytest.MonkeyPatch) -> None:
    stream = nbprov._tracking.stream
    wire = Wire(tracked)
    monkeypatch.setattr(stream_module, "MAX_QUEUED_BYTES", 100 * stream_module._RECORD_OVERHEAD_BYTES)
    # No batch can be taken while the send lock is held: every record meets a sender that is stuck
    # (without it, how many the sender takes meanwhile depends on the two threads' speeds).
    with stream._send_lock:
        for i in range(1000):
            nbprov._tracking.writer.append("param", run="r", key=f"k{i}", value=i, role="input")
        assert nbprov._tracking.writer.flush()
    wire.wait_for(1000)
    received = len(wire.records())
    assert received + wire.omitted() == 1000
    assert received <= 100  # the bound's 100 records queued


def test_close_sends_what_is_still_queued(tracked: TrackedShell) -> None:
    wire = Wire(tracked)
    for i in range(2000):
        nbprov._tracking.writer.append("param", run="r", key=f"k{i}", value=i, role="input")
    tracked.run("%unload_ext nbprov")  # closes the stream at once
    assert len(wire.records()) >= 2000  # plus the records of unloading


def test_a_forked_child_never_sends(tracked: TrackedShell) -> None:
    stream = nbprov._tracking.stream
    wire = Wire(tracked)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # fork with threads running: the point here
        pid = os.fork()
    if pid == 0:
        ok = stream._disabled
        stream.send({"type": "param", "t": "x", "seq": 1})
        os._exit(0 if ok and not stream._queue else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    nbprov._tracking.writer.append("param", run="r", key="after", value=1, role="input")
    nbprov._tracking.writer.flush()
    wire.wait_for(1)
    assert wire.records()[-1]["key"] == "after"  # the parent streams on
