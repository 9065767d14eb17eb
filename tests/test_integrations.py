"""Framework integrations driving real, tiny CPU trainings (no downloads): Lightning, Hugging Face
``Trainer`` and Keras. Each test records what the framework handed to its loggers/callbacks next to
nbprov's, and checks the journal against it point by point."""

from __future__ import annotations

import importlib.util
import json
import math
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from conftest import TrackedShell
from kernels import Kernel, journal_records

from nbprov.framing import decode_series

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


def test_lightning_run_exports_with_its_epochs_and_series(tracked: TrackedShell) -> None:
    pytest.importorskip("lightning")
    zarr = pytest.importorskip("zarr")
    notebook = {"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    (tracked.folder / "demo.ipynb").write_text(json.dumps(notebook))
    run_cell(tracked, LIGHTNING_MODEL)
    run_cell(
        tracked,
        "import nbprov\nlogger, recorder = NbprovLogger(name='exported'), Recorder()\n"
        "trainer(logger, recorder).fit(Tiny(), loader(16), loader(8))\nprov_path = nbprov.export()\n",
    )
    run_id = tracked.shell.user_ns["logger"].version
    raw = json.loads(Path(tracked.shell.user_ns["prov_path"]).read_text())
    activities = [a for a in raw["activity"].values() if a.get("nbprov:ctx") is not None]
    assert sorted((a["prov:type"]["$"], a["prov:label"], a["nbprov:epoch"]) for a in activities) == [
        ("provml:Epoch", "training", 0),
        ("provml:Epoch", "training", 1),
        ("provml:Epoch", "validation", 0),
        ("provml:Epoch", "validation", 1),
    ]
    params = {
        e["prov:label"]: e.get("prov:value")
        for e in raw["entity"].values()
        if e.get("prov:type", {}).get("$") == "provml:Parameter"
    }
    assert params["lr"] == 0.05 and params["optimizer/name"] == "sgd"
    # Every series of the run in metrics.zarr holds what Lightning logged, with steps and epochs.
    expected = expected_lightning_points(tracked.shell.user_ns["recorder"].calls)
    root = zarr.open_group(tracked.folder / "demo.prov" / "metrics.zarr", mode="r")
    found = {}
    for _, table in root[run_id].groups():
        for entry in table.attrs["metrics"]:
            part = slice(entry["start"], entry["start"] + entry["points"])
            arrays = (table[name][part].tolist() for name in ("steps", "values", "epochs"))
            found[(table.attrs["context"], entry["name"])] = list(zip(*arrays, strict=True))
    assert_points_match(found, expected)


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


def test_lightning_fit_interrupted_in_a_real_kernel_ends_its_run_interrupted(tmp_path: Path) -> None:
    pytest.importorskip("lightning")
    journal = tmp_path / "train.prov" / "journal"
    slow = "class Slow(Tiny):\n    def training_step(self, batch, index):\n        time.sleep(0.02)\n"
    slow += "        return super().training_step(batch, index)\n"
    with Kernel(tmp_path) as kernel:
        kernel.ok("%load_ext nbprov\nimport json, time, nbprov\n" + LIGHTNING_MODEL + slow, timeout=300)
        msg_id = kernel.start(
            "recorder, logger = Recorder(), NbprovLogger(name='slow')\n"
            "fit = trainer(logger, recorder, epochs=1000)\n"
            "fit.loggers = [recorder, logger]  # an interrupt inside nbprov's call: the recorder has it whole\n"
            "fit.fit(Slow(), loader(64), loader(8))\n"
        )
        deadline = time.monotonic() + 120
        while sum(r["type"] == "metrics" for r in journal_records(journal, tolerant=True)) < 5:
            assert time.monotonic() < deadline, "no metrics reached the journal"
            time.sleep(0.2)
        kernel.interrupt()
        kernel.finish(msg_id)  # Lightning handles it: finalize('failed'), then SystemExit(1)
        calls = json.loads(kernel.ok("print(json.dumps(recorder.calls))"))
        kernel.ok("nbprov._tracking.flush()")
        records = journal_records(journal)
    (run,) = runs_by_name(records)["slow"]
    end = end_of(records, run["run"])
    assert (end["status"], end["ename"]) == ("interrupted", "KeyboardInterrupt")
    # Every point Lightning handed over is kept, but for the rest of a call the interrupt cut.
    got = points_by_context(records, run["run"])
    whole, but_last = expected_lightning_points(calls), expected_lightning_points(calls[:-1])
    assert got.keys() <= whole.keys()
    for key, points in whole.items():
        kept = got.get(key, [])
        assert len(but_last.get(key, [])) <= len(kept) and [p[:1] + p[2:] for p in kept] == [
            p[:1] + p[2:] for p in points[: len(kept)]
        ], key
    assert len(got[("training", "loss_step")]) >= 5


def test_lightning_logger_skips_values_that_are_not_numbers(tracked: TrackedShell) -> None:
    pytest.importorskip("lightning")
    run_cell(
        tracked,
        """
        import warnings
        from nbprov.integrations.lightning import NbprovLogger
        logger = NbprovLogger(name='mixed')
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter('always')
            for step in range(3):
                logger.log_metrics({'train_loss': 1.0 / (step + 1), 'note': 'text', 'nan': float('nan')}, step=step)
        logger.finalize('success')
        messages = [str(w.message) for w in caught]
        """,
    )
    assert [m for m in tracked.shell.user_ns["messages"] if "'note'" in m] == [
        "nbprov: metric 'note' is not a number (str); not recorded"
    ]
    records = tracked.records()
    (run,) = runs_by_name(records)["mixed"]
    got = points_by_context(records, run["run"])
    assert got.keys() == {("training", "loss"), (None, "nan")}
    assert [(s, v) for s, v, _ in got[("training", "loss")]] == [(0, 1.0), (1, 0.5), (2, 1 / 3)]
    assert all(math.isnan(v) for _, v, _ in got[(None, "nan")]) and len(got[(None, "nan")]) == 3


# Hugging Face Transformers

TRANSFORMERS_SETUP = """
import copy, torch, transformers
from nbprov.integrations.transformers import NbprovCallback

class Recorder(transformers.TrainerCallback):
    '''What the Trainer hands its callbacks, to compare nbprov's record with.'''
    def __init__(self):
        self.logs, self.evaluations = [], []
    def on_log(self, args, state, control, logs=None, **kwargs):
        self.logs.append((copy.deepcopy(logs), state.global_step, state.epoch))
    def on_evaluate(self, args, state, control, metrics=None, **kwargs):
        self.evaluations.append((copy.deepcopy(metrics), state.global_step, state.epoch))

class Random(torch.utils.data.Dataset):
    def __init__(self, n, seed):
        generator = torch.Generator().manual_seed(seed)
        self.ids = torch.randint(0, 50, (n, 8), generator=generator)
        self.labels = torch.randint(0, 2, (n,), generator=generator)
    def __len__(self):
        return len(self.labels)
    def __getitem__(self, i):
        return {'input_ids': self.ids[i], 'attention_mask': torch.ones(8, dtype=torch.long), 'labels': self.labels[i]}

class Diverge(transformers.TrainerCallback):
    def __init__(self, error):
        self.error = error
    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step == 3:
            raise self.error

def make_trainer(callbacks, output_dir):
    torch.manual_seed(0)
    config = transformers.BertConfig(
        vocab_size=50, hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32,
        max_position_embeddings=16, num_labels=2,
    )
    args = transformers.TrainingArguments(
        output_dir=output_dir, num_train_epochs=2, per_device_train_batch_size=4, per_device_eval_batch_size=4,
        learning_rate=1e-3, logging_steps=1, eval_strategy='epoch', save_strategy='no', report_to='none',
        use_cpu=True, disable_tqdm=True, seed=7,
    )
    model = transformers.BertForSequenceClassification(config)
    return transformers.Trainer(
        model=model, args=args, train_dataset=Random(16, 1), eval_dataset=Random(8, 2), callbacks=callbacks
    )
"""


def hf_epoch(epoch: float) -> int:
    return max(0, math.ceil(epoch) - 1)


def test_transformers_callback_records_training_and_evaluation(tracked: TrackedShell, tmp_path: Path) -> None:
    pytest.importorskip("transformers")
    run_cell(tracked, TRANSFORMERS_SETUP)
    run_cell(
        tracked,
        f"""
        recorder, callback = Recorder(), NbprovCallback(name='bert-tiny', experiment='hf')
        trainer = make_trainer([callback, recorder], {str(tmp_path / "out")!r})
        trainer.train()
        train_logs, train_evaluations = list(recorder.logs), list(recorder.evaluations)
        trainer.evaluate(metric_key_prefix='test')
        """,
    )
    ns = tracked.shell.user_ns
    records = tracked.records()
    train_run, evaluate_run = runs_by_name(records)["bert-tiny"]
    params = {(p["key"], p["role"]): p["value"] for p in run_records(records, train_run["run"], "param")}
    assert params[("learning_rate", "input")] == 1e-3 and params[("num_train_epochs", "input")] == 2
    assert params[("per_device_train_batch_size", "input")] == 4 and params[("seed", "input")] == 7
    assert params[("lr_scheduler_type", "input")] == "linear"
    assert params[("model.class", "input")] == "BertForSequenceClassification"
    assert params[("model.hidden_size", "input")] == 16 and params[("model.vocab_size", "input")] == 50
    assert params[("model.num_parameters", "input")] == ns["trainer"].model.num_parameters()

    # What the Trainer logged, mapped by the documented rules: per-step logs into training, the
    # evaluation (which also reaches on_log, with its prefix) into validation, the summary as outputs.
    expected: dict[tuple[str | None, str], list[tuple]] = {}
    summary = {}
    for logs, step, epoch in ns["train_logs"]:
        for key, value in logs.items():
            if key == "epoch" or key.startswith("eval_"):
                continue
            if "train_runtime" in logs:
                summary[key] = value
            else:
                expected.setdefault(("training", key), []).append((step, value, hf_epoch(epoch)))
    for metrics, step, epoch in ns["train_evaluations"]:
        for key, value in metrics.items():
            if key != "epoch":
                expected.setdefault(("validation", key[len("eval_") :]), []).append((step, value, hf_epoch(epoch)))
    got = points_by_context(records, train_run["run"])
    assert_points_match(got, expected)
    # 16 samples in batches of 4 for 2 epochs: 8 steps logged one by one, and 2 evaluations.
    assert [(s, e) for s, _, e in got[("training", "loss")]] == [(s, (s - 1) // 4) for s in range(1, 9)]
    assert [(s, e) for s, _, e in got[("validation", "loss")]] == [(4, 0), (8, 1)]
    outputs = {key: value for (key, role), value in params.items() if role == "output"}
    assert outputs == pytest.approx(summary) and {"train_runtime", "train_loss"} <= outputs.keys()
    assert end_of(records, train_run["run"])["status"] == "finished"

    # evaluate() after train(): a run of its own, in the context of its prefix.
    evaluation = points_by_context(records, evaluate_run["run"])
    ((test_metrics, step, _),) = ns["recorder"].evaluations[len(ns["train_evaluations"]) :]
    assert {name for _, name in evaluation} == {key[len("test_") :] for key in test_metrics if key != "epoch"}
    assert {context for context, _ in evaluation} == {"testing"} and evaluation[("testing", "loss")][0][0] == step
    assert end_of(records, evaluate_run["run"])["status"] == "finished"


@pytest.mark.parametrize(
    "error, status", [("FloatingPointError('loss is nan')", "failed"), ("KeyboardInterrupt()", "interrupted")]
)
def test_transformers_training_that_raises_ends_its_run_so(
    tracked: TrackedShell, tmp_path: Path, error: str, status: str
) -> None:
    pytest.importorskip("transformers")
    run_cell(tracked, TRANSFORMERS_SETUP)
    result = tracked.run(
        "recorder = Recorder()\n"
        f"callbacks = [NbprovCallback(name='nan'), recorder, Diverge({error})]\n"
        f"trainer = make_trainer(callbacks, {str(tmp_path / 'out')!r})\n"
        "trainer.train()\n"
    )
    assert type(result.error_in_exec).__name__ == error.split("(")[0]
    records = tracked.records()
    (run,) = runs_by_name(records)["nan"]
    end = end_of(records, run["run"])
    assert (end["status"], end["ename"]) == (status, error.split("(")[0])
    got = points_by_context(records, run["run"])
    assert [s for s, _, _ in got[("training", "loss")]] == [
        step for _, step, _ in tracked.shell.user_ns["recorder"].logs
    ]


def test_transformers_callback_logs_into_the_open_run(tracked: TrackedShell, tmp_path: Path) -> None:
    pytest.importorskip("transformers")
    run_cell(tracked, TRANSFORMERS_SETUP)
    run_cell(
        tracked,
        f"""
        import nbprov
        with nbprov.run('sweep') as sweep:
            for lr in (1e-3, 1e-2):
                with nbprov.run(f'lr={{lr}}', parent=sweep) as child:
                    trainer = make_trainer([NbprovCallback(name='unused')], {str(tmp_path / "out")!r})
                    trainer.args.learning_rate = lr
                    trainer.train()
                    trainer.evaluate()
                    assert child.status == 'running'
        """,
    )
    records = tracked.records()
    by_name = runs_by_name(records)
    assert set(by_name) == {"sweep", "lr=0.001", "lr=0.01"}
    for name, lr in (("lr=0.001", 1e-3), ("lr=0.01", 1e-2)):
        (child,) = by_name[name]
        assert child["parent"] == by_name["sweep"][0]["run"]
        params = {p["key"]: p["value"] for p in run_records(records, child["run"], "param")}
        assert params["learning_rate"] == lr
        got = points_by_context(records, child["run"])
        assert len(got[("training", "loss")]) == 8 and len(got[("validation", "loss")]) == 3
        assert end_of(records, child["run"])["status"] == "finished"


# Keras (with the torch backend)

KERAS_SETUP = """
import copy, numpy as np, keras
from nbprov.integrations.keras import NbprovCallback

class Recorder(keras.callbacks.Callback):
    '''What Keras hands its callbacks, to compare nbprov's record with.'''
    def __init__(self):
        super().__init__()
        self.batches, self.epochs, self.tests = [], [], []
        self.epoch = None
    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch
    def on_train_batch_end(self, batch, logs=None):
        self.batches.append((dict(logs), self.epoch))
    def on_epoch_end(self, epoch, logs=None):
        self.epochs.append((dict(logs), epoch, len(self.batches)))
    def on_test_end(self, logs=None):
        self.tests.append(dict(logs))

class Diverge(keras.callbacks.Callback):
    def on_train_batch_end(self, batch, logs=None):
        if batch == 2:
            raise FloatingPointError('loss is nan')

def make_model():
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation='relu'), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.01), loss='mse', metrics=['mae'])
    return model

rng = np.random.default_rng(0)
x, y = rng.normal(size=(40, 4)).astype('float32'), rng.normal(size=(40, 1)).astype('float32')
"""


@pytest.fixture
def keras_backend(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KERAS_BACKEND", "torch")
    keras = pytest.importorskip("keras")
    if keras.backend.backend() != "torch":
        pytest.skip(f"keras was imported with the {keras.backend.backend()} backend")


def test_keras_callback_records_epochs_and_batches(tracked: TrackedShell, keras_backend: None) -> None:
    run_cell(tracked, KERAS_SETUP)
    run_cell(
        tracked,
        """
        model, recorder = make_model(), Recorder()
        callback = NbprovCallback(name='mlp', experiment='keras')
        model.fit(x, y, epochs=2, batch_size=8, validation_split=0.2, verbose=0, callbacks=[callback, recorder])
        model.evaluate(x, y, batch_size=8, verbose=0, callbacks=[callback, recorder])
        """,
    )
    ns = tracked.shell.user_ns
    records = tracked.records()
    fit_run, evaluate_run = runs_by_name(records)["mlp"]
    params = {p["key"]: p["value"] for p in run_records(records, fit_run["run"], "param")}
    assert params == {
        "epochs": 2,
        "steps": 4,
        "model.name": ns["model"].name,
        "model.num_parameters": 4 * 8 + 8 + 8 + 1,
        "optimizer": "SGD",
        "learning_rate": pytest.approx(0.01),
        "loss": "mse",
    }
    recorder = ns["recorder"]
    expected: dict[tuple[str | None, str], list[tuple]] = {}
    for step, (logs, epoch) in enumerate(recorder.batches, start=1):
        for key, value in logs.items():
            expected.setdefault(("training", f"batch_{key}"), []).append((step, value, epoch))
    for logs, epoch, step in recorder.epochs:
        for key, value in logs.items():
            context, name = ("validation", key[4:]) if key.startswith("val_") else ("training", key)
            expected.setdefault((context, name), []).append((step, value, epoch))
    got = points_by_context(records, fit_run["run"])
    assert_points_match(got, expected)
    # 32 training samples in batches of 8 for 2 epochs: 8 batches.
    assert [(s, e) for s, _, e in got[("training", "batch_loss")]] == [(s, (s - 1) // 4) for s in range(1, 9)]
    assert [(s, e) for s, _, e in got[("validation", "loss")]] == [(4, 0), (8, 1)]
    assert end_of(records, fit_run["run"])["status"] == "finished"

    evaluation = points_by_context(records, evaluate_run["run"])
    (test_logs,) = recorder.tests[-1:]
    assert {key: points[0][1] for (_, key), points in evaluation.items()} == pytest.approx(test_logs)
    assert {context for context, _ in evaluation} == {"testing"}
    assert end_of(records, evaluate_run["run"])["status"] == "finished"


def test_keras_training_that_raises_fails_its_run(tracked: TrackedShell, keras_backend: None) -> None:
    run_cell(tracked, KERAS_SETUP)
    result = tracked.run(
        "model = make_model()\n"
        "model.fit(x, y, epochs=2, batch_size=8, verbose=0, callbacks=[NbprovCallback(name='nan'), Diverge()])\n"
    )
    assert isinstance(result.error_in_exec, FloatingPointError)
    records = tracked.records()
    (run,) = runs_by_name(records)["nan"]
    end = end_of(records, run["run"])
    assert (end["status"], end["ename"]) == ("failed", "FloatingPointError")
    assert [s for s, _, _ in points_by_context(records, run["run"])[("training", "batch_loss")]] == [1, 2, 3]


def readme_integration_examples() -> list[str]:
    readme = (REPO_ROOT / "README.md").read_text()
    section = readme.split("### Integrations\n", 1)[1].split("\n### ", 1)[0]
    return [block.split("\n```", 1)[0] for block in section.split("```python\n")[1:]]


@pytest.mark.parametrize("framework", ["lightning", "transformers", "keras"])
def test_readme_integration_examples_run(
    tracked: TrackedShell, monkeypatch: pytest.MonkeyPatch, framework: str
) -> None:
    if importlib.util.find_spec(framework) is None:
        pytest.skip(f"{framework} is not installed")
    monkeypatch.delenv("KERAS_BACKEND", raising=False)  # the example chooses it
    (example,) = [code for code in readme_integration_examples() if f"nbprov.integrations.{framework} " in code]
    run_cell(tracked, example)
    records = tracked.records()
    (start,) = tracked.records("run_start")
    assert end_of(records, start["run"])["status"] == "finished"
    contexts = {r["name"] for r in run_records(records, start["run"], "context_start")}
    assert {"training", "validation"} <= contexts
    assert run_records(records, start["run"], "param") and run_records(records, start["run"], "metrics")
