"""Headless execution through nbclient (no browser): every cell is recorded with its cell id; the
README's nbconvert and papermill commands, run as written, with and without a notebook name."""

from __future__ import annotations

import os
import subprocess
import sys
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


def _readme_headless_commands() -> list[str]:
    """The shell lines of the README's headless block, exactly as written there."""
    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    block = readme.split("<!-- headless-commands", 1)[1].split("```bash\n", 1)[1].split("```", 1)[0]
    lines = [line for line in block.splitlines() if line.strip()]
    assert len(lines) == 2 and all(line.startswith("NBPROV_NOTEBOOK=train.ipynb ") for line in lines)
    return lines


def _train_notebook(folder: Path) -> None:
    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    notebook.cells = [
        nbformat.v4.new_code_cell("%load_ext nbprov"),
        nbformat.v4.new_code_cell("lr = 0.1", metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell(
            "import nbprov\nwith nbprov.run(name='fit', params={'lr': lr}) as run:\n    run.log_metric('loss', lr)"
        ),
    ]
    nbformat.write(notebook, folder / "train.ipynb")


def _shell(folder: Path, line: str) -> None:
    environment = kernel_env(
        {"NBPROV_ENERGY": "0", "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    )
    for inherited in ("NBPROV_NOTEBOOK", "JPY_SESSION_NAME"):
        environment.pop(inherited, None)
    completed = subprocess.run(
        ["bash", "-c", line], cwd=folder, env=environment, capture_output=True, text=True, timeout=300
    )
    assert completed.returncode == 0, completed.stderr[-3000:]


def _printed(path: Path) -> str:
    cells = nbformat.read(path, as_version=4).cells
    return "".join(output.get("text", "") for cell in cells for output in cell.get("outputs", []))


def test_the_readme_headless_commands_record_next_to_the_notebook(tmp_path: Path) -> None:
    _train_notebook(tmp_path)
    for line in _readme_headless_commands():
        _shell(tmp_path, line)
    records = read_journal(tmp_path / "train.prov" / "journal")
    assert len({r["session"] for r in records if r["type"] == "kernel_start"}) == 2
    params = [r["value"] for r in records if r["type"] == "param" and r["key"] == "lr"]
    assert sorted(params) == [0.1, 0.5]  # nbconvert's run, then papermill's with -p lr 0.5
    assert [r["status"] for r in records if r["type"] == "run_end"] == ["finished", "finished"]
    assert (tmp_path / "train.prov" / ".gitignore").is_file()
    assert "records nothing" not in _printed(tmp_path / "train-run.ipynb") + _printed(tmp_path / "train-out.ipynb")


def test_the_readme_headless_commands_without_a_name_record_nothing_and_say_so_once(tmp_path: Path) -> None:
    _train_notebook(tmp_path)
    for line in _readme_headless_commands():
        _shell(tmp_path, line.removeprefix("NBPROV_NOTEBOOK=train.ipynb "))
    assert not list(tmp_path.rglob("*.prov")) and not list(tmp_path.rglob("journal"))
    for output in ("train-run.ipynb", "train-out.ipynb"):
        assert _printed(tmp_path / output).count("so it records nothing") == 1
