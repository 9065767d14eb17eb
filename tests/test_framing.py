"""The compact framing of metric arrays (nbprov/framing.py, src/core/framing.ts): what the kernel
writes is read back exactly by both languages, and a tight loop costs at most 12 bytes a point."""

from __future__ import annotations

import base64
import json
import math
import shutil
import struct
import subprocess
from array import array
from pathlib import Path

import pytest
from conftest import TrackedShell

from nbprov import framing
from nbprov.export import cli_command

pytestmark = pytest.mark.skipif(shutil.which("node") is None, reason="needs Node.js")

# Steps across 2^53 and at the ends of int64, values JSON cannot hold, epochs that change mid-batch.
EDGE_CELL = """
import nbprov
with nbprov.run(name="edges") as run:
    for i, value in enumerate([float("nan"), float("inf"), float("-inf"), -0.0, 5e-324, 1 / 3]):
        run.log_metric("odd", value, step=2**53 - 3 + i, timestamp=1_700_000_000_000 + i, epoch=i % 2)
    run.log_metric("ends", 1.0, step=-(2**63) + 1, timestamp=-5)
    run.log_metric("ends", 2.0, step=2**63 - 1, timestamp=2**62)
    for i in range(70_000):  # more than one batch: automatic steps continue across records
        run.log_metric("auto", i / 7)
"""


def _bits(values: list[float]) -> list[bytes]:
    return [struct.pack("<d", v) for v in values]


def _cli_metric(folder: Path, run: str, metric: str) -> dict[str, list]:
    """The series as the TypeScript reader decodes it from the journal (`nbprov metric`)."""
    output = subprocess.run(
        cli_command("metric", str(folder), "--run", run, "--metric", metric), capture_output=True, text=True, check=True
    )
    (series,) = json.loads(output.stdout)["series"]
    decoded = {}
    for field, typecode in framing.ARRAY_FIELDS.items():
        values = array(typecode)
        values.frombytes(base64.b64decode(series[field]))
        decoded[field] = values.tolist()
    return decoded


def test_both_languages_read_what_the_kernel_wrote_exactly(tracked: TrackedShell) -> None:
    tracked.run(EDGE_CELL)
    records = tracked.records()
    (run_id,) = [r["run"] for r in records if r["type"] == "run_start"]
    series = [s for r in records if r["type"] == "metrics" for s in r["series"]]
    by_metric: dict[str, dict[str, list]] = {}
    for item in series:
        into = by_metric.setdefault(item["metric"], {field: [] for field in framing.ARRAY_FIELDS})
        for field, values in framing.decode_series(item).items():
            into[field] += values.tolist()
    expected_odd = [float("nan"), float("inf"), float("-inf"), -0.0, 5e-324, 1 / 3]
    expected = {
        "odd": {
            "steps": [2**53 - 3 + i for i in range(6)],
            "timestamps": [1_700_000_000_000 + i for i in range(6)],
            "epochs": [i % 2 for i in range(6)],
        },
        "ends": {"steps": [-(2**63) + 1, 2**63 - 1], "timestamps": [-5, 2**62], "epochs": [-1, -1]},
        "auto": {"steps": list(range(70_000)), "epochs": [-1] * 70_000},
    }
    # The writer chose the compact forms where they apply.
    auto = [item for item in series if item["metric"] == "auto"]
    assert len(auto) >= 2 and [a["steps"] for a in auto] == [
        {"start": sum(a["n"] for a in auto[:k])} for k in range(len(auto))
    ]
    assert all(a["epochs"] == {"same": -1} for a in auto)
    for metric, fields in expected.items():
        python = by_metric[metric]
        typescript = _cli_metric(tracked.folder / "demo.prov", run_id, metric)
        for field, values in fields.items():
            assert python[field] == values, (metric, field)
            assert typescript[field] == values, (metric, field)
    assert _bits(by_metric["odd"]["values"]) == _bits(expected_odd)
    assert _bits(_cli_metric(tracked.folder / "demo.prov", run_id, "odd")["values"]) == _bits(expected_odd)
    assert _cli_metric(tracked.folder / "demo.prov", run_id, "auto")["values"] == [i / 7 for i in range(70_000)]


@pytest.mark.parametrize(
    ("values", "limit"),
    [
        ("math.sin(i)", 12.0),  # float64 values with random low bits: barely compressible
        ("float(float32(math.exp(-i / 20_000)))", 7.0),  # loss.item() of a float32 loss
        ("0.5", 1.0),
    ],
)
def test_a_tight_loop_costs_at_most_12_bytes_a_point(tracked: TrackedShell, values: str, limit: float) -> None:
    points = 300_000
    journal = tracked.journal_folder
    tracked.run("import math, struct, nbprov\nfloat32 = lambda x: struct.unpack('f', struct.pack('f', x))[0]")
    before = sum(path.stat().st_size for path in journal.glob("k-*.jsonl"))
    tracked.run(
        f"with nbprov.run(name='tight') as run:\n"
        f"    for i in range({points}):\n"
        f"        run.log_metric('loss', {values})"
    )
    records = tracked.records()
    # The whole cell's journal: its run_start, exec records and every metrics line.
    cost = (sum(path.stat().st_size for path in journal.glob("k-*.jsonl")) - before) / points
    print(f"journal bytes/point for log_metric(name, {values}): {cost:.2f}")
    assert cost <= limit, cost
    series = [s for r in records if r["type"] == "metrics" for s in r["series"]]
    logged = [v for s in series for v in framing.decode_series(s)["values"]]
    assert len(logged) == points and not any(math.isnan(v) for v in logged)


def test_a_forwarded_journal_series_is_the_writers_form_again(tracked: TrackedShell) -> None:
    """What the kernel forwards of a rank journal's line (``series_from_journal``) is the form the
    writer hands its listeners: written out again, it is the same line, for every array form."""
    from nbprov.journal import encode_line

    tracked.run(EDGE_CELL)
    tracked.records()  # flushed
    paths = tracked.journal_folder.glob("k-*.jsonl")
    lines = [json.loads(line) for path in paths for line in path.read_text().splitlines()]
    batches = [line for line in lines if line["type"] == "metrics"]
    forms = {
        next(iter(s[field])) if isinstance(s[field], dict) else "raw"
        for r in batches
        for s in r["series"]
        for field in framing.ARRAY_FIELDS
    }
    assert {"raw", "zlib", "start", "same"} <= forms
    for line in batches:
        forwarded = {**line, "series": [framing.series_from_journal(s) for s in line["series"]]}
        assert all(not isinstance(s["values"], str) for s in forwarded["series"])
        assert json.loads(encode_line(forwarded)) == line
    with pytest.raises(framing.FramingError):
        framing.series_from_journal({**batches[0]["series"][0], "values": "not base64!"})
