"""Append-only JSON-lines journal of one kernel process (see ARCHITECTURE.md, "The journal").

Callers never touch the disk. ``append`` and ``call`` put one item on a queue (a single
``deque.append``, so neither a KeyboardInterrupt, which Python delivers to the main thread between
bytecodes, nor another thread can leave half an item); one journal thread serves the queue in order:
it numbers records (``seq``), encodes them, tells the listeners (the comm stream) and appends the
lines to the file at least every ``FLUSH_INTERVAL_S`` seconds. Every string in a record is redacted
there (``nbprov.redact``) before the listeners or the file see it, off the user's thread.

The file descriptor stays open, so the kernel keeps appending to its file when the ``.prov`` folder
is renamed under it. When the disk fails (ENOSPC, EROFS, EIO, ...) the lines wait in memory, up to
``BUFFER_LIMIT_BYTES``, and are retried; a partly written line is completed first, never glued to
another. Beyond the bound, ``metrics`` records are dropped, counted, and reported by a ``gap``
record once the disk is back. A folder that cannot be created or opened at all (a read-only notebook
folder) is replaced by a fallback folder under the user's data directory.
"""

from __future__ import annotations

import base64
import errno
import hashlib
import json
import os
import select
import threading
import time
import warnings
import weakref
from collections import deque
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from . import records, redact

FLUSH_INTERVAL_S = 0.2
# Lines held in memory while the disk refuses them; beyond this, metrics records are dropped.
BUFFER_LIMIT_BYTES = 64 << 20
RETRY_INTERVAL_S = (0.2, 0.5, 1.0, 2.0)
FLUSH_WAIT_S = 5.0
FLUSH_POLL_S = 0.0005
CLOSE_WAIT_S = 5.0

Record = dict[str, Any]
RecordListener = Callable[[Record], None]
TickHook = Callable[[], None]

# Errors after which opening the folder again is pointless: record to the fallback folder instead.
_UNWRITABLE = {errno.EROFS, errno.EACCES, errno.EPERM}


def now_iso() -> str:
    """ISO 8601 date-time in UTC with milliseconds and an explicit offset."""
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


# Stands for one binary field while the rest of a record is JSON-encoded. json escapes every control
# character of a user string, so only a string equal to this one encodes to the same text; a line
# holding more of them than it has binary fields takes the plain path.
_BINARY_PLACEHOLDER = "\x00nbprov:binary\x00"
_ENCODED_PLACEHOLDER = json.dumps(_BINARY_PLACEHOLDER)


def _base64_json_string(value: bytes | bytearray | memoryview) -> bytes:
    return b'"' + base64.b64encode(value) + b'"'


def encode_line(record: Record) -> bytes:
    """One journal line. Strict JSON (no NaN literals); lone surrogates become JSON escapes;
    binary fields (metric arrays) become base64 strings.

    The base64 text is spliced in rather than passed through json, which would scan megabytes
    of it a character at a time on the journal thread, holding the GIL the logging loop needs."""
    binary: list[bytes | bytearray | memoryview] = []

    def set_aside(value: object) -> str:
        if isinstance(value, (bytes, bytearray, memoryview)):
            binary.append(value)
            return _BINARY_PLACEHOLDER
        raise TypeError(f"not JSON serialisable: {type(value).__name__}")

    text = json.dumps(record, ensure_ascii=False, allow_nan=False, default=set_aside)
    pieces = text.split(_ENCODED_PLACEHOLDER)
    if len(pieces) != len(binary) + 1:  # a user string equal to the placeholder
        pieces = [json.dumps(record, ensure_ascii=False, allow_nan=False, default=_base64_text)]
        binary = []
    line = [pieces[0].encode("utf-8", errors="backslashreplace")]
    for value, piece in zip(binary, pieces[1:], strict=True):
        line += (_base64_json_string(value), piece.encode("utf-8", errors="backslashreplace"))
    line.append(b"\n")
    return b"".join(line)


def _base64_text(value: object) -> str:
    if isinstance(value, (bytes, bytearray, memoryview)):
        return base64.b64encode(value).decode("ascii")
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def fallback_root() -> Path:
    """Where journals go when the notebook's folder cannot be written: ``$NBPROV_FALLBACK_DIR``,
    else ``$XDG_DATA_HOME/nbprov/fallback``, else ``~/.local/share/nbprov/fallback``."""
    configured = os.environ.get("NBPROV_FALLBACK_DIR")
    if configured:
        return Path(configured)
    data_home = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data_home) / "nbprov" / "fallback"


