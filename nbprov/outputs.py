"""Cell outputs recorded by the kernel itself, so that headless runs (nbclient, papermill) and cells
that ran through a page reload or a server kill keep their outputs.

Captured under ipykernel only: ``sys.stdout`` / ``sys.stderr`` writes (the kernel's ``OutStream``),
``display_data`` / ``update_display_data`` / ``clear_output`` (the display publisher's hooks),
``execute_result`` (the display hook's hooks) and the cell's error (the traceback ipykernel sends).
Items have the shape of the page's ``exec_output`` items (``src/core/outputs.ts``): text beyond
``TEXT_LIMIT`` characters is truncated with the whole text hashed, binary data goes to
``blobs/<sha256>``.

Outputs are accumulated per execution and written as ``kernel_output`` records, at most every
``RECORD_INTERVAL_S`` while the cell runs and once at its end: a loop printing 100,000 lines makes
a handful of records. Each record carries the items from ``index`` on (the ones that changed since
the previous record); a reader truncates its list to ``index`` and appends. Every failure is swallowed
with one warning: recording never breaks the user's cell.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import re
import secrets
import stat
import sys
import threading
import time
import warnings
from collections import deque
from itertools import groupby
from operator import itemgetter
from pathlib import Path
from typing import Any

from . import records
from .execution import safe_str
from .journal import JournalWriter
from .redact import cut_head

TEXT_LIMIT = 64 * 1024
RECORD_INTERVAL_S = 1.0
PENDING_BLOBS_LIMIT_BYTES = 64 << 20
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
_DISPLAY_TYPES = ("display_data", "update_display_data", "execute_result", "clear_output")


def utf8(text: str) -> bytes:
    """UTF-8 bytes as the page's TextEncoder makes them (a lone surrogate becomes U+FFFD)."""
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        return _LONE_SURROGATE.sub("\ufffd", text).encode("utf-8")


def is_text_mime(mime: str) -> bool:
    """Whether a MIME type's payload is text (else it is base64 of binary data), as on the page."""
    return (
        mime.startswith("text/")
        or mime in ("application/json", "image/svg+xml", "application/javascript")
        or mime.endswith("+json")
    )


def payload_text(payload: object) -> str:
    if isinstance(payload, list) and all(isinstance(part, str) for part in payload):
        return "".join(payload)
    if isinstance(payload, str):
        return payload
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False, default=repr)


def text_item(base: dict[str, Any], text: str) -> dict[str, Any]:
    data = utf8(text)
    truncated = len(text) > TEXT_LIMIT
    return {
        **base,
        "text": cut_head(text, TEXT_LIMIT) if truncated else text,
        "truncated": truncated,
        "sha256": hashlib.sha256(data).hexdigest(),
        "size": len(data),
    }


class _StreamText:
    """A stream output growing chunk by chunk: its head is kept, all of it is hashed."""

    __slots__ = ("name", "head", "head_chars", "hasher", "size", "truncated")

    def __init__(self, name: str) -> None:
        self.name = name
        self.head: list[str] = []
        self.head_chars = 0
        self.hasher = hashlib.sha256()
        self.size = 0
        self.truncated = False

    def add(self, text: str) -> None:
        data = utf8(text)
        self.hasher.update(data)
        self.size += len(data)
        room = TEXT_LIMIT - self.head_chars
        if len(text) > room:
            self.truncated = True
            text = text[: room + 1]  # one more: item() tells whether the cut splits a word
        if text:
            self.head.append(text)
            self.head_chars += len(text)

    def item(self) -> dict[str, Any]:
        return {
            "output_type": "stream",
            "name": self.name,
            "text": cut_head("".join(self.head), TEXT_LIMIT) if self.truncated else "".join(self.head),
            "truncated": self.truncated,
            "sha256": self.hasher.hexdigest(),
            "size": self.size,
        }


