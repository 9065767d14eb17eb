"""nbprov: provenance for machine-learning work in Jupyter notebooks.

``%load_ext nbprov`` starts tracking cell executions; ``nbprov.run()`` / ``%%track`` record runs.
Metric values are real numbers; bools are accepted and stored as 0/1.
"""

from __future__ import annotations

import atexit
import dataclasses
import datetime
import getpass
import os
import re
import secrets
import socket
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from . import records
from . import redact as redaction
from ._version import __version__
from .execution import ExecutionTracker, parent_request
from .export import FORGET_TIMEOUT_S, run_cli_export, run_cli_forget
from .identity import (
    locate_notebook,
    read_notebook_id,
    resolve_folder,
    unknown_notebook_warning,
    unusable_notebook_name,
    valid_id,
    write_identity,
)
from .journal import JournalWriter
from .outputs import OutputRecorder
from .ranks import RankFollower, RankTracking, detect_rank
from .readback import Provenance, names_one_folder, read_metric, read_runs, run_reference
from .runs import ENV_RUN, Run, RunManager, RunSpec
from .stream import CommStream

__all__ = [
    "__version__",
    "Run",
    "configure",
    "run",
    "start_run",
    "end_run",
    "active_run",
    "attach",
    "log_param",
    "log_params",
    "log_metric",
    "log_metrics",
    "log_artifact",
    "set_tag",
    "export",
    "forget",
    "show",
    "runs",
    "metric",
    "load",
    "Provenance",
    "load_ipython_extension",
    "unload_ipython_extension",
]


def __dir__() -> list[str]:
    """Only the public API (tab completion, ``dir(nbprov)``): the modules and helpers this package
    imports are not part of it."""
    return sorted(__all__)


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    """Where JupyterLab finds the prebuilt extension shipped in this package."""
    return [{"src": "labextension", "dest": "nbprov"}]


_settings: dict[str, Any] = {"notebook": None, "notebook_id": None, "energy": True}


