"""Processes that join a run started in the notebook: ``!python train.py``, ``torchrun``, SLURM,
MPI, Ray workers, and forked children that call ``nbprov.attach()`` (Lightning's ``ddp_notebook``).

The hand-over is three environment variables (``Run.env()``): ``NBPROV_RUN`` (the run id),
``NBPROV_JOURNAL_DIR`` (the ``<stem>.prov/journal`` folder, absolute) and ``NBPROV_SESSION`` (the
kernel session that owns the run). The kernel sets them in ``os.environ`` while a run is the innermost
open one, so every child process inherits them; a child that imports nbprov joins the run when it
first logs (``nbprov.log_metric``, ``nbprov.active_run()``), so a process that never logs (a data
loader's worker) leaves no journal.

Each joined process writes its own journal ``k-<its session>-r<rank>.jsonl`` next to the kernel's,
never a shared file (appends from many hosts to one file on a parallel filesystem interleave or
lose lines). Its records: ``kernel_start`` with a ``rank`` object, then the run's ``metrics``,
``param``, ``tag``, ``context_*``, ``artifact`` and ``energy`` records under the kernel's run id,
and ``rank_end`` (the status of this process's part) when it exits. The page and the export fold
these journals into the kernel's run (``src/core/ranks.ts``).
"""

from __future__ import annotations

import atexit
import getpass
import json
import multiprocessing.util
import os
import re
import secrets
import socket
import sys
import time
import warnings
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from . import framing, records
from ._version import __version__
from .journal import JournalWriter, iter_journal_file
from .runs import ENV_JOURNAL_DIR, ENV_RUN, ENV_SESSION, Run, RunManager, RunSpec

# How long a child waits for the kernel's run_start to reach the disk (the kernel writes at least
# every 200 ms; a child can start sooner) before it calls the run unknown.
RUN_START_WAIT_S = 2.0
_RUN_ID = records.RUN_ID
_SESSION = re.compile(r"[0-9a-f]{16}")

# Launchers that name the rank in environment variables, in the order they are believed: torchrun
# (and Accelerate, Lightning and Ray Train's torch backend, which set the same names) inside an
# ``srun`` step still knows the global rank better than SLURM does.
_ENV_LAUNCHERS: tuple[tuple[str, str, str, str, str | None], ...] = (
    ("torch", "RANK", "LOCAL_RANK", "WORLD_SIZE", "GROUP_RANK"),
    ("slurm", "SLURM_PROCID", "SLURM_LOCALID", "SLURM_NTASKS", "SLURM_NODEID"),
    ("openmpi", "OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_LOCAL_RANK", "OMPI_COMM_WORLD_SIZE", None),
    ("pmi", "PMI_RANK", "MPI_LOCALRANKID", "PMI_SIZE", None),
)


@dataclass(frozen=True)
class RankInfo:
    """Where a process stands in its job: ``rank`` (global), ``local_rank`` (on its node),
    ``world_size``, ``node_rank``, and the ``launcher`` that said so."""

    rank: int
    local_rank: int | None
    world_size: int | None
    node_rank: int | None
    launcher: str


def _int(environ: Mapping[str, str], name: str | None) -> int | None:
    if name is None:
        return None
    text = environ.get(name, "").strip()
    return int(text) if text.isdigit() else None


def detect_rank(environ: Mapping[str, str] = os.environ) -> RankInfo:
    """The rank from the launcher's environment variables, else Ray Train's context, else rank 0
    of a job of one process (a plain ``!python train.py``)."""
    for launcher, rank, local_rank, world_size, node_rank in _ENV_LAUNCHERS:
        value = _int(environ, rank)
        if value is not None:
            return RankInfo(
                value, _int(environ, local_rank), _int(environ, world_size), _int(environ, node_rank), launcher
            )
    return _ray_rank() or RankInfo(0, None, 1, None, "process")


def _ray_rank() -> RankInfo | None:
    """A Ray Train worker's rank (only when Ray is already imported: never import it here)."""
    if "ray.train" not in sys.modules:
        return None
    try:
        context = sys.modules["ray.train"].get_context()
        return RankInfo(
            int(context.get_world_rank()),
            int(context.get_local_rank()),
            int(context.get_world_size()),
            int(context.get_node_rank()),
            "ray",
        )
    except Exception:  # not inside a Ray Train worker
        return None


