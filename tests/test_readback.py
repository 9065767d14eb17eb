"""Reading runs back: nbprov.runs(), nbprov.metric(), nbprov.load() and `nbprov runs`, checked against
what real kernels logged; filters; a project scan over several notebooks with unreadable .prov folders."""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
from kernels import Kernel, journal_records

import nbprov

pd = pytest.importorskip("pandas")
pytestmark = pytest.mark.skipif(shutil.which("node") is None, reason="needs Node.js")

T0 = 1_700_000_000_000
SETUP = "import json, math, nbprov\n%load_ext nbprov"
# A run open across three cells (params of every kind, tags, a context with epochs, an interrupt-free
# error in the middle cell that leaves it open), then a nested sweep and a failed run.
CELLS = [
    """
r = nbprov.start_run(name="multi", experiment="exp", params={"lr": 0.1, "big": 2**60 + 1, "opt": "adam",
    "flag": True, "gamma": float("nan"), "whole": 2.0}, tags={"team": "vision"})
for i in range(10):
    nbprov.log_metric("loss", 1 / (i + 1), step=10 * i, timestamp=T0 + i)
""",
    """
for epoch in range(3):
    with r.context("training", epoch=epoch):
        for i in range(4):
            r.log_metric("acc", epoch + i / 10, timestamp=T0 + 100 * epoch + i)
r.log_metric("loss", float("nan"), step=1000, timestamp=T0 + 1000)
raise ValueError("the middle cell fails; the run stays open")
""",
    """
r.log_param("score", 0.75, role="output")
nbprov.end_run()
with nbprov.run(name="sweep", experiment="exp") as parent:
    for lr in (0.001, 0.01):
        with nbprov.run(name=f"child-{lr}", experiment="exp", params={"lr": lr}, parent=parent) as child:
            child.log_metric("loss", lr * 10)
try:
    with nbprov.run(name="broken", experiment="other", params={"lr": 0.5}):
        raise KeyError("boom")
except KeyError:
    pass
""",
]


