"""Runs read back as pandas objects: ``nbprov.runs()``, ``nbprov.metric()``, ``nbprov.load()``.

Every read runs the bundled Node CLI (``nbprov runs`` / ``nbprov metric``), so the journal is
interpreted by one reducer (``src/core/session.ts``), the one the lab and the export use; this
module only turns the CLI's JSON into DataFrames.
"""

from __future__ import annotations

import base64
import json
import math
import os
import subprocess
import sys
import warnings
from array import array
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from . import records
from .export import cli_command
from .runs import Run

READ_TIMEOUT_S = 600
_SPECIAL_FLOATS = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf, "-0.0": -0.0}
_INT64 = (-(2**63), 2**63 - 1)
_DATE_COLUMNS = ("start", "end")
# Float columns even when no run has a value (energy not measured anywhere, no run ended).
_FLOAT_COLUMNS = ("duration", "energy")


def _pandas() -> Any:
    try:
        import pandas
    except ImportError as error:
        raise ImportError(
            "nbprov.runs(), nbprov.metric() and nbprov.load() return pandas objects, and pandas is not "
            "installed: pip install 'nbprov[pandas]'"
        ) from error
    return pandas


def _run_cli(args: list[str]) -> dict[str, Any]:
    try:
        completed = subprocess.run(cli_command(*args), capture_output=True, text=True, timeout=READ_TIMEOUT_S)
    except subprocess.TimeoutExpired as error:
        raise RuntimeError(f"nbprov: the CLI did not finish within {READ_TIMEOUT_S} s") from error
    if completed.returncode == 1:
        # The CLI refused the input (a bad filter, a missing path …): its message is the error.
        message = completed.stderr.strip().removeprefix(f"nbprov {args[0]}: ")
        lines = [line for line in message.splitlines() if not line.startswith(f"nbprov {args[0]}: warning: ")]
        message = "\n".join(lines)
        raise (FileNotFoundError if message.startswith("no such file") else ValueError)(f"nbprov: {message}")
    if completed.returncode != 0:
        raise RuntimeError(f"nbprov: the CLI failed (exit {completed.returncode}): {completed.stderr[-4000:].strip()}")
    return json.loads(completed.stdout)


def _number(value: Any) -> Any:
    """A cell of a number column as the kernel logged it (the CLI writes big ints and NaN/±inf as strings)."""
    if isinstance(value, str):
        return _SPECIAL_FLOATS[value] if value in _SPECIAL_FLOATS else int(value)
    return value


def _column(pandas: Any, values: list[Any], kind: str) -> Any:
    """A typed column: integers stay exact (nullable Int64, or objects beyond int64), missing is NA."""
    if kind == "int":
        values = [None if value is None else _number(value) for value in values]
        fits = all(value is None or _INT64[0] <= value <= _INT64[1] for value in values)
        return pandas.array(values, dtype="Int64" if fits else object)
    if kind == "float":
        return pandas.array([math.nan if value is None else float(_number(value)) for value in values], dtype="float64")
    if kind == "bool":
        return pandas.array(values, dtype="boolean")
    return pandas.array(values, dtype=object)


def _warn(table: dict[str, Any]) -> None:
    for warning in table.get("warnings", []):
        warnings.warn(f"nbprov: {warning['folder']}: {warning['reason']}", stacklevel=4)


def read_runs(
    path: Path,
    experiment: str | None,
    filter: str | None,
    recursive: bool,
    live_sessions: Iterable[str] = (),
) -> Any:
    """The run table of ``path`` (a notebook, a ``.prov`` folder or a folder) as a DataFrame."""
    pandas = _pandas()
    args = ["runs", str(path), "--format", "json"]
    if recursive:
        args.append("--recursive")
    if experiment is not None:
        args += ["--experiment", experiment]
    if filter is not None:
        args += ["--filter", filter]
    for session in live_sessions:
        args += ["--live-session", session]
    table = _run_cli(args)
    _warn(table)
    rows, kinds, base = table["rows"], table["kinds"], Path(table["base"])
    data = {}
    for column in table["columns"]:
        values = [row.get(column) for row in rows]
        if column == "folder":
            values = [None if value is None else str(base / value) for value in values]
        kind = kinds.get(column, "string")
        data[column] = _column(pandas, values, "float" if column in _FLOAT_COLUMNS and kind == "null" else kind)
    frame = pandas.DataFrame(data, columns=table["columns"])
    for column in _DATE_COLUMNS:
        frame[column] = pandas.to_datetime(frame[column], utc=True, format="ISO8601")
    return frame