class _Tracking:
    """Everything one tracked kernel (or script) process holds: journal, stream, executions, runs."""

    def __init__(self, shell: Any) -> None:
        self.shell = shell
        # Resolved now: the user may chdir later.
        located = locate_notebook(_settings["notebook"], getattr(shell, "user_ns", None), Path.cwd())
        self.notebook_path = located.path
        # Without a known notebook there is no right place: record nothing rather than guess one.
        self.placed = located.source is not None
        self.refused = located.refused
        location = resolve_folder(located.path, _settings["notebook_id"] or read_notebook_id(located.path))
        self.notebook_id = location.id
        self.folder = location.folder
        if self.placed:
            self._write_identity()
        # The folder's inode tells, after a rename, whether a path still leads to this journal.
        self._folder_key = _inode(self.folder)
        self.session = secrets.token_hex(8)
        self.writer = JournalWriter(self.folder / records.JOURNAL_DIR, self.session, discard=not self.placed)
        self._hello = {
            "session": self.session,
            "journal": f"{self.folder.name}/{records.JOURNAL_DIR}/{self.writer.path.name}",
            "notebook": self.notebook,
        }
        self.stream = CommStream(hello=self._hello, on_flush_request=self.flush)
        self.execution = (
            ExecutionTracker(shell, self.writer, self.session, self.notebook_path) if shell is not None else None
        )
        self.runs = RunManager(
            self.writer,
            lambda: self.execution.current_exec if self.execution else None,
            self.notebook_path,
            _energy_enabled,
        )
        execution = self.execution
        self.outputs = (
            OutputRecorder(shell, self.writer, self.folder / "blobs")
            if execution is not None and self.placed and OutputRecorder.supported(shell)
            else None
        )
        self.stream.open()
        self.writer.add_listener(self.stream.send)
        if self.placed:  # the rank processes of this kernel's runs, live (nbprov.ranks)
            self.writer.add_tick_hook(RankFollower(lambda: self.writer.folder, self.session, self.stream.send).tick)
        hostname = socket.gethostname()
        self.writer.append(
            records.KERNEL_START,
            session=self.session,
            kernel_id=_kernel_id(shell),
            pid=os.getpid(),
            hostname=hostname,
            python=sys.version.split()[0],
            nbprov_version=__version__,
            notebook=self.notebook,
            notebook_id=self.notebook_id,
            user=_user(),
        )
        if self.placed:
            self.runs.mark_crashed(self.folder / records.JOURNAL_DIR, hostname)
        if self.execution is not None:
            self.execution.add_cell_start_hook(self.stream.ensure_open)
            self.execution.add_cell_start_hook(self.runs.on_cell_start)
            self.execution.add_cell_end_hook(self.runs.on_cell_end)
            if self.outputs is not None:
                outputs = self.outputs
                self.execution.add_cell_start_hook(lambda: outputs.on_cell_start(execution.current_exec))
                self.execution.add_cell_end_hook(outputs.on_cell_end)  # last: it records what the others printed
                outputs.install()
            self.execution.register()
            self.execution.record_running_cell()
        self._notices = [f"nbprov: recording into {self.folder} ({location.note})"] if location.note else []
        if not self.placed:
            self._notices.append(self.refused or unknown_notebook_warning())
        if self._in_cell():
            self._show_notices()
        else:
            self.execution.add_cell_start_hook(self._show_notices)
        atexit.register(self.close)

    @property
    def notebook(self) -> str:
        return self.notebook_path.name

    def _in_cell(self) -> bool:
        """False while a kernel loads the extension at start-up: output then reaches no cell."""
        return (
            self.execution is None
            or getattr(self.shell, "kernel", None) is None
            or parent_request(self.shell) is not None
        )

    def _show_notices(self) -> None:
        """Prints, once, what the user must know about where this kernel records."""
        notices, self._notices = self._notices, []
        for notice in notices:
            # Printed only: a logging warning would reach the same cell a second time (logging's
            # last-resort handler writes to stderr too).
            print(notice, file=sys.stderr, flush=True)

    def _write_identity(self) -> None:
        try:
            write_identity(self.folder, self.notebook_id, self.notebook)
        except OSError as error:
            warnings.warn(f"nbprov: cannot write {self.folder}/identity.json: {error}", stacklevel=3)

    def relocate(self, notebook: str, notebook_id: str | None) -> bool:
        """The notebook was renamed or moved (the page moved its provenance folder along): follow
        it when its folder is the one this kernel records into; False (nothing changed) otherwise."""
        located = locate_notebook(notebook, None, self.notebook_path.parent)
        if located.path == self.notebook_path and notebook_id in (None, self.notebook_id):
            return True
        if not located.path.is_file():
            return False
        location = resolve_folder(located.path, notebook_id or self.notebook_id)
        if self._folder_key is None or _inode(location.folder) != self._folder_key:
            return False
        if self.writer.folder == self.folder / records.JOURNAL_DIR:  # not when it records to the fallback folder
            self.writer.relocated(location.folder / records.JOURNAL_DIR)
        self.notebook_path, self.folder, self.notebook_id = located.path, location.folder, location.id
        if self.execution is not None:
            self.execution.notebook_moved(self.notebook_path)
        self.runs.notebook_moved(self.notebook_path)
        journal = f"{self.folder.name}/{records.JOURNAL_DIR}/{self.writer.path.name}"
        self._hello.update(journal=journal, notebook=self.notebook)
        self._write_identity()
        return True

    def flush(self) -> None:
        if self.outputs is not None:
            self.outputs.flush()
        self.writer.flush()

    def close(self) -> None:
        """Stop tracking: end a run left open, stop the executions hooks, write everything."""
        atexit.unregister(self.close)
        self.runs.end_all("tracking stopped (the kernel shut down or the extension was unloaded)")
        if self.execution is not None:
            self.execution.unregister()
        if self.outputs is not None:
            self.outputs.uninstall()
        self.writer.close()  # serves what is queued, so the stream still sends it
        self.stream.close()


_tracking: _Tracking | None = None


def _energy_enabled() -> bool:
    return bool(_settings["energy"]) and os.environ.get("NBPROV_ENERGY", "1") != "0"


def _inode(folder: Path) -> tuple[int, int] | None:
    try:
        stat = folder.stat()
    except OSError:
        return None
    return stat.st_dev, stat.st_ino


def _kernel_id(shell: Any) -> str | None:
    if getattr(shell, "kernel", None) is None:
        return None
    try:
        from ipykernel.connect import get_connection_file

        match = re.fullmatch(r"kernel-(.+)\.json", Path(get_connection_file()).name)
    except Exception:
        return None
    return match.group(1) if match else None


