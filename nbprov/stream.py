"""Live copy of the journal's records to the frontend over the ``nbprov`` comm, coalesced.

The journal listener only queues a record. One sender thread sends the queue as ``records``
messages, at most ``MAX_MESSAGES_PER_S`` per second however many runs, contexts or params are
logged, each at most ``MAX_MESSAGE_BYTES`` (records' JSON plus binary buffers). A cell's
``exec_end`` sends what is queued at once, on the cell's thread, so the page is current when the
kernel goes idle (one more message per cell execution). The Jupyter server
counts every iopub ``comm_msg`` against its ``iopub_msg_rate_limit`` (1,000/s by default) and drops
the user's own output beyond it; one message per record broke sweeps (issue #10).

Message: ``{"session": <kernel session>, "records": [record, ...]}`` in ``seq`` order, with the
metric arrays of every ``metrics`` record framed as in the journal (``nbprov.framing``) and their
bytes as binary buffers (the field holds its buffer's index in the message where the journal has
base64 text). Every message names the kernel session, because a page that reloaded while a
cell runs reads the messages of a comm it never saw open.

A record that cannot travel (larger than ``MAX_MESSAGE_BYTES`` on its own, not encodable, or over
the ``MAX_QUEUED_BYTES`` backlog) is left out and counted in the next message's ``omitted``:
the page then reads the journal, the source of truth. A comm failure is logged and never reaches
the user's cell. In a forked child the stream is disabled: the comm belongs to the parent process.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import threading
import time
import weakref
from collections import deque
from typing import Any

from . import records
from .journal import Record

TARGET = "nbprov"
MAX_MESSAGES_PER_S = 20
MAX_MESSAGE_BYTES = 4 << 20
MAX_QUEUED_BYTES = 64 << 20
_ARRAY_FIELDS = ("steps", "values", "timestamps", "epochs")
# Bytes of a queued record other than its metric buffers, for the backlog bound only (the message
# bound uses each record's real encoded size).
_RECORD_OVERHEAD_BYTES = 256
_CLOSE_TIMEOUT_S = 2.0

log = logging.getLogger("nbprov")


def _payload(field: Any) -> bytes | None:
    """The bytes a metric array field holds (raw, or ``{"zlib": bytes}``); None for the forms
    without any (``start``, ``same``)."""
    if isinstance(field, (bytes, bytearray, memoryview)):
        return field
    zlib_bytes = field.get("zlib") if isinstance(field, dict) else None
    return zlib_bytes if isinstance(zlib_bytes, (bytes, bytearray, memoryview)) else None


def split_buffers(record: Record, first_index: int = 0) -> tuple[Record, list[bytes]]:
    """The record as comm data plus its binary buffers (only ``metrics`` records have any): each
    metric array's bytes become a buffer and its field the buffer's index (``{"zlib": index}`` for
    a compressed one); buffer indices start at ``first_index`` (the buffers already in the message)."""
    if record.get("type") != records.METRICS:
        return record, []
    buffers: list[bytes] = []
    series_out = []
    for series in record["series"]:
        item = dict(series)
        for field in _ARRAY_FIELDS:
            payload = _payload(series[field])
            if payload is None:
                continue
            index = first_index + len(buffers)
            item[field] = {"zlib": index} if isinstance(series[field], dict) else index
            buffers.append(payload)
        series_out.append(item)
    return {**record, "series": series_out}, buffers


def encoded_size(data: Record) -> int:
    """Bytes of ``data`` as the kernel's message packer (jupyter_client ``json_packer``) writes it;
    raises ``ValueError`` (or ``TypeError``) when it cannot be sent."""
    return len(json.dumps(data, ensure_ascii=False, allow_nan=False).encode("utf-8", errors="surrogateescape"))


def _queued_bytes(record: Record) -> int:
    if record.get("type") != records.METRICS:
        return _RECORD_OVERHEAD_BYTES
    return _RECORD_OVERHEAD_BYTES + sum(
        len(payload)
        for series in record["series"]
        for field in _ARRAY_FIELDS
        if (payload := _payload(series[field])) is not None
    )


def _record_size(data: Record, buffers: list[bytes]) -> int | None:
    """What one record adds to a message (its JSON, a separator, its buffers); None when it
    cannot be encoded for the comm."""
    try:
        return encoded_size(data) + 2 + sum(len(buffer) for buffer in buffers)
    except (TypeError, ValueError) as error:
        log.warning(
            "nbprov: record seq %s not streamed (the page reads it from the journal): %r", data.get("seq"), error
        )
        return None


def _disable_in_child(stream: weakref.ref[CommStream]) -> None:
    alive = stream()
    if alive is not None:
        alive.disable()


class CommStream:
    """Owns the kernel side of the ``nbprov`` comm and its coalescing sender thread."""

    def __init__(self, hello: dict[str, Any], on_flush_request: Any) -> None:
        self._hello = hello
        self._session = hello["session"]
        self._on_flush_request = on_flush_request
        self._comm: Any = None
        self._disabled = False
        self._send_lock = threading.Lock()
        self._queue_lock = threading.Lock()
        # (session, record): the kernel's own records, and those of its rank processes it forwards.
        self._queue: deque[tuple[str, Record]] = deque()
        self._queue_bytes = 0
        self._omitted = 0
        self._wake = threading.Event()
        self._next_send = 0.0  # monotonic time before which the sender thread sends nothing
        self._stopping = False
        self._sender: threading.Thread | None = None
        os.register_at_fork(after_in_child=functools.partial(_disable_in_child, weakref.ref(self)))

    def open(self) -> None:
        """Open the comm, accept comms the frontend opens (after a page reload), start the sender."""
        try:
            import comm

            comm.get_comm_manager().register_target(TARGET, self._on_frontend_open)
        except Exception as error:
            log.warning("nbprov: cannot register comm target: %r", error)
        self._sender = threading.Thread(target=self._run, name="nbprov-stream", daemon=True)
        self._sender.start()
        self.ensure_open()

    def ensure_open(self) -> None:
        """Re-create the comm if the frontend closed it (called at each cell start)."""
        if self._comm is not None or self._disabled:
            return
        try:
            from comm import create_comm

            self._attach(create_comm(target_name=TARGET, data={"session": self._session, "hello": self._hello}))
        except Exception as error:
            log.warning("nbprov: cannot open comm: %r", error)

    def disable(self) -> None:
        """Stop streaming for good without touching the comm (a forked child: the parent owns it).
        Takes no lock, since a fork may have copied one held by another thread."""
        self._disabled = True
        self._comm = None
        self._queue = deque()
        self._queue_bytes = 0

    def close(self) -> None:
        """Send what is queued, then close the comm."""
        if self._disabled:
            return
        try:
            import comm

            comm.get_comm_manager().unregister_target(TARGET, self._on_frontend_open)
        except Exception as error:
            log.warning("nbprov: cannot unregister comm target: %r", error)
        sender, self._sender = self._sender, None
        if sender is not None:
            self._stopping = True
            self._wake.set()
            sender.join(timeout=_CLOSE_TIMEOUT_S)
        channel, self._comm = self._comm, None
        if channel is not None:
            try:
                channel.close()
            except Exception as error:
                log.warning("nbprov: comm close failed: %r", error)

    def send(self, record: Record, session: str | None = None) -> None:
        """Journal listener (any thread): queue ``record`` for the sender; a cell's ``exec_end``
        sends the queue on the caller's thread. ``session``: a rank process's record the kernel
        forwards (``nbprov.ranks.RankFollower``), sent in messages of that session (``via`` names
        this kernel's), within the same message budget."""
        if self._disabled or self._comm is None:
            return
        size = _queued_bytes(record)
        with self._queue_lock:
            if self._queue_bytes + size > MAX_QUEUED_BYTES:
                self._omitted += 1
            else:
                self._queue.append((session or self._session, record))
                self._queue_bytes += size
        if record.get("type") == records.EXEC_END:
            # The cell is over: send now, so the page is current when the kernel goes idle.
            while self._has_pending():
                self._send_batch()
        else:
            self._wake.set()

    def _has_pending(self) -> bool:
        with self._queue_lock:
            return bool(self._queue or self._omitted)

    def _run(self) -> None:
        while True:
            self._wake.wait()
            if self._disabled:
                return
            delay = self._next_send - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            self._wake.clear()  # before taking: a record queued from now on wakes the next round
            self._send_batch()
            if self._has_pending():
                self._wake.set()
            elif self._stopping:
                return

    def _take_batch(self) -> tuple[str, list[Record], list[bytes], int]:
        """Records of one session from the head of the queue that fit one message, with their
        buffers, and how many records were left out since the last message."""
        records: list[Record] = []
        buffers: list[bytes] = []
        with self._queue_lock:
            session = self._queue[0][0] if self._queue else self._session
        size = encoded_size({"session": session, "records": []})
        while True:
            with self._queue_lock:
                if not self._queue or self._queue[0][0] != session:
                    break
                record = self._queue[0][1]
            data, record_buffers = split_buffers(record, len(buffers))
            record_size = _record_size(data, record_buffers)
            fits = record_size is not None and size + record_size <= MAX_MESSAGE_BYTES
            if not fits and records and record_size is not None:
                break  # the next message takes it
            with self._queue_lock:
                self._queue.popleft()
                self._queue_bytes -= _queued_bytes(record)
                if not fits:
                    self._omitted += 1
            if fits:
                records.append(data)
                buffers.extend(record_buffers)
                size += record_size
        with self._queue_lock:
            omitted, self._omitted = self._omitted, 0
        return session, records, buffers, omitted

    def _send_batch(self) -> None:
        """Sends one message; taking and sending under one lock keeps messages in ``seq`` order."""
        with self._send_lock:
            session, records, buffers, omitted = self._take_batch()
            channel = self._comm
            if not (records or omitted) or channel is None or self._disabled:
                return
            message: dict[str, Any] = {"session": session, "records": records}
            if session != self._session:
                message["via"] = self._session  # a rank's records: the page's kernel is still this one
            if omitted:
                message["omitted"] = omitted
            try:
                channel.send(message, buffers=buffers or None)
            except Exception as error:
                log.warning("nbprov: comm send failed (the page reads those records from the journal): %r", error)
            self._next_send = time.monotonic() + 1.0 / MAX_MESSAGES_PER_S

    def _on_frontend_open(self, channel: Any, open_msg: dict[str, Any]) -> None:
        self._attach(channel)
        self._send_hello()

    def _send_hello(self) -> None:
        try:
            if self._comm is not None:
                with self._send_lock:
                    self._comm.send({"session": self._session, "hello": self._hello})
        except Exception as error:
            log.warning("nbprov: comm send failed: %r", error)

    def _attach(self, channel: Any) -> None:
        channel.on_msg(self._on_message)
        channel.on_close(lambda _msg, closed=channel: self._closed(closed))
        self._comm = channel

    def _closed(self, channel: Any) -> None:
        if self._comm is channel:
            self._comm = None

    def _on_message(self, msg: dict[str, Any]) -> None:
        content = msg.get("content") if isinstance(msg, dict) else None
        data = content.get("data") if isinstance(content, dict) else None
        if isinstance(data, dict) and data.get("request") == "flush":
            try:
                self._on_flush_request()
            except Exception as error:
                log.warning("nbprov: flush requested by the frontend failed: %r", error)
            return
        log.warning("nbprov: ignoring malformed comm message: %.200r", data)
