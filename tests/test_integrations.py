"""Framework integrations driving real, tiny CPU trainings (no downloads): Lightning, Hugging Face
``Trainer`` and Keras. Each test records what the framework handed to its loggers/callbacks next to
nbprov's, and checks the journal against it point by point."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from conftest import TrackedShell

from nbprov.journal import decode_series

REPO_ROOT = Path(__file__).resolve().parent.parent


def run_cell(tracked: TrackedShell, source: str) -> None:
    result = tracked.run(textwrap.dedent(source))
    assert result.error_in_exec is None, repr(result.error_in_exec)


def runs_by_name(records: list[dict]) -> dict[str, list[dict]]:
    by_name: dict[str, list[dict]] = {}
    for record in records:
        if record["type"] == "run_start":
            by_name.setdefault(record["name"], []).append(record)
    return by_name


def run_records(records: list[dict], run_id: str, record_type: str) -> list[dict]:
    return [r for r in records if r["type"] == record_type and r.get("run") == run_id]


def points_by_context(records: list[dict], run_id: str) -> dict[tuple[str | None, str], list[tuple]]:
    """(context name, metric) -> [(step, value, epoch)] of one run, in journal order."""
    names = {r["ctx"]: r["name"] for r in run_records(records, run_id, "context_start")}
    points: dict[tuple[str | None, str], list[tuple]] = {}
    for record in run_records(records, run_id, "metrics"):
        for series in record["series"]:
            decoded = decode_series(series)
            into = points.setdefault((names.get(series["ctx"]), series["metric"]), [])
            into += zip(decoded["steps"].tolist(), decoded["values"].tolist(), decoded["epochs"].tolist(), strict=True)
    return points


def end_of(records: list[dict], run_id: str) -> dict:
    (end,) = run_records(records, run_id, "run_end")
    return end


def test_import_nbprov_imports_no_framework() -> None:
    code = (
        "import sys, nbprov, nbprov.integrations\n"
        "heavy = {'torch', 'lightning', 'transformers', 'keras'} & {m.split('.')[0] for m in sys.modules}\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO_ROOT)


def test_missing_framework_names_the_extra(tmp_path: Path) -> None:
    # A folder that shadows the framework with a package that fails to import, as an absent one does.
    for name in ("lightning", "transformers", "keras"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "__init__.py").write_text(f"raise ImportError('No module named {name}')\n")
    for name in ("lightning", "transformers", "keras"):
        result = subprocess.run(
            [sys.executable, "-c", f"import nbprov.integrations.{name}"],
            cwd=REPO_ROOT,
            env={"PYTHONPATH": str(tmp_path), "PATH": "/usr/bin:/bin"},
            capture_output=True,
            text=True,
        )
        assert result.returncode == 1
        assert f"pip install 'nbprov[{name}]'" in result.stderr, result.stderr


# Lightning

LIGHTNING_MODEL = """
import copy, torch, lightning.pytorch as pl
from torch.utils.data import DataLoader, TensorDataset
from lightning.pytorch.loggers import Logger
from nbprov.integrations.lightning import NbprovLogger

torch.manual_seed(0)

def loader(n):
    return DataLoader(TensorDataset(torch.randn(n, 4), torch.randn(n, 1)), batch_size=4)

class Tiny(pl.LightningModule):
    def __init__(self, lr=0.05, hidden=8, optimizer={'name': 'sgd', 'momentum': 0.0}, fail_at=None):
        super().__init__()
        self.save_hyperparameters()
        self.net = torch.nn.Sequential(torch.nn.Linear(4, hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, 1))

    def loss(self, batch):
        x, y = batch
        return torch.nn.functional.mse_loss(self.net(x), y)

    def training_step(self, batch, index):
        if self.hparams.fail_at == self.global_step:
            raise RuntimeError('diverged')
        loss = self.loss(batch)
        self.log('train_loss', loss, on_step=True, on_epoch=True)
        self.log('lr', self.hparams.lr, on_step=True, on_epoch=False)
        return loss

    def validation_step(self, batch, index):
        self.log('val/mse', self.loss(batch))

    def test_step(self, batch, index):
        self.log('loss/test', self.loss(batch))

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=self.hparams.lr)