def run_state(folder: Path, run_id: str, session: str | None = None, wait_s: float = RUN_START_WAIT_S) -> str:
    """``open``, ``ended`` or ``unknown``: what the kernel journals in ``folder`` say of ``run_id``
    (waiting up to ``wait_s`` for its ``run_start``). With the owning kernel ``session``, only its
    journal is read: one file per rank, however many kernels recorded into the folder."""
    deadline = time.monotonic() + wait_s
    while True:
        started = ended = False
        with warnings.catch_warnings():
            # The kernel may be writing its last line right now: a half line is no news.
            warnings.simplefilter("ignore")
            if session:
                paths = [folder / records.kernel_journal_name(session)]
            else:
                paths = sorted(folder.glob(records.KERNEL_JOURNAL_GLOB))
            for path in paths:
                if records.journal_rank_of(path.name) is not None:
                    continue
                try:
                    for record in iter_journal_file(path, (records.RUN_START, records.RUN_END)):
                        if record.get("run") == run_id:
                            started = started or record["type"] == "run_start"
                            ended = ended or record["type"] == "run_end"
                except OSError:
                    continue
        if ended:
            return "ended"
        if started:
            return "open"
        if time.monotonic() >= deadline:
            return "unknown"
        time.sleep(0.05)


def _reachable(folder: Path) -> str | None:
    """Why this process cannot write into ``folder``, or None when it can."""
    if not folder.is_absolute():
        return f"{ENV_JOURNAL_DIR} must be an absolute path"
    if not folder.is_dir():
        return "the folder does not exist here (is the filesystem shared with this host?)"
    if not os.access(folder, os.W_OK | os.X_OK):
        return "the folder is not writable by this process"
    return None


