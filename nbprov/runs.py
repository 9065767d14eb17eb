"""Runs: params, metrics in packed point buffers, contexts, artifacts, energy and lifecycle.

``log_metric`` is the hot path: one dict lookup, one ``struct`` pack and one ``bytearray`` append.
That append is a single operation, so a KeyboardInterrupt (delivered between bytecodes) or another
thread can never leave half a point. Only the journal thread takes points out of the buffers (it
never receives KeyboardInterrupt) and turns them into ``metrics`` records; everything that must come
after a run's last points (a context's end, the run's end) is queued to that same thread, in order.
"""

from __future__ import annotations

import hashlib
import math
import numbers
import os
import struct
import sys
import threading
import time
import uuid
import warnings
from array import array
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any

from .execution import exec_status
from .journal import JournalWriter, iter_journal_file

FLUSH_POINTS = 65_536
# One point: step (AUTO_STEP when the series numbers it), value, timestamp (ms), epoch.
_POINT = struct.Struct("<qdqq")
_pack_point = _POINT.pack
FLUSH_BYTES = FLUSH_POINTS * _POINT.size
AUTO_STEP = -(2**63)
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


# Integers beyond this travel as decimal strings: JSON readers in JavaScript parse numbers as doubles.
_SAFE_INTEGER = 2**53


def encode_param(key: str, value: object) -> dict[str, Any]:
    """``value`` and ``value_type`` fields recording a parameter exactly (see ARCHITECTURE.md);
    a value that cannot be recorded is a ``TypeError`` naming the parameter."""
    if value is None:
        return {"value": None, "value_type": "null"}
    if isinstance(value, bool):
        return {"value": value, "value_type": "bool"}
    if isinstance(value, str):
        return {"value": value, "value_type": "str"}
    if isinstance(value, numbers.Integral):
        number = int(value)
        return {"value": number if abs(number) <= _SAFE_INTEGER else str(number), "value_type": "int"}
    if isinstance(value, numbers.Real) and not isinstance(value, numbers.Rational):
        number = float(value)
        if math.isfinite(number) and not (number == 0 and math.copysign(1, number) < 0):
            return {"value": number, "value_type": "float"}
        return {"value": repr(number), "value_type": "float"}  # nan, inf, -inf, -0.0
    try:
        text = repr(value)
    except Exception as error:
        raise TypeError(
            f"nbprov: parameter {key!r} cannot be recorded: repr() of its {type(value).__name__} value raised {error!r}"
        ) from None
    if not isinstance(text, str):
        raise TypeError(f"nbprov: parameter {key!r} cannot be recorded: repr() did not return a string")
    return {"value": text, "value_type": "repr"}


_fork_warned = False


def _forked_child_series() -> MetricSeries:
    """Where a forked child's points go: nowhere, with one warning per child process."""
    global _fork_warned
    if not _fork_warned:
        _fork_warned = True
        warnings.warn(
            f"nbprov: this forked child process (pid {os.getpid()}) records nothing; its parent's record "
            "is kept intact. Log from the notebook's process, or return values to it.",
            RuntimeWarning,
            stacklevel=4,
        )
    series = MetricSeries("", None, NO_EPOCH)
    series.points = _DiscardedPoints()
    return series


