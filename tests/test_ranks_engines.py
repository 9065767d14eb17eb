"""The distributed engines users launch from a notebook, for real (issue #16): a real kernel
(jupyter_client) runs the cell, the engine starts 2 CPU processes (gloo), each joins the run as a
rank; the merged export is read back with ``prov`` and zarr-python."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import prov.model
import pytest
import zarr
from conftest import kernel_env
from jupyter_client.manager import KernelManager
from kernels import Kernel
from test_ranks import export, metric_entities, rank_files, records_of, run_activity
from test_stream_kernel import Iopub, max_in_window

HERE = Path(__file__).resolve().parent


def merged_run(folder: Path, run_id: str) -> tuple[dict[str, Any], dict[str, Any], zarr.Group]:
    """The run's PROV activity, the document, and the Zarr root of the export of train.ipynb."""
    document, prov_folder = export(folder, "train")
    # prov reads it back with every record.
    read = prov.model.ProvDocument.deserialize(content=json.dumps(document), format="json")
    assert read.get_record(f"nbprov:run.{run_id}")
    return run_activity(document, run_id), document, zarr.open_group(prov_folder / "metrics.zarr", mode="r")


def rank_series(document: dict[str, Any], run_id: str, root: zarr.Group, metric: str) -> dict[int, list[float]]:
    """rank -> the values of ``metric`` that rank logged, read from the Zarr group PROV names."""
    found: dict[int, list[float]] = {}
    for entity in metric_entities(document, run_id):
        if entity["prov:label"] == metric and entity.get("nbprov:rank") is not None:
            assert entity["nbprov:rank"] not in found, "one series per rank"
            found[entity["nbprov:rank"]] = root[entity["dcterms:identifier"]]["values"][:].tolist()
    return found


def test_bang_python_child_logs_into_the_run(tmp_path: Path) -> None:
    (tmp_path / "child.py").write_text(
        "import nbprov\nfor i in range(500):\n    nbprov.log_metric('loss', i * 0.5, step=i)\nprint('logged')\n"
    )
    with Kernel(tmp_path) as kernel:
        kernel.ok("%load_ext nbprov\nimport nbprov, sys")
        out = kernel.ok(
            "with nbprov.run('child', energy=False) as run:\n"
            "    nbprov.log_metric('kernel_loss', 1.0)\n"
            "    !{sys.executable} child.py\n"
            "print(run.id)"
        )
    assert "logged" in out and "nbprov:" not in out
    run_id = out.strip().splitlines()[-1]
    activity, document, root = merged_run(tmp_path, run_id)
    assert activity["nbprov:status"] == "finished"
    [rank] = json.loads(activity["nbprov:ranks"])
    assert (rank["rank"], rank["launcher"], rank["status"]) == (0, "process", "finished")
    assert rank_series(document, run_id, root, "loss") == {0: [i * 0.5 for i in range(500)]}


def test_torchrun_two_processes_from_a_cell(tmp_path: Path) -> None:
    shutil.copy(HERE / "rank_train.py", tmp_path / "rank_train.py")
    with Kernel(tmp_path) as kernel:
        kernel.ok("%load_ext nbprov\nimport nbprov, os, sys")
        out = kernel.ok(
            "with nbprov.run('ddp', energy=False, params={'lr': 0.05}) as run:\n"
            "    !{os.path.dirname(sys.executable)}/torchrun --standalone --nproc-per-node 2 rank_train.py\n"
            "print(run.id)",
            timeout=300,
        )
    run_id = out.strip().splitlines()[-1]
    activity, document, root = merged_run(tmp_path, run_id)
    assert activity["nbprov:status"] == "finished"
    ranks = json.loads(activity["nbprov:ranks"])
    assert [(r["rank"], r["local_rank"], r["world_size"], r["launcher"], r["status"]) for r in ranks] == [
        (0, 0, 2, "torch", "finished"),
        (1, 1, 2, "torch", "finished"),
    ]
    losses = rank_series(document, run_id, root, "loss")
    assert sorted(losses) == [0, 1] and all(len(values) == 40 for values in losses.values())
    assert losses[0] != losses[1]  # each rank's own data
    params = sorted(
        (e["prov:label"], e["prov:value"])
        for key, e in document["entity"].items()
        if key.startswith(f"nbprov:param.{run_id}.")
    )
    assert params == [("lr", 0.05), ("world_size", 2)]  # once, though both ranks logged them


