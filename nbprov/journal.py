"""Append-only JSON-lines journal of one kernel process (see ARCHITECTURE.md, "The journal").

Records are serialised on the caller's thread into an in-memory buffer and written to disk by a
background thread at least every ``FLUSH_INTERVAL_S`` seconds, when the buffer grows past
``FLUSH_SIZE_BYTES``, and on explicit ``flush()``. The file is only ever appended to, so a
``kill -9`` loses at most the last interval and at worst truncates the last line, which readers skip.
"""

from __future__ import annotations

import base64
import json
import os
import sys
import threading
import warnings
from array import array
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

FLUSH_INTERVAL_S = 0.2
FLUSH_SIZE_BYTES = 1 << 20

Record = dict[str, Any]
RecordListener = Callable[[Record], None]
TickHook = Callable[[], None]


def now_iso() -> str:
    """ISO 8601 date-time in UTC with milliseconds and an explicit offset."""
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def _json_default(value: object) -> str:
    # Metric arrays travel inside records as raw little-endian bytes; the journal stores base64.
    if isinstance(value, (bytes, bytearray, memoryview)):
        return base64.b64encode(value).decode("ascii")
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def encode_line(record: Record) -> bytes:
    """One journal line. Strict JSON (no NaN literals); lone surrogates become JSON escapes."""
    text = json.dumps(record, ensure_ascii=False, allow_nan=False, default=_json_default)
    return text.encode("utf-8", errors="backslashreplace") + b"\n"


def resolve_notebook_name(configured: str | None, user_ns: dict[str, Any] | None) -> str:
    """The notebook's file name, from (in order) ``nbprov.configure(notebook=...)``,
    ``NBPROV_NOTEBOOK``, ``JPY_SESSION_NAME`` (set by jupyter_server), VS Code's
    ``__vsc_ipynb_file__``; else ``untitled.ipynb``. Only the base name is kept."""
    candidates = [
        configured,
        os.environ.get("NBPROV_NOTEBOOK"),
        os.environ.get("JPY_SESSION_NAME"),
        (user_ns or {}).get("__vsc_ipynb_file__"),
    ]
    for candidate in candidates:
        if isinstance(candidate, str) and candidate.strip():
            name = Path(candidate.replace("\\", "/")).name
            if Path(name).stem not in ("", ".", ".."):
                return name
    return "untitled.ipynb"


def journal_folder(base: Path, notebook_name: str) -> Path:
    """``<base>/<stem>.prov/journal``; ``notebook_name`` is a bare file name."""
    return base / f"{Path(notebook_name).stem}.prov" / "journal"


class JournalWriter:
    """Writes records of one kernel session to ``folder/k-<session>.jsonl``."""

    def __init__(self, folder: Path, session: str) -> None:
        self.folder = folder
        self.session = session
        self.path = folder / f"k-{session}.jsonl"
        self._lock = threading.Lock()
        self._file_lock = threading.Lock()
        self._pending: list[bytes] = []
        self._pending_size = 0
        self._seq = 0
        self._listeners: list[RecordListener] = []
        self._tick_hooks: list[TickHook] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="nbprov-journal", daemon=True)
        self._thread.start()

    def add_listener(self, listener: RecordListener) -> None:
        """Call ``listener(record)`` for every record after it is queued (used by the comm stream)."""
        self._listeners.append(listener)

    def add_tick_hook(self, hook: TickHook) -> None:
        """Call ``hook()`` on the flusher thread before each periodic flush (metric buffers)."""
        self._tick_hooks.append(hook)

    def append(self, record_type: str, **fields: Any) -> Record:
        """Queue one record; returns it with ``type``, ``t`` and ``seq`` filled in."""
        record: Record = {"type": record_type, "t": now_iso()}
        record.update(fields)
        with self._lock:
            self._seq += 1
            record["seq"] = self._seq
            line = encode_line(record)
            self._pending.append(line)
            self._pending_size += len(line)
            oversized = self._pending_size >= FLUSH_SIZE_BYTES
        if oversized:
            self.flush()
        for listener in self._listeners:
            listener(record)
        return record

    def flush(self) -> None:
        """Write everything queued so far to disk."""
        with self._file_lock:
            with self._lock:
                lines, self._pending, self._pending_size = self._pending, [], 0
            if not lines:
                return
            self.folder.mkdir(parents=True, exist_ok=True)
            with open(self.path, "ab") as handle:
                handle.write(b"".join(lines))

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        self._tick()

    def _tick(self) -> None:
        for hook in self._tick_hooks:
            try:
                hook()
            except Exception as error:  # a failing hook must not stop the journal
                warnings.warn(f"nbprov: periodic flush hook failed: {error!r}", stacklevel=1)
        self.flush()

    def _run(self) -> None:
        while not self._stop.wait(FLUSH_INTERVAL_S):
            try:
                self._tick()
            except OSError as error:
                warnings.warn(f"nbprov: cannot write journal {self.path}: {error}", stacklevel=1)


def iter_journal_file(path: Path, only_types: tuple[str, ...] = ()) -> Iterator[Record]:
    """Records of one journal file; lines that do not parse are skipped with a warning.

    With ``only_types``, lines that cannot hold such a record are skipped before parsing
    (cheap scan of large journals); the parsed ``type`` still decides."""
    markers = [f'"type": "{name}"'.encode() for name in only_types]
    with open(path, "rb") as handle:
        for number, raw in enumerate(handle, start=1):
            if not raw.strip() or (markers and not any(marker in raw for marker in markers)):
                continue
            try:
                record = json.loads(raw.decode("utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError) as error:
                warnings.warn(f"nbprov: skipping corrupt journal line {path}:{number}: {error}", stacklevel=2)
                continue
            if isinstance(record, dict) and isinstance(record.get("type"), str):
                if not only_types or record["type"] in only_types:
                    yield record
            else:
                warnings.warn(f"nbprov: skipping journal line {path}:{number}: not a record", stacklevel=2)


def read_journal(folder: Path | str) -> list[Record]:
    """All kernel records under a ``<stem>.prov/journal`` folder, file by file in name order."""
    records: list[Record] = []
    for path in sorted(Path(folder).glob("k-*.jsonl")):
        records.extend(iter_journal_file(path))
    return records


_LITTLE_ENDIAN = sys.byteorder == "little"
_SERIES_ARRAY_TYPES = {"steps": "q", "values": "d", "timestamps": "q", "epochs": "i"}


def decode_series(series: dict[str, Any]) -> dict[str, array]:
    """The four little-endian arrays of one journal ``metrics`` series, decoded from base64."""
    decoded: dict[str, array] = {}
    for field, typecode in _SERIES_ARRAY_TYPES.items():
        values = array(typecode)
        values.frombytes(base64.b64decode(series[field]))
        if values.itemsize > 1 and not _LITTLE_ENDIAN:
            values.byteswap()
        decoded[field] = values
    return decoded


