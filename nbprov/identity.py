"""Which notebook this kernel records for, and where that notebook's provenance folder is.

A notebook carries a random id in ``metadata.nbprov.id``; its provenance folder holds the same id in
``identity.json`` (``{"id", "notebook"}``, the notebook's file name when last seen). The folder is
found by one rule, also implemented for the page and the CLI in ``src/core/identity.ts``:

1. ``<stem>.prov`` next to the notebook when it holds this id, or when the notebook has no id yet
   (the notebook then adopts the folder's id, or a new one);
2. else the sibling ``*.prov`` folder (not a symlink) holding this id: the notebook or the folder was
   renamed or moved outside JupyterLab. If the notebook that folder names still exists with the
   same id, this notebook is a copy instead and gets an id (and history) of its own;
3. else ``<stem>.prov`` when it holds no id (new, or from before identities), else
   ``<stem>-<id[:8]>.prov``: never mixed into another notebook's history.
"""

from __future__ import annotations

import json
import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import records

IDENTITY_FILE = "identity.json"
UNTITLED = "untitled.ipynb"
_ID = re.compile(r"[0-9a-f]{32}")


def new_id() -> str:
    return secrets.token_hex(16)


def valid_id(value: object) -> str | None:
    return value if isinstance(value, str) and _ID.fullmatch(value) else None


def _notebook_file_name(value: object) -> str | None:
    """``value`` when it is a bare ``*.ipynb`` file name (identity files are data, never paths)."""
    if not isinstance(value, str) or "/" in value or "\\" in value or "\0" in value:
        return None
    return value if value.endswith(".ipynb") and value != ".ipynb" else None


def read_notebook_id(notebook: Path) -> str | None:
    """``metadata.nbprov.id`` of a notebook file, or None (missing, unreadable, not a notebook)."""
    try:
        metadata = json.loads(notebook.read_bytes()).get("metadata", {})
        return valid_id(metadata.get("nbprov", {}).get("id"))
    except (OSError, ValueError, AttributeError):
        return None


@dataclass(frozen=True)
class FolderIdentity:
    id: str
    notebook: str | None


def read_identity(folder: Path) -> FolderIdentity | None:
    try:
        data = json.loads((folder / IDENTITY_FILE).read_bytes())
    except (OSError, ValueError):
        return None
    identity = valid_id(data.get("id")) if isinstance(data, dict) else None
    return FolderIdentity(identity, _notebook_file_name(data.get("notebook"))) if identity else None


GITIGNORE_FILE = ".gitignore"


def gitignore_text() -> str:
    """What a ``.prov`` folder nbprov creates holds in ``.gitignore`` (shared with the page)."""
    return json.loads(Path(__file__).with_name("prov_gitignore.json").read_text(encoding="utf-8"))["text"]


def write_identity(folder: Path, notebook_id: str, notebook_name: str) -> None:
    """Creates ``folder`` and writes its identity file whole (a reader never sees half of it).

    A folder no kernel has recorded into yet (new, or just created by the page, which the server
    usually does not let write a hidden file) gets a ``.gitignore`` so that history stays out of
    git, unless ``NBPROV_GITIGNORE=0``; an existing ``.gitignore`` is never touched, and one the
    user deleted from a folder with history stays deleted."""
    first_kernel = not any((folder / records.JOURNAL_DIR).glob(records.KERNEL_JOURNAL_GLOB))
    folder.mkdir(parents=True, exist_ok=True)
    if first_kernel and os.environ.get("NBPROV_GITIGNORE", "1") != "0":
        _write_new_file(folder / GITIGNORE_FILE, gitignore_text())
    text = json.dumps({"id": notebook_id, "notebook": notebook_name}, ensure_ascii=False) + "\n"
    temporary = folder / f".{IDENTITY_FILE}.{os.getpid()}.tmp"
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, folder / IDENTITY_FILE)


def _write_new_file(path: Path, text: str) -> None:
    """Writes ``path`` only if nothing (not even a dangling link) is there yet."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags, 0o644)
    except FileExistsError:
        return
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)


@dataclass(frozen=True)
class Location:
    """Where a notebook's provenance goes, with the id the notebook has (or must adopt)."""

    folder: Path
    id: str
    #: Why the folder is not ``<stem>.prov`` holding the notebook's own id, for the user; else None.
    note: str | None = None


