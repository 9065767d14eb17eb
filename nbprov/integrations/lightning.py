"""PyTorch Lightning: ``NbprovLogger``, a Lightning ``Logger`` that records into nbprov runs.

    trainer = lightning.pytorch.Trainer(logger=NbprovLogger(name="mnist-cnn"), max_epochs=2)

Metric keys map onto contexts by Lightning's conventions: ``train_loss`` / ``train/loss`` /
``loss/train`` are ``loss`` in the ``training`` context (``val`` and ``valid``: ``validation``,
``test``: ``testing``, ``predict``: ``prediction``); other keys keep their name outside any
context. The ``epoch`` Lightning adds to each call is every point's epoch (not a series of its
own); the step is Lightning's (the optimizer steps taken).

Every rank records its own metrics (its part of the run, ``nbprov.ranks``): under ``ddp_notebook``
the ranks are forked from the kernel, and each joins the run open in the notebook with
``nbprov.attach(rank=...)``; under ``torchrun`` / ``srun`` they join by the environment. Parameters are
logged by every rank and recorded once.
"""

from __future__ import annotations

import os
import sys
from argparse import Namespace
from typing import Any

try:
    from lightning.fabric.utilities.logger import _convert_params, _flatten_dict, _sanitize_callable_params
    from lightning.pytorch.loggers.logger import Logger, rank_zero_experiment
    from lightning.pytorch.utilities.rank_zero import rank_zero_only
except ImportError as error:
    raise ImportError(
        "nbprov.integrations.lightning needs PyTorch Lightning: pip install 'nbprov[lightning]'"
    ) from error

import nbprov

from ..runs import ENV_RUN, Run
from ._common import RunBinding, epoch_index

# Lightning's finalize statuses and the run statuses they end the integration's own run with.
_STATUSES = {"success": "finished", "finished": "finished", "failed": "failed", "interrupted": "interrupted"}


class NbprovLogger(Logger):
    """Records a Lightning training as an nbprov run: hyperparameters as parameters, logged
    metrics with their step, context and epoch, and the run's end status.

    It logs into the run active when training starts (``with nbprov.run(...)`` or
    ``nbprov.start_run()``), which it leaves open, so that ``fit`` and ``test``, or cells before
    and after, share one run. Without one it starts a run of its own (``name``, ``experiment``,
    ``tags``) and ends it when ``fit``/``validate``/``test`` ends: ``finished``, or ``failed`` /
    ``interrupted`` (with the exception) when training raised; a later stage starts a new run."""

    def __init__(self, name: str | None = None, experiment: str = "default", tags: dict[str, object] | None = None):
        super().__init__()
        self._binding = RunBinding(name, experiment, tags)
        self._experiment_name = experiment

    @property
    def name(self) -> str:
        """The nbprov experiment (Lightning's name for a group of versions)."""
        return self._experiment_name

    @property
    def version(self) -> str | None:
        """The id of the run recorded into (the last one once it has ended), or None before training."""
        run = self._binding.last
        return run.id if run is not None else None

    @property
    @rank_zero_experiment
    def experiment(self) -> Run:
        """The nbprov run (``self.logger.experiment.log_text(...)`` in a LightningModule)."""
        self._recording()
        return self._binding.acquire()

    def log_hyperparams(self, params: dict[str, Any] | Namespace, *args: Any, **kwargs: Any) -> None:
        """Hyperparameters (``save_hyperparameters()``), nested ones flattened as ``outer/inner``."""
        params = _sanitize_callable_params(_flatten_dict(_convert_params(params)))
        if self._recording():
            self._binding.log_params(params)

    def log_metrics(self, metrics: dict[str, float], step: int | None = None) -> None:
        if not self._recording():
            return
        metrics = dict(metrics)
        epoch = epoch_index(metrics.pop("epoch", None))
        self._binding.log_metrics(metrics, step, epoch, default_context=None)

    @rank_zero_only
    def save(self) -> None:
        """Nothing to do: the journal is written by nbprov's own thread, at least every 200 ms."""

    def _recording(self) -> bool:
        """Whether this process records (see ``_join_as_rank``); a rank logs into its own part of the run."""
        if not _join_as_rank():
            return False
        if nbprov._rank is not None and self._binding.current is not nbprov._rank.run:
            self._binding.forget()  # a run bound before a fork belongs to the kernel's process
        return True

    def finalize(self, status: str) -> None:
        """End the logger's own run with Lightning's status (``success``: finished; ``failed``:
        failed, or interrupted for a KeyboardInterrupt, with the exception Lightning is handling);
        in a rank process, end its part of the run so."""
        if status not in _STATUSES:
            raise ValueError(f"nbprov: unknown Lightning status {status!r}; expected one of {sorted(_STATUSES)}")
        error = sys.exc_info()[1] if status == "failed" else None
        if nbprov._rank is not None:
            nbprov._rank.run.end(None if error is not None else _STATUSES[status], error)
            nbprov._rank.writer.flush()
        elif rank_zero_only.rank == 0:
            self._binding.release(None if error is not None else _STATUSES[status], error)


def _join_as_rank() -> bool:
    """Whether this process records: a rank launched inside a notebook's run (forked by
    ``ddp_notebook``, whose journal writer was disabled at the fork, or started by ``ddp_spawn`` or a
    launcher) joins that run as Lightning's global rank; without such a run only rank zero records."""
    tracking = nbprov._tracking
    launched = tracking is None or tracking.writer.forked_child
    if nbprov._rank is None and launched and os.environ.get(ENV_RUN):
        import torch.distributed

        world_size = torch.distributed.get_world_size() if torch.distributed.is_initialized() else None
        nbprov.attach(rank=rank_zero_only.rank, world_size=world_size)
    return nbprov._rank is not None or rank_zero_only.rank == 0
