"""The journal writer and reader: record shape, periodic flush, corrupt lines, notebook name."""

from __future__ import annotations

import base64
import json
import re
import time
from array import array
from pathlib import Path

import pytest

from nbprov import journal
from nbprov.framing import decode_series
from nbprov.journal import (
    JournalWriter,
    read_journal,
)

ISO_MS_TZ = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}(Z|[+-]\d\d:\d\d)$")


def test_records_carry_type_time_and_seq(tmp_path: Path) -> None:
    writer = JournalWriter(tmp_path / "journal", "abc123")
    writer.append("exec_start", exec="abc123-1", msg_id=None, cell="c1", count=1, source="x = 1")
    writer.append("exec_end", exec="abc123-1", status="ok")
    writer.close()
    records = read_journal(tmp_path / "journal")
    assert [r["type"] for r in records] == ["exec_start", "exec_end"]
    assert [r["seq"] for r in records] == [1, 2]
    assert all(ISO_MS_TZ.match(r["t"]) for r in records)
    assert records[0]["cell"] == "c1" and records[0]["source"] == "x = 1"
    assert (tmp_path / "journal" / "k-abc123.jsonl").is_file()


def test_folder_is_created_lazily(tmp_path: Path) -> None:
    writer = JournalWriter(tmp_path / "nb.prov" / "journal", "s")
    writer.flush()
    assert not (tmp_path / "nb.prov").exists()
    writer.append("kernel_start", session="s")
    writer.close()
    assert (tmp_path / "nb.prov" / "journal" / "k-s.jsonl").is_file()


def test_background_thread_flushes_without_being_asked(tmp_path: Path) -> None:
    writer = JournalWriter(tmp_path, "s")
    writer.append("kernel_start", session="s")
    deadline = time.monotonic() + 1.0
    while not (tmp_path / "k-s.jsonl").exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert [r["type"] for r in read_journal(tmp_path)] == ["kernel_start"]
    writer.close()


def test_a_wake_writes_before_the_interval(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(journal, "FLUSH_INTERVAL_S", 60.0)  # only the wake can write
    writer = JournalWriter(tmp_path, "s")
    writer.append("exec_start", source="x")
    writer.wake()
    deadline = time.monotonic() + 2.0
    while not (tmp_path / "k-s.jsonl").exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert [r["type"] for r in read_journal(tmp_path)] == ["exec_start"]
    writer.close()


def test_truncated_and_corrupt_lines_lose_only_themselves(tmp_path: Path) -> None:
    writer = JournalWriter(tmp_path, "s")
    for n in range(3):
        writer.append("exec_end", exec=f"s-{n}", status="ok")
    writer.close()
    path = tmp_path / "k-s.jsonl"
    lines = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(lines[0] + b"{not json\n" + b"\xff\xfe\n" + lines[1] + lines[2][: len(lines[2]) // 2])
    with pytest.warns(UserWarning) as caught:
        records = read_journal(tmp_path)
    assert [r["exec"] for r in records] == ["s-0", "s-1"]
    messages = [str(w.message) for w in caught]
    assert any(f"{path}:2" in m for m in messages)
    assert any(f"{path}:3" in m for m in messages)
    assert any(f"{path}:5" in m for m in messages)


def test_non_utf8_text_and_non_finite_values_stay_valid_json(tmp_path: Path) -> None:
    undecodable = b"caf\xe9 \xff".decode("utf-8", errors="surrogateescape")
    writer = JournalWriter(tmp_path, "s")
    writer.append("exec_start", source=undecodable + " ünïcode <b>&</b>")
    writer.close()
    raw = (tmp_path / "k-s.jsonl").read_bytes()
    raw.decode("utf-8")  # the file itself is valid UTF-8
    record = json.loads(raw)
    assert record["source"].endswith(" ünïcode <b>&</b>")
    assert record["source"].startswith("caf")
    with pytest.raises(ValueError):
        journal.encode_line({"type": "x", "value": float("nan")})


def test_bytes_fields_are_base64_and_decode_little_endian(tmp_path: Path) -> None:
    steps, values = array("q", [0, 1, 2]), array("d", [0.5, float("nan"), float("inf")])
    series = {
        "metric": "loss",
        "ctx": None,
        "n": 3,
        "steps": steps.tobytes(),
        "values": values.tobytes(),
        "timestamps": array("q", [1, 2, 3]).tobytes(),
        "epochs": array("i", [-1, -1, 0]).tobytes(),
    }
    writer = JournalWriter(tmp_path, "s")
    writer.append("metrics", run="r" * 32, batch=1, series=[series])
    writer.close()
    stored = read_journal(tmp_path)[0]["series"][0]
    assert base64.b64decode(stored["steps"]) == steps.tobytes()
    decoded = decode_series(stored)
    assert decoded["steps"].tolist() == [0, 1, 2]
    assert decoded["values"][0] == 0.5 and decoded["values"][1] != decoded["values"][1]
    assert decoded["epochs"].tolist() == [-1, -1, 0]


def test_listeners_see_every_record_in_order(tmp_path: Path) -> None:
    writer = JournalWriter(tmp_path, "s")
    seen: list[int] = []
    writer.add_listener(lambda record: seen.append(record["seq"]))
    for _ in range(5):
        writer.append("exec_end", status="ok")
    writer.close()
    assert seen == [1, 2, 3, 4, 5]


@pytest.mark.parametrize(
    "hostile",
    [
        journal._BINARY_PLACEHOLDER,
        '"' + journal._BINARY_PLACEHOLDER,
        journal._BINARY_PLACEHOLDER + '"',
        journal._ENCODED_PLACEHOLDER,
        "x" + journal._BINARY_PLACEHOLDER + "y",
    ],
)
def test_binary_fields_survive_strings_that_mimic_their_placeholder(hostile: str) -> None:
    blob = array("d", [0.25, -1.0]).tobytes()
    record = {"type": "metrics", hostile: hostile, "series": [{"metric": hostile, "values": blob, "steps": b""}]}
    decoded = json.loads(journal.encode_line(record))
    assert decoded[hostile] == hostile
    assert decoded["series"][0]["metric"] == hostile
    assert base64.b64decode(decoded["series"][0]["values"]) == blob
    assert decoded["series"][0]["steps"] == ""


def test_spliced_binary_fields_equal_plain_json() -> None:
    blobs = [bytes(range(256)) * 3, b"", memoryview(b"\x00\x01"), bytearray(b"\xff" * 7)]
    record = {
        "type": "metrics",
        "t": "ü\ud800",
        "series": [{"metric": f"m{i}", "values": b} for i, b in enumerate(blobs)],
    }
    plain = json.dumps(
        {**record, "series": [{**s, "values": base64.b64encode(s["values"]).decode()} for s in record["series"]]},
        ensure_ascii=False,
    ).encode("utf-8", errors="backslashreplace")
    assert journal.encode_line(record) == plain + b"\n"
