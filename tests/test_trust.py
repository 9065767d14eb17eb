"""Recording you can trust, tried against real kernels: interrupts at random moments, user code
that catches KeyboardInterrupt and keeps logging, threads, a forked child, and exact parameters.
Each test counts what the user logged against what the journal kept."""

from __future__ import annotations

import json
import math
import random
import re
import time
from pathlib import Path

import prov.model
from kernels import Kernel, assert_journal_consistent, journal_records, series_points

INTERRUPTS = 30
CAUGHT_INTERRUPTS = 40


def test_interrupts_at_random_moments_lose_no_point(tmp_path: Path) -> None:
    rng = random.Random(20261201)
    journal = tmp_path / "train.prov" / "journal"
    logged: dict[str, int] = {}
    dropped: list[str] = []
    with Kernel(tmp_path) as kernel:
        kernel.ok("%load_ext nbprov\nimport nbprov, itertools")
        for attempt in range(INTERRUPTS):
            # Half the runs number their steps themselves, half leave it to nbprov; epochs open
            # and close contexts all the time, so interrupts also land in context ends.
            step = ", step=i" if attempt % 2 else ""
            kernel.ok("i = 0")
            msg_id = kernel.start(
                f"with nbprov.run(name='r{attempt}') as run:\n"
                f"    open('began-r{attempt}', 'w').close()\n"
                "    for epoch in itertools.count():\n"
                "        with run.context('training', epoch=epoch):\n"
                "            for _ in range(7000):\n"
                f"                run.log_metric('x', float(i){step})\n"
                "                i += 1\n"
            )
            # Most interrupts land inside the loop (after the run is on disk); every fifth may land
            # anywhere, inside nbprov.run() too.
            if attempt % 5:
                _wait_for_file(tmp_path / f"began-r{attempt}")
            time.sleep(rng.uniform(0.0, 0.4))
            kernel.interrupt()
            try:
                reply, text = kernel.finish(msg_id, timeout=20)
            except TimeoutError:  # the signal came before the kernel started the cell: it was idle
                kernel.interrupt()
                reply, text = kernel.finish(msg_id)
            if reply["status"] == "dropped":  # the interrupt came before the cell ran: no run
                dropped.append(f"r{attempt}")
                continue
            assert reply["status"] == "error" and reply["ename"] == "KeyboardInterrupt", text
            logged[f"r{attempt}"] = int(kernel.ok("print(i)").strip())
        kernel.ok("assert nbprov._tracking.writer.flush(timeout=600)", timeout=600)
        records = journal_records(journal)

    assert_journal_consistent(records)
    runs = {r["name"]: r["run"] for r in records if r["type"] == "run_start"}
    ends = {r["run"]: r["status"] for r in records if r["type"] == "run_end"}
    for name, count in logged.items():
        if name not in runs:  # interrupted inside nbprov.run(), before the run began
            assert count == 0
            continue
        points = series_points(records, runs[name])["x"]
        kept = len(points["values"])
        # The point being logged when the interrupt came is either kept whole or not at all.
        assert kept in (count, count + 1), (name, count, kept)
        assert points["values"] == [float(s) for s in range(kept)]
        assert points["steps"] == list(range(kept))
        assert points["epochs"] == [s // 7000 for s in range(kept)]
        assert ends[runs[name]] == "interrupted"
    assert {f"r{attempt}" for attempt in range(INTERRUPTS) if attempt % 5} <= set(runs)
    assert not set(dropped) & set(runs) and len(dropped) <= INTERRUPTS // 5
    assert set(ends) == set(runs.values())


def test_user_code_that_catches_interrupts_keeps_every_point_aligned(tmp_path: Path) -> None:
    rng = random.Random(7)
    journal = tmp_path / "train.prov" / "journal"
    with Kernel(tmp_path) as kernel:
        kernel.ok("%load_ext nbprov\nimport nbprov")
        msg_id = kernel.start(
            "import signal\ncaught = 0\ni = 0\n"
            "with nbprov.run(name='stubborn') as run:\n"
            "    open('began', 'w').close()\n"
            "    while True:\n"
            "        try:\n"
            # Interrupts still on their way once enough were caught must not end the cell.
            f"            if caught >= {CAUGHT_INTERRUPTS}:\n"
            "                signal.signal(signal.SIGINT, signal.SIG_IGN)\n"
            "                break\n"
            "            while True:\n"
            "                run.log_metric('x', float(i))\n"
            "                run.log_metric('y', -float(i), step=i)\n"
            "                i += 1\n"
            "        except KeyboardInterrupt:\n"
            "            caught += 1\n"
            "print('caught', caught, 'logged', i)\n"
            "open('ended', 'w').close()\n"
        )
        _wait_for_file(tmp_path / "began")
        # Signals sent close together can arrive as one KeyboardInterrupt: keep interrupting until
        # the cell has caught its 40.
        deadline = time.monotonic() + 300
        while not (tmp_path / "ended").exists() and time.monotonic() < deadline:
            kernel.interrupt()
            time.sleep(rng.uniform(0.02, 0.15))
        reply, text = kernel.finish(msg_id)
        assert reply["status"] == "ok", text
        caught, logged = map(int, re.search(r"caught (\d+) logged (\d+)", text).groups())
        kernel.ok("signal.signal(signal.SIGINT, signal.default_int_handler)")
        kernel.ok("assert nbprov._tracking.writer.flush(timeout=600)", timeout=600)
        records = journal_records(journal)

    assert caught >= CAUGHT_INTERRUPTS  # one more when it lands on the check that ends the loop
    assert_journal_consistent(records)
    (run,) = [r["run"] for r in records if r["type"] == "run_start"]
    points = series_points(records, run)
    x, y = points["x"], points["y"]
    # An interrupt between the two calls makes the loop log the same i again: x then has one extra
    # point (with its own automatic step), y repeats step i. Nothing is lost and nothing shifts.
    assert x["steps"] == list(range(len(x["steps"])))
    assert x["values"] == sorted(x["values"])
    assert set(x["values"]) in ({float(k) for k in range(logged)}, {float(k) for k in range(logged + 1)})
    assert len(x["values"]) - len(set(x["values"])) <= caught
    assert y["values"] == [-float(s) for s in y["steps"]]
    assert y["steps"] == sorted(y["steps"])
    assert set(y["steps"]) in (set(range(logged)), set(range(logged + 1)))
    assert [r["status"] for r in records if r["type"] == "run_end"] == ["finished"]


def test_threads_logging_to_one_series_keep_every_point_with_its_own_step(tmp_path: Path) -> None:
    journal = tmp_path / "train.prov" / "journal"
    with Kernel(tmp_path) as kernel:
        kernel.ok(
            "%load_ext nbprov\nimport nbprov, threading\n"
            "with nbprov.run(name='threads') as run:\n"
            "    def work(thread):\n"
            "        for k in range(50_000):\n"
            "            run.log_metric('x', thread * 1e6 + k)\n"
            "    threads = [threading.Thread(target=work, args=(t,)) for t in range(4)]\n"
            "    [t.start() for t in threads]\n"
            "    [t.join() for t in threads]\n"
        )
        kernel.ok("nbprov._tracking.flush()")
        records = journal_records(journal)
    assert_journal_consistent(records)
    (run,) = [r["run"] for r in records if r["type"] == "run_start"]
    x = series_points(records, run)["x"]
    assert sorted(x["values"]) == sorted(t * 1e6 + k for t in range(4) for k in range(50_000))
    assert x["steps"] == list(range(200_000))  # unique and increasing, in the order they were logged
    for thread in range(4):  # each thread's own points stay in its order
        mine = [v for v in x["values"] if thread * 1e6 <= v < (thread + 1) * 1e6]
        assert mine == sorted(mine)


def test_a_forked_child_never_writes_the_parents_records(tmp_path: Path) -> None:
    journal = tmp_path / "train.prov" / "journal"
    with Kernel(tmp_path) as kernel:
        kernel.ok("%load_ext nbprov\nimport nbprov, multiprocessing")
        text = kernel.ok(
            "with nbprov.run(name='parent') as run:\n"
            "    for i in range(1000):\n"
            "        run.log_metric('x', float(i))\n"
            "    def child():\n"
            "        for i in range(5000):\n"
            "            nbprov.log_metric('from_child', 1.0)\n"
            "            run.log_metric('x', -1.0)\n"
            "        with nbprov.run(name='child run') as own:\n"
            "            own.log_param('p', 1)\n"
            "        print('child done', flush=True)\n"
            "    workers = [multiprocessing.get_context('fork').Process(target=child) for _ in range(2)]\n"
            "    [w.start() for w in workers]\n"
            "    [w.join() for w in workers]\n"
            "    print('exit codes', [w.exitcode for w in workers])\n"
            "    for i in range(1000, 2000):\n"
            "        run.log_metric('x', float(i))\n"
        )
        kernel.ok("nbprov._tracking.flush()")
        records = journal_records(journal)
    assert "exit codes [0, 0]" in text
    assert text.count("records nothing") == 2, text  # one warning per child
    assert '"header"' not in text and "msg_type" not in text  # no raw protocol in the cell
    assert_journal_consistent(records)
    assert [r["name"] for r in records if r["type"] == "run_start"] == ["parent"]
    (run,) = [r["run"] for r in records if r["type"] == "run_start"]
    points = series_points(records, run)
    assert set(points) == {"x"}
    assert points["x"]["values"] == [float(i) for i in range(2000)]
    assert [r["status"] for r in records if r["type"] == "run_end"] == ["finished"]
    assert len(list(journal.glob("k-*.jsonl"))) == 1


def test_parameters_are_recorded_exactly_and_unrecordable_ones_start_no_run(tmp_path: Path) -> None:
    journal = tmp_path / "train.prov" / "journal"
    with Kernel(tmp_path) as kernel:
        kernel.ok("%load_ext nbprov\nimport nbprov")
        kernel.ok(
            "params = {'big': 2**64, 'p53': 2**53 + 1, 'huge': 10**400, 'neg': -2**70, 'small': 3,\n"
            "          'f': 0.1, 'tiny': 5e-324, 'nan': float('nan'), 'inf': float('-inf'), 'negzero': -0.0,\n"
            "          'flag': True, 'none': None, 'text': 'adam', 'tuple': (1, 2)}\n"
            "with nbprov.run(name='exact', params=params):\n"
            "    pass\n"
        )
        (tmp_path / "train.ipynb").write_text(json.dumps(EMPTY_NOTEBOOK))
        reply, text = kernel.run(
            "class Unprintable:\n"
            "    def __repr__(self):\n"
            "        raise ValueError('no repr')\n"
            "nbprov.run(name='ghost', params={'lr': 0.1, 'bad': Unprintable()})\n"
        )
        kernel.ok("nbprov.export()")
        records = journal_records(journal)
    assert reply["status"] == "error" and reply["ename"] == "TypeError"
    assert "'bad'" in text and "no repr" in text
    _assert_exported_exactly(tmp_path)
    assert [r["name"] for r in records if r["type"] == "run_start"] == ["exact"]
    recorded = {r["key"]: (r["value"], r["value_type"]) for r in records if r["type"] == "param"}
    assert recorded == {
        "big": (str(2**64), "int"),
        "p53": (str(2**53 + 1), "int"),
        "huge": (str(10**400), "int"),
        "neg": (str(-(2**70)), "int"),
        "small": (3, "int"),
        "f": (0.1, "float"),
        "tiny": (5e-324, "float"),
        "nan": ("nan", "float"),
        "inf": ("-inf", "float"),
        "negzero": ("-0.0", "float"),
        "flag": (True, "bool"),
        "none": (None, "null"),
        "text": ("adam", "str"),
        "tuple": ("(1, 2)", "repr"),
    }


EMPTY_NOTEBOOK = {"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}


def _assert_exported_exactly(folder: Path) -> None:
    """The export, read by the real ``prov`` package, holds every parameter value exactly."""
    document = prov.model.ProvDocument.deserialize(folder / "train.prov" / "prov.json", format="json")
    values = {}
    for record in document.get_records(prov.model.ProvEntity):
        attributes = dict(record.attributes)
        if str(attributes.get(prov.model.PROV_TYPE)) == "provml:Parameter":
            values[str(attributes[prov.model.PROV_LABEL])] = attributes.get(prov.model.PROV_VALUE)
    as_int = lambda v: int(getattr(v, "value", v))  # noqa: E731  (typed literals keep their lexical form)
    as_float = lambda v: float(getattr(v, "value", v))  # noqa: E731
    assert as_int(values["big"]) == 2**64
    assert as_int(values["p53"]) == 2**53 + 1
    assert as_int(values["huge"]) == 10**400
    assert as_int(values["neg"]) == -(2**70)
    assert values["small"] == 3
    assert values["f"] == 0.1 and values["tiny"] == 5e-324
    assert math.isnan(as_float(values["nan"])) and as_float(values["inf"]) == -math.inf
    assert math.copysign(1, as_float(values["negzero"])) == -1


def _wait_for_file(path: Path, timeout: float = 60) -> None:
    """Until the cell says (by creating ``path``) that its run has begun or its loop has ended."""
    deadline = time.monotonic() + timeout
    while not path.exists():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{path.name} was not created")
        time.sleep(0.01)
