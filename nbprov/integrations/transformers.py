"""Hugging Face Transformers: ``NbprovCallback``, a ``TrainerCallback`` that records a ``Trainer``'s
training and evaluations as nbprov runs.

    trainer = Trainer(model, args, train_dataset=..., eval_dataset=..., callbacks=[NbprovCallback()])

What ``on_log`` receives during training (``loss``, ``grad_norm``, ``learning_rate``) goes to the
``training`` context; what ``on_evaluate`` receives goes to the context of its prefix (``eval_``:
``validation``, ``test_``: ``testing``, as ``eval_loss`` is ``loss`` in ``validation``). The summary
that ``train()`` logs once at its end (``train_runtime``, ``train_loss``, ``total_flos``, …) is
recorded as output parameters. Points carry the ``Trainer``'s global step and its epoch counted
from 0 (``state.epoch`` 0.5 and 1.0 are both in epoch 0). Only the main process records.
"""

from __future__ import annotations

import enum
import math
from typing import Any

try:
    from transformers import TrainerCallback
except ImportError as error:
    raise ImportError(
        "nbprov.integrations.transformers needs Hugging Face Transformers: pip install 'nbprov[transformers]'"
    ) from error

from ._common import RunBinding

# The TrainingArguments recorded as parameters: what decides the optimisation and its data.
TRAINING_ARGUMENTS = (
    "learning_rate",
    "num_train_epochs",
    "max_steps",
    "per_device_train_batch_size",
    "per_device_eval_batch_size",
    "gradient_accumulation_steps",
    "weight_decay",
    "adam_beta1",
    "adam_beta2",
    "adam_epsilon",
    "max_grad_norm",
    "lr_scheduler_type",
    "warmup_steps",
    "optim",
    "seed",
    "fp16",
    "bf16",
)
# Prefixes of what an evaluation logs: on_evaluate records it, so on_log leaves it out.
EVALUATION_PREFIXES = ("eval_", "test_")


def training_parameters(args: Any, model: Any) -> dict[str, object]:
    """``TRAINING_ARGUMENTS``, then the model's class, size and each scalar of its configuration
    that differs from the defaults (``model.hidden_size``, ``model.num_hidden_layers``, …)."""
    params: dict[str, object] = {}
    for name in TRAINING_ARGUMENTS:
        if hasattr(args, name):
            value = getattr(args, name)
            params[name] = value.value if isinstance(value, enum.Enum) else value
    if model is not None:
        params["model.class"] = type(model).__name__
        if hasattr(model, "num_parameters"):
            params["model.num_parameters"] = model.num_parameters()
        config = getattr(model, "config", None)
        if config is not None and hasattr(config, "to_diff_dict"):
            for key, value in sorted(config.to_diff_dict().items()):
                if isinstance(value, (bool, int, float, str)):
                    params[f"model.{key}"] = value
    return params


def epoch_of(state: Any) -> int | None:
    """The epoch in progress or just completed, from 0 (``state.epoch`` counts completed epochs)."""
    epoch = state.epoch
    if epoch is None or not math.isfinite(epoch):
        return None
    return max(0, math.ceil(epoch) - 1)


class NbprovCallback(TrainerCallback):
    """Records a ``Trainer``'s training as an nbprov run: training arguments and model
    configuration as parameters, training and evaluation metrics with step, context and epoch.

    It logs into the run active when training starts (``with nbprov.run(...)`` or
    ``nbprov.start_run()``), which it leaves open, so that ``train()`` and a later
    ``evaluate()`` share one run. Without one it starts a run of its own (``name``,
    ``experiment``, ``tags``), ends it as finished when training ends, and the cell ends it as
    failed (or interrupted) when training raises; an ``evaluate()`` outside training then is a
    run of its own, ended when it returns."""

    def __init__(self, name: str | None = None, experiment: str = "default", tags: dict[str, object] | None = None):
        self._binding = RunBinding(name, experiment, tags)
        self._training = False

    @property
    def run(self) -> Any:
        """The nbprov run recorded into (the last one once it has ended), or None."""
        return self._binding.last

    def _bind(self, args: Any, model: Any) -> None:
        if self._binding.current is None:
            self._binding.acquire()
            self._binding.log_params(training_parameters(args, model))

    def on_train_begin(self, args: Any, state: Any, control: Any, model: Any = None, **kwargs: Any) -> None:
        if state.is_world_process_zero:
            self._training = True
            self._bind(args, model)

    def on_log(self, args: Any, state: Any, control: Any, logs: dict[str, Any] | None = None, **kwargs: Any) -> None:
        if not state.is_world_process_zero or not logs:
            return
        logs = {key: value for key, value in logs.items() if key != "epoch" and not key.startswith(EVALUATION_PREFIXES)}
        if not logs:
            return
        self._bind(args, kwargs.get("model"))
        if "train_runtime" in logs:
            for key, value in logs.items():
                self._binding.log_output(key, value)
        else:
            self._binding.log_metrics(logs, state.global_step, epoch_of(state), default_context="training")

    def on_evaluate(
        self, args: Any, state: Any, control: Any, metrics: dict[str, Any] | None = None, **kwargs: Any
    ) -> None:
        if not state.is_world_process_zero or not metrics:
            return
        self._bind(args, kwargs.get("model"))
        metrics = {key: value for key, value in metrics.items() if key != "epoch"}
        self._binding.log_metrics(metrics, state.global_step, epoch_of(state), default_context="validation")
        if not self._training:  # evaluate() on its own: its run is complete
            self._binding.release("finished")

    def on_train_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if state.is_world_process_zero:
            self._training = False
            self._binding.release("finished")