def test_lightning_ddp_notebook_two_cpu_devices(tmp_path: Path) -> None:
    pytest.importorskip("lightning")
    with Kernel(tmp_path) as kernel:
        kernel.ok("%load_ext nbprov\nimport nbprov")
        out = kernel.ok(
            "import lightning.pytorch as pl, torch\n"
            "from nbprov.integrations.lightning import NbprovLogger\n"
            "class Model(pl.LightningModule):\n"
            "    def __init__(self):\n"
            "        super().__init__()\n"
            "        self.layer = torch.nn.Linear(4, 1)\n"
            "        self.save_hyperparameters({'lr': 0.05})\n"
            "    def training_step(self, batch, index):\n"
            "        (x,) = batch\n"
            "        loss = ((self.layer(x) - x.sum(1, keepdim=True)) ** 2).mean()\n"
            "        self.log('train_loss', loss)\n"
            "        return loss\n"
            "    def configure_optimizers(self):\n"
            "        return torch.optim.SGD(self.parameters(), lr=0.05)\n"
            "torch.manual_seed(0)\n"
            "data = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.randn(64, 4)), batch_size=8)\n"
            "with nbprov.run('lightning', energy=False) as run:\n"
            "    trainer = pl.Trainer(strategy='ddp_notebook', accelerator='cpu', devices=2, max_epochs=2,\n"
            "                         logger=NbprovLogger(), log_every_n_steps=1, enable_checkpointing=False,\n"
            "                         enable_progress_bar=False, enable_model_summary=False)\n"
            "    trainer.fit(Model(), data)\n"
            "print(run.id)",
            timeout=300,
        )
    run_id = out.strip().splitlines()[-1]
    activity, document, root = merged_run(tmp_path, run_id)
    assert activity["nbprov:status"] == "finished"
    ranks = json.loads(activity["nbprov:ranks"])
    assert [(r["rank"], r["world_size"], r["launcher"], r["status"]) for r in ranks] == [
        (0, 2, "explicit", "finished"),
        (1, 2, "explicit", "finished"),
    ]
    # 64 samples, 2 ranks, batches of 8: 4 steps per epoch and rank, 2 epochs.
    losses = rank_series(document, run_id, root, "loss")
    assert sorted(losses) == [0, 1] and [len(losses[0]), len(losses[1])] == [8, 8]
    labels = [e["prov:label"] for k, e in document["entity"].items() if k.startswith(f"nbprov:param.{run_id}.")]
    assert labels == ["lr"]


def test_accelerate_notebook_launcher_two_cpu_processes(tmp_path: Path) -> None:
    """Accelerate forks the ranks from the kernel (torch elastic, start method fork on the CPU), so
    the training function joins with ``nbprov.attach()``: a forked child records nothing otherwise."""
    pytest.importorskip("accelerate")
    with Kernel(tmp_path) as kernel:
        kernel.ok("%load_ext nbprov\nimport nbprov")
        out = kernel.ok(
            "import torch\n"
            "from accelerate import Accelerator, notebook_launcher\n"
            "def train():\n"
            "    nbprov.attach()\n"
            "    accelerator = Accelerator(cpu=True)\n"
            "    torch.manual_seed(accelerator.process_index)\n"
            "    model = torch.nn.Linear(4, 1)\n"
            "    optimizer = torch.optim.SGD(model.parameters(), lr=0.05)\n"
            "    model, optimizer = accelerator.prepare(model, optimizer)\n"
            "    for step in range(12):\n"
            "        x = torch.randn(8, 4)\n"
            "        loss = ((model(x) - x.sum(1, keepdim=True)) ** 2).mean()\n"
            "        optimizer.zero_grad()\n"
            "        accelerator.backward(loss)\n"
            "        optimizer.step()\n"
            "        nbprov.log_metric('loss', loss.item(), step=step)\n"
            "with nbprov.run('accelerate', energy=False) as run:\n"
            "    notebook_launcher(train, num_processes=2)\n"
            "print(run.id)",
            timeout=300,
        )
    run_id = out.strip().splitlines()[-1]
    activity, document, root = merged_run(tmp_path, run_id)
    assert activity["nbprov:status"] == "finished"
    ranks = json.loads(activity["nbprov:ranks"])
    assert [(r["rank"], r["world_size"], r["launcher"], r["status"]) for r in ranks] == [
        (0, 2, "torch", "finished"),
        (1, 2, "torch", "finished"),
    ]
    losses = rank_series(document, run_id, root, "loss")
    assert sorted(losses) == [0, 1] and [len(losses[0]), len(losses[1])] == [12, 12]


