"""The runs widget: a view of this notebook's runs rendered by the JupyterLab extension.

The widget state holds only what to show (the kernel session, run ids, metric names, x axis):
metric points never travel through it, so a saved notebook stays small. The frontend reads the
points from its run store, fed by the journal and the live comm.

The output is not the widget-view MIME type but nbprov's own (``RUNS_MIME``), beside a ``text/html``
summary of the runs: JupyterLab's nbprov renderer shows the widget through the widget manager, or
the summary and a pointer to the runs panel when the model is gone (a reload, a new kernel);
nbconvert and GitHub, which do not know the type, show the summary. (With the widget-view type,
nbconvert would pick it whenever nbclient saved the widget state, and render nothing.)
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Sequence
from typing import Any

import ipywidgets
from traitlets import Enum, List, TraitError, Unicode, validate

from ._version import __version__
from .redact import redact
from .runs import _POINT, Run

RUNS_MIME = "application/vnd.nbprov.runs+json"
WIDGET_VIEW_MIME = "application/vnd.jupyter.widget-view+json"
NO_VALUE = "\u2014"  # a value the run does not have: never a made-up 0

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

    def __init__(self, summary_runs: Sequence[Run] = (), **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._summary_runs = list(summary_runs)

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any] | None:
        bundle = super()._repr_mimebundle_(**kwargs)
        if bundle is None or WIDGET_VIEW_MIME not in bundle:
            return bundle
        view = bundle.pop(WIDGET_VIEW_MIME)
        bundle[RUNS_MIME] = {**view, "session": self.session, "run_ids": list(self.run_ids)}
        bundle["text/html"] = summary_html(self._summary_runs)
        bundle["text/plain"] = (
            f"nbprov runs of kernel session {self.session[:12]}: open this notebook in JupyterLab "
            "with nbprov for the live view (View > Provenance Runs)"
        )
        return bundle

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
    session: str,
    run_ids: Sequence[str] = (),
    metrics: Sequence[str] = (),
    x_axis: str = "step",
    summary_runs: Sequence[Run] = (),
) -> RunsWidget:
    """A widget showing the given runs (all runs of the notebook when none) of a kernel session.
    Metric names are redacted as the journal redacts them: the synced state never shows a secret,
    and the names still match the recorded series. ``summary_runs`` fill the output's initial
    ``text/html`` summary (the page rewrites it from its run store when the notebook is saved)."""
    shown = [redact(name)[0] if isinstance(name, str) else name for name in metrics]
    return RunsWidget(summary_runs, session=session, run_ids=list(run_ids), metrics=shown, x_axis=x_axis)


def _format_value(value: object) -> str:
    if value is None:
        return NO_VALUE
    if isinstance(value, float):
        return f"{value:.6g}" if math.isfinite(value) else NO_VALUE
    return str(value)


def _last_values(run: Run) -> dict[str, float | None]:
    """The last value of each of the run's series, by column label (``metric [context path]``)."""
    paths = {ctx: "/".join(path) for path, ctx in list(run._first_ctx_of_path.items())}
    values: dict[str, float | None] = {}
    for (metric, ctx), series in list(run._series.items()):
        # The newest point still buffered, else the last one the journal thread took: the buffer
        # only ever holds whole points, and slicing it is one step under the GIL.
        tail = bytes(series.points[-_POINT.size :])
        last = _POINT.unpack(tail)[1] if len(tail) == _POINT.size else series.last_taken
        label = metric + (f" [{paths[ctx]}]" if ctx in paths else "")
        values[f"{label} last"] = last
    return values


def summary_html(runs: Sequence[Run]) -> str:
    """The runs at display time as an HTML table (name, status, parameters, last value of each
    metric), every string escaped; a pointer to the live view when there are none to list."""
    note = (
        "<p><em>nbprov runs, as displayed by the kernel. Open the notebook in JupyterLab with nbprov "
        "for the live view (View \u203a Provenance Runs).</em></p>"
    )
    if not runs:
        return f'<div class="nbprov-summary-html">{note}</div>'
    params = {
        run.id: {
            f"{key} (output)" if role == "output" else key: value for (key, role), value in run.param_values.items()
        }
        for run in runs
    }
    metrics = {run.id: _last_values(run) for run in runs}
    param_columns = sorted({key for one in params.values() for key in one})
    metric_columns = sorted({key for one in metrics.values() for key in one})
    columns = ["Run", "Status", *param_columns, *metric_columns]
    rows = [
        [run.name or run.id[:8], run.status]
        + [_format_value(params[run.id].get(key)) for key in param_columns]
        + [_format_value(metrics[run.id].get(key)) for key in metric_columns]
        for run in runs
    ]

    def cell(tag: str, text: str) -> str:
        style = "padding:2px 8px;text-align:left;border-bottom:1px solid #ccc"
        # Redacted as the journal's records are: the output is saved in the notebook file.
        return f'<{tag} style="{style}">{html.escape(redact(text)[0])}</{tag}>'

    head = "".join(cell("th", text) for text in columns)
    body = "".join("<tr>" + "".join(cell("td", text) for text in row) + "</tr>" for row in rows)
    return (
        f'<div class="nbprov-summary-html">{note}<table class="nbprov-summary" style="border-collapse:collapse">'
        f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>"
    )


def run_mimebundle(run: Run, session: str, **kwargs: Any) -> dict[str, Any] | None:
    """MIME bundle showing one run: the widget, its summary, the run's repr as the plain text.

    ``Run._repr_mimebundle_`` returns this, so a run at the end of a cell displays as its widget.
    """
    run_repr = repr(run)
    bundle = runs_widget(session, [run.id], summary_runs=[run])._repr_mimebundle_(**kwargs)
    if bundle is None:
        return None
    bundle["text/plain"] = run_repr
    return bundle
