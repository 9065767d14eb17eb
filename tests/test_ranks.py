"""Runs that span processes (issue #16): the hand-over by environment, rank journals, rank
detection, bad input, energy once per physical device, and the merged export read back with
``prov`` and zarr-python."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any

import pytest
import zarr
from conftest import TrackedShell, kernel_env

import nbprov
from nbprov.export import cli_command
from nbprov.framing import decode_series
from nbprov.journal import iter_journal_file
from nbprov.ranks import detect_rank
from nbprov.records import journal_rank_of, kernel_session_of

CHILD = Path(__file__).resolve().parent / "rank_child.py"


def child(*args: str, env: dict[str, str] | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
    """``rank_child.py`` with this process's environment (the hand-over included) plus ``env``."""
    result = subprocess.run(
        [sys.executable, str(CHILD), *args],
        env=kernel_env(env or {}),
        capture_output=True,
        text=True,
        timeout=120,
    )
    if check:
        assert result.returncode == 0, result.stderr
    return result


def rank_files(folder: Path) -> list[Path]:
    return sorted(path for path in folder.glob("k-*.jsonl") if journal_rank_of(path.name) is not None)


def records_of(path: Path) -> list[dict[str, Any]]:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return list(iter_journal_file(path))


def export_cli(folder: Path, stem: str = "demo") -> subprocess.CompletedProcess[str]:
    """``nbprov export <stem>.ipynb`` (no live session: what a later reader sees)."""
    notebook = folder / f"{stem}.ipynb"
    if not notebook.exists():
        notebook.write_text(json.dumps({"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    result = subprocess.run(cli_command("export", str(notebook)), capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    return result


def export(folder: Path, stem: str = "demo") -> tuple[dict[str, Any], Path]:
    export_cli(folder, stem)
    prov_folder = folder / f"{stem}.prov"
    return json.loads((prov_folder / "prov.json").read_text()), prov_folder


def run_activity(document: dict[str, Any], run_id: str) -> dict[str, Any]:
    return document["activity"][f"nbprov:run.{run_id}"]


def prov_type(node: dict[str, Any]) -> str:
    """A node's ``prov:type``, a plain string or a ``prov:QUALIFIED_NAME`` literal."""
    value = node.get("prov:type")
    return value["$"] if isinstance(value, dict) else str(value)


def metric_entities(document: dict[str, Any], run_id: str) -> list[dict[str, Any]]:
    prefix = f"nbprov:metric.{run_id}."
    return [entity for key, entity in sorted(document["entity"].items()) if key.startswith(prefix)]


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({"RANK": "3", "LOCAL_RANK": "1", "WORLD_SIZE": "8", "GROUP_RANK": "1"}, (3, 1, 8, 1, "torch")),
        (
            {"SLURM_PROCID": "5", "SLURM_LOCALID": "1", "SLURM_NTASKS": "16", "SLURM_NODEID": "2"},
            (5, 1, 16, 2, "slurm"),
        ),
        (
            {"OMPI_COMM_WORLD_RANK": "2", "OMPI_COMM_WORLD_LOCAL_RANK": "0", "OMPI_COMM_WORLD_SIZE": "4"},
            (2, 0, 4, None, "openmpi"),
        ),
        ({"PMI_RANK": "7", "PMI_SIZE": "8", "MPI_LOCALRANKID": "3"}, (7, 3, 8, None, "pmi")),
        # torchrun inside an srun step: torchrun's global rank wins over SLURM's task id.
        ({"RANK": "9", "WORLD_SIZE": "16", "SLURM_PROCID": "1", "SLURM_NTASKS": "2"}, (9, None, 16, None, "torch")),
        # Garbage is not a rank: the next launcher (here none) decides.
        ({"RANK": "-1", "SLURM_PROCID": "x"}, (0, None, 1, None, "process")),
        ({}, (0, None, 1, None, "process")),
    ],
)
def test_rank_detection(environ: dict[str, str], expected: tuple[Any, ...]) -> None:
    info = detect_rank(environ)
    assert (info.rank, info.local_rank, info.world_size, info.node_rank, info.launcher) == expected


def test_ray_train_context_names_the_rank_when_ray_is_imported(monkeypatch: pytest.MonkeyPatch) -> None:
    """Ray Train's documented worker context (``ray.train.get_context()``), read only when Ray is
    already imported; the module here stands in for Ray, which does not start on this machine."""

    class Context:
        def get_world_rank(self) -> int:
            return 3

        def get_local_rank(self) -> int:
            return 1

        def get_world_size(self) -> int:
            return 4

        def get_node_rank(self) -> int:
            return 1

    monkeypatch.setitem(sys.modules, "ray.train", type(sys)("ray.train"))
    sys.modules["ray.train"].get_context = Context
    info = detect_rank({})
    assert (info.rank, info.local_rank, info.world_size, info.node_rank, info.launcher) == (3, 1, 4, 1, "ray")
    assert detect_rank({"RANK": "0"}).launcher == "torch"  # Ray Train's torch backend sets RANK too


def test_environment_names_the_innermost_open_run_only_while_it_is_open(tracked: TrackedShell) -> None:
    assert "NBPROV_RUN" not in os.environ
    tracked.run("import nbprov\nouter = nbprov.start_run('outer', energy=False)")
    outer = tracked.shell.user_ns["outer"]
    assert os.environ["NBPROV_RUN"] == outer.id
    assert outer.env() == {
        "NBPROV_RUN": outer.id,
        "NBPROV_JOURNAL_DIR": str(tracked.journal_folder.absolute()),
        "NBPROV_SESSION": nbprov._tracking.session,
    }
    tracked.run(
        "import os\nwith nbprov.run('inner', parent=outer, energy=False) as inner:\n    seen = os.environ['NBPROV_RUN']"
    )
    assert tracked.shell.user_ns["seen"] == tracked.shell.user_ns["inner"].id
    assert os.environ["NBPROV_RUN"] == outer.id  # back to the outer run
    tracked.run("nbprov.end_run()")
    assert not {"NBPROV_RUN", "NBPROV_JOURNAL_DIR", "NBPROV_SESSION"} & set(os.environ)


def test_child_processes_log_into_the_run_as_ranks(tracked: TrackedShell) -> None:
    """Two children with torchrun's variables: each its own journal, all read back merged."""
    tracked.run(
        "import nbprov\nrun = nbprov.start_run('ddp', energy=False, params={'lr': 0.1})\nnbprov.log_metric('loss', 9.0)"
    )
    run = tracked.shell.user_ns["run"]
    nbprov._tracking.flush()
    for rank in (0, 1):
        out = child("1000", env={"RANK": str(rank), "LOCAL_RANK": str(rank), "WORLD_SIZE": "2"}).stdout
        assert f"child done {run.id}" in out
    tracked.run("nbprov.end_run()")
    files = rank_files(tracked.journal_folder)
    assert [path.name.rsplit("-r", 1)[1] for path in files] in (["0.jsonl", "1.jsonl"], ["1.jsonl", "0.jsonl"])
    for path in files:
        records = records_of(path)
        start = records[0]
        assert start["type"] == "kernel_start" and start["hostname"]
        assert start["rank"]["run"] == run.id and start["rank"]["world_size"] == 2
        assert start["rank"]["parent_session"] == nbprov._tracking.session
        assert path.name == f"k-{start['session']}-r{start['rank']['rank']}.jsonl"
        assert [r["seq"] for r in records] == list(range(1, len(records) + 1))
        assert {r["type"] for r in records} >= {"metrics", "param", "context_start", "rank_end"}
        # The kernel wrote the run's start and its code state; a rank journal has neither.
        assert not {"run_start", "run_end", "code_state"} & {r["type"] for r in records}
        points = [
            decode_series(s)["values"].tolist()
            for r in records
            if r["type"] == "metrics"
            for s in r["series"]
            if s["metric"] == "loss"
        ]
        assert sum(points, []) == [1.0 / (step + 1) for step in range(1000)]  # every point logged is kept
        assert records[-1]["type"] == "rank_end" and records[-1]["status"] == "finished"

    document, export_folder = export(tracked.folder)
    activity = run_activity(document, run.id)
    assert activity["nbprov:status"] == "finished"
    # The run's code state, from the kernel's journal: the one entity the run used.
    code_states = [u["prov:entity"] for u in document["used"].values() if u["prov:entity"].startswith("nbprov:code.")]
    assert len(code_states) == 1 and prov_type(document["entity"][code_states[0]]) == "nbprov:CodeState"
    assert [r["rank"] for r in json.loads(activity["nbprov:ranks"])] == [0, 1]
    assert activity["nbprov:world_size"] == 2
    # Parameters once: the kernel's lr and the ranks' seed (logged by both), nothing twice.
    params = sorted(e["prov:label"] for e in document["entity"].values() if prov_type(e) == "provml:Parameter")
    assert params == ["lr", "seed"]
    # One loss series per rank plus the kernel's, each in its own context's (or process's) Zarr table.
    loss = [
        (e.get("nbprov:rank"), e["dcterms:identifier"], e["nbprov:points"])
        for e in metric_entities(document, run.id)
        if e["prov:label"] == "loss"
    ]
    assert sorted((rank if rank is not None else -1, points) for rank, _, points in loss) == [
        (-1, 1),
        (0, 1000),
        (1, 1000),
    ]
    root = zarr.open_group(export_folder / "metrics.zarr", mode="r")
    assert len({group for _, group, _ in loss}) == 3
    for rank, group, points in loss:
        table = root[group]
        assert table.attrs.get("rank") == rank
        [entry] = [m for m in table.attrs["metrics"] if m["name"] == "loss"]
        values = table["values"][entry["start"] : entry["start"] + entry["points"]]
        assert len(values) == points
        if rank is not None:
            assert values.tolist() == [1.0 / (step + 1) for step in range(1000)]
    import prov.model

    read = prov.model.ProvDocument.deserialize(content=json.dumps(document), format="json")
    assert len(read.get_records()) > 0
    # Read back as a DataFrame: every rank's points, each with its rank (the kernel's: NA).
    frame = nbprov.metric(run.id, "loss", path=tracked.folder / "demo.prov")
    assert frame["rank"].isna().sum() == 1  # the kernel's one point
    assert frame["rank"].value_counts().to_dict() == {0: 1000, 1: 1000}
    assert frame[frame["rank"] == 1]["value"].tolist() == [1.0 / (step + 1) for step in range(1000)]


def test_a_failing_rank_fails_the_run_and_is_named(tracked: TrackedShell) -> None:
    tracked.run("import nbprov\nrun = nbprov.start_run('ddp', energy=False)")
    run = tracked.shell.user_ns["run"]
    nbprov._tracking.flush()
    child("10", env={"RANK": "0", "WORLD_SIZE": "2"})
    failed = child("10", "--fail", env={"RANK": "1", "WORLD_SIZE": "2"}, check=False)
    assert failed.returncode == 1 and "rank failed on purpose" in failed.stderr
    tracked.run("nbprov.end_run()")
    document, _ = export(tracked.folder)
    activity = run_activity(document, run.id)
    assert (activity["nbprov:status"], activity["nbprov:status_rank"]) == ("failed", 1)
    assert activity["nbprov:ename"] == "RuntimeError" and "on purpose" in activity["nbprov:evalue"]


def test_forked_children_that_attach_end_as_their_process_does(tracked: TrackedShell) -> None:
    """Forked multiprocessing children (as Accelerate's notebook_launcher forks ranks) that call
    nbprov.attach(): one finishes, one raises, one is wrapped as torch.multiprocessing does
    (the error caught and turned into sys.exit(1))."""
    tracked.run(
        "import multiprocessing, sys, nbprov\n"
        "run = nbprov.start_run('forked', energy=False)\n"
        "def rank(number, how):\n"
        "    nbprov.attach(rank=number, world_size=3)\n"
        "    nbprov.log_metric('loss', float(number))\n"
        "    if how == 'raise':\n"
        "        raise ValueError('rank broke')\n"
        "    if how == 'wrapped':\n"
        "        try:\n"
        "            raise ValueError('hidden')\n"
        "        except ValueError:\n"
        "            sys.exit(1)\n"
        "fork = multiprocessing.get_context('fork')\n"
        "children = [fork.Process(target=rank, args=(n, how)) for n, how in enumerate(['ok', 'raise', 'wrapped'])]\n"
        "[child.start() for child in children]\n"
        "[child.join() for child in children]\n"
        "codes = [child.exitcode for child in children]\n"
        "nbprov.end_run()"
    )
    assert tracked.shell.user_ns["codes"] == [0, 1, 1]
    ends = {}
    for path in rank_files(tracked.journal_folder):
        records = records_of(path)
        ends[records[0]["rank"]["rank"]] = [(r["status"], r["ename"]) for r in records if r["type"] == "rank_end"]
    assert ends == {0: [("finished", None)], 1: [("failed", "ValueError")], 2: [("failed", "SystemExit")]}
    document, _ = export(tracked.folder)
    activity = run_activity(document, tracked.shell.user_ns["run"].id)
    assert (activity["nbprov:status"], activity["nbprov:status_rank"]) == ("failed", 1)


def test_two_processes_claiming_one_rank_are_both_kept_and_flagged(tracked: TrackedShell) -> None:
    tracked.run("import nbprov\nrun = nbprov.start_run('dup', energy=False)")
    run = tracked.shell.user_ns["run"]
    nbprov._tracking.flush()
    child("5", env={"RANK": "0"})
    child("7", env={"RANK": "0"})
    tracked.run("nbprov.end_run()")
    assert len(rank_files(tracked.journal_folder)) == 2
    document, _ = export(tracked.folder)
    activity = run_activity(document, run.id)
    assert activity["nbprov:duplicate_ranks"] is True
    assert [(r["rank"], r.get("duplicate")) for r in json.loads(activity["nbprov:ranks"])] == [(0, True), (0, True)]
    points = sorted(e["nbprov:points"] for e in metric_entities(document, run.id) if e["prov:label"] == "loss")
    assert points == [5, 7]


def test_stale_unknown_and_unreachable_hand_overs(tracked: TrackedShell, tmp_path: Path) -> None:
    tracked.run("import nbprov\nwith nbprov.run('over', energy=False) as over:\n    env = over.env()")
    stale = tracked.shell.user_ns["env"]
    assert "NBPROV_RUN" not in os.environ
    # The run has ended: the child says so, records nothing, and its training goes on.
    result = child("3", env=stale)
    assert "has ended (a stale environment?); this process records nothing" in result.stderr
    assert "child done" in result.stdout
    # A run id no journal here knows.
    result = child("3", env={**stale, "NBPROV_RUN": "e" * 32})
    assert "is not a run recorded in" in result.stderr and "child done" in result.stdout
    # A folder this host cannot see (another node without the shared filesystem).
    result = child("3", env={**stale, "NBPROV_JOURNAL_DIR": str(tmp_path / "not-mounted" / "journal")})
    assert "cannot reach the journal folder" in result.stderr and "child done" in result.stdout
    assert result.stderr.count("nbprov:") == 1  # warned once, however much it logged
    assert rank_files(tracked.journal_folder) == []


def test_read_only_journal_folder_warns_once_and_training_continues(tracked: TrackedShell) -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root for a read-only bind mount")
    tracked.run("import nbprov\nrun = nbprov.start_run('ro', energy=False)")
    nbprov._tracking.flush()
    folder = tracked.journal_folder
    subprocess.run(["mount", "--bind", str(folder), str(folder)], check=True)
    try:
        subprocess.run(["mount", "-o", "remount,bind,ro", str(folder)], check=True)
        result = child("20000")
    finally:
        subprocess.run(["umount", str(folder)], check=True)
    tracked.run("nbprov.end_run()")
    assert "not writable" in result.stderr and result.stderr.count("nbprov:") == 1
    assert "child done" in result.stdout
    assert rank_files(folder) == []


def test_energy_of_a_device_shared_by_two_ranks_counts_once(tracked: TrackedShell) -> None:
    """Two ranks on one host measure the same fake GPU (200 W for 10 s: 2,000 J each); a rank on
    another host has its own. Run total: 4,000 J, not 6,000."""
    tracked.run("import nbprov\nrun = nbprov.start_run('energy', energy=False)")
    run = tracked.shell.user_ns["run"]
    nbprov._tracking.flush()
    bus = "00000000:3B:00.0"
    child("10", "--fake-gpu", bus, "--host", "node-a", env={"RANK": "0", "WORLD_SIZE": "3"})
    child("10", "--fake-gpu", bus, "--host", "node-a", env={"RANK": "1", "WORLD_SIZE": "3"})
    child("10", "--fake-gpu", bus, "--host", "node-b", env={"RANK": "2", "WORLD_SIZE": "3"})
    tracked.run("nbprov.end_run()")
    per_rank = []
    for path in rank_files(tracked.journal_folder):
        readings = [r for r in records_of(path) if r["type"] == "energy" and r["scope"] == "run"]
        per_rank += [(r["device"], round(r["joules"])) for r in readings]
    assert per_rank == [("nvidia:0000:3b:00.0", 2000)] * 3  # each rank measured the whole device
    document, _ = export(tracked.folder)
    activity = run_activity(document, run.id)
    assert activity["provml:energy"] == pytest.approx(4000.0)
    assert json.loads(activity["nbprov:energy_nodes"]) == {
        "node-a": pytest.approx(2000.0),
        "node-b": pytest.approx(2000.0),
    }
    devices = json.loads(activity["nbprov:energy_devices"])
    assert sorted(d["device"].split("/")[0] for d in devices) == ["node-a", "node-b"]


def test_export_ignores_a_rank_journal_of_another_run(tracked: TrackedShell) -> None:
    tracked.run("import nbprov\nrun = nbprov.start_run('one', energy=False)")
    nbprov._tracking.flush()
    child("4")
    tracked.run("nbprov.end_run()")
    [path] = rank_files(tracked.journal_folder)
    # Another run's rank process has a session of its own (a random id), as its file name says.
    session = kernel_session_of(path.name)
    foreign = path.read_text().replace(tracked.shell.user_ns["run"].id, "d" * 32).replace(session, "00000000000000aa")
    (path.parent / "k-00000000000000aa-r0.jsonl").write_text(foreign)
    result = export_cli(tracked.folder)
    assert f"k-00000000000000aa-r0.jsonl:0: rank journal of run {'d' * 32}" in result.stderr + result.stdout
    document = json.loads((tracked.folder / "demo.prov" / "prov.json").read_text())
    points = [
        e["nbprov:points"]
        for e in metric_entities(document, tracked.shell.user_ns["run"].id)
        if e["prov:label"] == "loss"
    ]
    assert points == [4]  # the foreign copy added nothing
