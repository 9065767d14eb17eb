"""Cell executions recorded from IPython events, in a real InteractiveShell."""

from __future__ import annotations

import json
import statistics
import time

from conftest import TrackedShell

import nbprov


def test_each_cell_gets_exec_start_and_exec_end(tracked: TrackedShell) -> None:
    tracked.run("x = 41")
    tracked.run("x + 1")
    starts = tracked.records("exec_start")
    ends = tracked.records("exec_end")
    session = tracked.records("kernel_start")[0]["session"]
    assert [s["source"] for s in starts] == ["x = 41", "x + 1"]
    assert [s["exec"] for s in starts] == [f"{session}-1", f"{session}-2"]
    assert [e["exec"] for e in ends] == [s["exec"] for s in starts]
    assert all(e["status"] == "ok" for e in ends)
    assert starts[1]["count"] == starts[0]["count"] + 1
    assert starts[0]["msg_id"] is None  # no kernel: no execute_request
    assert "cell" in starts[0]


def test_kernel_start_describes_the_process(tracked: TrackedShell) -> None:
    (kernel,) = tracked.records("kernel_start")
    assert kernel["notebook"] == "demo.ipynb"
    assert kernel["pid"] > 0 and kernel["hostname"] and kernel["python"]
    assert kernel["nbprov_version"] == nbprov.__version__
    assert kernel["kernel_id"] is None
    assert {"user", "session"} <= kernel.keys()


def test_error_and_interrupt_statuses(tracked: TrackedShell) -> None:
    tracked.run("raise ValueError('bad <b>value</b>')")
    tracked.run("raise KeyboardInterrupt")
    tracked.run("def broken(:")
    error, interrupted, syntax = tracked.records("exec_end")
    assert (error["status"], error["ename"], error["evalue"]) == ("error", "ValueError", "bad <b>value</b>")
    assert (interrupted["status"], interrupted["ename"]) == ("interrupted", "KeyboardInterrupt")
    assert (syntax["status"], syntax["ename"]) == ("error", "SyntaxError")


def test_loading_twice_does_not_double_record(tracked: TrackedShell) -> None:
    tracked.run("%load_ext nbprov")
    tracked.run("import nbprov; nbprov.load_ipython_extension(get_ipython())")
    tracked.run("y = 2")
    assert len(tracked.records("kernel_start")) == 1
    sources = [s["source"] for s in tracked.records("exec_start")]
    assert sources.count("y = 2") == 1
    assert len(tracked.records("exec_end")) == len(tracked.records("exec_start"))


def test_cells_with_10_mb_output_and_non_utf8_text(tracked: TrackedShell, capsys) -> None:
    tracked.run("print('x' * 10_000_000)")
    tracked.run("s = b'caf\\xe9 \\xff'.decode('utf-8', 'surrogateescape'); print(repr(s))")
    tracked.run("t = '\\udcff lone surrogate'")
    capsys.readouterr()
    ends = tracked.records("exec_end")
    assert [e["status"] for e in ends] == ["ok", "ok", "ok"]


def test_handlers_add_well_under_2_ms(tracked: TrackedShell) -> None:
    execution = nbprov._tracking.execution
    result = tracked.shell.run_cell("pass", store_history=True)
    durations = []
    for _ in range(200):
        started = time.perf_counter()
        execution.pre_run_cell(result.info)
        execution.post_run_cell(result)
        durations.append(time.perf_counter() - started)
    assert statistics.median(durations) < 0.002


def test_exec_start_carries_the_cells_position_in_the_notebook_file(tracked: TrackedShell) -> None:
    cells = [
        {"cell_type": "code", "id": f"c{i}", "metadata": {}, "outputs": [], "source": s}
        for i, s in enumerate(["a = 1", "b = 2", "a = 1"])
    ]
    notebook = {"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    (tracked.folder / "demo.ipynb").write_text(json.dumps(notebook))
    tracked.run("b = 2")  # the only cell with this source: the second
    tracked.run("a = 1")  # two cells have it: the one after the last match, marked ambiguous
    tracked.run("c = 3")  # in no cell
    starts = tracked.records("exec_start")[-3:]
    assert [(s["cell"], s["cell_match"], s["cell_index"]) for s in starts] == [
        ("c1", "source", 1),
        ("c2", "ambiguous", 2),
        (None, None, None),
    ]
