"""Runs API, %%track, metric buffering and flushing, energy and code-state hooks."""

from __future__ import annotations

import hashlib
import json
import threading
import time
from pathlib import Path

import pytest
from conftest import TrackedShell
from nbprov._points import append as append_point

import nbprov
from nbprov import journal, records
from nbprov.framing import decode_series
from nbprov.journal import read_journal
from nbprov.magic import parse_param_value
from nbprov.runs import _POINT, AUTO_STEP, FLUSH_BYTES, FLUSH_POINTS, NO_EPOCH, MetricSeries


def points(records: list[dict], run_id: str) -> dict[tuple[str, object], dict[str, list]]:
    """All metric points of a run, per (metric, ctx), concatenated over batches."""
    merged: dict[tuple[str, object], dict[str, list]] = {}
    for record in records:
        if record["type"] != "metrics" or record["run"] != run_id:
            continue
        for series in record["series"]:
            decoded = decode_series(series)
            assert all(len(a) == series["n"] for a in decoded.values())
            target = merged.setdefault((series["metric"], series["ctx"]), {k: [] for k in decoded})
            for field, values in decoded.items():
                target[field].extend(values.tolist())
    return merged


def test_run_records_params_metrics_contexts(tracked: TrackedShell) -> None:
    tracked.run(
        "import nbprov\n"
        "with nbprov.run(name='baseline', experiment='mnist', params={'lr': 0.1, 'opt': 'sgd'}) as run:\n"
        "    run_id = run.id\n"
        "    assert nbprov.active_run() is run\n"
        "    run.log_param('seed', 7)\n"
        "    for epoch in range(2):\n"
        "        with run.context('training', epoch=epoch):\n"
        "            for i in range(3):\n"
        "                nbprov.log_metric('loss', 1.0 / (i + 1))\n"
        "            with run.context('batch'):\n"
        "                run.log_metric('grad', 0.5, step=10)\n"
        "    nbprov.log_metrics({'acc': 0.9, 'f1': 0.8}, step=5)\n"
        "    run.log_param('best_acc', 0.9, role='output')\n"
        "assert nbprov.active_run() is None\n"
    )
    run_id = tracked.shell.user_ns["run_id"]
    assert len(run_id) == 32 and int(run_id, 16) >= 0
    records = tracked.records()
    (start,) = [r for r in records if r["type"] == "run_start"]
    assert (start["name"], start["experiment"]) == ("baseline", "mnist")
    assert start["exec"] == tracked.records("exec_start")[-1]["exec"]
    params = {(r["key"], r["role"]): r["value"] for r in records if r["type"] == "param"}
    assert params == {("lr", "input"): 0.1, ("opt", "input"): "sgd", ("seed", "input"): 7, ("best_acc", "output"): 0.9}
    contexts = [r for r in records if r["type"] == "context_start"]
    assert [(c["ctx"], c["name"], c["epoch"], c["parent"]) for c in contexts] == [
        (1, "training", 0, None),
        (2, "batch", 0, 1),
        (3, "training", 1, None),
        (4, "batch", 1, 3),
    ]
    assert sorted(r["ctx"] for r in records if r["type"] == "context_end") == [1, 2, 3, 4]
    merged = points(records, run_id)
    # One series per metric and context path, across epochs: each point carries its epoch.
    assert set(merged) == {("loss", 1), ("grad", 2), ("acc", None), ("f1", None)}
    assert merged[("loss", 1)]["values"] == [1.0, 0.5, 1 / 3] * 2
    assert merged[("loss", 1)]["steps"] == [0, 1, 2, 3, 4, 5]
    assert merged[("loss", 1)]["epochs"] == [0, 0, 0, 1, 1, 1]
    assert merged[("grad", 2)]["steps"] == [10, 10] and merged[("grad", 2)]["epochs"] == [0, 1]
    assert merged[("acc", None)]["steps"] == [5] and merged[("acc", None)]["epochs"] == [-1]
    now_ms = time.time() * 1000
    assert all(now_ms - 60_000 < t <= now_ms + 1 for t in merged[("loss", 1)]["timestamps"])
    batches = [r["batch"] for r in records if r["type"] == "metrics" and r["run"] == run_id]
    assert batches == list(range(1, len(batches) + 1))
    (end,) = [r for r in records if r["type"] == "run_end"]
    assert end["status"] == "finished" and end["run"] == run_id
    assert records.index(end) > max(i for i, r in enumerate(records) if r["type"] == "metrics")


