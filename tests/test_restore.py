"""`nbprov restore` end to end: real repository, real kernel, real export, restored trees compared.

A notebook in a git repository runs two tracked runs through nbclient, with commits and
uncommitted edits (text and binary) between them. The export's PROV-JSON is then restored
run by run with the bundled CLI, and each restored tree must equal, byte for byte, the files
as they were when its run started; the restored notebook must hold the executed sources.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

PROJECT = Path(__file__).resolve().parents[1]
CLI = PROJECT / "nbprov" / "cli" / "nbprov.cjs"
NOTEBOOK = "train.ipynb"
GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "Test",
    "GIT_AUTHOR_EMAIL": "test@example.org",
    "GIT_COMMITTER_NAME": "Test",
    "GIT_COMMITTER_EMAIL": "test@example.org",
}

pytestmark = pytest.mark.skipif(shutil.which("node") is None, reason="the nbprov CLI needs Node.js")

SETUP_SOURCES = ["%load_ext nbprov", "import nbprov\nimport pathlib"]
RUN_SOURCE = (
    "with nbprov.run({name!r}) as run:\n    run.log_param('learning_rate', pathlib.Path('train.py').read_text())\n"
)


def git(repo: Path, *args: str) -> str:
    completed = subprocess.run(
        ["git", *args], cwd=repo, env={**os.environ, **GIT_IDENTITY}, capture_output=True, check=True
    )
    return completed.stdout.decode()


def cli(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["node", str(CLI), *map(str, args)], capture_output=True, text=True, timeout=120)


def files_in(root: Path) -> dict[str, bytes]:
    """Every file under root except git's own folder and nbprov's journal/export folder."""
    return {
        path.relative_to(root).as_posix(): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file() and not {".git", f"{Path(NOTEBOOK).stem}.prov"} & set(path.relative_to(root).parts)
    }


def versioned_files(repo: Path) -> dict[str, bytes]:
    """The files a restore can bring back: in the index (committed or staged), present on disk."""
    names = [name for name in git(repo, "ls-files", "-z").split("\0") if name]
    return {name: (repo / name).read_bytes() for name in sorted(names) if (repo / name).is_file()}


def execute_in(folder: Path, notebook: nbformat.NotebookNode) -> NotebookClient:
    """A client whose kernel runs with `folder` as its working directory."""
    return NotebookClient(notebook, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(folder)}})


def kernel_environment(patch: pytest.MonkeyPatch, ceiling: Path) -> None:
    """What the kernel inherits: the notebook's name, nbprov importable, no repository above `ceiling`."""
    patch.setenv("NBPROV_NOTEBOOK", NOTEBOOK)
    patch.setenv("PYTHONPATH", str(PROJECT))
    patch.setenv("GIT_CEILING_DIRECTORIES", str(ceiling))


def write_notebook(path: Path, sources: list[str]) -> nbformat.NotebookNode:
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(source) for source in sources]
    nbformat.write(notebook, path)
    return notebook


