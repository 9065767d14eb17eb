"""Runs the way notebooks use them: across cells, nested, as decorators, with tags and logged
text, dicts and figures."""

from __future__ import annotations

import json
import time
import warnings
from pathlib import Path

import pytest
from conftest import TrackedShell
from kernels import Kernel, journal_records, series_points

import nbprov


def test_a_run_spans_three_cells_through_an_interrupt_and_links_each_cell(tmp_path: Path) -> None:
    journal = tmp_path / "train.prov" / "journal"
    with Kernel(tmp_path) as kernel:
        kernel.ok("%load_ext nbprov\nimport nbprov\nrun = nbprov.start_run(name='spanning', params={'lr': 0.1})")
        kernel.ok("model = 'defined'")  # logs nothing: not linked to the run
        msg_id = kernel.start("i = 0\nwhile True:\n    nbprov.log_metric('loss', float(i))\n    i += 1\n")
        time.sleep(0.5)
        kernel.interrupt()
        reply, _ = kernel.finish(msg_id)
        assert reply["ename"] == "KeyboardInterrupt"
        assert kernel.ok("print(nbprov.active_run() is run, run.status)").split() == ["True", "running"]
        kernel.ok("nbprov.log_metric('accuracy', 0.9, context='validation')\nnbprov.end_run()")
        reply, text = kernel.run("nbprov.end_run()")
        assert reply["ename"] == "RuntimeError" and "no run is active" in text
        kernel.ok("nbprov._tracking.flush()")
        records = journal_records(journal)
    (start,) = [r for r in records if r["type"] == "run_start"]
    execs = [r["exec"] for r in records if r["type"] == "exec_start"]
    linked = [r["exec"] for r in records if r["type"] == "run_exec" and r["run"] == start["run"]]
    assert start["exec"] == execs[0] and start["spans_cells"] is True
    assert linked == [execs[2], execs[4]]  # the interrupted training cell and the evaluation cell
    assert [r["status"] for r in records if r["type"] == "run_end"] == ["finished"]
    loss = series_points(records, start["run"])["loss"]
    assert loss["values"] == [float(s) for s in loss["steps"]] and len(loss["values"]) > 100


def test_end_on_error_ends_a_spanning_run_with_the_cells_error(tracked: TrackedShell) -> None:
    tracked.run("import nbprov\nrun = nbprov.start_run(end_on_error=True)")
    tracked.run("nbprov.log_metric('x', 1.0)\n1 / 0")
    (end,) = tracked.records("run_end")
    assert (end["status"], end["ename"]) == ("failed", "ZeroDivisionError")
    assert nbprov.active_run() is None


def test_a_second_top_level_run_names_the_open_one_and_ends_nothing(tracked: TrackedShell) -> None:
    tracked.run("import nbprov\nfirst = nbprov.start_run(name='first')")
    for cell in ("nbprov.start_run(name='second')", "with nbprov.run(name='third'):\n    pass"):
        result = tracked.run(cell)
        assert isinstance(result.error_in_exec, RuntimeError)
        assert "'first'" in str(result.error_in_exec) and "end_run()" in str(result.error_in_exec)
    assert nbprov.active_run() is tracked.shell.user_ns["first"]
    assert tracked.records("run_end") == []
    assert [r["name"] for r in tracked.records("run_start")] == ["first"]
    nbprov.end_run()


def test_nested_runs_for_a_sweep(tracked: TrackedShell) -> None:
    result = tracked.run(
        "import nbprov\n"
        "with nbprov.run(name='sweep') as parent:\n"
        "    for lr in (0.1, 0.01):\n"
        "        with nbprov.run(name=f'lr={lr}', params={'lr': lr}, parent=parent) as child:\n"
        "            child.log_metric('loss', lr)\n"
    )
    assert result.success
    starts = {r["name"]: r for r in tracked.records("run_start")}
    assert starts["sweep"]["parent"] is None
    assert starts["lr=0.1"]["parent"] == starts["sweep"]["run"] == starts["lr=0.01"]["parent"]
    assert [r["status"] for r in tracked.records("run_end")] == ["finished"] * 3


def test_a_parent_ending_ends_its_open_children_first(tracked: TrackedShell) -> None:
    tracked.run("import nbprov\nparent = nbprov.start_run(name='p')\nchild = nbprov.start_run(name='c', parent=parent)")
    tracked.run("parent.end()")
    names = {r["run"]: r["name"] for r in tracked.records("run_start")}
    assert [names[r["run"]] for r in tracked.records("run_end")] == ["c", "p"]


