"""A notebook's identity and the place of its provenance folder: the resolution rule, real kernels
that are told (or not told) their notebook, a rename while a cell logs, and the CLI finding a folder
renamed outside JupyterLab by the notebook's id."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import nbformat
import pytest
from conftest import kernel_env
from jupyter_client.manager import KernelManager

import nbprov
from nbprov.framing import decode_series
from nbprov.identity import (
    conflict_folder,
    locate_notebook,
    primary_folder,
    read_identity,
    read_notebook_id,
    resolve_folder,
    unusable_notebook_name,
    write_identity,
)
from nbprov.journal import read_journal

ID_A = "a" * 32
ID_B = "b" * 32


def _notebook(path: Path, notebook_id: str | None, cells: tuple[str, ...] = ()) -> Path:
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(source) for source in cells]
    if notebook_id is not None:
        notebook.metadata["nbprov"] = {"id": notebook_id}
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, path)
    return path


# The rule (nbprov/identity.py; the same rule as src/core/identity.ts).


def test_a_new_notebook_gets_its_stem_folder_and_a_fresh_id(tmp_path: Path) -> None:
    location = resolve_folder(_notebook(tmp_path / "train.ipynb", None), None)
    assert location.folder == tmp_path / "train.prov" and len(location.id) == 32 and location.note is None


def test_a_notebook_without_id_adopts_the_id_of_its_folder(tmp_path: Path) -> None:
    write_identity(tmp_path / "train.prov", ID_A, "train.ipynb")
    location = resolve_folder(_notebook(tmp_path / "train.ipynb", None), None)
    assert (location.folder, location.id, location.note) == (tmp_path / "train.prov", ID_A, None)


def test_a_notebook_renamed_outside_jupyterlab_finds_its_folder_by_id(tmp_path: Path) -> None:
    write_identity(tmp_path / "Untitled.prov", ID_A, "Untitled.ipynb")
    write_identity(tmp_path / "other.prov", ID_B, "other.ipynb")
    location = resolve_folder(_notebook(tmp_path / "train.ipynb", ID_A), ID_A)
    assert location.folder == tmp_path / "Untitled.prov" and location.id == ID_A
    assert "Untitled.prov" in (location.note or "")


def test_a_folder_renamed_outside_jupyterlab_is_found_by_id(tmp_path: Path) -> None:
    write_identity(tmp_path / "moved by hand.prov", ID_A, "train.ipynb")
    location = resolve_folder(_notebook(tmp_path / "train.ipynb", ID_A), ID_A)
    assert location.folder == tmp_path / "moved by hand.prov"


def test_a_copy_of_a_notebook_that_still_exists_gets_its_own_id_and_folder(tmp_path: Path) -> None:
    _notebook(tmp_path / "train.ipynb", ID_A)
    write_identity(tmp_path / "train.prov", ID_A, "train.ipynb")
    location = resolve_folder(_notebook(tmp_path / "train-Copy1.ipynb", ID_A), ID_A)
    assert location.id != ID_A
    assert location.folder == tmp_path / "train-Copy1.prov" and "copy of train.ipynb" in (location.note or "")


def test_a_name_whose_folder_holds_another_history_gets_a_folder_of_its_own(tmp_path: Path) -> None:
    write_identity(tmp_path / "train.prov", ID_B, "train.ipynb")
    location = resolve_folder(_notebook(tmp_path / "train.ipynb", ID_A), ID_A)
    assert location.folder == conflict_folder(tmp_path / "train.ipynb", ID_A) == tmp_path / "train-aaaaaaaa.prov"
    assert "train.prov holds another notebook's history" == location.note
    write_identity(location.folder, ID_A, "train.ipynb")
    assert resolve_folder(tmp_path / "train.ipynb", ID_A).folder == location.folder  # found again by id


def test_a_symlinked_folder_is_never_adopted_by_searching(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    write_identity(elsewhere / "history.prov", ID_A, "gone.ipynb")
    (tmp_path / "nb").mkdir()
    (tmp_path / "nb" / "link.prov").symlink_to(elsewhere / "history.prov")
    location = resolve_folder(_notebook(tmp_path / "nb" / "train.ipynb", ID_A), ID_A)
    assert location.folder == tmp_path / "nb" / "train.prov"


def test_identity_files_and_notebooks_that_do_not_parse_are_ignored(tmp_path: Path) -> None:
    folder = tmp_path / "x.prov"
    folder.mkdir()
    for text in ["{", "[]", '{"id": "not hex"}', json.dumps({"id": ID_A.upper()})]:
        (folder / "identity.json").write_text(text)
        assert read_identity(folder) is None
    (folder / "identity.json").write_text(json.dumps({"id": ID_A, "notebook": "../../etc/passwd.ipynb"}))
    assert read_identity(folder).notebook is None  # a name from a file is data, never a path
    (tmp_path / "broken.ipynb").write_text("not json")
    assert read_notebook_id(tmp_path / "broken.ipynb") is None
    assert read_notebook_id(tmp_path / "missing.ipynb") is None


def test_notebook_paths_come_from_configure_then_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("NBPROV_NOTEBOOK", raising=False)
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    assert locate_notebook(None, None, tmp_path).source is None
    assert locate_notebook(None, None, tmp_path).path == tmp_path / "untitled.ipynb"
    monkeypatch.setenv("JPY_SESSION_NAME", "sub/dir/served.ipynb")  # relative to the server's root
    assert locate_notebook(None, None, tmp_path).path == tmp_path / "served.ipynb"
    monkeypatch.setenv("NBPROV_NOTEBOOK", "/data/runs/../nb/env.ipynb")
    assert locate_notebook(None, None, tmp_path).path == Path("/data/nb/env.ipynb")
    assert locate_notebook("given.ipynb", None, tmp_path).path == tmp_path / "given.ipynb"
    for hostile in ["", "   ", "a\0b.ipynb"]:
        assert locate_notebook(hostile, None, tmp_path).source == "NBPROV_NOTEBOOK"
    # A name with no stem is refused, not passed over for the next source.
    for refused in ["..", "/", "..ipynb"]:
        located = locate_notebook(refused, None, tmp_path)
        assert (located.source, located.path) == (None, tmp_path / "untitled.ipynb")
        assert "has no stem" in located.refused


NAMES = json.loads((Path(__file__).with_name("notebook_names.json")).read_text(encoding="utf-8"))


@pytest.mark.parametrize("name", NAMES["refused"])
def test_a_notebook_name_without_a_stem_has_no_folder(name: str) -> None:
    """The same cases as src/core/__tests__/identity.spec.ts, from one shared table."""
    assert "has no stem" in unusable_notebook_name(name)
    path = Path("/nb") / name
    if path.name == name.rsplit("/", 1)[-1]:  # pathlib drops a trailing "." itself
        with pytest.raises(ValueError, match="has no stem"):
            primary_folder(path)
    with pytest.raises(ValueError, match="nbprov.configure: .*has no stem"):
        nbprov.configure(notebook=f"/nb/{name}")


@pytest.mark.parametrize("name", sorted(NAMES["accepted"]))
def test_a_notebook_name_with_a_stem_gets_its_folder(name: str) -> None:
    assert unusable_notebook_name(name) is None
    assert primary_folder(Path("/nb") / name) == Path("/nb") / NAMES["accepted"][name]


def test_the_cli_and_a_kernel_refuse_a_name_without_a_stem_alike(tmp_path: Path, kernels: Any) -> None:
    notebook = _notebook(tmp_path / "..ipynb", None, ("x = 1",))
    cli = subprocess.run(
        ["node", str(Path(nbprov.__file__).parent / "cli" / "nbprov.cjs"), "export", str(notebook)],
        capture_output=True,
        text=True,
    )
    expected = unusable_notebook_name(notebook.name)
    assert (cli.returncode, cli.stderr.strip()) == (1, f"nbprov export: {expected}")
    kernel = kernels(tmp_path, {"NBPROV_NOTEBOOK": str(notebook), "JPY_SESSION_NAME": ""})
    content, _, stderr = kernel.run(
        "%load_ext nbprov\nimport nbprov\nwith nbprov.run(name='r') as r:\n    r.log_metric('m', 1.0)"
    )
    assert content["status"] == "ok"
    assert f"nbprov: {expected} (NBPROV_NOTEBOOK); this kernel records nothing" in stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["..ipynb"]


# Real kernels through jupyter_client.


class Kernel:
    """A real IPython kernel; ``run`` returns (reply content, stdout, stderr) of one execution."""

    def __init__(self, cwd: Path, env: dict[str, str], extra_arguments: list[str] | None = None) -> None:
        self.manager = KernelManager(kernel_name="python3")
        self.manager.start_kernel(
            cwd=str(cwd), env=kernel_env({"NBPROV_ENERGY": "0", **env}), extra_arguments=extra_arguments or []
        )
        self.client = self.manager.client()
        self.client.start_channels()
        self.client.wait_for_ready(timeout=60)

    def run(self, code: str, silent: bool = False, timeout: float = 60) -> tuple[dict[str, Any], str, str]:
        streams = {"stdout": "", "stderr": ""}

        def on_output(msg: dict[str, Any]) -> None:
            if msg["msg_type"] == "stream":
                streams[msg["content"]["name"]] += msg["content"]["text"]
            elif msg["msg_type"] == "error":
                streams["stderr"] += "\n".join(msg["content"]["traceback"])

        reply = self.client.execute_interactive(code, silent=silent, timeout=timeout, output_hook=on_output)
        return reply["content"], streams["stdout"], streams["stderr"]

    def value(self, expression: str) -> str:
        content, stdout, stderr = self.run(f"print({expression})")
        assert content["status"] == "ok", stderr
        return stdout.strip()

    def stop(self) -> None:
        self.client.stop_channels()
        self.manager.shutdown_kernel(now=True)


@pytest.fixture
def kernels() -> Any:
    started: list[Kernel] = []

    def start(cwd: Path, env: dict[str, str] | None = None, extra_arguments: list[str] | None = None) -> Kernel:
        started.append(Kernel(cwd, env or {}, extra_arguments))
        return started[-1]

    yield start
    for kernel in started:
        kernel.stop()


def _page_configures(notebook: Path, notebook_id: str) -> str:
    """What the JupyterLab page runs (silently) at kernel start and after a rename (src/service.ts)."""
    return "\n".join(
        [
            "import nbprov as _nbprov",
            "try:",
            f"    _nbprov.configure(notebook={json.dumps(str(notebook))}, "
            f"notebook_id={json.dumps(notebook_id)}, energy=False)",
            "except RuntimeError:",
            "    pass",
            "_nbprov.load_ipython_extension(get_ipython())",
            "del _nbprov",
        ]
    )


def _points(folder: Path) -> list[tuple[int, float]]:
    points = []
    for record in read_journal(folder / "journal"):
        if record["type"] == "metrics":
            for series in record["series"]:
                arrays = decode_series(series)
                points.extend(zip(arrays["steps"], arrays["values"], strict=False))
    return points


def test_a_headless_kernel_told_its_notebook_records_next_to_it_not_in_its_working_directory(
    tmp_path: Path, kernels: Any
) -> None:
    workdir, notebooks = tmp_path / "work", tmp_path / "notebooks"
    workdir.mkdir()
    by_env = _notebook(notebooks / "by env.ipynb", ID_A)
    by_server = _notebook(notebooks / "served.ipynb", None)
    kernel = kernels(workdir, {"NBPROV_NOTEBOOK": str(by_env)})
    content, _, stderr = kernel.run("%load_ext nbprov\nx = 1")
    assert content["status"] == "ok" and "warning" not in stderr
    assert kernel.value("__import__('nbprov')._tracking.folder") == str(notebooks / "by env.prov")
    # jupyter_server gives the absolute path in JPY_SESSION_NAME.
    other = kernels(workdir, {"JPY_SESSION_NAME": str(by_server)}, ["--ext=nbprov"])
    content, _, stderr = other.run("y = 2")
    assert content["status"] == "ok" and "warning" not in stderr
    other.run("import nbprov; nbprov._tracking.flush()")
    assert not list(workdir.iterdir())
    starts = [r for r in read_journal(notebooks / "served.prov" / "journal") if r["type"] == "exec_start"]
    assert [s["source"] for s in starts][:1] == ["y = 2"]
    served_id = read_identity(notebooks / "served.prov").id
    kernel_start = next(r for r in read_journal(notebooks / "served.prov" / "journal") if r["type"] == "kernel_start")
    assert (kernel_start["notebook"], kernel_start["notebook_id"]) == ("served.ipynb", served_id)
    assert read_identity(notebooks / "by env.prov").id == ID_A  # the notebook's own id


@pytest.mark.parametrize("loaded_by", ["a cell", "the kernel's start"])
def test_a_kernel_that_cannot_tell_its_notebook_warns_once_and_records_nothing(
    tmp_path: Path, kernels: Any, loaded_by: str
) -> None:
    environment = {name: "" for name in ("NBPROV_NOTEBOOK", "JPY_SESSION_NAME")}
    if loaded_by == "a cell":
        kernel = kernels(tmp_path, environment)
        outputs = [kernel.run("%load_ext nbprov")[2]]
    else:
        kernel = kernels(tmp_path, environment, ["--ext=nbprov"])
        outputs = []
    outputs += [kernel.run(f"v = {i}\n%load_ext nbprov")[2] for i in range(3)]
    warned = [i for i, text in enumerate(outputs) if "not told which notebook" in text]
    assert warned == [0], outputs
    assert "records nothing" in outputs[0] and "NBPROV_NOTEBOOK" in outputs[0]
    assert kernel.run("import nbprov\nwith nbprov.run(name='r') as r:\n    r.log_metric('m', 1.0)")[0]["status"] == "ok"
    kernel.run("nbprov.active_run()")
    assert not list(tmp_path.glob("*.prov")) and not list(tmp_path.rglob(".gitignore"))


LOGGING_CELL = """
import time, nbprov
with nbprov.run(name='{name}') as run:
    for step in range({points}):
        run.log_metric('loss', float(step), step=step)
        if step % 100 == 0:
            time.sleep(0.01)
