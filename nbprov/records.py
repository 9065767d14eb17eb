"""The record contract, kernel side: the twin of src/core/records.ts.

Record type names, the naming rules of a ``.prov`` folder, and the power metric's name, written
once for every kernel writer (journal.py, runs.py, execution.py, outputs.py, stream.py, ...). A
record's fields are the keyword arguments of ``JournalWriter.append(<type>, **fields)``;
``tests/test_records_contract.py`` runs a real kernel and validates every line of its journal with
the TypeScript validator (``nbprov check``), so the two languages cannot drift in either.
"""

from __future__ import annotations

import re

# Record types the kernel writes (ARCHITECTURE.md, "Kernel records").
KERNEL_START = "kernel_start"
EXEC_START = "exec_start"
EXEC_END = "exec_end"
KERNEL_OUTPUT = "kernel_output"
RUN_START = "run_start"
RUN_EXEC = "run_exec"
RUN_END = "run_end"
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
        RUN_EXEC,
        RUN_END,
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
_KERNEL_JOURNAL = re.compile(r"^k-([A-Za-z0-9_-]+)\.jsonl$")
SESSION_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
RUN_ID = re.compile(r"^[0-9a-f]{32}$")


def kernel_journal_name(session: str) -> str:
    """The journal file of one kernel session: ``k-<session>.jsonl``."""
    return f"k-{session}.jsonl"


def kernel_session_of(file_name: str) -> str | None:
    """The kernel session a ``k-<session>.jsonl`` file belongs to, else None."""
    match = _KERNEL_JOURNAL.match(file_name)
    return match.group(1) if match else None


def power_metric(device: str) -> str:
    """The metric the energy sampler logs a device's power as: ``power_watts[<device>]``."""
    return f"power_watts[{device}]"
