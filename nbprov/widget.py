"""The runs widget: a view of this notebook's runs rendered by the JupyterLab extension.

The widget state holds only what to show (the kernel session, run ids, metric names, x axis):
metric points never travel through it, so a saved notebook stays small. The frontend reads the
points from its run store, fed by the journal and the live comm.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import ipywidgets
from traitlets import Enum, List, TraitError, Unicode, validate

from ._version import __version__
from .redact import redact

_RUN_ID = re.compile(r"[0-9a-f]{32}")
_SESSION_ID = re.compile(r"[0-9a-f]{1,64}")


class RunsWidget(ipywidgets.DOMWidget):
    """Runs table, live metric charts, comparison and development graph of a kernel session."""

    _model_name = Unicode("RunsModel").tag(sync=True)
    _model_module = Unicode("nbprov").tag(sync=True)
    _model_module_version = Unicode(__version__).tag(sync=True)
    _view_name = Unicode("RunsView").tag(sync=True)
    _view_module = Unicode("nbprov").tag(sync=True)
    _view_module_version = Unicode(__version__).tag(sync=True)

    session = Unicode(help="Kernel journal session whose runs are shown").tag(sync=True)
    run_ids = List(Unicode(), help="Runs to show; empty shows every run of the notebook").tag(sync=True)
    metrics = List(Unicode(), help="Metrics to chart; empty charts every metric").tag(sync=True)
    x_axis = Enum(
        ("step", "epoch", "relative", "time"),
        default_value="step",
        help="x axis of the charts (relative: since the run started)",
    ).tag(sync=True)
    tab = Enum(("runs", "compare", "timeline"), default_value="runs", help="Section shown").tag(sync=True)

    @validate("session")
    def _check_session(self, proposal: dict[str, Any]) -> str:
        value = proposal["value"]
        if not _SESSION_ID.fullmatch(value):
            raise TraitError(f"session must be a hex kernel session id, got {value!r}")
        return value

    @validate("run_ids")
    def _check_run_ids(self, proposal: dict[str, Any]) -> list[str]:
        bad = [run_id for run_id in proposal["value"] if not _RUN_ID.fullmatch(run_id)]
        if bad:
            raise TraitError(f"run ids are 32 lowercase hex digits; not: {', '.join(map(repr, bad))}")
        return list(proposal["value"])


def runs_widget(
    session: str, run_ids: Sequence[str] = (), metrics: Sequence[str] = (), x_axis: str = "step"
) -> RunsWidget:
    """A widget showing the given runs (all runs of the notebook when none) of a kernel session.
    Metric names are redacted as the journal redacts them: the synced state never shows a secret,
    and the names still match the recorded series."""
    shown = [redact(name)[0] if isinstance(name, str) else name for name in metrics]
    return RunsWidget(session=session, run_ids=list(run_ids), metrics=shown, x_axis=x_axis)


def run_mimebundle(run_id: str, run_repr: str, session: str, **kwargs: Any) -> dict[str, Any] | None:
    """MIME bundle showing one run: the widget view, with the run's repr as the plain-text fallback.

    ``Run._repr_mimebundle_`` returns this, so a run at the end of a cell displays as its widget.
    """
    bundle = runs_widget(session, [run_id])._repr_mimebundle_(**kwargs)
    if bundle is None:
        return None
    bundle["text/plain"] = run_repr
    return bundle