def test_decorator_makes_each_call_a_run_and_leaves_no_ghost(tracked: TrackedShell) -> None:
    result = tracked.run(
        "import nbprov\n"
        "@nbprov.run(name='train', log_args=True)\n"
        "def train(lr, epochs=2):\n"
        "    for e in range(epochs):\n"
        "        nbprov.log_metric('loss', lr / (e + 1))\n"
        "    return 'done'\n"
        "results = [train(0.1), train(0.2, epochs=3)]\n"
    )
    assert result.success and tracked.shell.user_ns["results"] == ["done", "done"]
    starts = tracked.records("run_start")
    assert [s["name"] for s in starts] == ["train", "train"]
    params = [(r["run"], r["key"], r["value"]) for r in tracked.records("param")]
    assert params == [
        (starts[0]["run"], "lr", 0.1),
        (starts[0]["run"], "epochs", 2),
        (starts[1]["run"], "lr", 0.2),
        (starts[1]["run"], "epochs", 3),
    ]
    assert [r["status"] for r in tracked.records("run_end")] == ["finished", "finished"]


def test_a_decorated_call_that_raises_is_a_failed_run(tracked: TrackedShell) -> None:
    tracked.run("import nbprov\n@nbprov.run()\ndef boom():\n    raise ValueError('x')\n")
    assert isinstance(tracked.run("boom()").error_in_exec, ValueError)
    assert [r["status"] for r in tracked.records("run_end")] == ["failed"]


def test_tags_text_dicts_and_figures_are_recorded_as_hashed_artifacts(tracked: TrackedShell) -> None:
    pytest.importorskip("matplotlib")
    result = tracked.run(
        "import nbprov, matplotlib\n"
        "matplotlib.use('Agg')\n"
        "import matplotlib.pyplot as plt\n"
        "fig, ax = plt.subplots(); ax.plot([1, 2, 3])\n"
        "with nbprov.run(tags={'team': 'vision', 'priority': 1}) as run:\n"
        "    run.set_tag('stage', 'baseline')\n"
        "    run.log_text('notes.txt', 'converged <b>fast</b>')\n"
        "    run.log_dict('config.json', {'layers': [64, 64]})\n"
        "    run.log_figure(fig, 'curve.png')\n"
    )
    assert result.success
    assert [(r["key"], r["value"]) for r in tracked.records("tag")] == [
        ("team", "vision"),
        ("priority", "1"),
        ("stage", "baseline"),
    ]
    artifacts = {r["name"]: r for r in tracked.records("artifact")}
    assert set(artifacts) == {"notes.txt", "config.json", "curve.png"}
    prov_folder = tracked.folder / "demo.prov"
    for artifact in artifacts.values():
        stored = prov_folder / artifact["stored"]
        assert stored.parent.name == "artifacts" and stored.name.startswith(artifact["sha256"])
        assert stored.stat().st_size == artifact["size"]
    assert (prov_folder / artifacts["notes.txt"]["stored"]).read_text() == "converged <b>fast</b>"
    assert json.loads((prov_folder / artifacts["config.json"]["stored"]).read_text()) == {"layers": [64, 64]}
    assert (prov_folder / artifacts["curve.png"]["stored"]).read_bytes()[:4] == b"\x89PNG"


def test_an_artifact_name_is_never_used_as_a_path(tracked: TrackedShell) -> None:
    tracked.run("import nbprov\nwith nbprov.run() as run:\n    run.log_text('../../escape.txt', 'x')\n")
    (artifact,) = tracked.records("artifact")
    assert artifact["name"] == "../../escape.txt" and artifact["stored"].startswith("artifacts/")
    assert not (tracked.folder / "escape.txt").exists()


def test_spanning_run_left_open_at_shutdown_is_finished_with_a_warning(tracked: TrackedShell) -> None:
    tracked.run("import nbprov\nnbprov.start_run(name='forgotten')")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        nbprov._tracking.close()
        nbprov._tracking = None
    assert any("'forgotten' was still open when tracking stopped" in str(w.message) for w in caught)
    from nbprov.journal import read_journal

    assert [r["status"] for r in read_journal(tracked.journal_folder) if r["type"] == "run_end"] == ["finished"]
    tracked.run("%load_ext nbprov")  # the fixture unloads what it loaded


def test_points_logged_right_after_the_start_come_after_run_start(tracked: TrackedShell) -> None:
    from kernels import assert_journal_consistent

    for attempt in range(30):
        tracked.run(
            f"import nbprov\nwith nbprov.run(name='r{attempt}') as run:\n    for i in range(3000):\n"
            "        run.log_metric('x', float(i))\n"
        )
    assert_journal_consistent(tracked.records())