class _Output:
    """One nbformat output: a growing stream, or the items of a display / result / error."""

    __slots__ = ("stream", "items", "display_id")

    def __init__(
        self,
        stream: _StreamText | None = None,
        items: list[dict[str, Any]] | None = None,
        display_id: str | None = None,
    ) -> None:
        self.stream = stream
        self.items = items or []
        self.display_id = display_id

    def journal_items(self) -> list[dict[str, Any]]:
        return [self.stream.item()] if self.stream is not None else self.items


class _ExecOutputs:
    """What one execution has output so far, and which part the journal has not seen."""

    def __init__(self, exec_id: str) -> None:
        self.exec_id = exec_id
        self.outputs: list[_Output] = []
        # Stream writes not yet folded in: appended by any thread without a lock (deque appends and
        # pops are atomic), folded in bulk on the journal's thread or at the next display / cell end.
        self.chunks: deque[tuple[str, str]] = deque()
        self.dirty_from: int | None = None  # first output changed since the last record
        self.clear_pending = False  # clear_output(wait=True): clear at the next output
        self.recorded = False
        self.last_record = time.monotonic()

    def touch(self, index: int) -> None:
        self.dirty_from = index if self.dirty_from is None else min(self.dirty_from, index)

    def _before_output(self) -> None:
        if self.clear_pending:
            self.clear_pending = False
            self.outputs.clear()
            self.touch(0)

    def fold_chunks(self) -> None:
        taken = []
        chunks = self.chunks
        while chunks:
            taken.append(chunks.popleft())
        for name, group in groupby(taken, key=itemgetter(0)):
            self._before_output()
            last = self.outputs[-1] if self.outputs else None
            if last is None or last.stream is None or last.stream.name != name:
                last = _Output(stream=_StreamText(name))
                self.outputs.append(last)
            last.stream.add("".join(text for _, text in group))  # type: ignore[union-attr]
            self.touch(len(self.outputs) - 1)

    def add(self, output: _Output) -> None:
        self._before_output()
        self.outputs.append(output)
        self.touch(len(self.outputs) - 1)

    def update_display(self, display_id: str, items: list[dict[str, Any]]) -> None:
        for index, output in enumerate(self.outputs):
            if output.display_id == display_id:
                output.items = items
                self.touch(index)

    def clear(self, wait: bool) -> None:
        if wait:
            self.clear_pending = True
        else:
            self.outputs.clear()
            self.clear_pending = False
            self.touch(0)

    def take_changes(self) -> tuple[int, list[dict[str, Any]]] | None:
        """``(index, items)`` changed since the last record, or None when nothing changed."""
        if self.dirty_from is None:
            return None
        start = self.dirty_from
        self.dirty_from = None
        index = sum(len(output.journal_items()) for output in self.outputs[:start])
        items = [item for output in self.outputs[start:] for item in output.journal_items()]
        return index, items


def write_blob(folder: Path, sha256: str, data: bytes) -> None:
    """``folder/<sha256>`` written whole (temporary name, then rename); never through a symlink."""
    folder.mkdir(parents=True, exist_ok=True)
    if not stat.S_ISDIR(os.lstat(folder).st_mode):
        raise OSError(f"{folder} is not a folder")
    target = folder / sha256
    try:
        if stat.S_ISREG(os.lstat(target).st_mode):
            return  # content-addressed: the same name holds the same bytes
    except FileNotFoundError:
        pass
    temporary = folder / f".{sha256}.{secrets.token_hex(4)}.tmp"
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o644)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(temporary, target)  # replaces a symlink at the target rather than following it
    except BaseException:
        try:
            os.unlink(temporary)
        except OSError:
            pass
        raise