def test_named_context_argument(tracked: TrackedShell) -> None:
    tracked.run(
        "import nbprov\n"
        "with nbprov.run() as run:\n"
        "    with run.context('training', epoch=3):\n"
        "        run.log_metric('loss', 1.0, context='training')\n"
        "        run.log_metric('loss', 2.0, context='validation')\n"
    )
    records = tracked.records()
    contexts = {r["name"]: r for r in records if r["type"] == "context_start"}
    merged = points(records, contexts["training"]["run"])
    assert merged[("loss", contexts["training"]["ctx"])]["epochs"] == [3]
    assert merged[("loss", contexts["validation"]["ctx"])]["epochs"] == [-1]


def test_explicit_timestamp_and_start_end_api(tracked: TrackedShell) -> None:
    tracked.run(
        "import nbprov\n"
        "run = nbprov.start_run(name='manual')\n"
        "nbprov.log_metric('m', 2, step=4, timestamp=1_700_000_000_000)\n"
        "nbprov.log_param('k', [1, 2])\n"
        "nbprov.end_run(status='failed')\n"
    )
    records = tracked.records()
    run_id = tracked.shell.user_ns["run"].id
    assert points(records, run_id)[("m", None)] == {
        "steps": [4],
        "values": [2.0],
        "timestamps": [1_700_000_000_000],
        "epochs": [-1],
    }
    assert [r["value"] for r in records if r["type"] == "param"] == ["[1, 2]"]
    assert tracked.records("run_end")[0]["status"] == "failed"
    assert nbprov.active_run() is None


def test_artifact_hash_and_size(tracked: TrackedShell) -> None:
    data = bytes(range(256)) * 9000
    (tracked.folder / "model.bin").write_bytes(data)
    tracked.run(
        "import nbprov\nwith nbprov.run() as run:\n    nbprov.log_artifact('model.bin')\n"
        "    run.log_artifact('model.bin', role='input')"
    )
    artifacts = tracked.records("artifact")
    assert [a["role"] for a in artifacts] == ["output", "input"]
    assert artifacts[0]["sha256"] == hashlib.sha256(data).hexdigest()
    assert artifacts[0]["size"] == len(data) and artifacts[0]["name"] == "model.bin"
    assert Path(artifacts[0]["path"]) == (tracked.folder / "model.bin").resolve()


def test_track_magic(tracked: TrackedShell) -> None:
    result = tracked.run(
        "%%track --name 'my run' --experiment exp1 --param lr=0.01 --param epochs=3 --param fast=true "
        "--param opt=adam\n"
        "import nbprov\n"
        "inside = nbprov.active_run()\n"
        "nbprov.log_metric('loss', 0.25)\n"
    )
    assert result.success
    (start,) = tracked.records("run_start")
    assert (start["name"], start["experiment"]) == ("my run", "exp1")
    assert tracked.shell.user_ns["inside"].id == start["run"]
    params = {r["key"]: r["value"] for r in tracked.records("param")}
    assert params == {"lr": 0.01, "epochs": 3, "fast": True, "opt": "adam"}
    assert points(tracked.records(), start["run"])[("loss", None)]["values"] == [0.25]
    assert tracked.records("run_end")[0]["status"] == "finished"
    assert nbprov.active_run() is None


def test_track_magic_failure_and_bad_param(tracked: TrackedShell) -> None:
    failed = tracked.run("%%track\nraise RuntimeError('boom')")
    assert not failed.success
    assert tracked.records("run_end")[0]["status"] == "failed"
    assert tracked.records("run_end")[0]["evalue"] == "boom"
    for bad_line in ("--param novalue", "--name 'unbalanced", "--unknown 1"):
        assert not tracked.run(f"%%track {bad_line}\nx = 1").success
    assert len(tracked.records("run_start")) == 1


def test_param_value_parsing() -> None:
    assert [parse_param_value(v) for v in ["3", "-2", "0.5", "1e-3", "True", "false", "nan", "abc", ""]] == [
        3,
        -2,
        0.5,
        0.001,
        True,
        False,
        "nan",
        "abc",
        "",
    ]


