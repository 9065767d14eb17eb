"""The record contract across the two languages: every line a real kernel writes passes the
TypeScript validator (src/core/records.ts, through ``nbprov check``), and the Python twin
(nbprov/records.py) names every record type the kernel wrote."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from kernels import Kernel, journal_records

from nbprov import records

NBPROV = Path(sys.executable).parent / "nbprov"

CELL = """
import nbprov, math
with nbprov.run(name='contract', experiment='e', params={'lr': 0.1, 'big': 2**70, 'odd': float('nan')}) as run:
    run.set_tag('kind', 'check')
    run.log_param('lr', 0.5, role='output')
    with run.context('training', epoch=0):
        for step in range(50):
            run.log_metric('loss', 1 / (step + 1), step=step)
    run.log_metric('acc', 0.9, context='validation', epoch=1)
    run.log_text('notes.txt', 'hello')
    run.log_dict('config.json', {'a': 1})
    with open('data.bin', 'wb') as handle:
        handle.write(b'x' * 10)
    run.log_artifact('data.bin', role='input')
print('done')
"""

FAILING = "import nbprov\nwith nbprov.run(name='fails'):\n    raise ValueError('boom')\n"


def check(target: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(NBPROV), "check", str(target)], capture_output=True, text=True, timeout=120)


def test_a_real_kernels_journal_passes_the_typescript_validator(tmp_path: Path) -> None:
    (tmp_path / "train.ipynb").write_text("{}")
    with Kernel(tmp_path) as kernel:
        assert "done" in kernel.ok(CELL)
        kernel.run(FAILING)
        kernel.ok("print(1)")
    journal = tmp_path / f"train{records.PROV_SUFFIX}" / records.JOURNAL_DIR
    written = journal_records(journal)
    types = {record["type"] for record in written}
    # The cell exercised the record types a run writes; the twin names each type written.
    assert {
        records.KERNEL_START,
        records.EXEC_START,
        records.EXEC_END,
        records.RUN_START,
        records.CODE_STATE,
        records.RUN_END,
        records.TAG,
        records.PARAM,
        records.CONTEXT_START,
        records.CONTEXT_END,
        records.METRICS,
        records.ARTIFACT,
        records.KERNEL_OUTPUT,
    } <= types
    assert types <= records.KERNEL_RECORD_TYPES, types - records.KERNEL_RECORD_TYPES
    files = sorted(journal.glob(records.KERNEL_JOURNAL_GLOB))
    assert len(files) == 1 and records.kernel_session_of(files[0].name) is not None
    completed = check(journal)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert completed.stdout.strip().splitlines()[-1] == f"{len(written)} records valid, 0 lines skipped or unknown"

    # The same check fails, naming the line, on what the contract refuses: a run id that names no
    # Zarr group, a param without its role, a type the page does not know, a cut line.
    lines = files[0].read_text().splitlines()
    param = next(json.loads(line) for line in lines if json.loads(line)["type"] == records.PARAM)
    bad = [
        json.dumps({**param, "run": "../x"}),
        json.dumps({key: value for key, value in param.items() if key != "role"}),
        json.dumps({**param, "type": "from_the_future"}),
        lines[-1][: len(lines[-1]) // 2],
    ]
    damaged = tmp_path / "k-damaged.jsonl"
    damaged.write_text("\n".join([*lines, *bad]))
    completed = check(damaged)
    assert completed.returncode == 1
    n = len(lines)
    assert completed.stdout.splitlines() == [
        f'{damaged}:{n + 1}: param: field "run" must be 32 lowercase hex digits',
        f'{damaged}:{n + 2}: param: field "role" must be a string',
        f'{damaged}:{n + 3}: unknown record type "from_the_future"',
        f"{damaged}:{n + 4}: truncated last line",
        f"{n} records valid, 4 lines skipped or unknown",
    ]


def test_export_leaves_out_foreign_and_duplicated_journals_of_real_kernels(tmp_path: Path) -> None:
    """Two notebooks recorded by real kernels; one's journal copied into the other's folder, and a
    journal copied beside itself: the export reports both and exports each run once."""
    for name in ("a.ipynb", "b.ipynb"):
        (tmp_path / name).write_text("{}")
    logging = (
        "import nbprov\nwith nbprov.run(name={!r}) as run:\n"
        "    run.log_metric('loss', 0.5)\n    run.log_metric('loss', 0.25)\n"
    )
    for notebook, run_name in (("a.ipynb", "ours"), ("b.ipynb", "theirs")):
        with Kernel(tmp_path, notebook=notebook) as kernel:
            kernel.ok(logging.format(run_name))
    ours = tmp_path / f"a{records.PROV_SUFFIX}" / records.JOURNAL_DIR
    [own] = sorted(ours.glob(records.KERNEL_JOURNAL_GLOB))
    [foreign] = sorted((tmp_path / f"b{records.PROV_SUFFIX}" / records.JOURNAL_DIR).glob(records.KERNEL_JOURNAL_GLOB))
    (ours / foreign.name).write_bytes(foreign.read_bytes())
    copy = ours / own.name.replace(".jsonl", "-copy.jsonl")
    copy.write_bytes(own.read_bytes())

    completed = subprocess.run(
        [str(NBPROV), "export", str(tmp_path / "a.ipynb")], capture_output=True, text=True, timeout=120
    )
    assert completed.returncode == 0, completed.stderr
    warnings = [line for line in completed.stderr.splitlines() if "warning" in line]
    assert len(warnings) == 2, completed.stderr
    assert any(foreign.name in line and "journal of another notebook (b.ipynb" in line for line in warnings)
    assert any("repeats kernel session" in line for line in warnings)
    assert "1 runs, 1 metric series (2 points)" in completed.stdout
    prov = json.loads((ours.parent / "prov.json").read_text())
    labels = [node.get("prov:label") for node in prov.get("activity", {}).values()]
    assert "ours" in labels and "theirs" not in labels


def test_rank_journal_names_follow_the_typescript_rules() -> None:
    """The twin of records.spec.ts's naming rules for rank journals."""
    assert records.kernel_journal_name("ab12", 3) == "k-ab12-r3.jsonl"
    assert records.kernel_session_of("k-ab12-r3.jsonl") == "ab12"
    assert records.journal_rank_of("k-ab12-r3.jsonl") == 3
    assert records.journal_rank_of("k-ab-12.jsonl") is None
    assert records.journal_rank_of("k-ab12-r.jsonl") is None
    assert records.kernel_session_of("k-ab12-r.jsonl") == "ab12-r"
    assert records.journal_rank_of("f-p-0001.jsonl") is None