def run_ids_by_name(folder: Path) -> dict[str, str]:
    ids = {}
    for journal in (folder / f"{Path(NOTEBOOK).stem}.prov" / "journal").glob("k-*.jsonl"):
        for line in journal.read_text().splitlines():
            record = json.loads(line)
            if record["type"] == "run_start":
                ids[record["name"]] = record["run"]
    return ids


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Runs the notebook once for the whole module and exports it."""
    if not CLI.exists():
        pytest.fail(f"{CLI} is missing: build it with `npm run build:cli`")
    base = tmp_path_factory.mktemp("recorded")
    repo = base / "repo"
    (repo / "data").mkdir(parents=True)
    git(repo, "init", "-q", "-b", "main")
    (repo / "train.py").write_text("learning_rate = 0.1\n")
    (repo / "data" / "weights.bin").write_bytes(bytes(range(256)) * 4)
    (repo / ".gitignore").write_text("*.prov/\n")
    sources = [*SETUP_SOURCES, RUN_SOURCE.format(name="first"), RUN_SOURCE.format(name="second")]
    notebook = write_notebook(repo / NOTEBOOK, sources)
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "first commit")
    # State of the first run: uncommitted text and binary edits plus a staged new file.
    (repo / "train.py").write_text("learning_rate = 0.05  # TAMPER-MARKER\n")
    (repo / "data" / "weights.bin").write_bytes(bytes(reversed(range(256))) * 4)
    (repo / "augment.py").write_text("flip = True\n")
    git(repo, "add", "augment.py")
    (repo / "scratch.txt").write_text("untracked, not restorable\n")

    states: dict[str, dict[str, bytes]] = {}
    executed: dict[str, list[str]] = {}
    with pytest.MonkeyPatch.context() as patch:
        kernel_environment(patch, base)
        client = execute_in(repo, notebook)
        with client.setup_kernel():
            for index in range(3):
                client.execute_cell(notebook.cells[index], index)
            states["first"], executed["first"] = versioned_files(repo), sources[:3]
            # State of the second run: a new commit, then a different uncommitted edit and a deletion.
            git(repo, "commit", "-q", "-am", "second commit")
            (repo / "train.py").write_text("learning_rate = 0.01\nepochs = 3\n")
            (repo / "augment.py").unlink()
            client.execute_cell(notebook.cells[3], 3)
            states["second"], executed["second"] = versioned_files(repo), sources
    for cell in notebook.cells:
        errors = [output for output in cell.get("outputs", []) if output.get("output_type") == "error"]
        assert not errors, errors

    exported = cli("export", repo / NOTEBOOK)
    assert exported.returncode == 0, exported.stderr
    prov = repo / f"{Path(NOTEBOOK).stem}.prov" / "prov.json"
    assert prov.is_file()
    return {
        "base": base,
        "repo": repo,
        "prov": prov,
        "runs": run_ids_by_name(repo),
        "states": states,
        "executed": executed,
    }


def restore_into(
    recorded: dict, run_name: str, destination: Path, *extra: str | Path
) -> subprocess.CompletedProcess[str]:
    return cli(
        "restore",
        recorded["prov"],
        "--run",
        recorded["runs"][run_name],
        "--repo",
        recorded["repo"],
        *extra,
        destination,
    )


@pytest.mark.parametrize("run_name", ["first", "second"])
def test_each_run_is_restored_byte_for_byte(recorded: dict, run_name: str, tmp_path: Path) -> None:
    destination = tmp_path / "restored"
    result = restore_into(recorded, run_name, destination)
    assert result.returncode == 0, result.stderr

    restored = files_in(destination)
    expected = recorded["states"][run_name]
    assert {name: data for name, data in restored.items() if name != NOTEBOOK} == {
        name: data for name, data in expected.items() if name != NOTEBOOK
    }
    notebook = nbformat.reads(restored[NOTEBOOK].decode("utf-8"), as_version=4)
    nbformat.validate(notebook)
    assert (notebook.nbformat, notebook.nbformat_minor) == (4, 5)
    assert [cell.source for cell in notebook.cells] == recorded["executed"][run_name]
    assert all(cell.cell_type == "code" for cell in notebook.cells)
    assert list(tmp_path.iterdir()) == [destination]


def test_first_run_reports_untracked_files_it_cannot_restore(recorded: dict, tmp_path: Path) -> None:
    result = restore_into(recorded, "first", tmp_path / "restored")
    assert result.returncode == 0, result.stderr
    assert "scratch.txt" in result.stderr
    assert not (tmp_path / "restored" / "scratch.txt").exists()


def test_a_tampered_diff_is_refused(recorded: dict, tmp_path: Path) -> None:
    text = recorded["prov"].read_text()
    assert text.count("TAMPER-MARKER") >= 1
    tampered = tmp_path / "tampered.json"
    tampered.write_text(text.replace("TAMPER-MARKER", "TAMPERED-XXXX"))
    result = cli("restore", tampered, "--run", recorded["runs"]["first"], "--repo", recorded["repo"], tmp_path / "out")
    assert result.returncode != 0
    assert "SHA-256" in result.stderr
    assert sorted(path.name for path in tmp_path.iterdir()) == ["tampered.json"]


def test_a_missing_commit_is_refused_and_the_clone_removed(recorded: dict, tmp_path: Path) -> None:
    other = tmp_path / "other"
    other.mkdir()
    git(other, "init", "-q", "-b", "main")
    (other / "readme").write_text("unrelated\n")
    git(other, "add", ".")
    git(other, "commit", "-q", "-m", "unrelated")
    result = cli("restore", recorded["prov"], "--run", recorded["runs"]["first"], "--repo", other, tmp_path / "out")
    assert result.returncode != 0
    assert "is not in" in result.stderr
    assert sorted(path.name for path in tmp_path.iterdir()) == ["other"]


def test_a_destination_that_is_not_empty_is_refused_untouched(recorded: dict, tmp_path: Path) -> None:
    destination = tmp_path / "busy"
    destination.mkdir()
    (destination / "keep.txt").write_text("mine\n")
    result = restore_into(recorded, "first", destination)
    assert result.returncode != 0
    assert "not empty" in result.stderr
    assert files_in(destination) == {"keep.txt": b"mine\n"}


def test_an_unknown_run_is_refused(recorded: dict, tmp_path: Path) -> None:
    result = cli("restore", recorded["prov"], "--run", "0" * 32, "--repo", recorded["repo"], tmp_path / "out")
    assert result.returncode != 0
    assert "0" * 32 in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_without_git_information_only_the_notebook_is_restored_on_request(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    sources = [*SETUP_SOURCES, RUN_SOURCE.format(name="only")]
    (plain / "train.py").write_text("learning_rate = 0.3\n")
    notebook = write_notebook(plain / NOTEBOOK, sources)
    kernel_environment(monkeypatch, tmp_path)
    execute_in(plain, notebook).execute()
    assert cli("export", plain / NOTEBOOK).returncode == 0
    prov = plain / f"{Path(NOTEBOOK).stem}.prov" / "prov.json"
    run = run_ids_by_name(plain)["only"]

    refused = cli("restore", prov, "--run", run, tmp_path / "out")
    assert refused.returncode != 0
    assert "--notebook-only" in refused.stderr
    assert not (tmp_path / "out").exists()

    restored = cli("restore", prov, "--run", run, "--notebook-only", tmp_path / "out")
    assert restored.returncode == 0, restored.stderr
    assert sorted(path.name for path in (tmp_path / "out").iterdir()) == [NOTEBOOK]
    notebook = nbformat.read(tmp_path / "out" / NOTEBOOK, as_version=4)
    assert [cell.source for cell in notebook.cells] == sources


@pytest.mark.parametrize("selector", ["name", "prov id"])
def test_without_repo_or_remote_the_recorded_repository_is_used(recorded: dict, selector: str, tmp_path: Path) -> None:
    """The run's repository had no remote; its recorded path still holds the commit: no --repo needed."""
    run_id = recorded["runs"]["second"]
    run = "second" if selector == "name" else f"nbprov:run.{run_id}"
    destination = tmp_path / "restored"
    result = cli("restore", recorded["prov"], "--run", run, destination)
    assert result.returncode == 0, result.stderr
    restored = files_in(destination)
    expected = recorded["states"]["second"]
    assert {name: data for name, data in restored.items() if name != NOTEBOOK} == {
        name: data for name, data in expected.items() if name != NOTEBOOK
    }