def fallback_folder(folder: Path) -> Path:
    """The fallback for journal folder ``folder`` (``<dir>/<stem>.prov/journal``): keyed by the
    hash of its absolute path, with the same ``<stem>.prov/journal`` tail so exports work there."""
    absolute = os.path.abspath(folder)
    key = hashlib.sha256(absolute.encode("utf-8", "surrogateescape")).hexdigest()[:16]
    return fallback_root() / key / folder.parent.name / folder.name


class _FlushMarker:
    """A queue item: ``done`` once everything queued before it has been written (or could not be).

    A plain flag the caller polls: a KeyboardInterrupt in the middle of ``Event.wait`` can leave
    the event's lock held, and the journal thread would then hang on it."""

    __slots__ = ("done",)

    def __init__(self) -> None:
        self.done = False


_writers: weakref.WeakSet[JournalWriter] = weakref.WeakSet()


def _disable_in_forked_child() -> None:
    for writer in list(_writers):
        writer._disable_after_fork()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_disable_in_forked_child)


class JournalWriter:
    """Writes the records of one kernel session to ``folder/k-<session>.jsonl`` (a rank process that
    joined a run: ``folder/k-<session>-r<rank>.jsonl``, see ``nbprov.ranks``)."""

    def __init__(self, folder: Path, session: str, discard: bool = False, rank: int | None = None) -> None:
        """With ``discard``, records still reach the listeners but nothing is written: a kernel
        that does not know its notebook has no place to record."""
        self.folder = folder
        self.discard = discard
        self.session = session
        self.path = folder / records.kernel_journal_name(session, rank)
        self.forked_child = False
        self._queue: deque[Any] = deque()
        # Waking the journal thread is one os.write on a pipe: no lock an interrupt could leave held.
        self._wake_read, self._wake_write = os.pipe()
        os.set_blocking(self._wake_read, False)
        os.set_blocking(self._wake_write, False)
        self._stop = threading.Event()
        self._seq = 0
        self._listeners: list[RecordListener] = []
        self._tick_hooks: list[TickHook] = []
        self._fd: int | None = None
        self._lines: list[bytes] = []
        self._lines_size = 0
        self._unwritten = b""  # the rest of a line the disk took only part of
        self._failure: str | None = None
        self._failures = 0
        self._lost: dict[str | None, list[int]] = {}  # run -> [records, points] dropped
        self._code_states: set[str] = set()  # keys of the code_state records this file holds
        self._thread = threading.Thread(target=self._serve_forever, name="nbprov-journal", daemon=True)
        _writers.add(self)
        self._thread.start()

    # the caller's side

    def add_listener(self, listener: RecordListener) -> None:
        """Call ``listener(record)`` on the journal thread for every record, once it has its ``seq``."""
        self._listeners.append(listener)

    def add_tick_hook(self, hook: TickHook) -> None:
        """Call ``hook()`` on the journal thread before each write (it takes buffered metrics)."""
        self._tick_hooks.append(hook)

    def append(self, record_type: str, **fields: Any) -> None:
        """Queue one record; ``type``, ``t`` and (on the journal thread) ``seq`` are filled in."""
        if self.forked_child:
            return
        if threading.get_ident() == self._thread.ident:
            # Work the journal thread is doing in order (a run's end): its records come right now.
            self._encode(record_type, now_iso(), fields)
            return
        self._queue.append((record_type, now_iso(), fields))

    def call(self, work: Callable[[], None]) -> None:
        """Run ``work()`` on the journal thread, after everything queued before it."""
        if self.forked_child:
            return
        self._queue.append(work)

    def wake(self) -> None:
        """Serve the queue now rather than at the next interval (a metric buffer is full)."""
        try:
            os.write(self._wake_write, b"w")
        except OSError:
            pass  # the pipe is full (the journal thread is being woken already) or closed

    def flush(self, timeout: float = FLUSH_WAIT_S) -> bool:
        """Write everything queued so far; True once written, False if the disk refused it (the
        lines stay buffered and are retried) or the journal thread did not answer in time."""
        if self.forked_child or not self._thread.is_alive():
            return False
        if threading.current_thread() is self._thread:
            self._serve()
            return self._failure is None
        marker = _FlushMarker()
        self._queue.append(marker)
        self.wake()
        deadline = time.monotonic() + timeout
        while not marker.done and time.monotonic() < deadline and self._thread.is_alive():
            time.sleep(FLUSH_POLL_S)
        return marker.done and self._failure is None

    def run_exclusively(self, work: Callable[[], Any], timeout: float) -> Any:
        """Write what is queued, then run ``work()`` on the journal thread, so that no line is written
        while it runs (it may rewrite or delete the journal file: the next write opens it again).
        Returns its result or raises its exception; TimeoutError if it did not finish in time."""
        outcome: dict[str, Any] = {}

        def exclusive() -> None:
            self._write()
            try:
                outcome["result"] = work()
            except BaseException as error:  # handed to the caller
                outcome["error"] = error
            finally:
                outcome["done"] = True

        self.call(exclusive)
        self.wake()
        # Polled, as flush() polls: the caller holds no lock an interrupt could leave held.
        deadline = time.monotonic() + timeout
        while "done" not in outcome and time.monotonic() < deadline and self._thread.is_alive():
            time.sleep(FLUSH_POLL_S)
        if "done" not in outcome:
            raise TimeoutError("nbprov: the journal thread did not run the task in time")
        if "error" in outcome:
            raise outcome["error"]
        return outcome.get("result")

    def relocated(self, folder: Path) -> None:
        """The journal folder was moved (the notebook was renamed): path-based work uses the new
        place from now on; the open file descriptor already follows the move."""
        self.folder = folder
        self.path = folder / self.path.name

    def close(self) -> None:
        """Write what is queued and stop the journal thread."""
        if self.forked_child:
            return
        self._stop.set()
        self.wake()
        self._thread.join(timeout=CLOSE_WAIT_S)
        if not self._thread.is_alive():
            for fd in (self._fd, self._wake_read, self._wake_write):
                if fd is not None and fd >= 0:
                    os.close(fd)
            # -1: a later wake() fails harmlessly instead of writing to a reused descriptor.
            self._fd, self._wake_read, self._wake_write = None, -1, -1

    @property
    def failure(self) -> str | None:
        """Why the disk refuses the journal right now, or None while it is written."""
        return self._failure

    def _disable_after_fork(self) -> None:
        # A forked child holds a copy of the parent's queue and buffers and no journal thread:
        # writing any of it would duplicate the parent's records, so the child records nothing.
        self.forked_child = True
        self._queue = deque()
        self._lines = []
        self._unwritten = b""
        self._fd = None  # the parent's descriptor; the parent keeps writing to it

    # the journal thread

    def _serve_forever(self) -> None:
        while True:
            delay = (
                FLUSH_INTERVAL_S
                if self._failure is None
                else RETRY_INTERVAL_S[min(self._failures, len(RETRY_INTERVAL_S)) - 1]
            )
            readable, _, _ = select.select([self._wake_read], [], [], delay)
            if readable:
                try:
                    os.read(self._wake_read, 1 << 16)
                except BlockingIOError:
                    pass
            stopping = self._stop.is_set()
            try:
                self._serve()
            except Exception as error:  # never let the journal thread die
                _warn(f"nbprov: journal error ({error!r}); recording continues")
            if stopping:
                return

    def _serve(self) -> None:
        markers: list[_FlushMarker] = []
        while self._queue:
            item = self._queue.popleft()
            if isinstance(item, tuple):
                self._encode(*item)
            elif isinstance(item, _FlushMarker):
                markers.append(item)
            else:
                try:
                    item()
                except Exception as error:
                    _warn(f"nbprov: journal task failed: {error!r}")
        # After the queue: a run's points are written after its run_start (queued before them).
        for hook in self._tick_hooks:
            try:
                hook()
            except Exception as error:  # a failing hook must not stop the journal
                _warn(f"nbprov: periodic flush hook failed: {error!r}")
        self._write()
        for marker in markers:
            marker.done = True

    def code_state(self, code: dict[str, Any]) -> str:
        """Journal thread: the key of ``code`` (redacted), after writing its ``code_state`` record
        unless this file holds it already; a ``run_start`` names it by ``code_sha256``."""
        if self._fd is not None and os.fstat(self._fd).st_nlink == 0:
            self._code_states.clear()  # deleted before the next write noticed (see ``_open``)
        code, redactions = redact.redact_value(code)
        key = records.code_state_sha256(code)
        if key not in self._code_states:
            self._code_states.add(key)
            fields = {"sha256": key, "code": code, **({"redacted": redactions} if redactions else {})}
            self._encode(records.CODE_STATE, now_iso(), fields)
        return key

    def _encode(self, record_type: str, t: str, fields: dict[str, Any]) -> None:
        if record_type == records.METRICS and self._lines_size > BUFFER_LIMIT_BYTES:
            # Only while the disk refuses lines does the buffer grow this far: the bulk goes.
            lost = self._lost.setdefault(fields.get("run"), [0, 0])
            lost[0] += 1
            lost[1] += sum(int(series.get("n", 0)) for series in fields.get("series", ()))
            return
        fields, redactions = redact.redact_value(fields)
        if redactions:
            fields = {**fields, "redacted": int(fields.get("redacted", 0)) + redactions}
        record: Record = {"type": record_type, "t": t, **fields, "seq": self._seq + 1}
        try:
            line = encode_line(record)
        except (TypeError, ValueError) as error:
            _warn(f"nbprov: a {record_type} record could not be encoded and was skipped: {error}")
            return
        self._seq += 1
        self._lines.append(line)
        self._lines_size += len(line)
        for listener in self._listeners:
            try:
                listener(record)
            except Exception as error:
                _warn(f"nbprov: journal listener failed: {error!r}")

    def _write(self) -> None:
        if self.discard:
            self._lines, self._lines_size = [], 0
            return
        if not self._lines and not self._unwritten:
            return
        try:
            fd = self._open()
            data = memoryview(self._unwritten + b"".join(self._lines))
            self._lines, self._lines_size, self._unwritten = [], 0, b""
            try:
                while data:
                    data = data[os.write(fd, data) :]
            finally:
                self._unwritten = bytes(data)
                self._lines_size = len(self._unwritten)
        except OSError as error:
            self._failed(error)
            return
        if self._failure is not None:
            self._recovered()

    def _open(self) -> int:
        if self._fd is not None:
            if os.fstat(self._fd).st_nlink > 0:
                return self._fd
            # The file was deleted or replaced (``nbprov forget``): the next lines start a new one,
            # which holds none of the code states written so far.
            os.close(self._fd)
            self._fd = None
            self._code_states.clear()
        try:
            self._fd = _open_append(self.folder, self.path)
        except OSError as error:
            if error.errno not in _UNWRITABLE:
                raise
            fallback = fallback_folder(self.folder)
            self._fd = _open_append(fallback, fallback / self.path.name)
            self._code_states.clear()  # a new file: code states come again (a repeat folds once)
            _warn(
                f"nbprov: cannot write the journal next to the notebook ({self.folder}: {error.strerror}); "
                f"recording to {fallback} instead"
            )
            self.folder, self.path = fallback, fallback / self.path.name
        return self._fd

    def _failed(self, error: OSError) -> None:
        self._failures += 1
        reason = f"{errno.errorcode.get(error.errno or 0, 'error')}: {error.strerror or error}"
        if self._failure is None:
            self._failure = reason
            _warn(
                f"nbprov: cannot write the journal {self.path} ({reason}); records are kept in memory "
                f"(up to {BUFFER_LIMIT_BYTES >> 20} MiB) and written when the disk accepts them again"
            )
            self._encode(records.JOURNAL_STATUS, now_iso(), {"state": "failing", "reason": reason})

    def _recovered(self) -> None:
        reason, self._failure, self._failures = self._failure, None, 0
        lost, self._lost = self._lost, {}
        for run, (dropped, points) in lost.items():
            self._encode(records.GAP, now_iso(), {"run": run, "records": dropped, "points": points, "reason": reason})
        total = sum(points for _, points in lost.values())
        _warn(
            f"nbprov: the journal is written again ({self.path})"
            + (
                f"; {total} metric point(s) beyond the memory buffer were lost and are recorded as a gap"
                if lost
                else "; nothing was lost"
            )
        )
        self._encode(records.JOURNAL_STATUS, now_iso(), {"state": "ok", "reason": reason})
        self._write()