def test_points_are_flushed_while_the_run_is_open(tracked: TrackedShell) -> None:
    run = nbprov.start_run()
    for i in range(10):
        run.log_metric("live", float(i))
    time.sleep(0.8)  # periodic tick (<= 250 ms) turns the buffer into a record and writes it
    on_disk = read_journal(tracked.journal_folder)
    assert points(on_disk, run.id)[("live", None)]["values"] == [float(i) for i in range(10)]
    run.end()


def test_size_triggered_flush_and_order(tracked: TrackedShell) -> None:
    run = nbprov.start_run()
    total = FLUSH_POINTS * 2 + 5
    for i in range(total):
        run.log_metric("x", i)
    run.end()
    records = tracked.records()
    assert len([r for r in records if r["type"] == "metrics"]) >= 3
    assert points(records, run.id)[("x", None)]["steps"] == list(range(total))


def test_sampler_thread_and_main_thread_log_concurrently(tracked: TrackedShell) -> None:
    run = nbprov.start_run(energy=False)
    stop = threading.Event()

    def sample() -> None:
        n = 0
        while not stop.is_set():
            run._log_metric_from_thread("power_watts[test]", 1.0, n)
            n += 1

    sampler = threading.Thread(target=sample)
    sampler.start()
    for i in range(200_000):
        run.log_metric("x", i)
    stop.set()
    sampler.join()
    run.end()
    merged = points(tracked.records(), run.id)
    assert merged[("x", None)]["steps"] == list(range(200_000))
    power_steps = merged[("power_watts[test]", None)]["steps"]
    assert power_steps == list(range(len(power_steps)))


def test_energy_records_when_the_meter_is_available(tracked: TrackedShell) -> None:
    pytest.importorskip("nbprov.energy")
    tracked.run(
        "import nbprov\nwith nbprov.run() as r:\n    with r.context('training', epoch=0):\n"
        "        r.log_metric('m', 1)\n    with r.context('eval'):\n        pass"
    )
    (start,) = tracked.records("run_start")
    assert start["energy"] is True
    energy = tracked.records("energy")
    scopes = {(e["scope"], e["ref"]) for e in energy}
    assert ("run", start["run"]) in scopes and ("epoch", 0) in scopes and ("context", 2) in scopes
    assert all({"device", "joules", "method", "reason", "resolution_limited"} <= e.keys() for e in energy)


def test_energy_can_be_switched_off(tracked: TrackedShell, monkeypatch: pytest.MonkeyPatch) -> None:
    tracked.run("import nbprov\nwith nbprov.run(energy=False):\n    pass")
    nbprov.configure(energy=False)
    tracked.run("with nbprov.run():\n    pass")
    nbprov.configure(energy=True)
    monkeypatch.setenv("NBPROV_ENERGY", "0")
    tracked.run("with nbprov.run():\n    pass")
    assert [s["energy"] for s in tracked.records("run_start")] == [False, False, False]
    assert tracked.records("energy") == []


def test_code_state_is_captured_when_available(tracked: TrackedShell) -> None:
    codestate = pytest.importorskip("nbprov.codestate")
    assert hasattr(codestate, "capture")
    tracked.run("import nbprov\nwith nbprov.run():\n    pass\nwith nbprov.run():\n    pass")
    # Stored once by content hash: both runs name the one code_state record, written before them.
    (state,) = tracked.records("code_state")
    assert isinstance(state["code"], dict) and "python" in state["code"]
    assert state["sha256"] == records.code_state_sha256(state["code"])
    starts = tracked.records("run_start")
    assert [start["code_sha256"] for start in starts] == [state["sha256"]] * 2
    assert all("code" not in start for start in starts)
    assert state["seq"] < starts[0]["seq"]


class CountingMeter:
    """The energy meter interface over a counter that gains 2 J per read (backends are tested apart)."""

    def __init__(self) -> None:
        self.joules = 0.0

    def read(self) -> float:
        self.joules += 2.0
        return self.joules

    def between(self, start: float, end: float) -> list[dict]:
        return [
            {
                "device": "fake:0",
                "joules": end - start,
                "method": "counter",
                "reason": None,
                "resolution_limited": False,
            }
        ]

    def start_sampler(self, on_power) -> None:
        pass

    def stop_sampler(self) -> None:
        pass