def _user() -> str | None:
    try:
        return getpass.getuser()
    except Exception:
        return None


def _start_tracking(shell: Any) -> _Tracking:
    global _tracking
    if _tracking is None:
        _tracking = _Tracking(shell)
    return _tracking


def _ensure_tracking() -> _Tracking:
    if _tracking is not None:
        return _tracking
    from IPython import get_ipython

    shell = get_ipython()
    if shell is not None:
        load_ipython_extension(shell)
        assert _tracking is not None
        return _tracking
    return _start_tracking(None)


def load_ipython_extension(ip: Any) -> None:
    """``%load_ext nbprov``: start tracking this kernel; loading again changes nothing."""
    if _tracking is not None and _tracking.shell is ip:
        return
    if _tracking is not None:
        raise RuntimeError("nbprov: already tracking another IPython shell in this process")
    from .magic import TrackMagics

    ip.register_magics(TrackMagics)
    _start_tracking(ip)


def unload_ipython_extension(ip: Any) -> None:
    """``%unload_ext nbprov``: stop tracking (a later ``%load_ext`` starts a new kernel session)."""
    if _tracking is not None and _tracking.shell is ip:
        _stop_tracking()


def _stop_tracking() -> None:
    global _tracking
    if _tracking is not None:
        _tracking.close()
        _tracking = None


def configure(
    notebook: str | None = None,
    energy: bool | None = None,
    notebook_id: str | None = None,
    redact: Sequence[dict[str, str]] | None = None,
) -> None:
    """Set the notebook's path (before tracking starts, or while a kernel that did not know it
    records nothing; later only to follow a rename or move whose provenance folder moved along),
    its id (``metadata.nbprov.id``), whether runs measure energy, and extra redaction patterns
    (``[{"kind": ..., "pattern": ..., "flags": "" or "i"}]``, added to the defaults; invalid or
    slow ones are reported and skipped)."""
    if energy is not None:
        _settings["energy"] = bool(energy)
    if redact is not None:
        redaction.configure(redact)
    if notebook_id is not None and valid_id(notebook_id) is None:
        raise ValueError("nbprov.configure: notebook_id must be 32 lowercase hex digits")
    if notebook is None:
        return
    if not isinstance(notebook, str):
        raise TypeError("nbprov.configure: notebook must be a path string")
    refused = unusable_notebook_name(notebook)
    if refused is not None:
        raise ValueError(f"nbprov.configure: {refused}")
    if _tracking is not None and not _tracking.placed:
        # It recorded nothing so far: start recording now that the notebook is named.
        shell = _tracking.shell
        _stop_tracking()
        _settings.update(notebook=notebook, notebook_id=notebook_id)
        _start_tracking(shell)
        return
    if _tracking is not None and not _tracking.relocate(notebook, notebook_id):
        raise RuntimeError(
            f"nbprov: this kernel records {_tracking.notebook} into {_tracking.folder}; "
            "nbprov.configure(notebook=...) must be called before tracking starts (before %load_ext nbprov)"
        )
    _settings.update(notebook=notebook, notebook_id=notebook_id)


def run(
    name: str | None = None,
    experiment: str = "default",
    params: dict[str, object] | None = None,
    energy: bool = True,
    tags: dict[str, object] | None = None,
    parent: Run | None = None,
    log_args: bool = False,
) -> Run:
    """A run that belongs to its cell: ``with nbprov.run(...) as run:``, or ``@nbprov.run(...)`` on a
    function so that every call is a run (with its arguments as parameters if ``log_args``).
    ``parent`` nests it in another open run (a sweep's children). It begins when first used."""
    spec = RunSpec.build(name, experiment, params, tags, energy, parent, spans_cells=False, log_args=log_args)
    return _ensure_tracking().runs.create(spec)


def start_run(
    name: str | None = None,
    experiment: str = "default",
    params: dict[str, object] | None = None,
    energy: bool = True,
    tags: dict[str, object] | None = None,
    parent: Run | None = None,
    end_on_error: bool = False,
) -> Run:
    """Start a run that stays active across cells until ``nbprov.end_run()`` (model definition,
    training and evaluation in separate cells). An error or interrupt in one of its cells leaves it
    open unless ``end_on_error``; at kernel shutdown it ends as finished, with a warning."""
    spec = RunSpec.build(name, experiment, params, tags, energy, parent, spans_cells=True, end_on_error=end_on_error)
    return _ensure_tracking().runs.start(spec)


