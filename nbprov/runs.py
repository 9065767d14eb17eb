"""Runs: params, metrics in packed point buffers, contexts, artifacts, energy and lifecycle.

``log_metric`` is the hot path: one dict lookup, one ``struct`` pack and one ``bytearray`` append.
That append is a single operation, so a KeyboardInterrupt (delivered between bytecodes) or another
thread can never leave half a point. Only the journal thread takes points out of the buffers (it
never receives KeyboardInterrupt) and turns them into ``metrics`` records; everything that must come
after a run's last points (a context's end, the run's end) is queued to that same thread, in order.
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import io
import json
import math
import numbers
import os
import struct
import sys
import uuid
import warnings
from array import array
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import Any

from . import framing, records, redact
from ._points import append as _append_point
from .execution import exec_status
from .journal import JournalWriter, iter_journal_file, write_file_atomically

# The hand-over of a run to the processes it launches (``Run.env()``, ``nbprov.ranks``).
ENV_RUN = "NBPROV_RUN"
ENV_JOURNAL_DIR = "NBPROV_JOURNAL_DIR"
ENV_SESSION = "NBPROV_SESSION"
HANDOVER_ENV = (ENV_RUN, ENV_JOURNAL_DIR, ENV_SESSION)

FLUSH_POINTS = 65_536
# One point: step (AUTO_STEP when the series numbers it), value, timestamp (ms), epoch.
_POINT = struct.Struct("<qdqq")  # appended by nbprov/_points.c
FLUSH_BYTES = FLUSH_POINTS * _POINT.size
AUTO_STEP = -(2**63)
_STEP = struct.Struct("<q")
_AUTO_STEP_BYTES = _STEP.pack(AUTO_STEP)
RUN_END_STATUSES = ("finished", "failed", "interrupted")
ROLES = ("input", "output")
NO_EPOCH = -1
_LITTLE_ENDIAN = sys.byteorder == "little"


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
    return MetricSeries("", None, NO_EPOCH)  # held by no one: its point is dropped with it


def _check_name(kind: str, name: object) -> str:
    if not isinstance(name, str) or not name:
        raise TypeError(f"nbprov: {kind} must be a non-empty string, got {name!r}")
    return name


def _check_epoch(epoch: object) -> int:
    if not isinstance(epoch, numbers.Integral):
        raise TypeError(f"nbprov: epoch must be an integer, got {type(epoch).__name__}")
    if not 0 <= epoch < 2**31:
        raise ValueError(f"nbprov: epoch must be between 0 and 2**31 - 1, got {epoch}")
    return int(epoch)


def _check_role(role: str) -> str:
    if role not in ROLES:
        raise ValueError(f"nbprov: role must be one of {ROLES}, got {role!r}")
    return role


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

    __slots__ = ("metric", "ctx", "epoch", "points", "last_step", "last_taken")

    def __init__(self, metric: str, ctx: int | None, epoch: int) -> None:
        self.metric = metric
        self.ctx = ctx
        self.epoch = epoch
        self.points = bytearray()
        self.last_step = -1  # of the points taken so far: an automatic step continues from it
        self.last_taken: float | None = None  # value of the last point taken (the widget's summary)

    def take(self, max_points: int = FLUSH_POINTS) -> dict[str, Any] | None:
        """Move up to ``max_points`` of the oldest points out as one ``metrics`` series, its arrays
        framed compactly (``nbprov.framing``); None when there are none. Journal thread only.

        The fields are split out by strided byte copies (the packed points are little-endian, so
        the copies are too): this runs under the GIL, so every nanosecond here slows the loop
        that logs."""
        points = self.points
        size = min(len(points), max_points * _POINT.size)
        if not size:
            return None
        raw = memoryview(points[:size])
        del points[:size]
        count = size // _POINT.size
        self.last_taken = _POINT.unpack_from(raw, size - _POINT.size)[1]
        fields = raw.cast("q")  # eight-byte fields; .cast("i")[6::8] is each epoch's low half
        steps = fields[0::4].tobytes()
        if steps == _AUTO_STEP_BYTES * count:
            steps_field: Any = framing.consecutive(self.last_step + 1)
            self.last_step += count
        else:
            if _AUTO_STEP_BYTES in steps:  # possibly a false hit across two steps: exact check
                steps = self._number_steps(steps)
            self.last_step = _STEP.unpack_from(steps, len(steps) - _STEP.size)[0]
            steps_field = framing.packed(steps)
        return {
            "metric": self.metric,
            "ctx": self.ctx,
            "n": count,
            "steps": steps_field,
            "values": framing.packed(fields[1::4].tobytes()),
            "timestamps": framing.packed(fields[2::4].tobytes()),
            "epochs": framing.epochs_field(raw.cast("i")[6::8].tobytes(), count),
        }

    def _number_steps(self, steps: bytes) -> bytes:
        """Steps where some points asked for the next step (AUTO_STEP) among explicit ones."""
        numbered = array("q")
        numbered.frombytes(steps)
        if not _LITTLE_ENDIAN:
            numbered.byteswap()
        previous = self.last_step
        for index, step in enumerate(numbered):
            previous = previous + 1 if step == AUTO_STEP else step
            numbered[index] = previous
        if not _LITTLE_ENDIAN:
            numbered.byteswap()
        return numbered.tobytes()


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


@dataclass(frozen=True)
class RunSpec:
    """What a run is started with, checked before any of its records exists."""

    name: str | None
    experiment: str
    params: tuple[tuple[str, dict[str, Any]], ...]
    tags: tuple[tuple[str, str], ...]
    energy: bool
    parent: Run | None
    spans_cells: bool  # start_run(): active across cells until end_run(); run(): ended with its cell
    end_on_error: bool
    log_args: bool

    @staticmethod
    def build(
        name: str | None,
        experiment: str,
        params: dict[str, object] | None,
        tags: dict[str, object] | None,
        energy: bool,
        parent: Run | None,
        spans_cells: bool,
        end_on_error: bool = False,
        log_args: bool = False,
    ) -> RunSpec:
        if name is not None:
            _check_name("run name", name)
        _check_name("experiment", experiment)
        for kind, mapping in (("params", params), ("tags", tags)):
            if mapping is not None and not isinstance(mapping, dict):
                raise TypeError(f"nbprov: {kind} must be a dict, got {type(mapping).__name__}")
        if parent is not None and not isinstance(parent, Run):
            raise TypeError(f"nbprov: parent must be a run (nbprov.Run), got {type(parent).__name__}")
        return RunSpec(
            name,
            experiment,
            _encode_params(params or {}),
            tuple((_check_name("tag key", key), _tag_value(value)) for key, value in (tags or {}).items()),
            bool(energy),
            parent,
            spans_cells,
            bool(end_on_error),
            bool(log_args),
        )

    def with_params(self, extra: dict[str, object]) -> RunSpec:
        known = {key for key, _ in self.params}
        added = tuple(item for item in _encode_params(extra) if item[0] not in known)
        return replace(self, params=self.params + added)


def _encode_params(params: dict[str, object]) -> tuple[tuple[str, dict[str, Any]], ...]:
    return tuple((_check_name("param key", key), encode_param(key, value)) for key, value in params.items())


def _tag_value(value: object) -> str:
    return value if isinstance(value, str) else str(encode_param("tag", value)["value"])


class Run:
    """One tracked run: a context manager (``with nbprov.run(...) as run:``), a decorator
    (``@nbprov.run(...)``: each call is a run), or ended with ``end()``.

    A run made by ``nbprov.run()`` begins when it is first used (entered, logged to, called), so
    that a decorator leaves no run behind; ``nbprov.start_run()`` begins at once."""

    _END_RECORD = records.RUN_END  # a rank process ends only its own part of the run (``rank_end``)

    def __init__(self, manager: RunManager, spec: RunSpec) -> None:
        self.id = uuid.uuid4().hex
        self.name = spec.name
        self.experiment = spec.experiment
        self.status = "pending"
        self.spec = spec
        self._manager = manager
        self._writer = manager._writer
        self._meter: Any = None
        # Every series, and those of each context path (None: outside any context) by metric name;
        # the hot path only looks in the current context's dict (empty until the run begins).
        self._series: dict[tuple[str, int | None], MetricSeries] = {}
        self._series_by_path: dict[tuple[str, ...] | None, dict[str, MetricSeries]] = {None: {}}
        self._first_ctx_of_path: dict[tuple[str, ...], int] = {}
        self._current_series: dict[str, MetricSeries] = {}
        self._batch = 0
        self._next_ctx = 1
        self._contexts: list[Context] = []
        self._labelled: dict[str, Context] = {}
        self._begun = False
        self._ended = False
        self._finished = False  # journal thread: run_end written
        self._start_written = False  # journal thread: run_start written
        self._energy_start: object = None
        self._records_logged = 0  # params, tags, artifacts, contexts: cells that log are linked to the run
        self._points_taken = 0  # journal thread
        # Parameter values by (key, role), as recorded (the widget's summary shows them).
        self.param_values: dict[tuple[str, str], Any] = {
            (key, "input"): encoded["value"] for key, encoded in spec.params
        }

    @property
    def parent(self) -> Run | None:
        return self.spec.parent

    def _ensure_begun(self) -> None:
        if not self._begun:
            self._manager._begin(self)

    def env(self) -> dict[str, str]:
        """The environment variables that let another process join this run as a rank
        (``nbprov.ranks``): set in ``os.environ`` while the run is the innermost open one, so
        ``!python train.py``, ``subprocess`` and launchers such as ``torchrun`` inherit them."""
        return {
            ENV_RUN: self.id,
            ENV_JOURNAL_DIR: str(Path(self._writer.folder).absolute()),
            ENV_SESSION: self._writer.session,
        }

    def _begin(self, exec_id: str | None, code: dict[str, Any] | None, meter: Any) -> None:
        """Write the run's start: ``run_start``, parameters and tags go to the journal as one item,
        so ``_finish`` (served after it) knows whether the run exists on disk."""
        self._begun = True
        self.status = "running"
        self._meter = meter
        self._current_series = self._series_by_path[None]
        self._writer.call(partial(self._write_start, exec_id, code))
        self._energy_start = self._energy_read()
        if meter is not None:
            try:
                meter.start_sampler(self._on_power)
            except Exception as error:
                warnings.warn(f"nbprov: energy sampler did not start: {error!r}", stacklevel=5)

    def _write_start(self, exec_id: str | None, code: dict[str, Any] | None) -> None:
        self._writer.append(
            records.RUN_START,
            run=self.id,
            name=self.name,
            experiment=self.experiment,
            exec=exec_id,
            code_sha256=None if code is None else self._writer.code_state(code),
            energy=self._meter is not None,
            parent=self.parent.id if self.parent else None,
            spans_cells=self.spec.spans_cells,
        )
        for key, encoded in self.spec.params:
            self._writer.append(records.PARAM, run=self.id, key=key, role="input", **encoded)
        for key, value in self.spec.tags:
            self._writer.append(records.TAG, run=self.id, key=key, value=value)
        self._start_written = True

    def _activity(self) -> tuple[int, int]:
        """How much the run has received so far (records, points): compared at cell start and end."""
        buffered = sum(len(series.points) for series in list(self._series.values())) // _POINT.size
        return self._records_logged, self._points_taken + buffered

    def __repr__(self) -> str:
        return f"<nbprov.Run {self.id} name={self.name!r} experiment={self.experiment!r} {self.status}>"

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any] | None:
        """A run at the end of a cell displays as the runs widget showing that run."""
        from .widget import run_mimebundle

        return run_mimebundle(self, self._writer.session, include=include, exclude=exclude)

    def __enter__(self) -> Run:
        self._ensure_begun()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: object) -> None:
        if not self._ended:
            self.end(error=exc)

    def __call__(self, function: Callable[..., Any]) -> Callable[..., Any]:
        """``@nbprov.run(...)``: every call of ``function`` is a run of its own (its arguments are
        parameters with ``log_args=True``)."""
        if self._begun or not callable(function):
            raise TypeError("nbprov: only a run that has not begun (nbprov.run(...)) can decorate a function")
        spec, manager = self.spec, self._manager
        manager.forget_pending(self)

        @functools.wraps(function)
        def call_as_run(*args: Any, **kwargs: Any) -> Any:
            call_spec = spec
            if spec.log_args:
                bound = inspect.signature(function).bind(*args, **kwargs)
                bound.apply_defaults()
                call_spec = spec.with_params(dict(bound.arguments))
            with Run(manager, call_spec):
                return function(*args, **kwargs)

        return call_as_run

    def set_tag(self, key: str, value: object) -> None:
        """A tag (shown and filtered like MLflow's): values are stored as strings."""
        self._check_open()
        self._records_logged += 1
        self._writer.append(records.TAG, run=self.id, key=_check_name("tag key", key), value=_tag_value(value))

    def set_tags(self, tags: dict[str, object]) -> None:
        for key, value in dict(tags).items():
            self.set_tag(key, value)

    def log_text(self, name: str, text: str) -> None:
        """Save ``text`` as an artifact of the run (``<stem>.prov/artifacts/<sha256>.txt``)."""
        if not isinstance(text, str):
            raise TypeError(f"nbprov: log_text expects a str, got {type(text).__name__}")
        text, redactions = redact.redact(text)
        self._store_artifact(name, text.encode("utf-8", "surrogateescape"), ".txt", "text/plain", redactions)

    def log_dict(self, name: str, value: dict[str, Any]) -> None:
        """Save a dict as JSON, or as YAML when ``name`` ends in ``.yaml``/``.yml`` (needs PyYAML)."""
        # Its strings are redacted before encoding: redacting the encoded text could break an escape.
        value, redactions = redact.redact_value(value)
        if name.endswith((".yaml", ".yml")):
            try:
                import yaml
            except ImportError:
                raise ImportError("nbprov: log_dict to YAML needs PyYAML (pip install pyyaml)") from None
            data, suffix, media = yaml.safe_dump(value, sort_keys=True).encode(), ".yaml", "application/yaml"
        else:
            data = json.dumps(value, sort_keys=True, indent=2, default=repr).encode()
            suffix, media = ".json", "application/json"
        self._store_artifact(name, data, suffix, media, redactions)

    def log_figure(self, figure: Any, name: str) -> None:
        """Save a matplotlib figure as PNG or a plotly figure as HTML."""
        if hasattr(figure, "savefig"):
            buffer = io.BytesIO()
            figure.savefig(buffer, format="png")
            self._store_artifact(name, buffer.getvalue(), ".png", "image/png")
        elif hasattr(figure, "to_html"):
            self._store_artifact(name, figure.to_html(include_plotlyjs="cdn").encode(), ".html", "text/html")
        else:
            raise TypeError(f"nbprov: log_figure expects a matplotlib or plotly figure, got {type(figure).__name__}")

    def _store_artifact(self, name: str, data: bytes, suffix: str, media_type: str, redactions: int = 0) -> None:
        self._check_open()
        _check_name("artifact name", name)
        digest = hashlib.sha256(data).hexdigest()
        self._records_logged += 1
        self._writer.call(
            partial(self._write_stored_artifact, name, data, f"{digest}{suffix}", media_type, digest, redactions)
        )

    def _write_stored_artifact(
        self, name: str, data: bytes, file_name: str, media_type: str, digest: str, redactions: int
    ) -> None:
        """Journal thread: the file first, then its record, so no record names a missing file."""
        stored = f"artifacts/{file_name}"
        if self._writer.discard:
            return  # a kernel that does not know its notebook writes no file either
        try:
            write_file_atomically(self._writer.folder.parent / "artifacts", file_name, data)
        except OSError as error:
            warnings.warn(f"nbprov: artifact {name!r} could not be saved ({error}); it is not recorded", stacklevel=1)
            return
        self._writer.append(
            records.ARTIFACT,
            run=self.id,
            path=stored,
            name=name,
            sha256=digest,
            size=len(data),
            role="output",
            stored=stored,
            media_type=media_type,
            # Redactions in the stored file; the journal adds those it makes in this record.
            **({"redacted": redactions} if redactions else {}),
        )

    # params and artifacts

    def log_param(self, key: str, value: object, role: str = "input") -> None:
        self._check_open()
        self._records_logged += 1
        encoded = encode_param(key, value)
        self._writer.append(
            records.PARAM,
            run=self.id,
            key=_check_name("param key", key),
            role=_check_role(role),
            **encoded,
        )
        self.param_values[(key, role)] = encoded["value"]

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
        self._records_logged += 1
        self._writer.append(
            records.ARTIFACT,
            run=self.id,
            path=str(file_path.resolve()),
            name=file_path.name,
            sha256=digest.hexdigest(),
            size=size,
            role=role,
        )

    # metrics

    def log_metric(
        self,
        name: str,
        value: float,
        step: int | None = None,
        context: str | None = None,
        timestamp: int | None = None,
        epoch: int | None = None,
    ) -> None:
        """Log one point. ``step`` defaults to the series' previous step + 1 (from 0);
        ``context`` (a context name) defaults to the innermost open context;
        ``timestamp`` is in ms since the epoch and defaults to now;
        ``epoch`` defaults to the context's. With ``context`` and ``epoch``, a context opened by name
        is opened for that epoch, and a later epoch ends it and opens the next (the way the framework
        integrations record epochs, without a ``with run.context(...)`` block).
        Values are real numbers; bools are stored as 0/1; NaN and ±inf are kept as they are."""
        if type(value) is not float:
            value = _as_number(value)
        series = self._current_series.get(name) if context is None else None
        if series is None:
            series = self._series_for(name, context, epoch)
        if step is None:
            step = AUTO_STEP
        elif step == AUTO_STEP:
            raise ValueError(f"nbprov: step {AUTO_STEP} is reserved")
        epoch = series.epoch if epoch is None else _check_epoch(epoch)
        # The one operation that logs the point (atomic: see nbprov/_points.c).
        if _append_point(series.points, step, value, timestamp, epoch, FLUSH_BYTES):
            self._writer.wake()

    def log_metrics(
        self,
        metrics: dict[str, float],
        step: int | None = None,
        context: str | None = None,
        timestamp: int | None = None,
        epoch: int | None = None,
    ) -> None:
        for name, value in dict(metrics).items():
            self.log_metric(name, value, step, context, timestamp, epoch)

    def _take_metrics(self) -> None:
        """Journal thread: write the buffered points as ``metrics`` records (never before the
        run's own start is written)."""
        if not self._start_written:
            return
        while True:
            taken = [batch for series in list(self._series.values()) if (batch := series.take())]
            if not taken:
                return
            self._batch += 1
            self._points_taken += sum(series["n"] for series in taken)
            self._writer.append(records.METRICS, run=self.id, batch=self._batch, series=taken)

    def _log_metric_from_thread(self, name: str, value: float, timestamp: int) -> None:
        """For background samplers: a point outside any context."""
        if self._ended:
            return
        series = self._series_by_path[None].get(name) or self._add_series(name, None)
        _append_point(series.points, AUTO_STEP, value, timestamp, NO_EPOCH, FLUSH_BYTES)

    def _series_for(self, name: str, label: str | None, epoch: int | None) -> MetricSeries:
        """Slow path of ``log_metric``: a new series, a named context, an ended run, or a forked child."""
        if self._writer.forked_child:
            return _forked_child_series()
        self._check_open()
        context = self._contexts[-1] if label is None and self._contexts else None
        if label is not None:
            context = self._context_named(label, None if epoch is None else _check_epoch(epoch))
        path = context.path if context else None
        return self._series_by_path.get(path, {}).get(name) or self._add_series(name, context)

    def _add_series(self, name: str, context: Context | None) -> MetricSeries:
        _check_name("metric name", name)
        ctx = context.series_ctx if context else None
        epoch = NO_EPOCH if context is None or context.epoch is None else context.epoch
        # The main thread and a sampler thread may both add series: each setdefault is one
        # operation under the GIL, and no lock is held that an interrupt could leave held.
        by_name = self._series_by_path.setdefault(context.path if context else None, {})
        series = by_name.setdefault(name, MetricSeries(name, ctx, epoch))
        self._series.setdefault((name, ctx), series)
        return series

    # contexts

    @contextmanager
    def context(self, name: str, epoch: int | None = None) -> Iterator[Context]:
        """Metrics logged inside go to this context and inherit its epoch (or its parent's)."""
        self._check_open()
        _check_name("context name", name)
        if epoch is not None:
            epoch = _check_epoch(epoch)
        parent = self._contexts[-1] if self._contexts else None
        if epoch is None and parent is not None:
            epoch = parent.epoch
        context = self._open_context(name, epoch, parent)
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
        self._records_logged += 1
        context.series_ctx = self._first_ctx_of_path.setdefault(context.path, context.ctx)
        # The path's series continue here: their next points carry this opening's epoch.
        for series in self._series_by_path.get(context.path, {}).values():
            series.epoch = NO_EPOCH if epoch is None else epoch
        self._writer.append(
            records.CONTEXT_START, run=self.id, ctx=context.ctx, name=name, epoch=epoch, parent=context.parent
        )
        context.energy_start = self._energy_read()
        return context

    def _close_context(self, context: Context) -> None:
        self._writer.call(partial(self._context_closed, context, self._energy_read()))

    def _context_closed(self, context: Context, energy_end: object) -> None:
        """Journal thread: the context's points are complete; they are written before its end."""
        self._take_metrics()
        self._writer.append(records.CONTEXT_END, run=self.id, ctx=context.ctx)
        if context.epoch is None:
            self._write_energy("context", context.ctx, context.energy_start, energy_end, ctx=context.ctx)
        else:
            self._write_energy("epoch", context.epoch, context.energy_start, energy_end, ctx=context.ctx)

    def _context_named(self, label: str, epoch: int | None) -> Context:
        """A context given by name: the innermost open one, else one opened for the label (again
        when ``epoch`` is not the epoch of its current opening, which then ends)."""
        for context in reversed(self._contexts):
            if context.name == label:
                return context
        context = self._labelled.get(label)
        if context is None or (epoch is not None and context.epoch != epoch):
            if context is not None:
                self._close_context(context)
            context = self._open_context(_check_name("context name", label), epoch, None)
            self._labelled[label] = context
        return context

    def _set_current(self) -> None:
        path = self._contexts[-1].path if self._contexts else None
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
                records.ENERGY,
                run=self.id,
                scope=scope,
                ref=ref,
                **extra,
                device=measurement.get("device"),
                joules=measurement.get("joules"),
                method=measurement.get("method"),
                reason=measurement.get("reason"),
                resolution_limited=bool(measurement.get("resolution_limited")),
            )

    def _on_power(self, device: str, t_ms: int, watts: float) -> None:
        self._log_metric_from_thread(records.power_metric(device), float(watts), int(t_ms))

    # lifecycle

    def end(self, status: str | None = None, error: BaseException | None = None) -> None:
        """End the run: ``status`` defaults to what ``error`` implies (finished without one).

        The run's end is queued to the journal thread before anything else changes, so an
        interrupt arriving during ``end`` cannot leave the run without its ``run_end``."""
        if self._ended:
            return
        if not self._begun and self in self._manager._open:
            self._begun = True  # its begin was interrupted: _finish writes nothing for it
        self._ensure_begun()
        for child in self._manager.children_of(self):
            child.end(status, error)
        if status is None:
            status = {"ok": "finished", "error": "failed", "interrupted": "interrupted"}[exec_status(error)["status"]]
        if status not in RUN_END_STATUSES:
            raise ValueError(f"nbprov: run status must be one of {RUN_END_STATUSES}, got {status!r}")
        open_contexts = [*reversed(self._contexts), *reversed(list(self._labelled.values()))]
        self._writer.call(partial(self._finish, status, exec_status(error), open_contexts, self._energy_read()))
        self._ended = True
        self._current_series = {}  # sends log_metric to the slow path, which raises
        self.status = status
        self._manager._ended(self)
        self._writer.flush()

    def _finish(
        self, status: str, error_fields: dict[str, Any], open_contexts: list[Context], energy_end: object
    ) -> None:
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
            self._END_RECORD,
            run=self.id,
            status=status,
            ename=error_fields.get("ename"),
            evalue=error_fields.get("evalue"),
        )

    def _check_open(self) -> None:
        self._ensure_begun()
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
    for path in sorted(folder.glob(records.KERNEL_JOURNAL_GLOB)):
        kernel_dead = False
        for record in iter_journal_file(path, (records.KERNEL_START, records.RUN_START, records.RUN_END)):
            if record["type"] == records.KERNEL_START:
                pid = record.get("pid")
                kernel_dead = (
                    path != own_journal
                    and record.get("hostname") == hostname
                    and isinstance(pid, int)
                    and not pid_alive(pid)
                )
            elif record["type"] == records.RUN_START:
                started[record.get("run")] = kernel_dead
            else:
                ended.add(record.get("run"))
    return [run for run, dead in started.items() if dead and run not in ended]