def test_energy_of_each_cell_that_ran_a_run(tracked: TrackedShell) -> None:
    nbprov._tracking.runs._meter, nbprov._tracking.runs._meter_opened = CountingMeter(), True
    tracked.run("import nbprov\nwith nbprov.run(name='a'):\n    pass")
    tracked.run("y = 2")  # no run: no cell energy
    tracked.run("with nbprov.run(name='b'):\n    pass")
    execs = [r["exec"] for r in tracked.records("exec_start")]
    runs = [r["run"] for r in tracked.records("run_start")]
    cells = [e for e in tracked.records("energy") if e["scope"] == "cell"]
    assert [(e["run"], e["ref"]) for e in cells] == [(runs[0], execs[0]), (runs[1], execs[2])]
    assert all(e["joules"] > 0 and e["method"] == "counter" for e in cells)


def _through_journal(series: dict) -> dict:
    """A taken series as the journal stores it (binary fields as base64)."""
    return json.loads(journal.encode_line({"type": "metrics", "series": [series]}))["series"][0]


def _reference_take(logged: list[tuple[int, float, int, int]], last_step: int) -> dict[str, list]:
    """What a batch must hold, computed point by point."""
    steps = []
    for step, _value, _timestamp, _epoch in logged:
        last_step = last_step + 1 if step == AUTO_STEP else step
        steps.append(last_step)
    return {
        "steps": steps,
        "values": [p[1] for p in logged],
        "timestamps": [p[2] for p in logged],
        "epochs": [p[3] for p in logged],
    }


@pytest.mark.parametrize(
    "steps",
    [
        [AUTO_STEP] * 5,
        [3, 4, 10, -7, 2**62],
        [0, 128, 0, 128],  # explicit steps whose bytes hold AUTO_STEP's bytes across two steps
        [AUTO_STEP, 5, AUTO_STEP, AUTO_STEP, 0, AUTO_STEP],
    ],
)
def test_take_splits_packed_points_exactly(steps: list[int]) -> None:
    series = MetricSeries("loss", 4, NO_EPOCH)
    logged, expected_last = [], -1
    for batch in range(3):  # automatic steps continue across batches
        batch_points = [
            (step, float(i) / 3 - batch, 1_700_000_000_000 + i, [NO_EPOCH, 0, 2**31 - 1][i % 3])
            for i, step in enumerate(steps)
        ]
        for point in batch_points:
            append_point(series.points, *point, FLUSH_BYTES)
        taken = series.take()
        assert taken is not None
        decoded = {field: values.tolist() for field, values in decode_series(_through_journal(taken)).items()}
        expected = _reference_take(batch_points, expected_last)
        assert decoded == expected
        expected_last = expected["steps"][-1]
        assert series.last_step == expected_last
        logged += batch_points
    assert series.take() is None


def test_append_point_writes_the_point_layout_and_reads_the_clock() -> None:
    points = bytearray()
    before = time.time_ns() // 1_000_000
    full = [append_point(points, AUTO_STEP, 0.5, None, NO_EPOCH, 3 * _POINT.size)]
    after = time.time_ns() // 1_000_000
    explicit = [(2**63 - 1, float("-inf"), -(2**63), 2**31 - 1), (True, 1e-300, 0, 0)]
    full += [append_point(points, *point, 3 * _POINT.size) for point in explicit]
    assert full == [False, False, True]  # the journal thread is woken once the buffer holds wake_at bytes
    first = _POINT.unpack_from(points, 0)
    assert first[:2] == (AUTO_STEP, 0.5) and before <= first[2] <= after and first[3] == NO_EPOCH
    assert bytes(points[_POINT.size :]) == b"".join(_POINT.pack(*point) for point in explicit)


@pytest.mark.parametrize(
    ("step", "value", "timestamp"),
    [(2**63, 1.0, None), (1.5, 1.0, None), (1, 1.0, 2.0), (1, 1.0, -(2**63) - 1), (1, "1", None)],
)
def test_append_point_refuses_what_the_layout_cannot_hold_and_appends_nothing(
    step: object, value: object, timestamp: object
) -> None:
    points = bytearray(_POINT.pack(0, 0.0, 0, 0))
    with pytest.raises(TypeError):
        append_point(points, step, value, timestamp, NO_EPOCH, FLUSH_BYTES)
    assert bytes(points) == _POINT.pack(0, 0.0, 0, 0)


