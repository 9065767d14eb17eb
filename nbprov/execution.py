"""Cell executions from IPython's ``pre_run_cell`` / ``post_run_cell`` events."""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

from . import records
from .journal import JournalWriter

CellEndHook = Callable[[BaseException | None], None]


def safe_str(value: object) -> str:
    """``str(value)`` that never raises (exception messages are user code)."""
    try:
        return str(value)
    except Exception:
        return f"<unprintable {type(value).__name__}>"


def exec_status(error: BaseException | None) -> dict[str, Any]:
    """``status`` / ``ename`` / ``evalue`` fields for an execution or run ending with ``error``."""
    if error is None:
        return {"status": "ok"}
    if isinstance(error, KeyboardInterrupt):
        return {"status": "interrupted", "ename": "KeyboardInterrupt", "evalue": safe_str(error)}
    return {"status": "error", "ename": type(error).__name__, "evalue": safe_str(error)}


def parent_request(shell: Any) -> dict[str, Any] | None:
    """The execute_request being handled by the kernel, or None outside a kernel."""
    kernel = getattr(shell, "kernel", None)
    if kernel is None:
        return None
    try:
        parent = kernel.get_parent()
    except Exception:
        return None
    if isinstance(parent, dict) and parent.get("header", {}).get("msg_type") == "execute_request":
        return parent
    return None


PAPERMILL_TAGS = ("parameters", "injected-parameters")
PAPERMILL_COMMENT = "# Parameters\n"


class CellMatch(NamedTuple):
    """Which cell an execution ran: ``how`` is ``request`` (the execute request named it),
    ``source`` (the only cell of the notebook file with that source) or ``ambiguous`` (several cells
    have that source: ``cell`` is a guess, ``candidates`` are all of them); ``role`` is papermill's
    tag of the cell (``parameters`` / ``injected-parameters``) in the notebook file, or None;
    ``index`` the cell's 0-based position in the notebook file, or None when it is not there."""

    cell: str | None
    how: str | None = None
    candidates: tuple[str, ...] = ()
    role: str | None = None
    index: int | None = None


class NotebookCellIds:
    """Cell ids for execute requests that carry none (nbclient, papermill, nbconvert send no
    ``cellId``): the cell with the same source in the notebook file. When several cells share the
    source, the first one after the previous match is guessed (top-to-bottom runs of repeated sources
    stay in order) and the match is marked ambiguous. A source found nowhere (a cell edited in memory,
    a cell injected by papermill into its output notebook only) matches no cell."""

    def __init__(self, notebook_path: Path) -> None:
        self._path = notebook_path
        self._file_key: tuple[int, int] | None = None
        self._cells: list[tuple[str, str]] = []
        self._roles: dict[str, str] = {}
        self._last_index = -1

    def match(self, cell: str | None, source: str) -> CellMatch:
        self._reload_if_changed()
        if cell is not None:
            position = next((i for i, (cell_id, _) in enumerate(self._cells) if cell_id == cell), None)
            return CellMatch(cell, "request", role=self._roles.get(cell), index=position)
        matches = [index for index, (_, cell_source) in enumerate(self._cells) if cell_source == source]
        if not matches:
            return CellMatch(None)
        index = next((i for i in matches if i > self._last_index), matches[0])
        self._last_index = index
        found = self._cells[index][0]
        if len(matches) == 1:
            return CellMatch(found, "source", role=self._roles.get(found), index=index)
        candidates = tuple(self._cells[i][0] for i in matches)
        return CellMatch(found, "ambiguous", candidates, self._roles.get(found), index)

    def _reload_if_changed(self) -> None:
        try:
            stat = self._path.stat()
        except OSError:
            self._cells, self._roles = [], {}
            return
        key = (stat.st_mtime_ns, stat.st_size)
        if key == self._file_key:
            return
        self._file_key = key
        try:
            cells = json.loads(self._path.read_bytes()).get("cells", [])
            usable = [
                cell
                for cell in cells
                if isinstance(cell, dict) and isinstance(cell.get("id"), str) and "source" in cell
            ]
            self._cells = [
                (cell["id"], "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"])
                for cell in usable
            ]
            self._roles = {}
            for cell in usable:
                tags = (cell.get("metadata") or {}).get("tags") or []
                role = next((tag for tag in PAPERMILL_TAGS[::-1] if isinstance(tags, list) and tag in tags), None)
                if role is not None:
                    self._roles[cell["id"]] = role
        except (OSError, ValueError, AttributeError, TypeError):
            self._cells, self._roles = [], {}