def end_run(status: str = "finished") -> None:
    """End the active run (the innermost open one)."""
    current = active_run()
    if current is None:
        raise RuntimeError("nbprov.end_run(): no run is active (start one with nbprov.start_run())")
    current.end(status)


def active_run() -> Run | None:
    """The innermost open run (a run from ``nbprov.run()`` in this cell begins now), or None; in a
    process that joined a run (``attach``), its part of that run."""
    if _rank is not None:
        return _rank.run
    if _tracking is None and os.environ.get(ENV_RUN):
        # A process the notebook launched inside a run (``!python train.py``, torchrun) joins it when
        # it first logs: one that never logs (a data loader's worker) leaves no journal behind.
        return attach()
    return _tracking.runs.active_or_pending() if _tracking is not None else None


_rank: RankTracking | None = None


def attach(rank: int | None = None, world_size: int | None = None, local_rank: int | None = None) -> Run | None:
    """Join, from a process the notebook launched, the run named by ``NBPROV_RUN`` (which
    ``Run.env()`` returns and an open run puts in ``os.environ``), as one rank: this process then
    writes its own journal ``k-<session>-r<rank>.jsonl`` and ``nbprov.log_metric`` & co. log into
    that run. A child process started with ``NBPROV_RUN`` set attaches by itself when it first
    logs (``nbprov.log_metric``, ``nbprov.active_run()``); a forked child (which otherwise records
    nothing) must call this. The rank comes from the
    launcher (``RANK``, ``SLURM_PROCID``, ``OMPI_COMM_WORLD_RANK``, ``PMI_RANK``, Ray) unless given.
    Returns the run, or None without ``NBPROV_RUN``. A run that has ended or is unknown, or a journal
    folder this process cannot write, is reported once: the run returned then records nothing."""
    global _rank
    if _rank is not None:
        return _rank.run
    if _tracking is not None and not _tracking.writer.forked_child:
        raise RuntimeError("nbprov.attach() is for processes the notebook launches; this one records the run itself")
    if not os.environ.get(ENV_RUN):
        return None
    info = detect_rank()
    if rank is not None:
        info = dataclasses.replace(info, rank=int(rank), launcher="explicit")
    if world_size is not None:
        info = dataclasses.replace(info, world_size=int(world_size))
    if local_rank is not None:
        info = dataclasses.replace(info, local_rank=int(local_rank))
    _rank = RankTracking(os.environ, info, os.environ.get("NBPROV_ENERGY", "1") != "0")
    return _rank.run


def _active_or_raise() -> Run:
    current = active_run()
    if current is None:
        raise RuntimeError("nbprov: no active run; start one with nbprov.run(...) or %%track")
    return current


def log_param(key: str, value: object, role: str = "input") -> None:
    _active_or_raise().log_param(key, value, role)


def log_params(params: dict[str, object], role: str = "input") -> None:
    _active_or_raise().log_params(params, role)


def log_metric(
    name: str,
    value: float,
    step: int | None = None,
    context: str | None = None,
    timestamp: int | None = None,
    epoch: int | None = None,
) -> None:
    _active_or_raise().log_metric(name, value, step, context, timestamp, epoch)


def log_metrics(
    metrics: dict[str, float],
    step: int | None = None,
    context: str | None = None,
    timestamp: int | None = None,
    epoch: int | None = None,
) -> None:
    _active_or_raise().log_metrics(metrics, step, context, timestamp, epoch)


def log_artifact(path: str | os.PathLike[str], role: str = "output") -> None:
    _active_or_raise().log_artifact(path, role)


def set_tag(key: str, value: object) -> None:
    _active_or_raise().set_tag(key, value)


def export(notebook: str | os.PathLike[str] | None = None, license: str | None = None) -> Path:
    """Flush the journal and export the notebook's provenance; returns the path of prov.json.
    ``license``: the crate's licence, an http(s) URL or an SPDX identifier (default CC BY 4.0)."""
    tracking = _ensure_tracking()
    tracking.flush()
    notebook_path = Path(notebook) if notebook is not None else tracking.notebook_path
    return run_cli_export(notebook_path, tracking.session, license)