def _open_append(folder: Path, path: Path) -> int:
    """Opens ``path`` for appending (creating ``folder``), never through a symbolic link; a file
    whose last line was cut off gets a newline first, so that no record is glued to it."""
    folder.mkdir(parents=True, exist_ok=True)
    flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(path, flags, 0o644)
    try:
        size = os.fstat(fd).st_size
        if size:
            with open(path, "rb") as existing:
                existing.seek(size - 1)
                if existing.read(1) != b"\n":
                    os.write(fd, b"\n")
    except OSError:
        os.close(fd)
        raise
    return fd


def write_file_atomically(folder: Path, name: str, data: bytes) -> Path:
    """Writes ``folder/name`` through a temporary name and a rename, never through a symbolic
    link; an existing file of that name (content-addressed names: the same bytes) is kept."""
    folder.mkdir(parents=True, exist_ok=True)
    if folder.is_symlink():
        raise OSError(errno.ELOOP, "refusing to write through a symbolic link", str(folder))
    target = folder / name
    if target.exists() and not target.is_symlink():
        return target
    temporary = folder / f".{name}.{os.getpid()}.tmp"
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    fd = os.open(temporary, flags, 0o644)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(temporary, target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return target


def _warn(message: str) -> None:
    """A warning from nbprov's own threads: shown in the running cell, never raised."""
    try:
        warnings.warn(message, RuntimeWarning, stacklevel=2)
    except Exception:
        pass


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
    found: list[Record] = []
    for path in sorted(Path(folder).glob(records.KERNEL_JOURNAL_GLOB)):
        found.extend(iter_journal_file(path))
    return found