def test_the_kernel_forwards_its_ranks_records_live_over_the_comm(tmp_path: Path) -> None:
    """torchrun from a cell: every record of both rank journals reaches the page over the comm, in
    messages that name the rank's session, within the kernel's message budget."""
    shutil.copy(HERE / "rank_train.py", tmp_path / "rank_train.py")
    manager = KernelManager(kernel_name="python3")
    manager.start_kernel(cwd=str(tmp_path), env=kernel_env({"NBPROV_NOTEBOOK": "train.ipynb", "NBPROV_ENERGY": "0"}))
    client = manager.client()
    client.start_channels()
    try:
        client.wait_for_ready(timeout=60)
        iopub = Iopub(client)
        iopub.run("%load_ext nbprov\nimport nbprov, os, sys")
        iopub.run(
            "with nbprov.run('ddp', energy=False) as run:\n"
            "    !{os.path.dirname(sys.executable)}/torchrun --standalone --nproc-per-node 2 rank_train.py\n",
            timeout=300,
        )
        iopub.drain(quiet_s=2.0)  # the follower looks every 0.5 s
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)
    journal = tmp_path / "train.prov" / "journal"
    rank_journals = rank_files(journal)
    assert len(rank_journals) == 2
    by_session: dict[str, list[dict[str, Any]]] = {}
    kernel_sessions = {data["session"] for _, data, _ in iopub.comm_messages if "via" not in data}
    assert len(kernel_sessions) == 1
    for _, data, _buffers in iopub.comm_messages:
        by_session.setdefault(data["session"], []).extend(data["records"])
        # A rank's records name the kernel that forwarded them, so the page keeps its kernel session.
        assert data.get("via", data["session"]) in kernel_sessions
    for path in rank_journals:
        on_disk = records_of(path)
        session = on_disk[0]["session"]
        forwarded = by_session.get(session, [])
        assert [r["seq"] for r in forwarded] == [r["seq"] for r in on_disk]
        assert sum(s["n"] for r in forwarded if r["type"] == "metrics" for s in r["series"]) == 40
    assert max_in_window([sent for sent, _, _ in iopub.comm_messages], 1.0) <= 21


def test_ray_train_two_local_workers(tmp_path: Path) -> None:
    """Ray Train's TorchTrainer on a local Ray instance, 2 CPU workers (gloo): the workers get the
    hand-over through Ray's runtime environment and log with ``nbprov.log_metric``. Ray is not in
    the test extra: it installs here (57 s, 240 MB) but its raylet timed out at start-up on this
    machine (load 14 on 2 cores), so this ran nowhere yet; it runs where Ray is installed."""
    pytest.importorskip("ray.train")
    with Kernel(tmp_path) as kernel:
        kernel.ok("%load_ext nbprov\nimport nbprov")
        out = kernel.ok(
            "import ray, ray.train, ray.train.torch, torch\n"
            "def train_loop(config):\n"
            "    import nbprov, torch\n"
            "    torch.manual_seed(ray.train.get_context().get_world_rank())\n"
            "    model = ray.train.torch.prepare_model(torch.nn.Linear(4, 1))\n"
            "    optimizer = torch.optim.SGD(model.parameters(), lr=0.05)\n"
            "    for step in range(10):\n"
            "        x = torch.randn(8, 4)\n"
            "        loss = ((model(x) - x.sum(1, keepdim=True)) ** 2).mean()\n"
            "        optimizer.zero_grad()\n"
            "        loss.backward()\n"
            "        optimizer.step()\n"
            "        nbprov.log_metric('loss', loss.item(), step=step)\n"
            "        ray.train.report({'loss': loss.item()})\n"
            "with nbprov.run('ray', energy=False) as run:\n"
            "    ray.init(num_cpus=2, include_dashboard=False, runtime_env={'env_vars': run.env()})\n"
            "    trainer = ray.train.torch.TorchTrainer(\n"
            "        train_loop,\n"
            "        scaling_config=ray.train.ScalingConfig(num_workers=2, use_gpu=False),\n"
            f"        run_config=ray.train.RunConfig(storage_path={str(tmp_path / 'ray')!r}),\n"
            "    )\n"
            "    trainer.fit()\n"
            "    ray.shutdown()\n"
            "print(run.id)",
            timeout=400,
        )
    run_id = out.strip().splitlines()[-1]
    activity, document, root = merged_run(tmp_path, run_id)
    ranks = json.loads(activity["nbprov:ranks"])
    assert [(r["rank"], r["world_size"]) for r in ranks] == [(0, 2), (1, 2)]
    losses = rank_series(document, run_id, root, "loss")
    assert sorted(losses) == [0, 1] and [len(losses[0]), len(losses[1])] == [10, 10]
    assert activity["nbprov:status"] == "finished", ranks
