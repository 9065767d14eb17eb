"""The runs widget's Python model: versions agree with the frontend, state stays small."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import TrackedShell
from ipywidgets.widgets.widget import _remove_buffers
from traitlets import TraitError

import nbprov
from nbprov.widget import NO_VALUE, RUNS_MIME, WIDGET_VIEW_MIME, RunsWidget, run_mimebundle, runs_widget

ROOT = Path(__file__).resolve().parents[1]
RUN_A = "a" * 32
RUN_B = "0123456789abcdef" * 2


def test_module_versions_match_package_json() -> None:
    package_version = json.loads((ROOT / "package.json").read_text())["version"]
    widget = runs_widget("abc123")
    assert widget._model_module == widget._view_module == "nbprov"
    assert widget._model_module_version == widget._view_module_version == package_version
    assert nbprov.__version__ == package_version


def test_state_holds_selection_only_and_no_arrays() -> None:
    widget = runs_widget("abc123", [RUN_A, RUN_B], metrics=["loss"], x_axis="epoch")
    state = widget.get_state()
    _, buffer_paths, buffers = _remove_buffers(state)
    assert buffers == [] and buffer_paths == []
    assert state["session"] == "abc123"
    assert state["run_ids"] == [RUN_A, RUN_B]
    assert state["metrics"] == ["loss"]
    assert state["x_axis"] == "epoch"
    # Nothing numeric beyond scalars: no list holds anything but strings.
    for value in state.values():
        if isinstance(value, (list, tuple)):
            assert all(isinstance(item, str) for item in value)
    assert len(json.dumps(state)) < 1024


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"session": "../etc"}, "session must be a hex"),
        ({"session": "abc", "run_ids": ["not-a-run"]}, "run ids are 32 lowercase hex"),
        ({"session": "abc", "x_axis": "wall"}, "x_axis"),
    ],
)
def test_bad_input_is_refused_clearly(kwargs: dict, message: str) -> None:
    with pytest.raises(TraitError, match=message):
        RunsWidget(**kwargs)


def test_bad_assignment_keeps_previous_value() -> None:
    widget = runs_widget("abc123", [RUN_A])
    with pytest.raises(TraitError):
        widget.run_ids = [RUN_A, "<script>"]
    assert widget.run_ids == [RUN_A]


def test_run_mimebundle_shows_the_widget_its_summary_and_a_text_fallback(tracked: TrackedShell) -> None:
    tracked.run(
        "import nbprov\n"
        "with nbprov.run(name='alpha', params={'lr': 0.1}) as run:\n"
        "    run.log_param('best', 3, role='output')\n"
        "    for step in range(5):\n"
        "        run.log_metric('loss', 1 / (step + 1))\n"
        "    with run.context('validation'):\n"
        "        run.log_metric('acc', float('nan'))"
    )
    run = tracked.shell.user_ns["run"]
    bundle = run_mimebundle(run, "abc123")
    assert bundle is not None
    assert bundle["text/plain"] == repr(run)
    # nbprov's own type, not the widget view's: nbconvert and GitHub then show the summary.
    assert WIDGET_VIEW_MIME not in bundle
    view = bundle[RUNS_MIME]
    assert view["version_major"] == 2 and view["session"] == "abc123" and view["run_ids"] == [run.id]
    assert isinstance(view["model_id"], str) and view["model_id"]
    html = bundle["text/html"]
    for column in ("Run", "Status", "lr", "best (output)", "loss last", "acc [validation] last"):
        assert f">{column}</th>" in html
    assert ">alpha</td>" in html and ">finished</td>" in html and ">0.1</td>" in html and ">3</td>" in html
    assert ">0.2</td>" in html  # loss's last value, 1/5
    assert f">{NO_VALUE}</td>" in html  # acc is NaN: no value, never 0 or nan
    assert ">nan<" not in html.lower() and ">0</td>" not in html


def test_the_summary_escapes_names_params_and_metrics(tracked: TrackedShell) -> None:
    hostile = '<script>alert(1)</script><img src=x onerror="alert(2)">'
    tracked.shell.user_ns["hostile"] = hostile
    tracked.run(
        "import nbprov\n"
        "with nbprov.run(name=hostile, params={hostile: hostile}) as run:\n"
        "    run.log_metric(hostile, 1.0)"
    )
    html = run_mimebundle(tracked.shell.user_ns["run"], "abc123")["text/html"]
    assert "<script" not in html and "<img" not in html and 'onerror="' not in html
    assert html.count("&lt;script&gt;") >= 3


def test_the_summary_is_redacted_as_the_journal_is(tracked: TrackedShell) -> None:
    token = "ghp_" + "Zq9x" * 9
    tracked.shell.user_ns["token"] = token
    tracked.run("import nbprov\nwith nbprov.run(name='r', params={'token': token}) as run:\n    pass")
    html = run_mimebundle(tracked.shell.user_ns["run"], "abc123")["text/html"]
    assert token not in html and "[redacted:github_token]" in html


def test_a_widget_of_every_run_says_where_the_runs_are() -> None:
    bundle = runs_widget("abc123")._repr_mimebundle_()
    assert RUNS_MIME in bundle and WIDGET_VIEW_MIME not in bundle
    assert "RunsWidget(" not in bundle["text/plain"] and "Provenance Runs" in bundle["text/plain"]
    assert "Provenance Runs" in bundle["text/html"] and "<table" not in bundle["text/html"]


def test_frontend_module_exports_the_named_model_and_view() -> None:
    widget = runs_widget("abc123")
    index = (ROOT / "src" / "widget" / "index.ts").read_text()
    register = (ROOT / "src" / "widget" / "register.ts").read_text()
    for name in (widget._model_name, widget._view_name):
        assert f"export class {name} " in index
        assert f"{name}: module.{name}" in register


def test_metric_names_in_the_synced_state_are_redacted_like_the_journal() -> None:
    token = "ghp_" + "Zq9x" * 9
    widget = runs_widget("0123456789abcdef", metrics=[f"loss_{token}", "accuracy"])
    assert token not in json.dumps(widget.get_state())
    assert widget.metrics == ["loss_[redacted:github_token]", "accuracy"]