class ExecutionTracker:
    """Writes ``exec_start`` / ``exec_end`` and tells cell-end hooks before ``exec_end``."""

    def __init__(self, shell: Any, writer: JournalWriter, session: str, notebook_path: Path) -> None:
        self._shell = shell
        self._cell_ids = NotebookCellIds(notebook_path)
        self._writer = writer
        self._session = session
        self._counter = 0
        self._previous_role: str | None = None
        self.current_exec: str | None = None
        self._cell_end_hooks: list[CellEndHook] = []
        self._cell_start_hooks: list[Callable[[], None]] = []

    def notebook_moved(self, notebook_path: Path) -> None:
        """The notebook was renamed or moved: cell ids are looked up in the file at its new path."""
        self._cell_ids = NotebookCellIds(notebook_path)

    def add_cell_start_hook(self, hook: Callable[[], None]) -> None:
        self._cell_start_hooks.append(hook)

    def add_cell_end_hook(self, hook: CellEndHook) -> None:
        """``hook(error)`` runs at the end of each cell, before its ``exec_end`` is written."""
        self._cell_end_hooks.append(hook)

    def register(self) -> None:
        self._shell.events.register("pre_run_cell", self.pre_run_cell)
        self._shell.events.register("post_run_cell", self.post_run_cell)

    def unregister(self) -> None:
        self._shell.events.unregister("pre_run_cell", self.pre_run_cell)
        self._shell.events.unregister("post_run_cell", self.post_run_cell)

    def record_running_cell(self) -> None:
        """Record the cell that is running right now (the one that loaded the extension)."""
        parent = parent_request(self._shell)
        if parent is None:
            return
        content = parent.get("content", {})
        if content.get("silent"):
            return
        metadata = parent.get("metadata", {})
        self._start(
            msg_id=parent["header"].get("msg_id"),
            cell=metadata.get("cellId") if isinstance(metadata, dict) else None,
            count=self._shell.execution_count - 1,
            source=content.get("code", ""),
        )

    def pre_run_cell(self, info: Any) -> None:
        parent = parent_request(self._shell)
        count = self._shell.execution_count - (1 if info.store_history else 0)
        self._start(
            msg_id=parent["header"].get("msg_id") if parent else None,
            cell=getattr(info, "cell_id", None),
            count=count,
            source=info.raw_cell,
        )

    def post_run_cell(self, result: Any) -> None:
        error = result.error_before_exec or result.error_in_exec
        for hook in self._cell_end_hooks:
            try:
                hook(error)
            except Exception as hook_error:  # tracking must never break the user's cell
                warnings.warn(f"nbprov: end-of-cell handling failed: {hook_error!r}", stacklevel=1)
        if self.current_exec is None:
            return
        self._writer.append(records.EXEC_END, exec=self.current_exec, **exec_status(error))
        self.current_exec = None
        self._writer.flush()

    def _start(self, msg_id: str | None, cell: str | None, count: int, source: str) -> None:
        match = self._cell_ids.match(cell, source)
        if match.cell is None and self._previous_role == "parameters" and source.startswith(PAPERMILL_COMMENT):
            # Papermill injects its cell right after the `parameters` cell, into its output notebook
            # only: told the input notebook, the kernel knows the cell by that place and comment.
            match = match._replace(role="injected-parameters")
        self._previous_role = match.role
        self._counter += 1
        self.current_exec = f"{self._session}-{self._counter}"
        for hook in self._cell_start_hooks:  # they see the new current_exec; exec_start follows them
            try:
                hook()
            except Exception as hook_error:
                warnings.warn(f"nbprov: start-of-cell handling failed: {hook_error!r}", stacklevel=1)
        self._writer.append(
            records.EXEC_START,
            exec=self.current_exec,
            msg_id=msg_id,
            cell=match.cell,
            count=count,
            source=source,
            cell_match=match.how,
            cell_candidates=list(match.candidates),
            cell_role=match.role,
            cell_index=match.index,
        )