def test_a_recorded_repository_that_lost_the_commit_asks_for_repo(recorded: dict, tmp_path: Path) -> None:
    moved = tmp_path / "elsewhere"
    moved.mkdir()
    git(moved, "init", "-q", "-b", "main")
    prov = tmp_path / "prov.json"
    document = json.loads(recorded["prov"].read_text())
    for attributes in document["entity"].values():
        if "nbprov:git_root" in attributes:
            attributes["nbprov:git_root"] = str(moved)
    prov.write_text(json.dumps(document))
    result = cli("restore", prov, "--run", "first", tmp_path / "out")
    assert result.returncode == 1
    assert f"its recorded path {moved} no longer holds commit" in result.stderr and "--repo" in result.stderr
    assert sorted(path.name for path in tmp_path.iterdir()) == ["elsewhere", "prov.json"]


def _pointing_at(recorded: dict, tmp_path: Path, commit: str, notebook: str) -> Path:
    """The export with the first run's code state replaced: `commit`, no diff, the notebook at `notebook`."""
    document = json.loads(recorded["prov"].read_text())
    run = next(key for key, a in document["activity"].items() if a.get("nbprov:run_id") == recorded["runs"]["first"])
    (code_state,) = [
        document["entity"][used["prov:entity"]]
        for used in document["used"].values()
        if used["prov:activity"] == run and used["prov:entity"].startswith("nbprov:code.")
    ]
    code_state.update(
        {
            "nbprov:git_commit": commit,
            "nbprov:git_diff": "",
            "nbprov:git_diff_sha256": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            "nbprov:git_diff_size": 0,
            "nbprov:git_diff_truncated": False,
            "nbprov:git_notebook": notebook,
        }
    )
    code_state.pop("nbprov:git_remote", None)
    changed = tmp_path / "changed.json"
    changed.write_text(json.dumps(document))
    return changed


def test_a_link_in_the_repository_leading_outside_is_refused_before_any_folder_is_made(
    recorded: dict, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    hostile = tmp_path / "hostile"
    hostile.mkdir()
    git(hostile, "init", "-q", "-b", "main")
    (hostile / "linked").symlink_to(outside)
    git(hostile, "add", ".")
    git(hostile, "commit", "-q", "-m", "a link leading out")
    commit = git(hostile, "rev-parse", "HEAD").strip()
    export = _pointing_at(recorded, tmp_path, commit, "linked/sub/train.ipynb")
    result = cli("restore", export, "--run", recorded["runs"]["first"], "--repo", hostile, tmp_path / "out")
    assert result.returncode == 1, result.stderr
    assert "leads outside the destination" in result.stderr and "    at " not in result.stderr
    assert list(outside.iterdir()) == []  # no `sub` made through the link
    assert not (tmp_path / "out").exists()


def test_a_destination_that_is_a_link_is_refused(recorded: dict, tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir()
    (tmp_path / "link").symlink_to(real)
    result = restore_into(recorded, "first", tmp_path / "link")
    assert result.returncode == 1
    assert "is a symbolic link" in result.stderr
    assert list(real.iterdir()) == []