def unusable_notebook_name(name: str) -> str | None:
    """Why a notebook's file name can have no provenance folder, or None when it can. The stem (the
    name without ``.ipynb``, else without its last extension) must hold something other than dots:
    ``.ipynb``, ``..ipynb`` or ``...ipynb`` would give hidden, shared folders (``..prov``, ``...prov``).
    The same rule as the page's and the CLI's (``unusableNotebookName`` in ``src/core/identity.ts``)."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    dot = base.rfind(".")
    stem = base[: -len(".ipynb")] if base.endswith(".ipynb") else base[:dot] if dot > 0 else base
    if stem.strip(".") == "":
        return (
            f"the notebook name {json.dumps(base)} has no stem (only dots before .ipynb), "
            "so it can have no .prov folder: rename it"
        )
    return None


def _stem(notebook: Path) -> str:
    refused = unusable_notebook_name(notebook.name)
    if refused is not None:
        raise ValueError(f"nbprov: {refused}")
    return notebook.stem


def primary_folder(notebook: Path) -> Path:
    return notebook.parent / f"{_stem(notebook)}{records.PROV_SUFFIX}"


def conflict_folder(notebook: Path, notebook_id: str) -> Path:
    return notebook.parent / f"{_stem(notebook)}-{notebook_id[:8]}{records.PROV_SUFFIX}"


def _folders_with_id(directory: Path, notebook_id: str) -> list[tuple[Path, FolderIdentity]]:
    try:
        entries = sorted(directory.iterdir())
    except OSError:
        return []
    found = []
    for entry in entries:
        # A symlink found by searching is never adopted: it may lead anywhere.
        if entry.name.endswith(records.PROV_SUFFIX) and not entry.is_symlink() and entry.is_dir():
            identity = read_identity(entry)
            if identity is not None and identity.id == notebook_id:
                found.append((entry, identity))
    return found


def resolve_folder(notebook: Path, notebook_id: str | None) -> Location:
    """The provenance folder of ``notebook`` (an absolute path) by the rule in the module doc."""
    primary = primary_folder(notebook)
    held = read_identity(primary)
    if notebook_id is None:
        return Location(primary, held.id if held else new_id())
    if held is not None and held.id == notebook_id:
        return Location(primary, notebook_id)
    for folder, identity in _folders_with_id(notebook.parent, notebook_id):
        original = identity.notebook
        if original and original != notebook.name and read_notebook_id(notebook.parent / original) == notebook_id:
            # A copy of a notebook that still exists: the history stays with the original.
            note = f"{notebook.name} is a copy of {original}"
            if held is not None and held.notebook == notebook.name:
                return Location(primary, held.id, note)
            fresh = new_id()
            return Location(primary if held is None else conflict_folder(notebook, fresh), fresh, note)
        return Location(folder, notebook_id, f"found by the notebook's id in {folder.name}")
    if held is None:
        return Location(primary, notebook_id)
    return Location(
        conflict_folder(notebook, notebook_id), notebook_id, f"{primary.name} holds another notebook's history"
    )


@dataclass(frozen=True)
class NotebookPath:
    path: Path
    #: Where the path came from: ``configure``, ``NBPROV_NOTEBOOK``, ``JPY_SESSION_NAME``, VS Code; None: unknown.
    source: str | None
    #: Why the notebook named by ``source`` is not recorded (``unusable_notebook_name``); ``path`` is then
    #: ``untitled.ipynb`` and ``source`` None.
    refused: str | None = None


def locate_notebook(configured: str | None, user_ns: dict[str, Any] | None, cwd: Path) -> NotebookPath:
    """The notebook's absolute path, from (in order) ``nbprov.configure(notebook=...)`` (the page
    sends the server's session path), ``NBPROV_NOTEBOOK``, ``JPY_SESSION_NAME`` (jupyter_server:
    absolute, or relative to its root), VS Code's
    ``__vsc_ipynb_file__``; else ``untitled.ipynb`` in ``cwd`` with ``source`` None."""
    candidates = [
        ("configure", configured),
        ("NBPROV_NOTEBOOK", os.environ.get("NBPROV_NOTEBOOK")),
        ("JPY_SESSION_NAME", os.environ.get("JPY_SESSION_NAME")),
        ("VS Code", (user_ns or {}).get("__vsc_ipynb_file__")),
    ]
    for source, candidate in candidates:
        if not isinstance(candidate, str) or not candidate.strip() or "\0" in candidate:
            continue
        given = Path(candidate)
        refused = unusable_notebook_name(candidate)
        if refused is not None:
            # The first notebook named wins, as for any other name: it is refused, not replaced by a later source.
            return NotebookPath(cwd / UNTITLED, None, f"nbprov: {refused} ({source}); this kernel records nothing")
        if given.is_absolute():
            path = given
        elif source == "JPY_SESSION_NAME":
            # Relative to the server's root; the server starts the kernel in the notebook's folder.
            path = cwd / given.name
        else:
            path = cwd / given
        return NotebookPath(Path(os.path.normpath(path)), source)
    return NotebookPath(cwd / UNTITLED, None)


def unknown_notebook_warning() -> str:
    """What a kernel that cannot tell its notebook says, once."""
    return (
        "nbprov: warning: this kernel was not told which notebook it runs, so it records nothing. "
        "Set NBPROV_NOTEBOOK=<path of the notebook> (before the kernel starts) or call "
        "nbprov.configure(notebook=...) to record next to the notebook."
    )
