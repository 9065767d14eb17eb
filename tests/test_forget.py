"""``nbprov forget`` (the CLI) and ``nbprov.forget()`` (a real kernel): what goes, what stays, what
is refused, and that a live kernel's journal keeps recording afterwards."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import nbformat
import pytest
from kernels import Kernel, journal_records

NBPROV = Path(sys.executable).parent / "nbprov"
BLOB = "c" * 64
ARTIFACT = "a" * 64 + ".json"


def forget(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(NBPROV), "forget", *map(str, args)], capture_output=True, text=True, timeout=60)


def lines(*records: dict[str, Any]) -> str:
    return "".join(json.dumps(record) + "\n" for record in records)


def make_history(folder: Path) -> Path:
    """A notebook with a page segment, an old and a recent kernel journal, a blob, an artifact."""
    notebook = folder / "nb.ipynb"
    nbformat.write(nbformat.v4.new_notebook(), notebook)
    prov = folder / "nb.prov"
    (prov / "journal").mkdir(parents=True)
    (prov / "blobs").mkdir()
    (prov / "artifacts").mkdir()
    (prov / "blobs" / BLOB).write_bytes(b"png")
    (prov / "artifacts" / ARTIFACT).write_text("{}")
    (prov / "artifacts" / "notes.txt").write_text("the user's own file")
    (prov / "identity.json").write_text(json.dumps({"id": "0" * 32, "notebook": "nb.ipynb"}))
    output = {"output_type": "stream", "name": "stdout", "text": "hello ghp_SECRET", "truncated": False}
    (prov / "journal" / "f-0123456789abcdef-0000.jsonl").write_text(
        lines(
            {"type": "page_start", "t": "2026-11-01T10:00:00.000Z", "page": "p", "notebook": "nb.ipynb", "user": "u"},
            {
                "type": "exec_output",
                "t": "2026-11-01T10:00:02.000Z",
                "cell": "c",
                "outputs": [{**output, "blob": BLOB}],
            },
            {
                "type": "exec_output",
                "t": "2026-12-05T10:00:02.000Z",
                "cell": "c",
                "outputs": [{**output, "text": "late"}],
            },
        )
    )
    (prov / "journal" / "k-old.jsonl").write_text(
        lines(
            {"type": "kernel_start", "t": "2026-11-01T09:00:00.000Z", "seq": 1, "session": "old"},
            {"type": "artifact", "t": "2026-11-01T09:00:01.000Z", "seq": 2, "stored": f"artifacts/{ARTIFACT}"},
        )
    )
    (prov / "journal" / "k-new.jsonl").write_text(
        lines(
            {"type": "kernel_start", "t": "2026-11-30T09:00:00.000Z", "seq": 1, "session": "new"},
            {
                "type": "kernel_output",
                "t": "2026-12-02T09:00:00.000Z",
                "seq": 2,
                "exec": "e",
                "index": 0,
                "outputs": [output],
                "final": True,
            },
        )
    )
    return notebook


def test_forget_everything_says_what_it_removed_and_keeps_identity(tmp_path: Path) -> None:
    notebook = make_history(tmp_path)
    completed = forget(notebook)
    assert completed.returncode == 0, completed.stderr
    assert "3 journal files, 7 records, 1 blob, 1 stored artifact" in completed.stdout
    prov = tmp_path / "nb.prov"
    assert list((prov / "journal").iterdir()) == [] and list((prov / "blobs").iterdir()) == []
    assert [p.name for p in (prov / "artifacts").iterdir()] == ["notes.txt"]  # not nbprov's: left alone
    assert (prov / "identity.json").is_file()
    again = forget(notebook)
    assert again.returncode == 0 and "no recorded history" in again.stdout


def test_forget_outputs_only_keeps_every_record_but_no_output(tmp_path: Path) -> None:
    notebook = make_history(tmp_path)
    completed = forget(notebook, "--outputs-only")
    assert completed.returncode == 0, completed.stderr
    assert "3 outputs, 1 blob" in completed.stdout
    journal = tmp_path / "nb.prov" / "journal"
    text = "".join(path.read_text() for path in journal.iterdir())
    assert "ghp_SECRET" not in text and "late" not in text
    assert len(text.splitlines()) == 7
    assert not (tmp_path / "nb.prov" / "blobs" / BLOB).exists()
    assert (tmp_path / "nb.prov" / "artifacts" / ARTIFACT).exists()
    # The kernel journal keeps its seq numbers: the export still reads it.
    assert [r["seq"] for r in journal_records(journal) if r.get("seq")] == [1, 2, 1, 2]


def test_forget_before_a_date(tmp_path: Path) -> None:
    notebook = make_history(tmp_path)
    completed = forget(notebook, "--before", "2026-12-01")
    assert completed.returncode == 0, completed.stderr
    assert "1 kernel session kept whole" in completed.stdout
    journal = tmp_path / "nb.prov" / "journal"
    assert sorted(p.name for p in journal.iterdir()) == ["f-0123456789abcdef-0000.jsonl", "k-new.jsonl"]
    page = (journal / "f-0123456789abcdef-0000.jsonl").read_text()
    assert "late" in page and "ghp_SECRET" not in page
    assert not (tmp_path / "nb.prov" / "artifacts" / ARTIFACT).exists()


@pytest.mark.parametrize("date", ["yesterday", "2026-02-30T25:00", "12/01/2026"])
def test_forget_refuses_a_date_it_cannot_read(tmp_path: Path, date: str) -> None:
    notebook = make_history(tmp_path)
    completed = forget(notebook, "--before", date)
    assert completed.returncode == 2 and "--before takes a date" in completed.stderr
    assert len(list((tmp_path / "nb.prov" / "journal").iterdir())) == 3


def test_forget_without_history_says_so(tmp_path: Path) -> None:
    notebook = tmp_path / "fresh.ipynb"
    nbformat.write(nbformat.v4.new_notebook(), notebook)
    completed = forget(notebook)
    assert (completed.returncode, completed.stderr) == (0, "")
    assert "no recorded history for fresh.ipynb" in completed.stdout
    assert not (tmp_path / "fresh.prov").exists()


def test_forget_never_follows_symbolic_links_out_of_the_folder(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "k-victim.jsonl").write_text(lines({"type": "kernel_start", "t": "2026-11-01T09:00:00.000Z", "seq": 1}))
    (outside / BLOB).write_bytes(b"keep me")
    work = tmp_path / "work"
    work.mkdir()
    notebook = make_history(work)
    prov = work / "nb.prov"
    # A journal file that is a link: left alone, reported.
    (prov / "journal" / "k-link.jsonl").symlink_to(outside / "k-victim.jsonl")
    completed = forget(notebook)
    assert completed.returncode == 0, completed.stderr
    assert '"k-link.jsonl"' in completed.stdout and "left alone" in completed.stdout
    assert (outside / "k-victim.jsonl").is_file()
    # A blobs folder that is a link out of the folder: refused, nothing else deleted.
    (prov / "journal" / "k-link.jsonl").unlink()
    shutil.rmtree(prov)
    make_history(work)
    shutil.rmtree(prov / "blobs")
    (prov / "blobs").symlink_to(outside)
    completed = forget(notebook)
    assert completed.returncode == 1 and "refusing to forget" in completed.stderr
    assert (outside / BLOB).read_bytes() == b"keep me"
    assert len(list((prov / "journal").iterdir())) == 3
    # The provenance folder itself a link: refused.
    other = tmp_path / "other"
    other.mkdir()
    nbformat.write(nbformat.v4.new_notebook(), other / "nb.ipynb")
    (other / "nb.prov").symlink_to(prov, target_is_directory=True)
    completed = forget(other / "nb.ipynb")
    assert completed.returncode == 1 and "symbolic link" in completed.stderr


def test_forget_refuses_what_is_not_a_notebook(tmp_path: Path) -> None:
    completed = forget(tmp_path / "data.csv")
    assert completed.returncode == 1 and "not a notebook" in completed.stderr


def test_kernel_forget_keeps_the_live_journal_recording(tmp_path: Path) -> None:
    nbformat.write(nbformat.v4.new_notebook(), tmp_path / "train.ipynb")
    journal = tmp_path / "train.prov" / "journal"
    with Kernel(tmp_path) as kernel:
        kernel.ok("%load_ext nbprov")
        kernel.ok("print('token ghp_BEFORE')")
        kernel.ok("import nbprov\nwith nbprov.run(name='first') as r:\n    r.log_metric('loss', 1.0)")
        printed = kernel.ok("message = nbprov.forget()")
        assert "removed from" in printed and "journal file" in printed
        assert not any("ghp_BEFORE" in p.read_text() for p in journal.glob("*.jsonl"))
        kernel.ok("print('after')")
        kernel.ok("with nbprov.run(name='second') as r:\n    r.log_metric('loss', 2.0)")
        kernel.ok("nbprov._tracking.flush()")
        records = journal_records(journal)
        types = [r["type"] for r in records]
        assert "run_start" in types and "exec_start" in types
        assert [r["name"] for r in records if r["type"] == "run_start"] == ["second"]
        seqs = [r["seq"] for r in records]
        assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
        assert any("after" in json.dumps(r) for r in records if r["type"] == "kernel_output")
        # Outputs only, from the kernel: runs stay, the printed text goes.
        kernel.ok("print('token ghp_' + 'AGAIN')")  # the source stays (not an output): it has no token
        kernel.ok("nbprov.forget(outputs_only=True)")
        text = "".join(p.read_text() for p in journal.glob("*.jsonl"))
        assert "ghp_AGAIN" not in text and '"second"' in text
        kernel.ok("print('still recording')")
        kernel.ok("nbprov._tracking.flush()")
        assert "still recording" in "".join(p.read_text() for p in journal.glob("*.jsonl"))
        # The export reads what is left.
        kernel.ok("nbprov.export()")
        assert (tmp_path / "train.prov" / "prov.json").is_file()


def test_kernel_forget_without_a_notebook_name_is_refused(tmp_path: Path) -> None:
    with Kernel(tmp_path, env={"NBPROV_NOTEBOOK": ""}) as kernel:
        reply, text = kernel.run("import nbprov\nnbprov.forget()")
        assert reply["status"] == "error" and "pass notebook=" in text
        assert not list(tmp_path.glob("*.prov"))
