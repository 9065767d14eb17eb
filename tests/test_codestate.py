"""Code state capture against real git repositories."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest

from nbprov import codestate

GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "Test",
    "GIT_AUTHOR_EMAIL": "test@example.org",
    "GIT_COMMITTER_NAME": "Test",
    "GIT_COMMITTER_EMAIL": "test@example.org",
}


def git(repo: Path, *args: str) -> str:
    completed = subprocess.run(
        ["git", *args],
        cwd=repo,
        env={**os.environ, **GIT_IDENTITY},
        capture_output=True,
        check=True,
    )
    return completed.stdout.decode()


@pytest.fixture(autouse=True)
def isolated_from_enclosing_repositories(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    (root / "analysis").mkdir(parents=True)
    git(root, "init", "-q", "-b", "main")
    (root / "train.py").write_text("learning_rate = 0.1\n")
    (root / "weights.bin").write_bytes(bytes(range(256)))
    (root / "analysis" / "nb.ipynb").write_text("{}\n")
    (root / ".gitignore").write_text("*.log\n")
    git(root, "add", ".")
    git(root, "commit", "-q", "-m", "first")
    return root


def notebook(repo: Path) -> Path:
    return repo / "analysis" / "nb.ipynb"


def tracked_files(root: Path) -> dict[str, bytes]:
    names = git(root, "ls-files", "-z").split("\0")
    return {name: (root / name).read_bytes() for name in names if name and (root / name).exists()}


def restore_by_applying(recorded: dict, origin: Path, destination: Path) -> None:
    """What `nbprov restore` does: clone, check out the commit, apply the recorded diff."""
    git(destination.parent, "clone", "-q", str(origin), destination.name)
    git(destination, "checkout", "-q", "--detach", recorded["commit"])
    patch = destination.parent / "recorded.patch"
    patch.write_bytes(recorded["diff"].encode("utf-8"))
    git(destination, "apply", "--binary", str(patch))


def test_clean_repository(repo: Path) -> None:
    state = codestate.git_state(notebook(repo))
    assert state == {
        "root": str(repo.resolve()),
        "commit": git(repo, "rev-parse", "HEAD").strip(),
        "branch": "main",
        "remote": None,
        "remotes": [],
        "dirty": False,
        "diff": "",
        "diff_encoding": "utf-8",
        "diff_sha256": hashlib.sha256(b"").hexdigest(),
        "diff_size": 0,
        "diff_truncated": False,
        "untracked": [],
        "notebook": "analysis/nb.ipynb",
    }


def test_dirty_edits_are_recorded_as_an_applicable_diff(repo: Path, tmp_path: Path) -> None:
    (repo / "train.py").write_text("learning_rate = 0.01\nepochs = 3\n")
    (repo / "weights.bin").write_bytes(bytes(reversed(range(256))) + b"\0tail")
    (repo / "staged.py").write_text("staged = True\n")
    git(repo, "add", "staged.py")
    (repo / "analysis" / "nb.ipynb").unlink()
    # The user's diff configuration must not change the recorded format.
    git(repo, "config", "diff.noprefix", "true")
    git(repo, "config", "color.ui", "always")

    state = codestate.git_state(notebook(repo))

    assert state is not None and state["dirty"] is True
    assert "GIT binary patch" in state["diff"]
    full_diff = state["diff"].encode("utf-8")
    assert state["diff_size"] == len(full_diff)
    assert state["diff_sha256"] == hashlib.sha256(full_diff).hexdigest()
    restored = tmp_path / "restored"
    restore_by_applying(state, repo, restored)
    expected = tracked_files(repo)
    assert {name: (restored / name).read_bytes() for name in expected} == expected
    assert not (restored / "analysis" / "nb.ipynb").exists()


def test_untracked_files_are_listed_and_ignored_files_are_not(repo: Path) -> None:
    (repo / "notes.txt").write_text("todo\n")
    (repo / "run.log").write_text("ignored\n")
    (repo / "data" / "raw").mkdir(parents=True)
    (repo / "data" / "raw" / "a.csv").write_text("1,2\n")

    state = codestate.git_state(notebook(repo))

    assert state is not None
    assert sorted(state["untracked"]) == ["data/", "notes.txt"]
    assert state["dirty"] is False  # untracked files do not change tracked content


@pytest.mark.parametrize(
    ("url", "recorded"),
    [
        ("https://user:token@github.com/org/repo.git", "https://github.com/org/repo.git"),
        ("https://oauth2@gitlab.example.org:8443/org/repo", "https://gitlab.example.org:8443/org/repo"),
        ("http://user:p@ss@host/x", "http://host/x"),
        ("ssh://git:secret@host:2222/org/repo", "ssh://git@host:2222/org/repo"),
        ("git@github.com:org/repo.git", "git@github.com:org/repo.git"),
        ("https://github.com/org/repo", "https://github.com/org/repo"),
        ("/srv/git/repo.git", "/srv/git/repo.git"),
        ("../sibling", "../sibling"),
        ("file:///srv/git/repo.git", "file:///srv/git/repo.git"),
        ("https://gitlab.example/g/p.git?private_token=glpat-abcdefghij0123456789", "https://gitlab.example/g/p.git"),
        ("https://host/p.git#access_token=abc", "https://host/p.git"),
        ("git@github.com:org/repo.git?token=x", "git@github.com:org/repo.git"),
        ("https://[::1]:8080/r.git", "https://[::1]:8080/r.git"),
        # what urlsplit rejects, or what cannot be taken apart with certainty
        ("https://carol:tok@[::1/repo.git", "unparseable"),
        ("https://carol:tok@host:notaport/x", "unparseable"),
        ("https://ho st/x", "unparseable"),
        ("carol:tok@host:path", "unparseable"),
        ("ext::ssh -i key carol@host", "unparseable"),
        ("https://host/x\n", "unparseable"),
    ],
)
def test_remote_urls_are_reduced_to_scheme_host_and_path(url: str, recorded: str) -> None:
    assert codestate.reduce_remote(url) == recorded


def test_origin_is_preferred_and_every_remote_is_recorded_without_credentials(repo: Path) -> None:
    git(repo, "remote", "add", "backup", "https://bk:ghp_secret1@backup.example.org/repo?private_token=glpat-x")
    git(repo, "remote", "add", "origin", "https://alice:ghp_secret@github.com/alice/repo.git")
    state = codestate.git_state(notebook(repo))
    assert state is not None and state["remote"] == "https://github.com/alice/repo.git"
    assert state["remotes"] == [
        {"name": "backup", "url": "https://backup.example.org/repo"},
        {"name": "origin", "url": "https://github.com/alice/repo.git"},
    ]
    recorded = json.dumps(codestate.capture(notebook(repo)))
    assert "secret" not in recorded and "glpat" not in recorded and "alice:" not in recorded


def test_first_remote_when_there_is_no_origin(repo: Path) -> None:
    git(repo, "remote", "add", "upstream", "https://bob@example.org/up.git")
    git(repo, "remote", "add", "zeta", "https://example.org/zeta.git")
    state = codestate.git_state(notebook(repo))
    assert state is not None and state["remote"] == "https://example.org/up.git"


def test_a_remote_named_with_a_space_is_recorded_without_its_credentials(repo: Path) -> None:
    git(repo, "config", "remote.my fork.url", "https://dave:ghp_spacesecret@github.com/dave/repo.git")
    state = codestate.git_state(notebook(repo))
    assert state is not None
    assert state["remotes"] == [{"name": "my fork", "url": "https://github.com/dave/repo.git"}]
    assert state["remote"] == "https://github.com/dave/repo.git"
    assert "spacesecret" not in json.dumps(state)


def test_an_unparseable_remote_keeps_the_rest_of_the_git_state(repo: Path) -> None:
    git(repo, "remote", "add", "origin", "https://carol:tok@[::1/repo.git")
    git(repo, "remote", "add", "mirror", "https://mirror.example/repo.git")
    state = codestate.git_state(notebook(repo))
    assert state is not None and state["commit"] == git(repo, "rev-parse", "HEAD").strip()
    assert state["remotes"] == [
        {"name": "origin", "url": "unparseable"},
        {"name": "mirror", "url": "https://mirror.example/repo.git"},
    ]
    assert state["remote"] is None  # restore never clones a made-up address
    assert "tok" not in json.dumps(state["remotes"])


def test_no_repository_gives_null_git(tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    (plain / "nb.ipynb").write_text("{}\n")
    assert codestate.capture(plain / "nb.ipynb")["git"] is None


def test_no_git_binary_gives_null_git(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(repo / "nowhere"))
    assert codestate.capture(notebook(repo))["git"] is None


def test_detached_head_has_no_branch(repo: Path) -> None:
    (repo / "train.py").write_text("learning_rate = 0.2\n")
    git(repo, "commit", "-q", "-am", "second")
    first = git(repo, "rev-parse", "HEAD~1").strip()
    git(repo, "checkout", "-q", "--detach", first)
    state = codestate.git_state(notebook(repo))
    assert state is not None
    assert (state["commit"], state["branch"]) == (first, None)


def test_repository_without_commits(tmp_path: Path) -> None:
    root = tmp_path / "fresh"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    (root / "nb.ipynb").write_text("{}\n")
    state = codestate.git_state(root / "nb.ipynb")
    assert state is not None
    assert (state["commit"], state["branch"], state["diff"]) == (None, "main", "")
    assert state["untracked"] == ["nb.ipynb"]


def test_diff_beyond_the_cap_is_truncated_and_hashed_in_full(repo: Path) -> None:
    line = "x" * 99 + "é\n"  # a two-byte character so the cap may fall inside one
    (repo / "train.py").write_text(line * 12_000)
    state = codestate.git_state(notebook(repo))
    assert state is not None
    full = subprocess.run(["git", "diff", "HEAD", "--binary"], cwd=repo, capture_output=True, check=True).stdout
    assert len(full) > codestate.DIFF_CAP_BYTES
    assert state["diff_truncated"] is True
    assert state["diff_size"] == len(full)
    assert state["diff_sha256"] == hashlib.sha256(full).hexdigest()
    recorded = state["diff"].encode("utf-8")
    assert codestate.DIFF_CAP_BYTES - 1 <= len(recorded) <= codestate.DIFF_CAP_BYTES
    assert full.startswith(recorded)


def test_a_diff_that_is_not_utf8_is_recorded_in_base64(repo: Path) -> None:
    (repo / "train.py").write_bytes("learning_rate = 0.1  # café\n".encode("latin-1"))
    state = codestate.git_state(notebook(repo))
    assert state is not None and state["diff_encoding"] == "base64"
    diff = base64.b64decode(state["diff"])
    assert hashlib.sha256(diff).hexdigest() == state["diff_sha256"]
    assert "café".encode("latin-1") in diff


def test_packages_are_versions_of_imported_distributions() -> None:
    import prov  # noqa: F401  (imported so that it is in sys.modules)

    packages = codestate.capture(Path("nb.ipynb"))["packages"]
    assert packages["prov"] == metadata.version("prov")
    assert "pytest" in packages
    assert "not-installed-anywhere" not in packages
    assert set(packages.values()) <= {metadata.version(name) for name in packages}


def test_capture_is_json_and_records_python(repo: Path) -> None:
    code = codestate.capture(notebook(repo))
    assert json.loads(json.dumps(code)) == code
    assert code["python"].startswith(".".join(map(str, sys.version_info[:2])))