def _notebook_identity(folder: Path) -> tuple[str | None, str | None]:
    """The notebook's file name and id, from the ``.prov`` folder's ``identity.json``."""
    try:
        identity = json.loads((folder.parent / "identity.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None, None
    if not isinstance(identity, dict):
        return None, None
    notebook, notebook_id = identity.get("notebook"), identity.get("id")
    return (notebook if isinstance(notebook, str) else None, notebook_id if isinstance(notebook_id, str) else None)


class RankRun(Run):
    """This process's part of the kernel's run: the same run id, no ``run_start`` of its own (the
    kernel wrote it, with the code state and parameters), ``rank_end`` instead of ``run_end``."""

    _END_RECORD = records.RANK_END

    def __init__(self, manager: RunManager, run_id: str) -> None:
        super().__init__(manager, RunSpec.build(None, "default", None, None, True, None, spans_cells=True))
        self.id = run_id

    def _write_start(self, exec_id: str | None, code: dict[str, Any] | None) -> None:
        self._start_written = True


class RankTracking:
    """One joined process: its journal, its rank and its part of the run."""

    def __init__(self, environ: Mapping[str, str], info: RankInfo, energy: bool) -> None:
        self.info = info
        self.session = secrets.token_hex(8)
        run_id = environ.get(ENV_RUN, "")
        folder = Path(environ.get(ENV_JOURNAL_DIR, ""))
        parent_session = environ.get(ENV_SESSION, "")
        self.recording = False
        if not _RUN_ID.fullmatch(run_id):
            _warn(f"{ENV_RUN}={run_id!r} is not a run id")
        elif (unreachable := _reachable(folder)) is not None:
            _warn(f"cannot reach the journal folder {str(folder)!r} ({unreachable}); training continues")
        elif (
            state := run_state(folder, run_id, parent_session if _SESSION.fullmatch(parent_session) else None)
        ) != "open":
            reason = "has ended (a stale environment?)" if state == "ended" else f"is not a run recorded in {folder}"
            _warn(f"{ENV_RUN}={run_id} {reason}")
        else:
            self.recording = True
        self.writer = JournalWriter(folder, self.session, discard=not self.recording, rank=info.rank)
        self.runs = RunManager(self.writer, lambda: None, Path.cwd(), lambda: energy)
        self.runs.hands_over = False
        notebook, notebook_id = _notebook_identity(folder) if self.recording else (None, None)
        self.writer.append(
            "kernel_start",
            session=self.session,
            kernel_id=None,
            pid=os.getpid(),
            hostname=socket.gethostname(),
            python=sys.version.split()[0],
            nbprov_version=__version__,
            notebook=notebook,
            notebook_id=notebook_id,
            user=_user(),
            rank={"run": run_id, "parent_session": parent_session or None, **asdict(info)},
        )
        self.run = RankRun(self.runs, run_id if self.recording else "0" * 32)
        self.runs._open.append(self.run)
        self.run._begin(None, None, self.runs._meter_for_run())
        self._error: BaseException | None = None
        self._previous_excepthook = sys.excepthook
        sys.excepthook = self._excepthook
        self._closed = False
        atexit.register(self.close)
        # A multiprocessing child (a forked rank) leaves through os._exit, which skips atexit, but
        # runs multiprocessing's own finalizers first.
        multiprocessing.util.Finalize(self, self.close, exitpriority=100)

    def _excepthook(self, kind: type[BaseException], error: BaseException, traceback: Any) -> None:
        """An uncaught exception ends this rank as failed (interrupted for Ctrl-C), naming it."""
        self._error = error
        self._previous_excepthook(kind, error, traceback)

    def close(self) -> None:
        """This process exits: end its part of the run and write everything."""
        if self._closed:
            return
        self._closed = True
        atexit.unregister(self.close)
        if sys.excepthook == self._excepthook:
            sys.excepthook = self._previous_excepthook
        self.run.end(error=self._error or _leaving_error())
        self.writer.close()


def _leaving_error() -> BaseException | None:
    """The exception a multiprocessing child is leaving with: its finalizers run in the ``finally``
    of ``Process._bootstrap``, while the exception (or a wrapper's ``sys.exit(1)``) propagates."""
    error = sys.exc_info()[1]
    if isinstance(error, SystemExit) and error.code in (None, 0):
        return None
    return error


def _warn(message: str) -> None:
    """Once per process: a joined process that cannot record says why and records nothing."""
    warnings.warn(f"nbprov: {message}; this process records nothing", RuntimeWarning, stacklevel=4)


def _user() -> str | None:
    try:
        return getpass.getuser()
    except Exception:
        return None


# How many rank journals a kernel follows live (the page reads the others from disk when it
# reloads or exports), and how often it looks for new lines.
LIVE_RANKS = _int(os.environ, "NBPROV_LIVE_RANKS") or 64  # a value that is not a count: the default
FOLLOW_INTERVAL_S = 0.5
_READ_LIMIT_BYTES = 8 << 20  # per file and look: one look never holds the journal thread long


@dataclass
class _Followed:
    offset: int = 0
    rest: bytes = b""
    session: str | None = None
    ours: bool | None = None  # None until its kernel_start is read


class RankFollower:
    """The kernel's side of live ranks: on the journal thread, every ``FOLLOW_INTERVAL_S``, reads the
    new whole lines of the rank journals of this kernel's runs (``rank.parent_session``) and hands
    each record to ``forward(record, session)`` (the comm stream, which sends it in messages of the
    rank's session, within the kernel's message budget). The page applies them as it applies the
    kernel's records; what it misses it reads from the files."""

    def __init__(self, folder: Callable[[], Path], session: str, forward: Callable[[dict[str, Any], str], None]):
        self._folder = folder
        self._session = session
        self._forward = forward
        self._files: dict[str, _Followed] = {}
        self._next_look = 0.0

    def tick(self) -> None:
        now = time.monotonic()
        if now < self._next_look:
            return
        self._next_look = now + FOLLOW_INTERVAL_S
        folder = self._folder()
        try:
            names = sorted(
                entry.name for entry in os.scandir(folder) if records.journal_rank_of(entry.name) is not None
            )
        except OSError:
            return
        for name in names:
            followed = self._files.get(name)
            if followed is None:
                if sum(1 for f in self._files.values() if f.ours) >= LIVE_RANKS:
                    continue
                followed = self._files[name] = _Followed()
            if followed.ours is not False:
                self._read(folder / name, followed)

    def _read(self, path: Path, followed: _Followed) -> None:
        try:
            with open(path, "rb") as handle:
                handle.seek(followed.offset)
                data = handle.read(_READ_LIMIT_BYTES)
        except OSError:
            return
        followed.offset += len(data)
        *lines, followed.rest = (followed.rest + data).split(b"\n")
        for line in lines:
            try:
                record = json.loads(line)
            except ValueError:
                continue  # the page reads the file itself, and reports the line
            if not isinstance(record, dict):
                continue
            if followed.ours is None:
                rank = record.get("rank") if record.get("type") == "kernel_start" else None
                followed.ours = isinstance(rank, dict) and rank.get("parent_session") == self._session
                followed.session = record.get("session") if followed.ours else None
                if not followed.ours:
                    return
            if record.get("type") == records.METRICS:
                try:
                    record["series"] = [framing.series_from_journal(series) for series in record.get("series", ())]
                except (framing.FramingError, TypeError, AttributeError):
                    continue  # the page reads the file itself, and reports the line
            self._forward(record, followed.session)
