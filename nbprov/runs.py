"""Runs: params, metrics in typed-array buffers, contexts, artifacts, energy and lifecycle.

``log_metric`` is the hot path: one dict lookup and four typed-array appends. Buffers are
swapped out under a lock and written as one ``metrics`` record per flush (by size, by the
journal's periodic tick, and at run end).
"""

from __future__ import annotations

import hashlib
import math
import numbers
import os
import sys
import threading
import time
import uuid
import warnings
from array import array
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .execution import exec_status
from .journal import JournalWriter, iter_journal_file

FLUSH_POINTS = 65_536
RUN_END_STATUSES = ("finished", "failed", "interrupted")
ROLES = ("input", "output")
NO_EPOCH = -1
_LITTLE_ENDIAN = sys.byteorder == "little"
_now_ns = time.time_ns


def _as_number(value: object) -> float:
    """Metric values are real numbers (bools count as 0/1); anything else is a ``TypeError``."""
    if isinstance(value, (str, bytes)) or not hasattr(type(value), "__float__"):
        raise TypeError(f"nbprov: metric value must be a real number, got {type(value).__name__}")
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError) as error:
        raise TypeError(f"nbprov: metric value must be a real number: {error}") from None


def _json_scalar(value: object) -> object:
    """A param value as a JSON scalar; other values (and non-finite floats) as their ``repr``."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real) and math.isfinite(float(value)):
        return float(value)
    return repr(value)


def _check_name(kind: str, name: object) -> str:
    if not isinstance(name, str) or not name:
        raise TypeError(f"nbprov: {kind} must be a non-empty string, got {name!r}")
    return name


def _check_role(role: str) -> str:
    if role not in ROLES:
        raise ValueError(f"nbprov: role must be one of {ROLES}, got {role!r}")
    return role


def _le_bytes(values: array) -> bytes:
    if not _LITTLE_ENDIAN:
        values.byteswap()
    return values.tobytes()


def _read_meter(meter: Any) -> object:
    """A counter snapshot, or None (with a warning) when the meter fails."""
    try:
        return meter.read()
    except Exception as error:
        warnings.warn(f"nbprov: energy meter read failed: {error!r}", stacklevel=3)
        return None


class MetricSeries:
    """Unflushed points of one metric in one context."""

    __slots__ = ("metric", "ctx", "epoch", "next_step", "steps", "values", "timestamps", "epochs")

    def __init__(self, metric: str, ctx: int | None, epoch: int) -> None:
        self.metric = metric
        self.ctx = ctx
        self.epoch = epoch
        self.next_step = 0
        self.steps = array("q")
        self.values = array("d")
        self.timestamps = array("q")
        self.epochs = array("i")

    def take(self) -> dict[str, Any] | None:
        """Move the complete points out; None when there are none.

        Lock-free against the series' one writer thread: it appends to ``epochs`` last, so the
        first ``len(epochs)`` entries of every array are complete points, and each slice and
        prefix deletion is a single operation under the GIL."""
        n = len(self.epochs)
        if not n:
            return None
        taken: dict[str, Any] = {"metric": self.metric, "ctx": self.ctx, "n": n}
        for field in ("steps", "values", "timestamps", "epochs"):
            values = getattr(self, field)
            taken[field] = values[:n]
            del values[:n]
        return taken


class Context:
    """One opening of a context. Openings with the same path of names (each epoch's "training")
    share their metric series: ``series_ctx`` is the id of the first such opening."""

    __slots__ = ("ctx", "name", "epoch", "parent", "path", "series_ctx", "energy_start")

    def __init__(self, ctx: int, name: str, epoch: int | None, parent: Context | None) -> None:
        self.ctx = ctx
        self.name = name
        self.epoch = epoch
        self.parent = parent.ctx if parent else None
        self.path: tuple[str, ...] = (parent.path if parent else ()) + (name,)
        self.series_ctx = ctx
        self.energy_start: object = None


class Run:
    """One tracked run. Use as a context manager or end it with ``end()``."""

    def __init__(
        self,
        writer: JournalWriter,
        name: str | None,
        experiment: str,
        exec_id: str | None,
        code: dict[str, Any] | None,
        meter: Any,
        on_end: Callable[[Run], None],
    ) -> None:
        self.id = uuid.uuid4().hex
        self.name = name
        self.experiment = experiment
        self.status = "running"
        self._writer = writer
        self._meter = meter
        self._on_end = on_end
        self._lock = threading.Lock()
        self._flush_lock = threading.Lock()
        # Every series, and those of each context path (None: outside any context) by metric name;
        # the hot path only looks in the current context's dict.
        self._series: dict[tuple[str, int | None], MetricSeries] = {}
        self._series_by_path: dict[tuple[str, ...] | None, dict[str, MetricSeries]] = {None: {}}
        self._first_ctx_of_path: dict[tuple[str, ...], int] = {}
        self._current_series = self._series_by_path[None]
        self._batch = 0
        self._next_ctx = 1
        self._contexts: list[Context] = []
        self._labelled: dict[str, Context] = {}
        self._current_epoch = NO_EPOCH
        self._ended = False
        writer.append(
            "run_start", run=self.id, name=name, experiment=experiment, exec=exec_id, code=code,
            energy=meter is not None,
        )
        self._energy_start = self._energy_read()
        if meter is not None:
            try:
                meter.start_sampler(self._on_power)
            except Exception as error:
                warnings.warn(f"nbprov: energy sampler did not start: {error!r}", stacklevel=3)

    def __repr__(self) -> str:
        return f"<nbprov.Run {self.id} name={self.name!r} experiment={self.experiment!r} {self.status}>"

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any] | None:
        """A run at the end of a cell displays as the runs widget showing that run."""
        from .widget import run_mimebundle

        return run_mimebundle(self.id, repr(self), self._writer.session, include=include, exclude=exclude)

    def __enter__(self) -> Run:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: object) -> None:
        if not self._ended:
            self.end(error=exc)

    # params and artifacts

    def log_param(self, key: str, value: object, role: str = "input") -> None:
        self._check_open()
        self._writer.append(
            "param", run=self.id, key=_check_name("param key", key), value=_json_scalar(value),
            role=_check_role(role),
        )

    def log_params(self, params: dict[str, object], role: str = "input") -> None:
        for key, value in dict(params).items():
            self.log_param(key, value, role)

    def log_artifact(self, path: str | os.PathLike[str], role: str = "output") -> None:
        """Record a file's sha256 and size (hashed in chunks, so large files are fine)."""
        self._check_open()
        _check_role(role)
        file_path = Path(path)
        if not file_path.is_file():
            raise FileNotFoundError(f"nbprov: artifact is not a readable file: {str(path)!r}")
        digest = hashlib.sha256()
        size = 0
        with open(file_path, "rb") as handle:
            while chunk := handle.read(1 << 20):
                digest.update(chunk)
                size += len(chunk)
        self._writer.append(
            "artifact", run=self.id, path=str(file_path.resolve()), name=file_path.name,
            sha256=digest.hexdigest(), size=size, role=role,
        )

    # metrics

    def log_metric(
        self,
        name: str,
        value: float,
        step: int | None = None,
        context: str | None = None,
        timestamp: int | None = None,
    ) -> None:
        """Log one point. ``step`` defaults to the series' previous step + 1 (from 0);
        ``context`` (a context name) defaults to the innermost open context;
        ``timestamp`` is in ms since the epoch and defaults to now.
        Values are real numbers; bools are stored as 0/1; NaN and ±inf are kept as they are."""
        if type(value) is not float:
            value = _as_number(value)
        series = self._current_series.get(name) if context is None else None
        if series is None:
            series = self._series_for(name, context)
        if step is None:
            step = series.next_step
        steps = series.steps
        try:
            steps.append(step)
        except (TypeError, OverflowError) as error:
            raise TypeError(f"nbprov: step must be an integer: {error}") from None
        try:
            series.timestamps.append(_now_ns() // 1_000_000 if timestamp is None else timestamp)
        except (TypeError, OverflowError) as error:
            steps.pop()
            raise TypeError(f"nbprov: timestamp must be an integer (ms since the epoch): {error}") from None
        series.values.append(value)
        series.epochs.append(series.epoch)  # last: marks the point complete for take()
        series.next_step = step + 1
        if len(steps) >= FLUSH_POINTS:
            self.flush_metrics()

    def log_metrics(
        self, metrics: dict[str, float], step: int | None = None, context: str | None = None,
        timestamp: int | None = None,
    ) -> None:
        for name, value in dict(metrics).items():
            self.log_metric(name, value, step, context, timestamp)

    def flush_metrics(self) -> None:
        """Write buffered points as one ``metrics`` record (nothing if there are none)."""
        with self._flush_lock:
            taken = [batch for series in list(self._series.values()) if (batch := series.take())]
            if not taken:
                return
            for series in taken:
                for field in ("steps", "values", "timestamps", "epochs"):
                    series[field] = _le_bytes(series[field])
            self._batch += 1
            self._writer.append("metrics", run=self.id, batch=self._batch, series=taken)

    def _log_metric_from_thread(self, name: str, value: float, timestamp: int) -> None:
        """For background samplers: a point outside any context."""
        if self._ended:
            return
        series = self._series_by_path[None].get(name) or self._add_series(name, None)
        series.steps.append(series.next_step)
        series.timestamps.append(timestamp)
        series.values.append(value)
        series.epochs.append(NO_EPOCH)
        series.next_step += 1

    def _series_for(self, name: str, label: str | None) -> MetricSeries:
        """Slow path of ``log_metric``: a new series, a named context, or an ended run."""
        self._check_open()
        context = self._contexts[-1] if label is None and self._contexts else None
        if label is not None:
            context = self._context_named(label)
        path = context.path if context else None
        return self._series_by_path.get(path, {}).get(name) or self._add_series(name, context)

    def _add_series(self, name: str, context: Context | None) -> MetricSeries:
        _check_name("metric name", name)
        ctx = context.series_ctx if context else None
        epoch = NO_EPOCH if context is None or context.epoch is None else context.epoch
        with self._lock:  # the main thread and a sampler thread may both add series
            by_name = self._series_by_path.setdefault(context.path if context else None, {})
            series = by_name.setdefault(name, MetricSeries(name, ctx, epoch))
            self._series[(name, ctx)] = series
            return series

    # contexts

    @contextmanager
    def context(self, name: str, epoch: int | None = None) -> Iterator[Context]:
        """Metrics logged inside go to this context and inherit its epoch (or its parent's)."""
        self._check_open()
        _check_name("context name", name)
        if epoch is not None and not isinstance(epoch, numbers.Integral):
            raise TypeError(f"nbprov: epoch must be an integer, got {type(epoch).__name__}")
        parent = self._contexts[-1] if self._contexts else None
        if epoch is None and parent is not None:
            epoch = parent.epoch
        context = self._open_context(name, None if epoch is None else int(epoch), parent)
        self._contexts.append(context)
        self._set_current()
        try:
            yield context
        finally:
            self._contexts.remove(context)
            self._set_current()
            if not self._ended:
                self._close_context(context)

    def _open_context(self, name: str, epoch: int | None, parent: Context | None) -> Context:
        context = Context(self._next_ctx, name, epoch, parent)
        self._next_ctx += 1
        context.series_ctx = self._first_ctx_of_path.setdefault(context.path, context.ctx)
        # The path's series continue here: their next points carry this opening's epoch.
        for series in self._series_by_path.get(context.path, {}).values():
            series.epoch = NO_EPOCH if epoch is None else epoch
        self._writer.append(
            "context_start", run=self.id, ctx=context.ctx, name=name, epoch=epoch, parent=context.parent
        )
        context.energy_start = self._energy_read()
        return context

    def _close_context(self, context: Context) -> None:
        # Its points are complete: write them before the context's end is recorded.
        self.flush_metrics()
        self._writer.append("context_end", run=self.id, ctx=context.ctx)
        if context.epoch is None:
            self._write_energy("context", context.ctx, context.energy_start, ctx=context.ctx)
        else:
            self._write_energy("epoch", context.epoch, context.energy_start, ctx=context.ctx)

    def _context_named(self, label: str) -> Context:
        """A context given by name: the innermost open one, else one created for the label."""
        for context in reversed(self._contexts):
            if context.name == label:
                return context
        context = self._labelled.get(label)
        if context is None:
            context = self._open_context(_check_name("context name", label), None, None)
            self._labelled[label] = context
        return context

    def _set_current(self) -> None:
        path = self._contexts[-1].path if self._contexts else None
        with self._lock:
            self._current_series = self._series_by_path.setdefault(path, {})

    # energy

    def _energy_read(self) -> object:
        return None if self._meter is None else _read_meter(self._meter)

    def _write_energy(self, scope: str, ref: object, start: object, **extra: Any) -> None:
        if self._meter is None or start is None:
            return
        try:
            measurements = self._meter.between(start, self._meter.read())
        except Exception as error:
            warnings.warn(f"nbprov: energy measurement failed: {error!r}", stacklevel=3)
            return
        for measurement in measurements:
            self._writer.append(
                "energy", run=self.id, scope=scope, ref=ref, **extra,
                device=measurement.get("device"), joules=measurement.get("joules"),
                method=measurement.get("method"), reason=measurement.get("reason"),
                resolution_limited=bool(measurement.get("resolution_limited")),
            )

    def _on_power(self, device: str, t_ms: int, watts: float) -> None:
        self._log_metric_from_thread(f"power_watts[{device}]", float(watts), int(t_ms))

    # lifecycle

    def end(self, status: str | None = None, error: BaseException | None = None) -> None:
        """End the run: ``status`` defaults to what ``error`` implies (finished without one)."""
        if self._ended:
            return
        if status is None:
            status = {"ok": "finished", "error": "failed", "interrupted": "interrupted"}[
                exec_status(error)["status"]
            ]
        if status not in RUN_END_STATUSES:
            raise ValueError(f"nbprov: run status must be one of {RUN_END_STATUSES}, got {status!r}")
        if self._meter is not None:
            try:
                self._meter.stop_sampler()
            except Exception as error_stopping:
                warnings.warn(f"nbprov: energy sampler did not stop: {error_stopping!r}", stacklevel=2)
        for context in reversed([*self._contexts, *self._labelled.values()]):
            self._close_context(context)
        self._ended = True
        self._current_series = {}  # sends log_metric to the slow path, which raises
        self.flush_metrics()
        self._write_energy("run", self.id, self._energy_start)
        fields = exec_status(error)
        self._writer.append(
            "run_end", run=self.id, status=status, ename=fields.get("ename"), evalue=fields.get("evalue")
        )
        self._writer.flush()
        self.status = status
        self._on_end(self)

    def _check_open(self) -> None:
        if self._ended:
            raise RuntimeError(f"nbprov: run {self.id} has ended ({self.status}); start a new run")


# crashed runs of other kernels


def pid_alive(pid: int) -> bool:
    """Whether a process with this pid exists on this host (a zombie counts as dead)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"


def orphan_runs(folder: Path, own_journal: Path, hostname: str) -> list[str]:
    """Runs started by other, dead kernels on this host that never got a ``run_end``."""
    if not folder.is_dir():
        return []
    started: dict[str, bool] = {}
    ended: set[str] = set()
    for path in sorted(folder.glob("k-*.jsonl")):
        kernel_dead = False
        for record in iter_journal_file(path, ("kernel_start", "run_start", "run_end")):
            if record["type"] == "kernel_start":
                pid = record.get("pid")
                kernel_dead = (
                    path != own_journal and record.get("hostname") == hostname
                    and isinstance(pid, int) and not pid_alive(pid)
                )
            elif record["type"] == "run_start":
                started[record.get("run")] = kernel_dead
            else:
                ended.add(record.get("run"))
    return [run for run, dead in started.items() if dead and run not in ended]


class RunManager:
    """The active run of this kernel and the defaults new runs get."""

    def __init__(
        self,
        writer: JournalWriter,
        current_exec: Callable[[], str | None],
        notebook_path: Path,
        energy_enabled: Callable[[], bool],
    ) -> None:
        self._writer = writer
        self._current_exec = current_exec
        self._notebook_path = notebook_path
        self._energy_enabled = energy_enabled
        self._meter: Any = None
        self._meter_opened = False
        self.active: Run | None = None
        # Energy per cell execution: the meter reading at the cell's start and the runs it touched.
        self._cell_start_reading: object = None
        self._cell_runs: list[Run] = []
        writer.add_tick_hook(self.flush)

    def notebook_moved(self, notebook_path: Path) -> None:
        """The notebook was renamed or moved: later runs record the git state at its new path."""
        self._notebook_path = notebook_path

    def start(
        self, name: str | None, experiment: str, params: dict[str, object] | None, energy: bool
    ) -> Run:
        if name is not None:
            _check_name("run name", name)
        _check_name("experiment", experiment)
        if params is not None and not isinstance(params, dict):
            raise TypeError(f"nbprov: params must be a dict, got {type(params).__name__}")
        self.end_leftover("a new run was started")
        meter = self._meter_for_run() if energy else None
        run = Run(self._writer, name, experiment, self._current_exec(), self._capture_code(), meter, self._ended)
        self.active = run
        self._cell_runs.append(run)
        if params:
            run.log_params(params)
        return run

    def on_cell_start(self) -> None:
        meter = self._meter_for_run()
        self._cell_start_reading = _read_meter(meter) if meter is not None else None
        self._cell_runs = [self.active] if self.active is not None else []

    def on_cell_end(self, error: BaseException | None) -> None:
        self.end_leftover("its cell ended", error)
        exec_id = self._current_exec()
        if self._cell_start_reading is not None and exec_id is not None:
            for run in self._cell_runs:
                run._write_energy("cell", exec_id, self._cell_start_reading)
        self._cell_start_reading = None
        self._cell_runs = []

    def flush(self) -> None:
        run = self.active
        if run is not None:
            run.flush_metrics()

    def mark_crashed(self, folder: Path, hostname: str) -> None:
        for run in orphan_runs(folder, self._writer.path, hostname):
            self._writer.append("run_end", run=run, status="crashed", ename=None, evalue=None)
        self._writer.flush()

    def end_leftover(self, why: str, error: BaseException | None = None) -> None:
        """End the active run, if any, with a warning saying ``why``."""
        run = self.active
        if run is None:
            return
        run.end(error=error)
        warnings.warn(f"nbprov: run {run.id} was still open when {why}; ended it as {run.status!r}", stacklevel=3)

    def _ended(self, run: Run) -> None:
        if self.active is run:
            self.active = None

    def _meter_for_run(self) -> Any:
        if not self._energy_enabled():
            return None
        if not self._meter_opened:
            self._meter_opened = True
            try:
                from .energy import open_meter
            except ImportError:
                return None
            try:
                self._meter = open_meter()
            except Exception as error:
                warnings.warn(f"nbprov: energy measurement unavailable: {error!r}", stacklevel=3)
        return self._meter

    def _capture_code(self) -> dict[str, Any] | None:
        try:
            from .codestate import capture
        except ImportError:
            return None
        try:
            return capture(self._notebook_path)
        except Exception as error:
            warnings.warn(f"nbprov: code state capture failed: {error!r}", stacklevel=3)
            return None
