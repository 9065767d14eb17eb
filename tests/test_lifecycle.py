"""Run lifecycle: failures, interrupts, re-runs, runs left open, crashed runs of dead kernels."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
from conftest import TrackedShell

import nbprov
from nbprov.journal import JournalWriter, read_journal


def test_exception_inside_run_ends_it_failed_and_reraises(tracked: TrackedShell) -> None:
    result = tracked.run(
        "import nbprov\n"
        "with nbprov.run() as run:\n"
        "    nbprov.log_param('lr', 0.1)\n"
        "    nbprov.log_metric('loss', 1.0)\n"
        "    raise ValueError('diverged')\n"
    )
    assert isinstance(result.error_in_exec, ValueError)
    (end,) = tracked.records("run_end")
    assert (end["status"], end["ename"], end["evalue"]) == ("failed", "ValueError", "diverged")
    assert len(tracked.records("param")) == 1 and len(tracked.records("metrics")) == 1
    assert tracked.records("exec_end")[-1]["status"] == "error"
    assert nbprov.active_run() is None


def test_keyboard_interrupt_ends_run_interrupted(tracked: TrackedShell) -> None:
    result = tracked.run(
        "import nbprov\n"
        "with nbprov.run() as run:\n"
        "    for i in range(100):\n"
        "        nbprov.log_metric('loss', i)\n"
        "        if i == 41:\n"
        "            raise KeyboardInterrupt\n"
    )
    assert isinstance(result.error_in_exec, KeyboardInterrupt)
    (end,) = tracked.records("run_end")
    assert end["status"] == "interrupted"
    assert sum(s["n"] for m in tracked.records("metrics") for s in m["series"]) == 42
    assert tracked.records("exec_end")[-1]["status"] == "interrupted"


def test_rerunning_a_cell_starts_a_new_run(tracked: TrackedShell) -> None:
    cell = "import nbprov\nrun = nbprov.run(name='again')\nnbprov.log_metric('m', 1)\n"
    with pytest.warns(UserWarning, match="still open when its cell ended"):
        assert tracked.run(cell).success
    with pytest.warns(UserWarning, match="still open when its cell ended"):
        assert tracked.run(cell).success
    starts, ends = tracked.records("run_start"), tracked.records("run_end")
    assert len(starts) == 2 and starts[0]["run"] != starts[1]["run"]
    assert [e["status"] for e in ends] == ["finished", "finished"]
    records = tracked.records()
    first_end = records.index(ends[0])
    # Closed at its own cell's end (the cell's energy may be written in between).
    following = [r["type"] for r in records[first_end + 1 :] if r["type"] != "energy"]
    assert following[0] == "exec_end"


def test_run_left_open_in_a_failing_cell_is_marked_failed(tracked: TrackedShell) -> None:
    with pytest.warns(UserWarning, match="still open"):
        tracked.run("import nbprov\nnbprov.run().log_param('lr', 1)\n1 / 0")
    (end,) = tracked.records("run_end")
    assert (end["status"], end["ename"]) == ("failed", "ZeroDivisionError")


def test_starting_a_run_while_one_is_open_ends_the_first(tracked: TrackedShell) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        tracked.run(
            "import nbprov\na = nbprov.run()\na.log_param('k', 1)\nb = nbprov.run()\nb.log_param('k', 2)\n"
            "assert nbprov.active_run() is b\nnbprov.end_run()"
        )
    assert any("a new run was started" in str(w.message) for w in caught)
    assert [e["status"] for e in tracked.records("run_end")] == ["finished", "finished"]


def test_logging_after_the_run_ended_is_a_clear_error(tracked: TrackedShell) -> None:
    run = nbprov.start_run()
    run.end()
    with pytest.raises(RuntimeError, match="has ended"):
        run.log_metric("m", 1.0)
    with pytest.raises(RuntimeError, match="no active run"):
        nbprov.log_metric("m", 1.0)
    with pytest.raises(ValueError, match="status"):
        nbprov.start_run().end(status="crashed")
    nbprov.end_run()


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def _journal_of_other_kernel(folder: Path, session: str, pid: int, runs: dict[str, bool]) -> None:
    writer = JournalWriter(folder, session)
    writer.append("kernel_start", session=session, pid=pid, hostname=socket.gethostname())
    for run_id, ended in runs.items():
        writer.append("run_start", run=run_id, name=None, experiment="default", exec=None, code=None, energy=False)
        if ended:
            writer.append("run_end", run=run_id, status="finished", ename=None, evalue=None)
    writer.close()


def test_open_runs_of_dead_kernels_are_marked_crashed(shell_folder: Path) -> None:
    folder = shell_folder / "demo.prov" / "journal"
    _journal_of_other_kernel(folder, "dead01", _dead_pid(), {"a" * 32: False, "b" * 32: True})
    _journal_of_other_kernel(folder, "alive1", os.getpid(), {"c" * 32: False})
    with (folder / "k-dead01.jsonl").open("ab") as handle:
        handle.write(b'{"type": "run_end", "run": "trunc')  # killed mid-line
    with pytest.warns(UserWarning, match="corrupt"):  # the truncated line, reported while scanning
        nbprov.load_ipython_extension(_shell())
    try:
        session = nbprov._tracking.session
        nbprov._tracking.flush()
        with pytest.warns(UserWarning, match="corrupt"):
            own = [json.loads(line) for line in (folder / f"k-{session}.jsonl").read_text().splitlines()]
            read_journal(folder)
        crashed = [r for r in own if r["type"] == "run_end"]
        assert [(r["run"], r["status"]) for r in crashed] == [("a" * 32, "crashed")]
    finally:
        nbprov.unload_ipython_extension(_shell())
    # a later kernel does not mark it again
    with pytest.warns(UserWarning, match="corrupt"):
        nbprov.load_ipython_extension(_shell())
    try:
        nbprov._tracking.flush()
        path = folder / f"k-{nbprov._tracking.session}.jsonl"
        assert [json.loads(x)["type"] for x in path.read_text().splitlines()] == ["kernel_start"]
    finally:
        nbprov.unload_ipython_extension(_shell())


def _shell():
    from IPython.core.interactiveshell import InteractiveShell

    return InteractiveShell.instance()
