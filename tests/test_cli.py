"""The ``nbprov`` command (``python -m nbprov``) runs the bundled Node CLI."""

import subprocess
import sys

from nbprov import __version__


def run(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "nbprov", *args], capture_output=True, text=True, env=env, timeout=60)


def test_version_comes_from_the_bundled_cli() -> None:
    completed = run("--version")
    assert completed.returncode == 0 and completed.stdout.strip() == __version__


def test_user_errors_are_one_clear_line(tmp_path) -> None:
    completed = run("export", str(tmp_path / "missing.ipynb"))
    assert completed.returncode == 1
    assert completed.stderr.startswith("nbprov export:") and "Traceback" not in completed.stderr


def test_without_node_it_says_so() -> None:
    completed = run("--version", env={"PATH": "/nonexistent"})
    assert completed.returncode == 1 and "Node.js" in completed.stderr
