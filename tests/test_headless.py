"""Headless execution through nbclient (no browser): every cell is recorded with its cell id."""

from __future__ import annotations

from pathlib import Path

import nbformat
from conftest import kernel_env
from nbclient import NotebookClient

from nbprov.journal import read_journal

CELLS = [
    "import nbprov",
    "with nbprov.run(name='headless', params={'lr': 0.1}) as run:\n"
    "    for step in range(100):\n"
    "        run.log_metric('loss', 1 / (step + 1))",
    "print('x' * 1_000_000)",
    "%%track --name magic --param k=v\nnbprov.log_metric('acc', 0.5)",
]


def _execute(folder: Path, cells: list[str], **client_options: object) -> nbformat.NotebookNode:
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(source) for source in cells]
    path = folder / "headless.ipynb"
    nbformat.write(notebook, path)
    client = NotebookClient(
        notebook,
        timeout=120,
        kernel_name="python3",
        resources={"metadata": {"path": str(folder)}},
        **client_options,
    )
    client.execute(env=kernel_env({"NBPROV_NOTEBOOK": path.name, "NBPROV_ENERGY": "0"}))
    return notebook


def test_extension_loaded_at_kernel_start_records_every_cell(tmp_path: Path) -> None:
    notebook = _execute(tmp_path, CELLS, extra_arguments=["--ext=nbprov"])
    records = read_journal(tmp_path / "headless.prov" / "journal")
    starts = [r for r in records if r["type"] == "exec_start"]
    ends = [r for r in records if r["type"] == "exec_end"]
    assert [s["cell"] for s in starts] == [cell.id for cell in notebook.cells]
    assert [s["source"] for s in starts] == CELLS
    assert [s["count"] for s in starts] == [cell.execution_count for cell in notebook.cells]
    assert all(s["msg_id"] for s in starts)
    assert [e["exec"] for e in ends] == [s["exec"] for s in starts]
    assert all(e["status"] == "ok" for e in ends)
    kernel = next(r for r in records if r["type"] == "kernel_start")
    assert kernel["notebook"] == "headless.ipynb"  # kernel_id: only kernels named by a server have one
    run_ends = [r for r in records if r["type"] == "run_end"]
    assert [r["status"] for r in run_ends] == ["finished", "finished"]
    run_starts = [r for r in records if r["type"] == "run_start"]
    assert [r["exec"] for r in run_starts] == [starts[1]["exec"], starts[3]["exec"]]
    assert [r["seq"] for r in records] == list(range(1, len(records) + 1))


def test_load_ext_in_the_first_cell_records_that_cell_too(tmp_path: Path) -> None:
    cells = ["%load_ext nbprov", "x = 1", "raise ValueError('expected')"]
    notebook = _execute(tmp_path, cells, allow_errors=True)
    records = read_journal(tmp_path / "headless.prov" / "journal")
    starts = [r for r in records if r["type"] == "exec_start"]
    assert [s["cell"] for s in starts] == [cell.id for cell in notebook.cells]
    assert [s["count"] for s in starts] == [1, 2, 3]
    assert [r["status"] for r in records if r["type"] == "exec_end"] == ["ok", "ok", "error"]