"""


def test_a_rename_while_a_cell_logs_moves_everything_and_the_kernel_follows(tmp_path: Path, kernels: Any) -> None:
    old = _notebook(tmp_path / "Untitled.ipynb", ID_A)
    kernel = kernels(tmp_path, {"JPY_SESSION_NAME": str(old)})
    assert kernel.run(_page_configures(old, ID_A), silent=True)[0]["status"] == "ok"
    new = tmp_path / "moved" / "train.ipynb"
    new.parent.mkdir()

    def rename_as_the_page_does() -> None:
        time.sleep(0.5)  # the cell is logging by now
        os.rename(old, new)  # the Contents API renames with shutil.move, an os.rename here
        os.rename(tmp_path / "Untitled.prov", tmp_path / "moved" / "train.prov")
        write_identity(tmp_path / "moved" / "train.prov", ID_A, "train.ipynb")
        kernel.client.execute(_page_configures(new, ID_A), silent=True, store_history=False)  # heard after the cell

    renamer = threading.Thread(target=rename_as_the_page_does)
    renamer.start()
    content, _, stderr = kernel.run(LOGGING_CELL.format(name="during", points=200_000), timeout=120)
    renamer.join()
    assert content["status"] == "ok", stderr
    assert kernel.value("__import__('nbprov')._tracking.folder") == str(new.parent / "train.prov")
    assert kernel.run(LOGGING_CELL.format(name="after", points=1000))[0]["status"] == "ok"
    kernel.run("nbprov._tracking.flush()")
    assert not (tmp_path / "Untitled.prov").exists()
    points = _points(new.parent / "train.prov")
    assert len(points) == 201_000 and all(step == value for step, value in points)
    runs = [r["name"] for r in read_journal(new.parent / "train.prov" / "journal") if r["type"] == "run_start"]
    assert runs == ["during", "after"]


def test_a_kernel_refuses_to_follow_a_path_whose_folder_is_not_its_own(tmp_path: Path, kernels: Any) -> None:
    notebook = _notebook(tmp_path / "train.ipynb", ID_A)
    kernel = kernels(tmp_path, {"NBPROV_NOTEBOOK": str(notebook)})
    kernel.run("%load_ext nbprov")
    _notebook(tmp_path / "other.ipynb", ID_B)
    content, _, stderr = kernel.run(
        f"import nbprov; nbprov.configure(notebook={json.dumps(str(tmp_path / 'other.ipynb'))})"
    )
    assert content["status"] == "error" and "records train.ipynb into" in stderr
    assert kernel.value("nbprov._tracking.folder") == str(tmp_path / "train.prov")
    assert not (tmp_path / "other.prov").exists()


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "nbprov", *args], capture_output=True, text=True, timeout=120)


def test_a_rename_outside_jupyterlab_is_found_by_id_by_the_next_kernel_and_the_cli(tmp_path: Path) -> None:
    from nbclient import NotebookClient

    def execute(path: Path) -> None:
        notebook = nbformat.read(path, as_version=4)
        NotebookClient(
            notebook,
            timeout=120,
            kernel_name="python3",
            extra_arguments=["--ext=nbprov"],
            resources={"metadata": {"path": str(path.parent)}},
        ).execute(env=kernel_env({"NBPROV_NOTEBOOK": str(path), "NBPROV_ENERGY": "0"}))

    cell = "import nbprov\nwith nbprov.run(name='r') as run:\n    run.log_metric('loss', 0.5)"
    first = _notebook(tmp_path / "Untitled.ipynb", ID_A, (cell,))
    execute(first)
    renamed = tmp_path / "train.ipynb"
    first.rename(renamed)
    execute(renamed)  # a second session, recorded into the same history
    assert not (tmp_path / "train.prov").exists()
    (tmp_path / "Untitled.prov").rename(tmp_path / "history kept by hand.prov")
    completed = _cli("export", str(renamed))
    assert completed.returncode == 0, completed.stderr
    assert "2 runs" in completed.stdout and "history kept by hand.prov" in completed.stdout
    prov = json.loads((tmp_path / "history kept by hand.prov" / "prov.json").read_text())
    runs = [a for a in prov["activity"].values() if a.get("prov:type", {}).get("$") == "provml:RunExecution"]
    assert len(runs) == 2
    # The old name has no notebook any more: exporting it is a clear error, not an empty export.
    completed = _cli("export", str(first))
    assert completed.returncode == 1 and "notebook not found" in completed.stderr
