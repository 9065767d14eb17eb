"""`nbprov forget --outputs-only` on a large kernel journal: wall time and peak memory of the CLI.

.venv/bin/python bench/bench_forget.py [--megabytes 700] [--folder /tmp]

The journal is a kernel's `k-<session>.jsonl` of cells that printed (a `kernel_output` record of
16 KiB of text per cell, the form the kernel writes): larger than the longest string Node.js can
hold (about 512 MiB), which a reader of whole files cannot open at all. The CLI runs under
`/usr/bin/time -v`; afterwards every line is checked (same records, outputs emptied) and the folder
is deleted.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from nbprov.export import cli_command

OUTPUT_TEXT = "epoch 3 step 1200 loss 0.0421 lr 3e-4 throughput 1843 samples/s\n" * 256  # 16 KiB


def write_journal(path: Path, megabytes: float) -> int:
    """Writes kernel_output records until the file holds ``megabytes``; returns the record count."""
    target = int(megabytes * 1e6)
    records = 0
    with path.open("w") as handle:
        handle.write(
            json.dumps({"type": "kernel_start", "t": "2026-11-01T09:00:00.000Z", "seq": 1, "session": "s"}) + "\n"
        )
        written = 0
        while written < target:
            records += 1
            line = json.dumps(
                {
                    "type": "kernel_output",
                    "t": "2026-11-01T09:00:01.000Z",
                    "seq": records + 1,
                    "exec": f"s-{records}",
                    "index": 0,
                    "outputs": [{"output_type": "stream", "name": "stdout", "text": OUTPUT_TEXT, "truncated": False}],
                    "final": True,
                }
            )
            handle.write(line + "\n")
            written += len(line) + 1
    return records + 1


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--megabytes", type=float, default=700)
    parser.add_argument("--folder", default=tempfile.gettempdir())
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="nbprov-forget-", dir=args.folder))
    try:
        (work / "nb.ipynb").write_text("{}")
        journal = work / "nb.prov" / "journal"
        journal.mkdir(parents=True)
        path = journal / "k-s.jsonl"
        records = write_journal(path, args.megabytes)
        size = path.stat().st_size
        completed = subprocess.run(
            ["/usr/bin/time", "-v", *cli_command("forget", "--outputs-only", str(work / "nb.ipynb"))],
            capture_output=True,
            text=True,
        )
        if completed.returncode != 0:
            raise SystemExit(f"forget failed ({completed.returncode}):\n{completed.stdout}\n{completed.stderr[-4000:]}")
        wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)", completed.stderr).group(1)
        rss_kb = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", completed.stderr).group(1))
        kept = 0
        with path.open() as handle:
            for line in handle:
                record = json.loads(line)
                assert record.get("outputs", []) == [], record["seq"]
                kept += 1
        assert kept == records, (kept, records)
        print(completed.stdout.strip())
        print(
            f"forget --outputs-only of a {size / 1e6:.0f} MB journal ({records} records): wall {wall}, "
            f"max RSS {rss_kb / 1024:.0f} MiB; rewritten to {path.stat().st_size / 1e6:.1f} MB, "
            "every record kept, no output left"
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