def test_log_metric_refuses_a_step_beyond_64_bits_and_keeps_the_series(tracked: TrackedShell) -> None:
    tracked.run(
        "import nbprov\n"
        "with nbprov.run(energy=False) as run:\n"
        "    run.log_metric('loss', 1.0)\n"
        "    try:\n"
        "        run.log_metric('loss', 2.0, step=2**64)\n"
        "    except TypeError as error:\n"
        "        message = str(error)\n"
        "    run.log_metric('loss', 3.0)\n"
    )
    assert "must be 64-bit integers" in tracked.shell.user_ns["message"]
    (run_id,) = [r["run"] for r in tracked.records() if r["type"] == "run_start"]
    (series,) = points(tracked.records(), run_id).values()
    assert series["steps"] == [0, 1] and series["values"] == [1.0, 3.0]


def test_take_leaves_points_logged_after_its_prefix() -> None:
    series = MetricSeries("loss", None, NO_EPOCH)
    for i in range(10):
        append_point(series.points, AUTO_STEP, float(i), i, NO_EPOCH, FLUSH_BYTES)
    first = series.take(max_points=4)
    rest = series.take()
    assert first is not None and rest is not None
    assert decode_series(_through_journal(first))["steps"].tolist() == [0, 1, 2, 3]
    assert decode_series(_through_journal(rest))["steps"].tolist() == list(range(4, 10))
    assert decode_series(_through_journal(rest))["values"].tolist() == [float(i) for i in range(4, 10)]


def test_log_metric_epoch_opens_a_named_context_per_epoch(tracked: TrackedShell) -> None:
    tracked.run(
        "import nbprov\n"
        "with nbprov.run() as run:\n"
        "    run_id = run.id\n"
        "    for epoch in range(2):\n"
        "        run.log_metric('loss', 1.0 + epoch, step=2 * epoch, context='training', epoch=epoch)\n"
        "        run.log_metric('loss', 0.5 + epoch, step=2 * epoch + 1, context='training', epoch=epoch)\n"
        "        nbprov.log_metrics({'loss': 9.0}, step=epoch, context='validation', epoch=epoch)\n"
        "    run.log_metric('lr', 0.1, epoch=5)\n"
        "    with run.context('eval', epoch=1):\n"
        "        run.log_metric('acc', 0.9, context='eval', epoch=3)\n"
    )
    run_id = tracked.shell.user_ns["run_id"]
    records = tracked.records()
    starts = [(r["ctx"], r["name"], r["epoch"], r["parent"]) for r in records if r["type"] == "context_start"]
    assert starts == [
        (1, "training", 0, None),
        (2, "validation", 0, None),
        (3, "training", 1, None),
        (4, "validation", 1, None),
        (5, "eval", 1, None),
    ]
    ends = [r["ctx"] for r in records if r["type"] == "context_end"]
    assert sorted(ends) == [1, 2, 3, 4, 5] and ends.index(1) < ends.index(3)
    got = points(records, run_id)
    assert got[("loss", 1)]["steps"] == [0, 1, 2, 3] and got[("loss", 1)]["epochs"] == [0, 0, 1, 1]
    assert got[("loss", 2)]["epochs"] == [0, 1]
    assert got[("lr", None)]["epochs"] == [5]
    assert got[("acc", 5)]["epochs"] == [3]  # an open `with run.context` keeps its opening; the point its epoch


@pytest.mark.parametrize("epoch, error", [(-1, ValueError), (2**31, ValueError), (1.5, TypeError), ("1", TypeError)])
def test_log_metric_rejects_a_bad_epoch(tracked: TrackedShell, epoch: object, error: type) -> None:
    result = tracked.run(
        f"import nbprov\nwith nbprov.run() as run:\n    run.log_metric('x', 1.0, context='c', epoch={epoch!r})\n"
    )
    assert isinstance(result.error_in_exec, error)
    result = tracked.run(f"with nbprov.run() as run:\n    run.log_metric('x', 1.0, epoch={epoch!r})\n")
    assert isinstance(result.error_in_exec, error)
