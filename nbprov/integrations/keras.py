"""Keras 3: ``NbprovCallback``, a Keras callback that records ``fit`` (epochs and batches) and
``evaluate`` as nbprov runs.

    model.fit(x, y, epochs=5, validation_split=0.2, callbacks=[NbprovCallback(name="mlp")])

At each epoch's end, ``loss`` is ``loss`` in the ``training`` context and ``val_loss`` is ``loss``
in ``validation``; after each training batch, Keras' running averages are ``batch_loss`` (and
``batch_<metric>``) in ``training`` (``batches=False`` leaves them out). Steps count the training
batches of the whole ``fit``; epochs are Keras' (from 0). An ``evaluate()`` outside ``fit``
records into the ``testing`` context.
"""

from __future__ import annotations

from typing import Any

try:
    import keras
except ImportError as error:
    raise ImportError("nbprov.integrations.keras needs Keras 3: pip install 'nbprov[keras]'") from error

from ._common import RunBinding


class NbprovCallback(keras.callbacks.Callback):
    """Records a Keras training as an nbprov run: the fit's settings, the optimizer and the model's
    size as parameters, epoch and batch metrics with step, context and epoch.

    It logs into the run active when ``fit`` starts (``with nbprov.run(...)`` or
    ``nbprov.start_run()``), which it leaves open. Without one it starts a run of its own
    (``name``, ``experiment``, ``tags``), ends it as finished when ``fit`` ends, and the cell ends
    it as failed (or interrupted) when training raises. An ``evaluate()`` outside ``fit`` logs into
    the active run, else is a run of its own."""

    def __init__(
        self,
        name: str | None = None,
        experiment: str = "default",
        tags: dict[str, object] | None = None,
        batches: bool = True,
    ):
        super().__init__()
        self._binding = RunBinding(name, experiment, tags)
        self._batches = batches
        self._fitting = False
        self._epoch: int | None = None
        self._step = 0  # training batches completed in this fit

    @property
    def run(self) -> Any:
        """The nbprov run recorded into (the last one once it has ended), or None."""
        return self._binding.last

    def _parameters(self) -> dict[str, object]:
        params: dict[str, object] = {key: self.params[key] for key in ("epochs", "steps") if key in self.params}
        model = self.model
        params["model.name"] = model.name
        params["model.num_parameters"] = model.count_params()
        optimizer = getattr(model, "optimizer", None)
        if optimizer is not None:
            params["optimizer"] = type(optimizer).__name__
            learning_rate = getattr(optimizer, "learning_rate", None)
            try:
                params["learning_rate"] = float(learning_rate)
            except (TypeError, ValueError):  # a schedule
                params["learning_rate"] = type(learning_rate).__name__
        loss = getattr(model, "loss", None)
        if loss is not None:
            params["loss"] = loss if isinstance(loss, str) else getattr(loss, "__name__", type(loss).__name__)
        return params

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        self._fitting, self._step, self._epoch = True, 0, None
        self._binding.acquire()
        self._binding.log_params(self._parameters())

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self._epoch = epoch

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        self._step += 1
        if self._batches and logs:
            metrics = {f"batch_{key}": value for key, value in logs.items()}
            self._binding.log_metrics(metrics, self._step, self._epoch, default_context="training")

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if logs:
            self._binding.log_metrics(dict(logs), self._step, epoch, default_context="training")

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        self._fitting = False
        self._binding.release("finished")

    def on_test_end(self, logs: dict[str, Any] | None = None) -> None:
        if self._fitting or not logs:  # fit's own validation: on_epoch_end has it as val_*
            return
        self._binding.log_metrics(dict(logs), self._step, None, default_context="testing")
        self._binding.release("finished")
