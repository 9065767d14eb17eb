"""Live copy of every journal record to the frontend over the ``nbprov`` comm.

Metric arrays travel as binary buffers: in the sent record each array field holds its buffer
index. Every message names the kernel session, because a page that reloaded while a cell runs reads
the messages of a comm it never saw open. A comm failure is logged and never reaches the user's cell.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from .journal import Record

TARGET = "nbprov"
_ARRAY_FIELDS = ("steps", "values", "timestamps", "epochs")

log = logging.getLogger("nbprov")


def split_buffers(record: Record) -> tuple[Record, list[bytes]]:
    """The record as comm data plus its binary buffers (only ``metrics`` records have any)."""
    if record.get("type") != "metrics":
        return record, []
    buffers: list[bytes] = []
    series_out = []
    for series in record["series"]:
        item = dict(series)
        for field in _ARRAY_FIELDS:
            item[field] = len(buffers)
            buffers.append(series[field])
        series_out.append(item)
    return {**record, "series": series_out}, buffers


class CommStream:
    """Owns the kernel side of the ``nbprov`` comm."""

    def __init__(self, hello: dict[str, Any], on_flush_request: Any) -> None:
        self._hello = hello
        self._session = hello["session"]
        self._on_flush_request = on_flush_request
        self._comm: Any = None
        self._lock = threading.Lock()

    def open(self) -> None:
        """Open the comm and accept comms the frontend opens (after a page reload)."""
        try:
            import comm

            comm.get_comm_manager().register_target(TARGET, self._on_frontend_open)
        except Exception as error:
            log.warning("nbprov: cannot register comm target: %r", error)
        self.ensure_open()

    def ensure_open(self) -> None:
        """Re-create the comm if the frontend closed it (called at each cell start)."""
        if self._comm is not None:
            return
        try:
            from comm import create_comm

            self._attach(create_comm(target_name=TARGET, data={"session": self._session, "hello": self._hello}))
        except Exception as error:
            log.warning("nbprov: cannot open comm: %r", error)

    def close(self) -> None:
        try:
            import comm

            comm.get_comm_manager().unregister_target(TARGET, self._on_frontend_open)
        except Exception as error:
            log.warning("nbprov: cannot unregister comm target: %r", error)
        channel, self._comm = self._comm, None
        if channel is not None:
            try:
                channel.close()
            except Exception as error:
                log.warning("nbprov: comm close failed: %r", error)

    def send(self, record: Record) -> None:
        channel = self._comm
        if channel is None:
            return
        try:
            data, buffers = split_buffers(record)
            with self._lock:
                channel.send({"session": self._session, "record": data}, buffers=buffers or None)
        except Exception as error:
            log.warning("nbprov: comm send failed: %r", error)

    def _on_frontend_open(self, channel: Any, open_msg: dict[str, Any]) -> None:
        self._attach(channel)
        self._send_hello()

    def _send_hello(self) -> None:
        try:
            if self._comm is not None:
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
