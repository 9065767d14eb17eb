"""What the framework integrations share: which run they log into, and how a framework's metric
keys map onto nbprov's contexts. Imports no framework."""

from __future__ import annotations

import math
import numbers
import warnings
from typing import Any

import nbprov

from ..runs import Run, encode_param

# Stage words in metric keys (``train_loss``, ``val/acc``, ``loss/test``) and their contexts.
STAGE_CONTEXTS = {
    "train": "training",
    "training": "training",
    "val": "validation",
    "valid": "validation",
    "validation": "validation",
    "eval": "validation",
    "test": "testing",
    "testing": "testing",
    "predict": "prediction",
}


def split_key(key: str, default_context: str | None) -> tuple[str | None, str]:
    """(context, metric name) of a framework's metric key: ``<stage>/<name>`` and ``<name>/<stage>``
    (the ``/`` convention), then ``<stage>_<name>``; any other key keeps its name in ``default_context``."""
    head, slash, tail = key.partition("/")
    if slash and tail and head.lower() in STAGE_CONTEXTS:
        return STAGE_CONTEXTS[head.lower()], tail
    rest, slash, last = key.rpartition("/")
    if slash and rest and last.lower() in STAGE_CONTEXTS:
        return STAGE_CONTEXTS[last.lower()], rest
    prefix, underscore, name = key.partition("_")
    if underscore and name and prefix.lower() in STAGE_CONTEXTS:
        return STAGE_CONTEXTS[prefix.lower()], name
    return default_context, key


def epoch_index(epoch: object) -> int | None:
    """A framework's epoch as nbprov's (an integer from 0); None when absent or not a number."""
    if isinstance(epoch, bool) or not isinstance(epoch, numbers.Real) or not math.isfinite(epoch):
        return None
    return max(0, int(epoch))


class RunBinding:
    """The run an integration logs into: the run active when it first logs (the user's, which the
    integration never ends), else a run of its own, which belongs to the cell like
    ``nbprov.run()``: the integration ends it when training ends, and the cell's end ends it
    (failed or interrupted) when the training raised before that. After its own run has ended,
    the next logging starts another."""

    def __init__(self, name: str | None, experiment: str, tags: dict[str, object] | None) -> None:
        self._name = name
        self._experiment = experiment
        self._tags = dict(tags or {})
        self._run: Run | None = None
        self.last: Run | None = None  # the run recorded into last, open or ended
        self.owned = False
        self._params: dict[str, dict[str, Any]] = {}  # logged to the bound run, encoded
        self._skipped: set[str] = set()

    @property
    def current(self) -> Run | None:
        """The bound run while it is open."""
        return self._run if self._run is not None and self._run.status == "running" else None

    def acquire(self) -> Run:
        run = self.current
        if run is not None:
            return run
        active = nbprov.active_run()
        if active is not None:
            run, self.owned = active, False
            run.set_tags(self._tags)
        else:
            run, self.owned = nbprov.run(self._name, self._experiment, tags=self._tags).__enter__(), True
        self._run, self.last, self._params = run, run, {}
        return run

    def forget(self) -> None:
        """Bind afresh at the next log (this process joined a run as a rank)."""
        self._run = None

    def log_params(self, params: dict[str, object]) -> None:
        """Parameters, each written once per run unless its value changes."""
        run = self.acquire()
        for key, value in params.items():
            encoded = encode_param(key, value)
            if self._params.get(key) != encoded:
                run.log_param(key, value)
                self._params[key] = encoded

    def log_output(self, key: str, value: object) -> None:
        """A result of the training (an output parameter)."""
        self.acquire().log_param(key, value, role="output")

    def log_metrics(
        self, metrics: dict[str, object], step: int | None, epoch: int | None, default_context: str | None
    ) -> int:
        """Log ``metrics`` at ``step``; a value that is not a number is skipped (with one warning
        per key). Returns how many points were logged."""
        run = self.acquire()
        logged = 0
        for key, value in metrics.items():
            number = _real(value)
            if number is None:
                if key not in self._skipped:
                    self._skipped.add(key)
                    warnings.warn(
                        f"nbprov: metric {key!r} is not a number ({type(value).__name__}); not recorded", stacklevel=3
                    )
                continue
            context, name = split_key(key, default_context)
            run.log_metric(name, number, step=step, context=context, epoch=epoch)
            logged += 1
        return logged

    def release(self, status: str | None = None, error: BaseException | None = None) -> None:
        """Training ended: end the integration's own run (``status``, else what ``error`` implies),
        and stop logging into a borrowed one (which stays the user's to end)."""
        run, self._run = self.current, None
        if run is not None and self.owned:
            run.end(status, error)


def _real(value: object) -> float | None:
    """A metric value as a float (Python and NumPy numbers, 0-d tensors); None when it is not one."""
    if isinstance(value, (str, bytes)):
        return None
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        return None
