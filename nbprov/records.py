"""The record contract, kernel side: the twin of src/core/records.ts.

Record type names, the naming rules of a ``.prov`` folder, and the power metric's name, written
once for every kernel writer (journal.py, runs.py, execution.py, outputs.py, stream.py, ...). A
record's fields are the keyword arguments of ``JournalWriter.append(<type>, **fields)``;
``tests/test_records_contract.py`` runs a real kernel and validates every line of its journal with
the TypeScript validator (``nbprov check``), so the two languages cannot drift in either.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

# Record types the kernel writes (ARCHITECTURE.md, "Kernel records").
KERNEL_START = "kernel_start"
EXEC_START = "exec_start"
EXEC_END = "exec_end"
KERNEL_OUTPUT = "kernel_output"
RUN_START = "run_start"
CODE_STATE = "code_state"  # once per distinct code state per journal file; run_start names it
RUN_EXEC = "run_exec"
RUN_END = "run_end"
RANK_END = "rank_end"  # a rank process ends only its own part of a run (nbprov.ranks)
TAG = "tag"
PARAM = "param"
CONTEXT_START = "context_start"
CONTEXT_END = "context_end"
METRICS = "metrics"
ARTIFACT = "artifact"
ENERGY = "energy"
GAP = "gap"
JOURNAL_STATUS = "journal_status"

KERNEL_RECORD_TYPES = frozenset(
    {
        KERNEL_START,
        EXEC_START,
        EXEC_END,
        KERNEL_OUTPUT,
        RUN_START,
        CODE_STATE,
        RUN_EXEC,
        RUN_END,
        RANK_END,
        TAG,
        PARAM,
        CONTEXT_START,
        CONTEXT_END,
        METRICS,
        ARTIFACT,
        ENERGY,
        GAP,
        JOURNAL_STATUS,
    }
)

# Naming rules of the provenance folder next to a notebook.
PROV_SUFFIX = ".prov"
JOURNAL_DIR = "journal"
KERNEL_JOURNAL_GLOB = "k-*.jsonl"
# ``k-<session>.jsonl``, or ``k-<session>-r<rank>.jsonl`` for a rank process that joined a run
# (``nbprov.ranks``); the session is the shortest match, so a rank journal never passes for a kernel's.
_KERNEL_JOURNAL = re.compile(r"^k-([A-Za-z0-9_-]+?)(?:-r(\d+))?\.jsonl$")
SESSION_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
RUN_ID = re.compile(r"^[0-9a-f]{32}$")


def kernel_journal_name(session: str, rank: int | None = None) -> str:
    """The journal file of a kernel session, ``k-<session>.jsonl``; of a rank process, ``k-<session>-r<rank>.jsonl``."""
    return f"k-{session}.jsonl" if rank is None else f"k-{session}-r{rank}.jsonl"


def kernel_session_of(file_name: str) -> str | None:
    """The session a ``k-<session>.jsonl`` (or a rank's ``k-<session>-r<rank>.jsonl``) file belongs to, else None."""
    match = _KERNEL_JOURNAL.match(file_name)
    return match.group(1) if match else None


def journal_rank_of(file_name: str) -> int | None:
    """The rank of a rank process's journal ``k-<session>-r<rank>.jsonl``, else None."""
    match = _KERNEL_JOURNAL.match(file_name)
    return int(match.group(2)) if match and match.group(2) is not None else None


def power_metric(device: str) -> str:
    """The metric the energy sampler logs a device's power as: ``power_watts[<device>]``."""
    return f"power_watts[{device}]"


def code_state_sha256(code: dict[str, Any]) -> str:
    """The content key of a code state (``code_state.sha256``, ``run_start.code_sha256``): the
    SHA-256 of its JSON with sorted keys and no spaces, as ``codeStateSha256`` in records.ts."""
    text = json.dumps(code, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