class RunManager:
    """The runs open in this kernel (innermost last) and what cells do to them.

    A run from ``nbprov.run()`` / ``%%track`` belongs to its cell and ends with it; one from
    ``nbprov.start_run()`` stays open across cells until ``end_run()`` (or the kernel's end), and
    every later cell that logs into it is linked to it (``run_exec``)."""

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
        self._open: list[Run] = []
        self._pending: Run | None = None
        # Energy per cell execution: the meter reading at the cell's start and the runs it touched.
        self._cell_start_reading: object = None
        self._cell_runs: list[Run] = []
        # Runs open across cells, with what they had received when the cell started.
        self._activity_at_cell_start: dict[Run, tuple[int, int]] = {}
        self.hands_over = True
        self._handed_over: str | None = None  # the run this manager put in os.environ
        writer.add_tick_hook(self.take_metrics)

    def notebook_moved(self, notebook_path: Path) -> None:
        """The notebook was renamed or moved: later runs record the git state at its new path."""
        self._notebook_path = notebook_path

    @property
    def active(self) -> Run | None:
        return self._open[-1] if self._open else None

    def create(self, spec: RunSpec) -> Run:
        """A run that begins when first used; until then the module-level functions
        (``nbprov.log_metric``…) begin it, as the newest run of the cell."""
        self._pending = Run(self, spec)
        return self._pending

    def active_or_pending(self) -> Run | None:
        """The active run, else the cell's newest run not yet begun (which begins now)."""
        pending, self._pending = self._pending, None
        if self.active is None and pending is not None and not pending._begun:
            pending._ensure_begun()
        return self.active

    def forget_pending(self, run: Run) -> None:
        """``run`` decorates a function: it never begins itself."""
        if self._pending is run:
            self._pending = None

    def start(self, spec: RunSpec) -> Run:
        run = Run(self, spec)
        self._begin(run)
        return run

    def children_of(self, run: Run) -> list[Run]:
        """Open runs nested in ``run``, innermost first."""
        return [child for child in reversed(self._open) if child.parent is run]

    def _begin(self, run: Run) -> None:
        if self._pending is run:
            self._pending = None
        parent = run.parent
        if parent is not None and (not parent._begun or parent._ended):
            raise RuntimeError(f"nbprov: the parent run {parent.name or parent.id!r} is not open ({parent.status})")
        if parent is None:
            spanning = [open_run for open_run in self._open if open_run.spec.spans_cells]
            if spanning:
                open_run = spanning[0]
                raise RuntimeError(
                    f"nbprov: run {open_run.name or open_run.id!r} ({open_run.id}) is still active across cells; "
                    "end it with nbprov.end_run(), or nest this run in it with parent=nbprov.active_run()"
                )
            self.end_leftover("a new run was started")
        meter = self._meter_for_run() if run.spec.energy else None
        self._open.append(run)
        self._cell_runs.append(run)
        run._begin(self._current_exec(), self._capture_code(), meter)
        self._hand_over()

    def on_cell_start(self) -> None:
        meter = self._meter_for_run()
        self._cell_start_reading = _read_meter(meter) if meter is not None else None
        self._cell_runs = list(self._open)
        self._activity_at_cell_start = {run: run._activity() for run in self._open}

    def on_cell_end(self, error: BaseException | None) -> None:
        self._pending = None
        exec_id = self._current_exec()
        for run in reversed(list(self._open)):
            if not run.spec.spans_cells:
                self._end_with_warning(run, "its cell ended", error)
            elif error is not None and run.spec.end_on_error:
                run.end(error=error)
        for run, before in self._activity_at_cell_start.items():
            if exec_id is not None and run._activity() != before:
                self._writer.append(records.RUN_EXEC, run=run.id, exec=exec_id)
        if self._cell_start_reading is not None and exec_id is not None and self._cell_runs:
            cell_end_reading = _read_meter(self._meter)
            for run in self._cell_runs:
                run._write_energy("cell", exec_id, self._cell_start_reading, cell_end_reading)
        self._cell_start_reading = None
        self._cell_runs = []
        self._activity_at_cell_start = {}

    def take_metrics(self) -> None:
        """Journal thread (tick hook): the open runs' buffered points become records."""
        for run in list(self._open):
            run._take_metrics()

    def mark_crashed(self, folder: Path, hostname: str) -> None:
        for run in orphan_runs(folder, self._writer.path, hostname):
            self._writer.append(records.RUN_END, run=run, status="crashed", ename=None, evalue=None)
        self._writer.flush()

    def end_leftover(self, why: str, error: BaseException | None = None) -> None:
        """End every open run that belongs to a cell, with a warning saying ``why``."""
        for run in reversed([open_run for open_run in self._open if not open_run.spec.spans_cells]):
            self._end_with_warning(run, why, error)

    def end_all(self, why: str) -> None:
        """End every open run (tracking stops or the kernel shuts down), with a warning for each."""
        for run in reversed(list(self._open)):
            self._end_with_warning(run, why, None)

    def _end_with_warning(self, run: Run, why: str, error: BaseException | None) -> None:
        if run._ended:
            return
        run.end(error=error)
        user_warning(f"nbprov: run {run.name or run.id!r} was still open when {why}; ended it as {run.status!r}")

    def _ended(self, run: Run) -> None:
        if run in self._open:
            self._open.remove(run)
        self._hand_over()

    def _hand_over(self) -> None:
        """``os.environ`` names the innermost open run, so child processes join it; nothing is
        handed over by a kernel that records nothing, or by a rank process (it never launches ranks)."""
        if not self.hands_over:
            return
        if self._open and not self._writer.discard:
            os.environ.update(self._open[-1].env())
            self._handed_over = self._open[-1].id
        elif self._handed_over is not None and os.environ.get(ENV_RUN) == self._handed_over:
            for name in HANDOVER_ENV:
                os.environ.pop(name, None)
            self._handed_over = None

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


def user_warning(message: str) -> None:
    """A warning about the user's runs, shown without a line of nbprov's own code."""
    warnings.warn_explicit(message, UserWarning, filename="nbprov", lineno=0, module="nbprov")