class OutputRecorder:
    """Captures the outputs of the execution that is running and writes ``kernel_output`` records."""

    def __init__(self, shell: Any, writer: JournalWriter, blobs_folder: Path) -> None:
        self._shell = shell
        self._writer = writer
        self._blobs_folder = blobs_folder
        self._lock = threading.RLock()
        self._current: _ExecOutputs | None = None
        self._pending_blobs: dict[str, bytes] = {}
        self._pending_blob_bytes = 0
        self._blobs_dropped = 0
        self._warned = False
        self._streams: list[tuple[Any, Any, Any]] = []
        self._hooked: list[Any] = []

    @staticmethod
    def supported(shell: Any) -> bool:
        """Only ipykernel's publishers have the hooks this relies on."""
        return all(hasattr(getattr(shell, part, None), "register_hook") for part in ("display_pub", "displayhook"))

    def install(self) -> None:
        self._hook_this_thread()
        self._writer.add_tick_hook(self.tick)

    def uninstall(self) -> None:
        self._unwrap_streams()
        for publisher in self._hooked:
            publisher.unregister_hook(self._on_message)
        self._hooked.clear()

    def _hook_this_thread(self) -> None:
        # The publishers keep hooks per thread: hook the thread that runs cells.
        for publisher in (self._shell.display_pub, self._shell.displayhook):
            if self._on_message not in publisher._hooks:
                publisher.register_hook(self._on_message)
                if publisher not in self._hooked:
                    self._hooked.append(publisher)

    def _wrap_streams(self) -> None:
        # For the cell only: IPython (9) wraps ``write`` on the instance itself for each cell (its
        # history tee) and restores it afterwards, so a wrapper installed for good would be dropped
        # or doubled. Ours wraps whatever is there at cell start and is removed at cell end.
        self._unwrap_streams()
        for stream, name in ((sys.stdout, "stdout"), (sys.stderr, "stderr")):
            if type(stream).__name__ == "OutStream":
                wrapper = self._stream_writer(stream.write, name)
                self._streams.append((stream, vars(stream).get("write"), wrapper))
                stream.write = wrapper

    def _unwrap_streams(self) -> None:
        for stream, previous, wrapper in self._streams:
            if vars(stream).get("write") is wrapper:
                if previous is None:
                    del stream.write
                else:
                    stream.write = previous
        self._streams.clear()

    def _warn(
        self, error: BaseException, what: str = "recording cell outputs failed (outputs may be incomplete)"
    ) -> None:
        if not self._warned:
            self._warned = True  # set first: the warning itself is written to a captured stream
            warnings.warn(f"nbprov: {what}: {error!r}", stacklevel=2)

    def _stream_writer(self, write: Any, name: str) -> Any:
        def captured_write(text: str) -> Any:
            result = write(text)
            current = self._current
            if current is not None and isinstance(text, str) and text:
                current.chunks.append((name, text))
            return result

        return captured_write

    def on_cell_start(self, exec_id: str) -> None:
        with self._lock:
            self._current = _ExecOutputs(exec_id)
        try:
            self._hook_this_thread()
            self._wrap_streams()
        except Exception as error:
            self._warn(error)

    def on_cell_end(self, error: BaseException | None) -> None:
        """Writes the execution's final ``kernel_output`` record (before its ``exec_end``)."""
        try:
            self._unwrap_streams()
            with self._lock:
                current, self._current = self._current, None
                if current is None:
                    return
                current.fold_chunks()
                traceback = getattr(self._shell, "_last_traceback", None)
                if error is not None and isinstance(traceback, list):
                    ename, evalue = type(error).__name__, safe_str(error)
                    text = "\n".join([f"{ename}: {evalue}", *map(str, traceback)])
                    current.add(_Output(items=[text_item({"output_type": "error", "name": ename}, text)]))
                self._record(current, final=True)
        except Exception as failure:
            self._warn(failure)

    def tick(self) -> None:
        """On the journal's thread: a record for a long-running cell, and blobs still to write."""
        try:
            with self._lock:
                current = self._current
                if current is not None and time.monotonic() - current.last_record >= RECORD_INTERVAL_S:
                    current.fold_chunks()
                    self._record(current, final=False)
        except Exception as error:
            self._warn(error)
        self.write_blobs()

    def flush(self) -> None:
        """Everything captured so far, written now (export, the page's flush request)."""
        try:
            with self._lock:
                if self._current is not None:
                    self._current.fold_chunks()
                    self._record(self._current, final=False)
        except Exception as error:
            self._warn(error)
        self.write_blobs()

    def write_blobs(self) -> None:
        """Writes pending blobs; one that fails stays pending and is tried again at the next tick."""
        with self._lock:
            pending = list(self._pending_blobs.items())
        for sha256, data in pending:
            try:
                write_blob(self._blobs_folder, sha256, data)
            except OSError as error:
                self._warn(
                    error,
                    f"cannot write output blobs to {self._blobs_folder} "
                    "(retrying; until written the export marks them missing)",
                )
                return
            with self._lock:
                if self._pending_blobs.pop(sha256, None) is not None:
                    self._pending_blob_bytes -= len(data)

    def _record(self, current: _ExecOutputs, final: bool) -> None:
        changes = current.take_changes()
        current.last_record = time.monotonic()
        if changes is None and not (final and current.recorded):
            return
        index, items = changes if changes is not None else (sum(len(o.journal_items()) for o in current.outputs), [])
        current.recorded = True
        self._writer.append(records.KERNEL_OUTPUT, exec=current.exec_id, index=index, outputs=items, final=final)

    def _on_message(self, msg: Any) -> Any:
        # A publisher hook: must hand the message on, whatever happens here.
        try:
            current = self._current
            msg_type = msg["header"]["msg_type"] if isinstance(msg, dict) else None
            if current is not None and msg_type in _DISPLAY_TYPES:
                content = msg.get("content") or {}
                with self._lock:
                    current.fold_chunks()
                    if msg_type == "clear_output":
                        current.clear(bool(content.get("wait")))
                    else:
                        items = self._data_items(msg_type, content.get("data") or {})
                        display_id = (content.get("transient") or {}).get("display_id")
                        if msg_type == "update_display_data":
                            if isinstance(display_id, str):
                                current.update_display(display_id, items)
                        else:
                            current.add(
                                _Output(items=items, display_id=display_id if isinstance(display_id, str) else None)
                            )
        except Exception as error:
            self._warn(error)
        return msg

    def _data_items(self, msg_type: str, data: dict[str, Any]) -> list[dict[str, Any]]:
        output_type = "display_data" if msg_type == "update_display_data" else msg_type
        items: list[dict[str, Any]] = []
        for mime, payload in data.items():
            base = {"output_type": output_type, "mime": mime}
            if is_text_mime(mime):
                items.append(text_item(base, payload_text(payload)))
                continue
            if isinstance(payload, (bytes, bytearray)):
                blob = bytes(payload)
            else:
                try:
                    blob = base64.b64decode(re.sub(r"\s+", "", payload_text(payload)), validate=True)
                except (binascii.Error, ValueError):
                    items.append(text_item(base, payload_text(payload)))  # not base64 after all: keep as text
                    continue
            sha256 = hashlib.sha256(blob).hexdigest()
            self._queue_blob(sha256, blob)
            items.append({**base, "truncated": False, "sha256": sha256, "size": len(blob), "blob": sha256})
        return items

    def _queue_blob(self, sha256: str, data: bytes) -> None:
        if sha256 in self._pending_blobs:
            return
        if self._pending_blob_bytes + len(data) > PENDING_BLOBS_LIMIT_BYTES:
            self._blobs_dropped += 1  # the export drops references to blobs that are absent
            self._warn(MemoryError(f"{self._blobs_dropped} blob(s) dropped"), "unwritten output blobs exceed 64 MiB")
            return
        self._pending_blobs[sha256] = data
        self._pending_blob_bytes += len(data)
