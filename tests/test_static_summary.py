"""A notebook run headless (nbclient) and converted to HTML shows the runs summary, not a placeholder."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import nbformat
from conftest import kernel_env
from nbclient import NotebookClient

CELLS = [
    "import nbprov\n"
    "with nbprov.run(name='sweep-<b>lr</b>', params={'lr': 0.01}) as run:\n"
    "    for step in range(10):\n"
    "        run.log_metric('loss', 2.0 - step / 10)\n"
    "run",
    "nbprov.show()",
]


def test_nbconvert_html_of_an_executed_notebook_shows_the_runs_summary(tmp_path: Path) -> None:
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(source) for source in CELLS]
    path = tmp_path / "static.ipynb"
    client = NotebookClient(
        notebook, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    client.execute(env=kernel_env({"NBPROV_NOTEBOOK": path.name, "NBPROV_ENERGY": "0"}))
    nbformat.write(notebook, path)
    # nbclient saved the widgets' state: with the widget-view type, nbconvert would pick it and
    # render an empty placeholder for a widget module it cannot load.
    assert "application/vnd.jupyter.widget-state+json" in notebook.metadata.widgets
    subprocess.run(
        [sys.executable, "-m", "jupyter", "nbconvert", "--to", "html", str(path)],
        check=True,
        capture_output=True,
        timeout=120,
    )
    html = (tmp_path / "static.html").read_text()
    assert "RunsWidget(session=" not in html
    assert '<script type="application/vnd.jupyter.widget-view+json">' not in html
    # The run's table, its name escaped (the user's markup stays text), the last loss.
    assert '<table class="nbprov-summary"' in html
    assert ">sweep-&lt;b&gt;lr&lt;/b&gt;</td>" in html and "<b>lr</b>" not in html
    assert ">lr</th>" in html and ">loss last</th>" in html
    assert ">finished</td>" in html and ">0.01</td>" in html and ">1.1</td>" in html
    # nbprov.show() (every run of the session) points to the live view.
    assert html.count("Provenance Runs") >= 2
