"""Code state recorded at run start: git repository state, Python version, imported packages.

`capture` never raises: provenance must not fail the user's cell. Without a repository (or
without a git binary) the `git` part is None.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import os
import re
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
        remotes = _remotes(root)
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
        "remote": _main_remote(remotes),
        "remotes": remotes,
        "dirty": bool(diff),
        **_diff_fields(diff),
        "untracked": untracked,
        "notebook": notebook_in_repo,
    }


UNPARSEABLE = "unparseable"
# scp-like `[user@]host:path` (no scheme): git's own rule is a colon before any slash.
_SCP_LIKE = re.compile(r"(?:([A-Za-z0-9._~-]+)@)?([A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\]):(?!//)([^\0]*)")


_TRANSPORT_HELPER = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*::")
_HOST = re.compile(r"[A-Za-z0-9._~%-]+|\[[0-9A-Fa-f:.]+\]")


def reduce_remote(url: str) -> str:
    """A remote URL reduced to scheme, host (and port) and path: no password or token, no query
    string, no fragment; the user name only for ssh, where it is a login and not a secret
    (``ssh://git@host/x``, ``git@host:x``). A local path is kept. ``unparseable`` when the URL
    cannot be taken apart with certainty."""
    if any(ord(character) < 0x20 for character in url):
        return UNPARSEABLE
    if _TRANSPORT_HELPER.match(url) or url.startswith("-"):
        return UNPARSEABLE  # a transport helper (`ext::<command>`) or an option: not an address
    if "://" not in url:
        scp = _SCP_LIKE.fullmatch(url)
        if scp and scp.group(1) is None and "@" in url:
            return UNPARSEABLE  # `carol:tok@host:path`: git would take `carol` for the host
        if scp and not (len(scp.group(2)) == 1 and scp.group(1) is None):  # C:\path is a path
            user, host, path = scp.groups()
            return f"{user}@{host}:{_strip_query(path)}" if user else f"{host}:{_strip_query(path)}"
        if "@" in url.split("/", 1)[0]:
            return UNPARSEABLE  # userinfo without a scheme that git would read as a host
        return url if ":" not in url.split("/", 1)[0] or len(url.split(":", 1)[0]) == 1 else UNPARSEABLE
    try:
        parts = urlsplit(url)
        hostname, port = parts.hostname, parts.port  # both raise on a malformed netloc
    except ValueError:
        return UNPARSEABLE
    if not parts.scheme or (not hostname and parts.scheme.lower() != "file"):
        return UNPARSEABLE
    host = parts.netloc.rpartition("@")[2]  # with its port
    if hostname and not _HOST.fullmatch(host.rsplit(":", 1)[0] if port is not None else host):
        return UNPARSEABLE  # spaces or other characters no host name has
    user = parts.username if parts.scheme.lower() in _SCHEMES_KEEPING_USER else None
    netloc = f"{user}@{host}" if user else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def _strip_query(path: str) -> str:
    return path.split("?", 1)[0].split("#", 1)[0]


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


def _remotes(root: Path) -> list[dict[str, str]]:
    """Every remote, ``{"name", "url"}`` in configuration order, each URL reduced (``reduce_remote``)."""
    try:
        # -z: key and value are separated by a newline and entries by NUL, so a remote name with a
        # space (possible through `git config`) cannot shift the value.
        output = _git(root, "config", "-z", "--get-regexp", r"^remote\..*\.url$")
    except GitFailed:
        return []  # `git config --get-regexp` exits 1 when nothing matches: no remote.
    remotes: list[dict[str, str]] = []
    for entry in output.decode("utf-8", "replace").split("\0"):
        key, separator, url = entry.partition("\n")
        if separator and key.startswith("remote.") and key.endswith(".url"):
            remotes.append({"name": key[len("remote.") : -len(".url")], "url": reduce_remote(url)})
    return remotes


def _main_remote(remotes: list[dict[str, str]]) -> str | None:
    """`origin`'s URL, else the first remote's, else None; None too when it is unparseable (restore
    must not clone a made-up address)."""
    if not remotes:
        return None
    main = next((r for r in remotes if r["name"] == "origin"), remotes[0])
    return None if main["url"] == UNPARSEABLE else main["url"]


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