def forget(
    notebook: str | os.PathLike[str] | None = None,
    outputs_only: bool = False,
    before: str | datetime.date | None = None,
) -> str:
    """Delete the notebook's recorded history, as ``nbprov forget`` does (every journal file, blob and
    stored artifact; only outputs with ``outputs_only``; only what was recorded before ``before``, a
    date, a date-time (naive: UTC) or an ISO string); prints and returns what was removed. This
    kernel's journal keeps recording: nothing is written while the files are removed, and its next
    records start a new journal file."""
    if isinstance(before, datetime.datetime):
        stamp: str | None = before.isoformat(timespec="milliseconds")
    elif isinstance(before, datetime.date):
        stamp = before.isoformat()
    elif before is None or isinstance(before, str):
        stamp = before
    else:
        raise TypeError("nbprov.forget: before must be a date, a datetime or an ISO string")
    if notebook is not None:
        notebook_path = Path(notebook)
    elif _tracking is not None:
        notebook_path = _tracking.notebook_path
    else:
        from IPython import get_ipython

        located = locate_notebook(_settings["notebook"], getattr(get_ipython(), "user_ns", None), Path.cwd())
        if located.source is None:
            raise ValueError("nbprov.forget: this kernel does not know its notebook; pass notebook=<path>.ipynb")
        notebook_path = located.path
    if _tracking is not None:
        _tracking.flush()
        message = _tracking.writer.run_exclusively(
            lambda: run_cli_forget(notebook_path, outputs_only, stamp), FORGET_TIMEOUT_S + 5
        )
    else:
        message = run_cli_forget(notebook_path, outputs_only, stamp)
    print(message)
    return message


def show(run_ids: Sequence[str] = (), metrics: Sequence[str] = (), x_axis: str = "step") -> Any:
    """The runs widget: all runs of this notebook (or the given ones), live charts, comparison."""
    from .widget import runs_widget

    return runs_widget(_ensure_tracking().session, run_ids, metrics, x_axis)


def _journal_folder() -> Path:
    """The ``.prov`` folder this kernel records into (the fallback folder's when its own is unwritable),
    its journal flushed."""
    tracking = _ensure_tracking()
    tracking.flush()
    return tracking.writer.folder.parent


def _live_sessions() -> list[str]:
    """This kernel's session, whose open runs are running (not crashed); reading never starts tracking."""
    return [_tracking.session] if _tracking is not None else []


def runs(
    path: str | os.PathLike[str] | None = None,
    experiment: str | None = None,
    filter: str | None = None,
    recursive: bool = False,
) -> Any:
    """The runs as a pandas DataFrame, one row per run (columns: see the README, "Reading runs back").

    ``path``: a notebook, a ``.prov`` folder or a folder (its ``.prov`` folders; with ``recursive``,
    every one below it); None: this notebook, this session's runs included. ``filter``: an MLflow-like
    expression such as ``"params.lr > 0.01 and status = 'finished'"``."""
    folder = _journal_folder() if path is None else Path(path)
    return read_runs(folder, experiment, filter, recursive, _live_sessions())


def metric(run: Any, name: str, context: str | None = None, path: str | os.PathLike[str] | None = None) -> Any:
    """One metric of a run as a pandas DataFrame indexed by step, with ``value``, ``epoch`` (NA outside
    epochs), ``time`` (UTC) and ``context`` (the context path, "" outside any) columns, and ``rank``
    (NA for the kernel's points) when rank processes joined the run.

    ``run``: a ``Run``, a run id (or a unique prefix) or a row of ``nbprov.runs()``; ``context`` keeps the
    series of one context path; ``path`` where to look (default: the row's folder, else this notebook)."""
    run_id, folder = run_reference(run)
    if path is not None:
        folder = Path(path)
    if folder is None:
        return read_metric(_journal_folder(), run_id, name, context, False, _live_sessions())
    return read_metric(folder, run_id, name, context, not names_one_folder(folder), _live_sessions())


def load(path: str | os.PathLike[str], recursive: bool | None = None) -> Provenance:
    """The runs of a notebook, a ``.prov`` folder, an export or a project folder, without a kernel:
    ``nbprov.load("train.prov").runs(filter=...)``, ``.metric(run, "loss")``. A project folder is read
    recursively unless ``recursive=False``."""
    return Provenance(path, recursive)
