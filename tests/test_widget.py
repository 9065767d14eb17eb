"""The runs widget's Python model: versions agree with the frontend, state stays small."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from ipywidgets.widgets.widget import _remove_buffers
from traitlets import TraitError

import nbprov
from nbprov.widget import RunsWidget, run_mimebundle, runs_widget

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


def test_run_mimebundle_shows_the_widget_with_a_text_fallback() -> None:
    bundle = run_mimebundle(RUN_A, "<nbprov.Run aaaa>", "abc123")
    assert bundle is not None
    assert bundle["text/plain"] == "<nbprov.Run aaaa>"
    view = bundle["application/vnd.jupyter.widget-view+json"]
    assert view["version_major"] == 2
    assert isinstance(view["model_id"], str) and view["model_id"]


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