def _decode(text: str, typecode: str) -> array:
    values = array(typecode)
    values.frombytes(base64.b64decode(text))
    if sys.byteorder != "little":
        values.byteswap()
    return values


def run_reference(run: Any) -> tuple[str, Path | None]:
    """The id of ``run`` (an id, a ``Run``, a row of ``runs()``) and the ``.prov`` folder a row names."""
    if isinstance(run, str):
        return run, None
    if isinstance(run, Run):
        return run.id, None
    if isinstance(run, Mapping) or hasattr(run, "get"):  # a dict, or a pandas row
        run_id, folder = run.get("id"), run.get("folder")
        if isinstance(run_id, str):
            return run_id, Path(folder) if isinstance(folder, str) else None
    raise TypeError(f"nbprov.metric: run must be a run id, a Run or a row of nbprov.runs(), not {type(run).__name__}")


def read_metric(
    path: Path,
    run_id: str,
    name: str,
    context: str | None,
    recursive: bool,
    live_sessions: Iterable[str] = (),
) -> Any:
    """One metric of one run, indexed by step, with ``value``, ``epoch``, ``time`` and ``context``."""
    pandas = _pandas()
    args = ["metric", str(path), "--run", run_id, "--metric", name]
    if context is not None:
        args += ["--context", context]
    if recursive:
        args.append("--recursive")
    for session in live_sessions:
        args += ["--live-session", session]
    output = _run_cli(args)
    steps: list[int] = []
    values: list[float] = []
    times: list[int] = []
    epochs: list[int | None] = []
    contexts: list[str] = []
    ranks: list[int | None] = []  # the rank process of each point (None: the kernel's), nbprov.ranks
    for series in output["series"]:
        steps.extend(_decode(series["steps"], "q"))
        values.extend(_decode(series["values"], "d"))
        times.extend(_decode(series["timestamps"], "q"))
        epochs.extend(None if epoch == -1 else epoch for epoch in _decode(series["epochs"], "i"))
        contexts.extend([series["context"]] * series["points"])
        ranks.extend([series.get("rank")] * series["points"])
    columns = {
        "value": pandas.array(values, dtype="float64"),
        "epoch": pandas.array(epochs, dtype="Int32"),
        "time": pandas.to_datetime(pandas.array(times, dtype="int64"), unit="ms", utc=True),
        "context": pandas.array(contexts, dtype=object),
    }
    if any(rank is not None for rank in ranks):  # a run that rank processes joined
        columns["rank"] = pandas.array(ranks, dtype="Int32")
    frame = pandas.DataFrame(columns, index=pandas.Index(pandas.array(steps, dtype="int64"), name="step"))
    frame.attrs.update(run=output["run"], metric=name)
    return frame


def names_one_folder(path: Path) -> bool:
    """Whether ``path`` is a notebook or a ``.prov`` folder, rather than a folder of them."""
    return path.is_file() or path.suffix == records.PROV_SUFFIX or (path / records.JOURNAL_DIR).is_dir()


class Provenance:
    """The runs of a notebook, a ``.prov`` folder (a journal, or an export, which keeps its journal) or a
    project folder, read without a kernel: ``nbprov.load(path).runs(...)``, ``.metric(...)``."""

    def __init__(self, path: str | os.PathLike[str], recursive: bool | None = None) -> None:
        self.path = Path(path).absolute()
        if not self.path.exists():
            raise FileNotFoundError(f"nbprov.load: no such file or folder: {str(path)!r}")
        if (self.path / "prov.json").is_file() and not (self.path / records.JOURNAL_DIR).is_dir():
            raise ValueError(
                f"nbprov.load: {str(path)!r} holds an export without its journal/ folder; the runs are read "
                "from the journal (an nbprov export keeps it beside prov.json)"
            )
        # A project folder is read with every .prov folder below it unless told otherwise.
        self.recursive = (not names_one_folder(self.path)) if recursive is None else recursive

    def __repr__(self) -> str:
        return f"nbprov.load({str(self.path)!r})"

    def runs(self, experiment: str | None = None, filter: str | None = None) -> Any:
        """One row per run (see ``nbprov.runs``)."""
        return read_runs(self.path, experiment, filter, self.recursive)

    def metric(self, run: Any, name: str, context: str | None = None) -> Any:
        """One metric of one run, indexed by step (see ``nbprov.metric``)."""
        run_id, folder = run_reference(run)
        return read_metric(folder or self.path, run_id, name, context, self.recursive and folder is None)