class _DiscardedPoints(bytearray):
    """A point buffer that keeps nothing (a forked child's)."""

    def __iadd__(self, other: Any) -> _DiscardedPoints:
        return self


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
    """Unflushed points of one metric in one context path, packed as ``_POINT`` records.

    Writers (any thread) only append whole points to ``points``; the journal thread alone takes a
    prefix out, so the buffer always holds whole points in the order they were logged."""

    __slots__ = ("metric", "ctx", "epoch", "points", "last_step")

    def __init__(self, metric: str, ctx: int | None, epoch: int) -> None:
        self.metric = metric
        self.ctx = ctx
        self.epoch = epoch
        self.points = bytearray()
        self.last_step = -1  # of the points taken so far: an automatic step continues from it

    def take(self, max_points: int = FLUSH_POINTS) -> dict[str, Any] | None:
        """Move up to ``max_points`` of the oldest points out as little-endian arrays; None when
        there are none. Journal thread only."""
        points = self.points
        size = min(len(points), max_points * _POINT.size)
        if not size:
            return None
        words = array("q")
        words.frombytes(points[:size])
        del points[:size]
        if not _LITTLE_ENDIAN:
            words.byteswap()
        steps = words[0::4]
        automatic = steps.count(AUTO_STEP)
        if automatic == len(steps):
            steps = array("q", range(self.last_step + 1, self.last_step + 1 + len(steps)))
        elif automatic:
            previous = self.last_step
            for index, step in enumerate(steps):
                previous = previous + 1 if step == AUTO_STEP else step
                steps[index] = previous
        self.last_step = steps[-1]
        values = array("d")
        values.frombytes(words[1::4].tobytes())
        return {
            "metric": self.metric, "ctx": self.ctx, "n": len(steps), "steps": _le_bytes(steps),
            "values": _le_bytes(values), "timestamps": _le_bytes(words[2::4]),
            "epochs": _le_bytes(array("i", words[3::4])),
        }


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
        params: list[tuple[str, dict[str, Any]]] = (),
    ) -> None:
        self.id = uuid.uuid4().hex
        self.name = name
        self.experiment = experiment
        self.status = "running"
        self._writer = writer
        self._meter = meter
        self._on_end = on_end
        self._lock = threading.Lock()
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
        self._finished = False  # journal thread: run_end written
        self._start_fields = {"exec": exec_id, "code": code, "energy": meter is not None}
        self._params = params
        self._start_written = False  # journal thread: run_start written
        self._energy_start: object = None

    def _begin(self) -> None:
        """Write the run's start: its ``run_start`` and parameters go to the journal as one item, so
        ``_finish`` (served after it) knows whether the run exists on disk."""
        self._writer.call(self._write_start)
        self._energy_start = self._energy_read()
        if self._meter is not None:
            try:
                self._meter.start_sampler(self._on_power)
            except Exception as error:
                warnings.warn(f"nbprov: energy sampler did not start: {error!r}", stacklevel=4)

    def _write_start(self) -> None:
        self._writer.append(
            "run_start", run=self.id, name=self.name, experiment=self.experiment, **self._start_fields
        )
        for key, encoded in self._params:
            self._writer.append("param", run=self.id, key=key, role="input", **encoded)
        self._start_written = True

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
            "param", run=self.id, key=_check_name("param key", key), role=_check_role(role),
            **encode_param(key, value),
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
            step = AUTO_STEP
        elif step == AUTO_STEP:
            raise ValueError(f"nbprov: step {AUTO_STEP} is reserved")
        try:
            point = _pack_point(step, value, _now_ns() // 1_000_000 if timestamp is None else timestamp, series.epoch)
        except struct.error as error:
            raise TypeError(f"nbprov: step and timestamp (ms since the epoch) must be 64-bit integers: {error}") from None
        points = series.points
        points += point  # the one operation that logs the point
        if len(points) >= FLUSH_BYTES:
            self._writer.wake()

    def log_metrics(
        self, metrics: dict[str, float], step: int | None = None, context: str | None = None,
        timestamp: int | None = None,
    ) -> None:
        for name, value in dict(metrics).items():
            self.log_metric(name, value, step, context, timestamp)

    def _take_metrics(self) -> None:
        """Journal thread: write the buffered points as ``metrics`` records."""
        while True:
            taken = [batch for series in list(self._series.values()) if (batch := series.take())]
            if not taken:
                return
            self._batch += 1
            self._writer.append("metrics", run=self.id, batch=self._batch, series=taken)

    def _log_metric_from_thread(self, name: str, value: float, timestamp: int) -> None:
        """For background samplers: a point outside any context."""
        if self._ended:
            return
        series = self._series_by_path[None].get(name) or self._add_series(name, None)
        series.points += _pack_point(AUTO_STEP, value, timestamp, NO_EPOCH)

    def _series_for(self, name: str, label: str | None) -> MetricSeries:
        """Slow path of ``log_metric``: a new series, a named context, an ended run, or a forked child."""
        if self._writer.forked_child:
            return _forked_child_series()
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
        self._writer.call(partial(self._context_closed, context, self._energy_read()))

    def _context_closed(self, context: Context, energy_end: object) -> None:
        """Journal thread: the context's points are complete; they are written before its end."""
        self._take_metrics()
        self._writer.append("context_end", run=self.id, ctx=context.ctx)
        if context.epoch is None:
            self._write_energy("context", context.ctx, context.energy_start, energy_end, ctx=context.ctx)
        else:
            self._write_energy("epoch", context.epoch, context.energy_start, energy_end, ctx=context.ctx)

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

    def _write_energy(self, scope: str, ref: object, start: object, end: object, **extra: Any) -> None:
        if self._meter is None or start is None or end is None:
            return
        try:
            measurements = self._meter.between(start, end)
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
        """End the run: ``status`` defaults to what ``error`` implies (finished without one).

        The run's end is queued to the journal thread before anything else changes, so an
        interrupt arriving during ``end`` cannot leave the run without its ``run_end``."""
        if self._ended:
            return
        if status is None:
            status = {"ok": "finished", "error": "failed", "interrupted": "interrupted"}[
                exec_status(error)["status"]
            ]
        if status not in RUN_END_STATUSES:
            raise ValueError(f"nbprov: run status must be one of {RUN_END_STATUSES}, got {status!r}")
        open_contexts = [*reversed(self._contexts), *reversed(list(self._labelled.values()))]
        self._writer.call(partial(self._finish, status, exec_status(error), open_contexts, self._energy_read()))
        self._ended = True
        self._current_series = {}  # sends log_metric to the slow path, which raises
        self.status = status
        self._on_end(self)
        self._writer.flush()

    def _finish(self, status: str, error_fields: dict[str, Any], open_contexts: list[Context], energy_end: object) -> None:
        """Journal thread: stop sampling, close what is open, write the last points and ``run_end``."""
        if self._finished:
            return
        self._finished = True
        if not self._start_written:  # interrupted before its start was queued: it never existed
            return
        if self._meter is not None:
            try:
                self._meter.stop_sampler()
            except Exception as error_stopping:
                warnings.warn(f"nbprov: energy sampler did not stop: {error_stopping!r}", stacklevel=2)
        for context in open_contexts:
            self._context_closed(context, energy_end)
        self._take_metrics()
        self._write_energy("run", self.id, self._energy_start, energy_end)
        self._writer.append(
            "run_end", run=self.id, status=status, ename=error_fields.get("ename"), evalue=error_fields.get("evalue")
        )

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
        writer.add_tick_hook(self.take_metrics)

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
        # Every parameter is checked before any record of the run exists.
        encoded = [(_check_name("param key", key), encode_param(key, value)) for key, value in (params or {}).items()]
        self.end_leftover("a new run was started")
        meter = self._meter_for_run() if energy else None
        run = Run(
            self._writer, name, experiment, self._current_exec(), self._capture_code(), meter, self._ended, encoded
        )
        self.active = run
        self._cell_runs.append(run)
        run._begin()
        return run

    def on_cell_start(self) -> None:
        meter = self._meter_for_run()
        self._cell_start_reading = _read_meter(meter) if meter is not None else None
        self._cell_runs = [self.active] if self.active is not None else []

    def on_cell_end(self, error: BaseException | None) -> None:
        self.end_leftover("its cell ended", error)
        exec_id = self._current_exec()
        if self._cell_start_reading is not None and exec_id is not None and self._cell_runs:
            cell_end_reading = _read_meter(self._meter)
            for run in self._cell_runs:
                run._write_energy("cell", exec_id, self._cell_start_reading, cell_end_reading)
        self._cell_start_reading = None
        self._cell_runs = []

    def take_metrics(self) -> None:
        """Journal thread (tick hook): the active run's buffered points become records."""
        run = self.active
        if run is not None:
            run._take_metrics()

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
