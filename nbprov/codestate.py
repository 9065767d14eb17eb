"""Code state recorded at run start: git repository state, Python version, imported packages.

`capture` never raises: provenance must not fail the user's cell. Without a repository (or
without a git binary) the `git` part is None.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import os
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

DIFF_CAP_BYTES = 1 << 20
GIT_TIMEOUT_S = 5.0
# Schemes whose user name is part of the address (ssh://git@host/x); others lose the whole userinfo.
_SCHEMES_KEEPING_USER = {"ssh", "git+ssh", "ssh+git"}

log = logging.getLogger("nbprov")


class GitFailed(Exception):
    """A git command could not run, timed out or exited non-zero."""


def capture(notebook_path: Path) -> dict[str, Any]:
    """The `code` field of a `run_start` record for a notebook at `notebook_path`."""
    return {
        "git": git_state(Path(notebook_path)),
        "python": sys.version,
        "packages": imported_package_versions(),
    }


def git_state(notebook_path: Path) -> dict[str, Any] | None:
    """Repository state around the notebook, or None when there is no usable repository."""
    notebook = notebook_path.resolve()
    try:
        root = Path(_git(notebook.parent, "rev-parse", "--show-toplevel").decode().strip()).resolve()
    except GitFailed:
        return None
    try:
        commit, branch, untracked = _status(root)
        diff = _diff_against_head(root) if commit else b""
        remote = _remote_url(root)
    except GitFailed as failure:
        log.warning("nbprov: git state of %s not recorded: %s", root, failure)
        return None
    try:
        notebook_in_repo: str | None = notebook.relative_to(root).as_posix()
    except ValueError:
        notebook_in_repo = None
    return {
        "root": str(root),
        "commit": commit,
        "branch": branch,
        "remote": remote,
        "dirty": bool(diff),
        **_diff_fields(diff),
        "untracked": untracked,
        "notebook": notebook_in_repo,
    }


def strip_credentials(url: str) -> str:
    """Remove secrets from a remote URL; scp-like (`git@host:path`) and local paths are kept."""
    parts = urlsplit(url)
    if not parts.scheme or "@" not in parts.netloc or len(parts.scheme) == 1:
        # No scheme (scp-like or a path), a Windows drive letter, or no userinfo at all.
        return url
    userinfo, _, hostport = parts.netloc.rpartition("@")
    if parts.scheme.lower() in _SCHEMES_KEEPING_USER:
        user = userinfo.split(":", 1)[0]
        netloc = f"{user}@{hostport}" if user else hostport
    else:
        netloc = hostport
    return urlunsplit(parts._replace(netloc=netloc))


def _diff_fields(diff: bytes) -> dict[str, Any]:
    """The diff as recorded: text when it is UTF-8 (else base64), capped, hashed in full."""
    kept = diff[:DIFF_CAP_BYTES]
    try:
        diff.decode("utf-8")
    except UnicodeDecodeError:
        recorded, encoding = base64.b64encode(kept).decode("ascii"), "base64"
    else:
        # The cap may cut a character in two: drop its first bytes rather than fail.
        recorded, encoding = kept.decode("utf-8", "ignore"), "utf-8"
    return {
        "diff": recorded,
        "diff_encoding": encoding,
        "diff_sha256": hashlib.sha256(diff).hexdigest(),
        "diff_size": len(diff),
        "diff_truncated": len(diff) > DIFF_CAP_BYTES,
    }


def _status(root: Path) -> tuple[str | None, str | None, list[str]]:
    """HEAD commit (None before the first commit), branch (None when detached), untracked paths."""
    output = _git(root, "status", "--porcelain=v2", "--branch", "-z", "--untracked-files=normal")
    commit: str | None = None
    branch: str | None = None
    untracked: list[str] = []
    for entry in output.decode("utf-8", "replace").split("\0"):
        if entry.startswith("# branch.oid "):
            oid = entry[len("# branch.oid ") :]
            commit = None if oid == "(initial)" else oid
        elif entry.startswith("# branch.head "):
            head = entry[len("# branch.head ") :]
            branch = None if head == "(detached)" else head
        elif entry.startswith("? "):
            untracked.append(entry[2:])
    return commit, branch, untracked


def _diff_against_head(root: Path) -> bytes:
    # Options pin the format `git apply` expects, whatever the user's diff configuration says.
    return _git(
        root,
        "diff",
        "HEAD",
        "--binary",
        "--no-color",
        "--no-ext-diff",
        "--no-textconv",
        "--no-relative",
        "--src-prefix=a/",
        "--dst-prefix=b/",
        "--submodule=short",
    )


def _remote_url(root: Path) -> str | None:
    """URL of `origin`, else of the first configured remote, without credentials."""
    try:
        output = _git(root, "config", "--get-regexp", r"^remote\..*\.url$")
    except GitFailed:
        return None  # `git config --get-regexp` exits 1 when nothing matches: no remote.
    urls: dict[str, str] = {}
    for line in output.decode("utf-8", "replace").splitlines():
        key, _, url = line.partition(" ")
        urls.setdefault(key[len("remote.") : -len(".url")], url)
    if not urls:
        return None
    return strip_credentials(urls.get("origin", next(iter(urls.values()))))


def _git(cwd: Path, *args: str) -> bytes:
    environment = {
        **os.environ,
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_OPTIONAL_LOCKS": "0",  # never take index.lock: the user may be running git too
        "LC_ALL": "C",
    }
    try:
        completed = subprocess.run(
            ["git", *args],
            cwd=cwd,
            env=environment,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=GIT_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.SubprocessError) as error:
        raise GitFailed(f"git {args[0]}: {error}") from error
    if completed.returncode != 0:
        message = completed.stderr.decode("utf-8", "replace").strip()
        raise GitFailed(f"git {args[0]} exited {completed.returncode}: {message}")
    return completed.stdout


_distributions_of_module: dict[str, list[str]] | None = None
_version_of_distribution: dict[str, str | None] = {}


def imported_package_versions() -> dict[str, str]:
    """Versions of the distributions that provide the top-level modules imported so far.

    The module → distribution map is built once per process (it scans every installed
    distribution); a package installed later is picked up after a kernel restart.
    """
    global _distributions_of_module
    if _distributions_of_module is None:
        _distributions_of_module = metadata.packages_distributions()
    versions: dict[str, str] = {}
    for module in [name for name in list(sys.modules) if "." not in name]:
        for distribution in _distributions_of_module.get(module, ()):
            version = _distribution_version(distribution)
            if version is not None:
                versions[distribution] = version
    return dict(sorted(versions.items()))


def _distribution_version(distribution: str) -> str | None:
    if distribution not in _version_of_distribution:
        try:
            _version_of_distribution[distribution] = metadata.version(distribution)
        except metadata.PackageNotFoundError:
            _version_of_distribution[distribution] = None
    return _version_of_distribution[distribution]