class Recorder(Logger):
    '''What Lightning hands its loggers, to compare nbprov's record with.'''
    def __init__(self):
        super().__init__()
        self.calls, self.hparams = [], []
    name = 'recorder'
    version = 0
    def log_metrics(self, metrics, step=None):
        self.calls.append((copy.deepcopy(metrics), step))
    def log_hyperparams(self, params, *args, **kwargs):
        self.hparams.append(dict(params))

def trainer(logger, recorder, epochs=2):
    return pl.Trainer(
        logger=[logger, recorder], max_epochs=epochs, log_every_n_steps=1, accelerator='cpu', devices=1,
        enable_progress_bar=False, enable_model_summary=False, enable_checkpointing=False,
    )
"""

LIGHTNING_CONTEXTS = {"train": "training", "val": "validation", "test": "testing"}


def expected_lightning_points(calls: list) -> dict[tuple[str | None, str], list[tuple]]:
    """What Lightning logged, mapped by the documented key rules, with its epoch on every point."""
    expected: dict[tuple[str | None, str], list[tuple]] = {}
    for metrics, step in calls:
        epoch = metrics.get("epoch", -1)
        for key, value in metrics.items():
            if key == "epoch":
                continue
            if key.startswith("train_"):
                context, name = "training", key[len("train_") :]
            elif "/" in key:
                first, second = key.split("/")
                context, name = (
                    (LIGHTNING_CONTEXTS[first], second)
                    if first in LIGHTNING_CONTEXTS
                    else (
                        LIGHTNING_CONTEXTS[second],
                        first,
                    )
                )
            else:
                context, name = None, key
            expected.setdefault((context, name), []).append((step, value, int(epoch)))
    return expected


def assert_points_match(got: dict, expected: dict) -> None:
    assert got.keys() == expected.keys()
    for key, points in expected.items():
        assert [(s, e) for s, _, e in got[key]] == [(s, e) for s, _, e in points], key
        assert [v for _, v, _ in got[key]] == pytest.approx([v for _, v, _ in points], rel=1e-12), key


def test_lightning_logger_records_its_own_run_per_stage(tracked: TrackedShell) -> None:
    pytest.importorskip("lightning")
    run_cell(tracked, LIGHTNING_MODEL)
    run_cell(
        tracked,
        """
        logger, recorder = NbprovLogger(name='tiny', experiment='lightning', tags={'suite': 'ci'}), Recorder()
        model = Tiny()
        fit = trainer(logger, recorder)
        fit.fit(model, loader(16), loader(8))
        fit_calls, fit_version = list(recorder.calls), logger.version
        fit.test(model, loader(8))
        test_calls = recorder.calls[len(fit_calls):]
        """,
    )
    ns = tracked.shell.user_ns
    records = tracked.records()
    fit_run, test_run = runs_by_name(records)["tiny"]  # the fit run ended with fit: test has a run of its own
    assert (ns["fit_version"], ns["logger"].version) == (fit_run["run"], test_run["run"])
    assert fit_run["experiment"] == "lightning" and fit_run["parent"] is None
    assert [(t["key"], t["value"]) for t in run_records(records, fit_run["run"], "tag")] == [("suite", "ci")]
    params = {p["key"]: p["value"] for p in run_records(records, fit_run["run"], "param")}
    assert params == {"lr": 0.05, "hidden": 8, "optimizer/name": "sgd", "optimizer/momentum": 0.0, "fail_at": None}
    assert len(run_records(records, fit_run["run"], "param")) == 5  # each once, though Lightning logs them per stage

    fit_points = points_by_context(records, fit_run["run"])
    assert_points_match(fit_points, expected_lightning_points(ns["fit_calls"]))
    logged = sum(len(metrics) - ("epoch" in metrics) for metrics, _ in ns["fit_calls"])
    assert sum(len(p) for p in fit_points.values()) == logged
    # 16 samples in batches of 4 for 2 epochs: 8 optimizer steps, each with its loss and lr.
    assert [(s, e) for s, _, e in fit_points[("training", "loss_step")]] == [(s, s // 4) for s in range(8)]
    assert [e for _, _, e in fit_points[("validation", "mse")]] == [0, 1]
    assert [e for _, _, e in fit_points[("training", "loss_epoch")]] == [0, 1]
    assert len(fit_points[(None, "lr")]) == 8
    contexts = [(c["name"], c["epoch"]) for c in run_records(records, fit_run["run"], "context_start")]
    assert sorted(contexts) == [("training", 0), ("training", 1), ("validation", 0), ("validation", 1)]
    assert end_of(records, fit_run["run"])["status"] == "finished"

    test_points = points_by_context(records, test_run["run"])
    assert_points_match(test_points, expected_lightning_points(ns["test_calls"]))
    assert list(test_points) == [("testing", "loss")] and len(test_points[("testing", "loss")]) == 1
    assert end_of(records, test_run["run"])["status"] == "finished"


def test_lightning_logger_logs_into_a_run_open_across_cells(tracked: TrackedShell) -> None:
    pytest.importorskip("lightning")
    run_cell(tracked, LIGHTNING_MODEL)
    run_cell(tracked, "import nbprov\nouter = nbprov.start_run('study', params={'data': 'random'})\n")
    run_cell(tracked, "logger, recorder = NbprovLogger(name='unused'), Recorder()\nmodel = Tiny(lr=0.1)\n")
    run_cell(tracked, "fit = trainer(logger, recorder)\nfit.fit(model, loader(16), loader(8))\n")
    run_cell(tracked, "assert logger.version == outer.id and outer.status == 'running'\nfit.test(model, loader(8))\n")
    run_cell(tracked, "nbprov.end_run()\n")
    records = tracked.records()
    assert list(runs_by_name(records)) == ["study"]
    run_id = tracked.shell.user_ns["outer"].id
    params = {p["key"]: p["value"] for p in run_records(records, run_id, "param")}
    assert params["data"] == "random" and params["lr"] == 0.1
    got = points_by_context(records, run_id)
    assert_points_match(got, expected_lightning_points(tracked.shell.user_ns["recorder"].calls))
    assert {context for context, _ in got} == {"training", "validation", "testing", None}
    (end,) = run_records(records, run_id, "run_end")
    assert end["status"] == "finished"
    # The run's record says which cells fed it: the fit cell and the test cell.
    execs = [r["exec"] for r in records if r["type"] == "exec_start"]
    assert [r["exec"] for r in run_records(records, run_id, "run_exec")] == [execs[3], execs[4]]


def test_lightning_training_that_raises_fails_its_run(tracked: TrackedShell) -> None:
    pytest.importorskip("lightning")
    run_cell(tracked, LIGHTNING_MODEL)
    result = tracked.run(
        "logger, recorder = NbprovLogger(name='diverging'), Recorder()\n"
        "trainer(logger, recorder).fit(Tiny(fail_at=5), loader(16), loader(8))\n"
    )
    assert isinstance(result.error_in_exec, RuntimeError)
    records = tracked.records()
    (run,) = runs_by_name(records)["diverging"]
    end = end_of(records, run["run"])
    assert (end["status"], end["ename"], end["evalue"]) == ("failed", "RuntimeError", "diverged")
    got = points_by_context(records, run["run"])
    assert_points_match(got, expected_lightning_points(tracked.shell.user_ns["recorder"].calls))
    assert [s for s, _, _ in got[("training", "loss_step")]] == [0, 1, 2, 3, 4]


def test_lightning_logger_records_nothing_off_rank_zero(tracked: TrackedShell) -> None:
    pytest.importorskip("lightning")
    run_cell(
        tracked,
        """
        from lightning.pytorch.utilities.rank_zero import rank_zero_only
        from nbprov.integrations.lightning import NbprovLogger
        logger = NbprovLogger(name='rank1')
        rank_zero_only.rank = 1
        try:
            logger.log_hyperparams({'lr': 0.1})
            logger.log_metrics({'train_loss': 1.0, 'epoch': 0}, step=0)
            logger.finalize('success')
            experiment = logger.experiment
        finally:
            rank_zero_only.rank = 0
        """,
    )
    assert type(tracked.shell.user_ns["experiment"]).__name__ == "_DummyExperiment"
    assert tracked.records("run_start") == []