def run_cells(kernel: Kernel) -> None:
    kernel.ok(SETUP)
    kernel.ok(f"T0 = {T0}")
    kernel.ok(CELLS[0])
    reply, text = kernel.run(CELLS[1])
    assert reply["status"] == "error" and "the middle cell fails" in text
    kernel.ok(CELLS[2])
    kernel.ok("nbprov._tracking.flush()")


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three notebooks in a project: train.ipynb (the cells above), sub/train_v2.ipynb, sub/deep/eval.ipynb."""
    root = tmp_path_factory.mktemp("project")
    with Kernel(root, "train.ipynb") as kernel:
        run_cells(kernel)
    for folder, notebook, lr in ((root / "sub", "train_v2.ipynb", 0.2), (root / "sub" / "deep", "eval.ipynb", 0.3)):
        folder.mkdir(parents=True)
        with Kernel(folder, notebook) as kernel:
            kernel.ok(SETUP)
            kernel.ok(
                f"with nbprov.run(name={notebook!r}, experiment='exp', params={{'lr': {lr}}}) as r:\n"
                "    for i in range(5): r.log_metric('loss', 1 - i / 10)"
            )
    return root


@pytest.fixture(autouse=True)
def private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NBPROV_CACHE_DIR", str(tmp_path / "cache"))


def test_load_reads_runs_as_logged(project: Path) -> None:
    frame = nbprov.load(project / "train.prov").runs()
    assert list(frame["name"]) == ["multi", "sweep", "child-0.001", "child-0.01", "broken"]
    multi = frame.set_index("name").loc["multi"]
    assert multi["status"] == "finished"  # the failing middle cell left it open
    assert multi["experiment"] == "exp" and multi["tags.team"] == "vision"
    assert multi["params.lr"] == 0.1 and multi["params.opt"] == "adam" and bool(multi["params.flag"]) is True
    assert multi["params.big"] == 2**60 + 1  # exact, not a double
    assert frame["params.big"].dtype == "Int64"
    assert math.isnan(multi["params.gamma"]) and frame["params.whole"].dtype == "float64"
    assert multi["outputs.score"] == 0.75
    # Last value logged, min and max ignoring NaN; a context enters the name as its path.
    assert math.isnan(multi["metrics.loss"]) and multi["metrics.loss.min"] == 0.1 and multi["metrics.loss.max"] == 1
    assert multi["metrics.training/acc"] == pytest.approx(2.3)
    assert (multi["metrics.training/acc.min"], multi["metrics.training/acc.max"]) == (0, pytest.approx(2.3))
    assert multi["notebook"] == "train.ipynb" and multi["folder"] == str(project / "train.prov")
    assert multi["duration"] > 0 and multi["end"] > multi["start"]
    assert isinstance(multi["start"], pd.Timestamp) and str(multi["start"].tz) == "UTC"
    assert pd.isna(multi["energy"]) and multi["energy.reason"] == "energy was not measured for this run"

    records = journal_records(project / "train.prov" / "journal")
    starts = {r["name"]: r for r in records if r["type"] == "run_start"}
    assert multi["id"] == starts["multi"]["run"] and multi["exec"] == starts["multi"]["exec"]
    children = frame[frame["parent"].notna()]
    assert set(children["name"]) == {"child-0.001", "child-0.01"}
    assert set(children["parent"]) == {starts["sweep"]["run"]}
    assert frame.set_index("name").loc["broken", "status"] == "failed"


def test_metric_gives_the_logged_points_by_step(project: Path) -> None:
    provenance = nbprov.load(project / "train.prov")
    frame = provenance.runs()
    multi = frame[frame["name"] == "multi"].iloc[0]
    loss = provenance.metric(multi, "loss")
    assert loss.index.name == "step" and list(loss.index) == [10 * i for i in range(10)] + [1000]
    assert list(loss["value"][:10]) == [1 / (i + 1) for i in range(10)] and math.isnan(loss["value"].iloc[-1])
    milliseconds = (loss["time"] - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(milliseconds=1)
    assert list(milliseconds) == [T0 + i for i in range(10)] + [T0 + 1000]
    assert loss["epoch"].isna().all() and set(loss["context"]) == {""}
    acc = nbprov.metric(multi, "acc")  # a row names its folder: no kernel's notebook needed
    assert list(acc["epoch"]) == [0] * 4 + [1] * 4 + [2] * 4 and set(acc["context"]) == {"training"}
    assert list(acc["value"]) == pytest.approx([e + i / 10 for e in range(3) for i in range(4)])
    assert list(acc.index) == list(range(12))
    by_prefix = provenance.metric(multi["id"][:10], "acc", context="training")
    assert by_prefix.equals(acc)
    with pytest.raises(ValueError, match=r'no metric "acc" in context "validation"; it logged: loss'):
        provenance.metric(multi, "acc", context="validation")
    with pytest.raises(ValueError, match="no run"):
        provenance.metric("0" * 32, "loss")


def test_filters(project: Path) -> None:
    provenance = nbprov.load(project / "train.prov")
    names = lambda expression: list(provenance.runs(filter=expression)["name"])  # noqa: E731
    assert names("params.lr > 0.005 and status = 'finished'") == ["multi", "child-0.01"]
    assert names("params.lr >= 0.01 or status = 'failed'") == ["multi", "child-0.01", "broken"]
    assert names("params.big = 1152921504606846977") == ["multi"]
    assert names("name like 'child-%' and not params.lr = 0.001") == ["child-0.01"]
    assert names("tags.team in ('vision', 'nlp')") == ["multi"]
    assert names("metrics.training/acc.max > 2") == ["multi"]
    assert names("parent is null and experiment = 'exp'") == ["multi", "sweep"]
    assert list(provenance.runs(experiment="other")["name"]) == ["broken"]
    assert names("params.lr > 99") == []
    with pytest.raises(ValueError, match=r"expected a value .* at character 12") as syntax:
        provenance.runs(filter="params.lr >> 0.01")
    assert "^" in str(syntax.value)
    with pytest.raises(ValueError, match=r"unterminated string"):
        provenance.runs(filter="status = 'finished")
    with pytest.raises(ValueError, match=r'unknown field "params.lrr"') as unknown:
        provenance.runs(filter="params.lrr > 0.01")
    assert "available columns: id, name" in str(unknown.value) and "params.lr," in str(unknown.value)


def test_project_scan_skips_unreadable_prov_folders_with_a_warning(project: Path, tmp_path: Path) -> None:
    root = tmp_path / "copy"
    shutil.copytree(project, root, symlinks=True)
    (root / "sub" / "corrupt.prov" / "journal").mkdir(parents=True)
    (root / "sub" / "corrupt.prov" / "journal" / "k-0.jsonl").write_bytes(b"\x00\xff garbage\n{\n")
    (root / "sub" / "nojournal.prov").mkdir()
    (root / "gone.prov").symlink_to(root / "deleted")
    with pytest.warns(UserWarning) as caught:
        frame = nbprov.runs(path=root, recursive=True)
    messages = sorted(str(w.message) for w in caught)
    assert messages == [
        "nbprov: gone.prov: skipped: missing (a broken link or not a folder)",
        "nbprov: sub/corrupt.prov: skipped: its journal holds no readable record (2 lines skipped)",
        "nbprov: sub/nojournal.prov: skipped: no journal/ folder (missing or not a .prov folder)",
    ]
    assert len(frame) == 7
    assert sorted(set(frame["notebook"])) == ["sub/deep/eval.ipynb", "sub/train_v2.ipynb", "train.ipynb"]
    # Without --recursive only the folder's own .prov folders.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert set(nbprov.runs(path=root)["notebook"]) == {"train.ipynb"}
    # Compare a run of train_v2.ipynb with one of train.ipynb: one table, each row's series.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        both = nbprov.load(root).runs(filter="name in ('train_v2.ipynb', 'child-0.01')")
    assert list(both["notebook"]) == ["sub/train_v2.ipynb", "train.ipynb"]  # folders in path order
    series = [nbprov.metric(row, "loss")["value"].tolist() for _, row in both.iterrows()]
    assert series == [pytest.approx([1, 0.9, 0.8, 0.7, 0.6]), [0.1]]
    # The same table from the command line, as CSV.
    csv = subprocess.run(
        [sys.executable, "-m", "nbprov", "runs", str(root), "--recursive", "--format", "csv"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert len(csv.stdout.strip().splitlines()) == 8 and "sub/corrupt.prov: skipped" in csv.stderr


def test_runs_in_the_kernel_include_the_live_session(tmp_path: Path) -> None:
    with Kernel(tmp_path, "live.ipynb") as kernel:
        kernel.ok(SETUP)
        kernel.ok("r = nbprov.start_run(name='open', params={'lr': 0.1})\nnbprov.log_metric('loss', 0.5)")
        # No flush by hand: runs() flushes the live journal first.
        text = kernel.ok(
            "frame = nbprov.runs()\n"
            "print(json.dumps([frame['name'].tolist(), frame['status'].tolist(), frame['metrics.loss'].tolist()]))\n"
            "print(json.dumps(nbprov.metric(r, 'loss')['value'].tolist()))"
        )
        assert text.splitlines()[-2:] == ['[["open"], ["running"], [0.5]]', "[0.5]"]
        kernel.ok("nbprov.end_run()")
        text = kernel.ok("print(nbprov.runs(filter=\"status = 'finished'\")['name'].tolist())")
        assert text.strip() == "['open']"


def test_load_refuses_what_it_cannot_read(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no such file or folder"):
        nbprov.load(tmp_path / "absent")
    export_only = tmp_path / "x.prov"
    export_only.mkdir()
    (export_only / "prov.json").write_text("{}")
    with pytest.raises(ValueError, match="without its journal"):
        nbprov.load(export_only)
    with pytest.raises(TypeError, match="run must be a run id"):
        nbprov.load(tmp_path).metric(42, "loss")


def test_an_export_reads_back_and_its_series_open_in_xarray(project: Path, tmp_path: Path) -> None:
    xarray = pytest.importorskip("xarray")
    root = tmp_path / "exported"
    shutil.copytree(project, root)
    (root / "train.ipynb").write_text(json.dumps({"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    export = [sys.executable, "-m", "nbprov", "export", str(root / "train.ipynb")]
    subprocess.run(export, check=True, capture_output=True)
    provenance = nbprov.load(root / "train.prov")  # the export keeps its journal beside prov.json
    multi = provenance.runs(filter="name = 'multi'").iloc[0]
    group = json.loads((root / "train.prov" / "prov.json").read_text())["entity"]
    path = next(
        node["dcterms:identifier"]
        for node in group.values()
        if node.get("prov:label") == "acc" and node.get("dcterms:identifier", "").startswith(multi["id"])
    )
    # The context's table: the series is the `metrics` entry bearing its name, a slice of `point`.
    table = xarray.open_zarr(root / "train.prov" / "metrics.zarr" / path, consolidated=False)
    (entry,) = [m for m in table.attrs["metrics"] if m["name"] == "acc"]
    rows = table["values"].isel(point=slice(entry["start"], entry["start"] + entry["points"]))
    assert set(rows["metric"].values) == {table.attrs["metrics"].index(entry)}
    data = rows.swap_dims(point="steps")
    assert data.dims == ("steps",)
    assert list(data["steps"].values) == list(provenance.metric(multi, "acc").index)
    assert list(data["epochs"].values) == [0] * 4 + [1] * 4 + [2] * 4
    assert list(data.values) == pytest.approx(list(provenance.metric(multi, "acc")["value"]))


def test_public_api_and_a_clear_message_without_pandas(tmp_path: Path) -> None:
    public = dir(nbprov)
    assert public == sorted(nbprov.__all__)
    for internal in ("os", "re", "socket", "sys", "CommStream", "JournalWriter", "Path", "read_runs"):
        assert internal not in public
    assert {"runs", "metric", "load", "start_run", "end_run", "run"} <= set(public)
    assert all(callable(getattr(nbprov, name)) or name == "__version__" for name in nbprov.__all__)
    script = (
        "import sys; sys.modules['pandas'] = None\n"
        "import nbprov\n"
        f"try:\n    nbprov.load({str(tmp_path)!r}).runs()\n"
        "except ImportError as error:\n    print(error)\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=os.environ)
    assert "pip install 'nbprov[pandas]'" in result.stdout, result.stderr


def test_a_large_table_arrives_whole(tmp_path: Path) -> None:
    """Thousands of runs (a table of megabytes): the CLI's output must reach Python whole through its pipe."""
    journal = tmp_path / "big.prov" / "journal"
    journal.mkdir(parents=True)
    t = "2025-01-02T03:04:05.000+00:00"
    start = {"session": "s", "kernel_id": None, "pid": 1, "hostname": "h", "python": "3", "nbprov_version": "0"}
    lines = [{"type": "kernel_start", "t": t, **start, "notebook": "big.ipynb", "user": "u"}]
    for n in range(3000):
        run = f"{n:032x}"
        lines += [
            {"type": "run_start", "t": t, "run": run, "name": f"run {n} " + "x" * 200, "experiment": "e"}
            | {"exec": None, "code": None, "energy": False, "parent": None},
            {"type": "param", "t": t, "run": run, "key": "n", "value": n, "value_type": "int", "role": "input"},
            {"type": "run_end", "t": t, "run": run, "status": "finished"},
        ]
    (journal / "k-s.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))
    frame = nbprov.load(tmp_path / "big.prov").runs()
    assert len(frame) == 3000 and list(frame["params.n"]) == list(range(3000))
    last = nbprov.load(tmp_path / "big.prov").runs(filter="params.n >= 2990")
    assert list(last["params.n"]) == list(range(2990, 3000))


def test_the_readme_example_runs(tmp_path: Path) -> None:
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    section = readme[readme.index("### Reading runs back") :]
    example = section[section.index("```python\n") + len("```python\n") : section.index("```\n", 10)]
    folder = tmp_path / "project"
    folder.mkdir()
    with Kernel(folder, "train.ipynb") as kernel:
        kernel.ok(SETUP)
        kernel.ok(
            "with nbprov.run(name='trial', experiment='sweep', params={'lr': 0.1}) as r:\n"
            "    for i in range(3):\n"
            "        r.log_metric('loss', 1 / (i + 1))\n"
            "        with r.context('training'):\n"
            "            r.log_metric('acc', i / 3)"
        )
        kernel.ok("import matplotlib\nmatplotlib.use('Agg')")
        kernel.ok(example)
        text = kernel.ok("print(len(best), list(loss['value']), len(everything), len(sweep))")
    assert text.strip() == "1 [1.0, 0.5, 0.3333333333333333] 1 1"
