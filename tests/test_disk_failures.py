"""A full or read-only disk never reaches the user's cell, and nothing is lost once it recovers.

Real kernels write into a small tmpfs (full) or a read-only bind mount, as root."""

from __future__ import annotations

import math
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from kernels import Kernel, assert_journal_consistent, journal_records, series_points

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="mounting a tmpfs needs root")

POINTS = 300_000


def _mount(*args: str) -> None:
    subprocess.run(["mount", *args], check=True, capture_output=True)


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 16 MiB tmpfs, nearly filled by ``filler`` (remove it to free the space)."""
    disk = tmp_path / "disk"
    disk.mkdir()
    _mount("-t", "tmpfs", "-o", "size=16m", "tmpfs", str(disk))
    try:
        yield disk
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)


def _fill(disk: Path, leave_bytes: int) -> Path:
    filler = disk / "filler"
    stat = os.statvfs(disk)
    with open(filler, "wb") as handle:
        handle.write(b"\0" * max(0, stat.f_bavail * stat.f_frsize - leave_bytes))
    return filler


def _wait_for(predicate, timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def test_a_full_disk_never_breaks_the_loop_and_loses_nothing_once_space_returns(small_disk: Path) -> None:
    journal = small_disk / "train.prov" / "journal"
    with Kernel(small_disk) as kernel:
        kernel.ok("%load_ext nbprov\nimport nbprov")
        filler = _fill(small_disk, 64 << 10)
        text = kernel.ok(
            "with nbprov.run(name='full disk') as run:\n"
            "    for epoch in range(3):\n"
            "        with run.context('training', epoch=epoch):\n"
            f"            for i in range({POINTS // 3}):\n"
            "                run.log_metric('loss', float(i))\n"
            "print('training survived')\n"
        )
        assert "training survived" in text
        assert text.count("cannot write the journal") == 1, text
        assert "Traceback" not in text
        filler.unlink()
        assert _wait_for(lambda: any(r["type"] == "run_end" for r in journal_records(journal, tolerant=True)))
        text = kernel.ok("import time; time.sleep(1.0); print('next cell')")
        assert "next cell" in text
        records = journal_records(journal)  # no partial line glued to another: every line parses
    assert_journal_consistent(records)
    (run,) = [r["run"] for r in records if r["type"] == "run_start"]
    loss = series_points(records, run)["loss"]
    assert loss["values"] == [float(i) for _ in range(3) for i in range(POINTS // 3)]
    assert loss["epochs"] == [epoch for epoch in range(3) for _ in range(POINTS // 3)]
    assert [r["status"] for r in records if r["type"] == "run_end"] == ["finished"]
    states = [r["state"] for r in records if r["type"] == "journal_status"]
    assert states == ["failing", "ok"]
    assert not [r for r in records if r["type"] == "gap"]


def test_beyond_the_memory_bound_the_loss_is_counted_as_a_gap(small_disk: Path) -> None:
    journal = small_disk / "train.prov" / "journal"
    with Kernel(small_disk) as kernel:
        kernel.ok("%load_ext nbprov\nimport math, nbprov, nbprov.journal\nnbprov.journal.BUFFER_LIMIT_BYTES = 1 << 20")
        filler = _fill(small_disk, 16 << 10)
        # sin(i) does not compress (float(i) would): the lines outgrow the 1 MiB bound.
        text = kernel.ok(
            "with nbprov.run(name='overflow') as run:\n"
            f"    for i in range({POINTS}):\n"
            "        run.log_metric('loss', math.sin(i))\n"
            "print('training survived')\n"
        )
        assert "training survived" in text
        filler.unlink()
        assert _wait_for(lambda: any(r["type"] == "gap" for r in journal_records(journal, tolerant=True)))
        records = journal_records(journal)
    assert_journal_consistent(records)
    (run,) = [r["run"] for r in records if r["type"] == "run_start"]
    kept = series_points(records, run)["loss"]
    (gap,) = [r for r in records if r["type"] == "gap"]
    assert gap["run"] == run and gap["points"] > 0 and "ENOSPC" in gap["reason"]
    assert len(kept["values"]) + gap["points"] == POINTS  # logged = kept + counted as lost
    assert kept["steps"] == sorted(set(kept["steps"]))
    assert kept["values"] == [math.sin(s) for s in kept["steps"]]
    assert [r["status"] for r in records if r["type"] == "run_end"] == ["finished"]


@pytest.fixture
def read_only(tmp_path: Path) -> Iterator[callable]:
    mounted: list[Path] = []

    def make_read_only(folder: Path) -> None:
        _mount("--bind", str(folder), str(folder))
        mounted.append(folder)
        _mount("-o", "remount,bind,ro", str(folder))

    yield make_read_only
    for folder in reversed(mounted):
        subprocess.run(["umount", "-l", str(folder)], check=False)


@pytest.mark.parametrize("what", ["journal folder", "notebook folder"])
def test_an_unwritable_folder_records_to_the_fallback_and_says_so(tmp_path: Path, read_only, what: str) -> None:
    notebook_folder = tmp_path / "project"
    journal = notebook_folder / "train.prov" / "journal"
    journal.mkdir(parents=True)
    read_only(journal if what == "journal folder" else notebook_folder)
    fallback_root = tmp_path / "fallback"
    with Kernel(notebook_folder, env={"NBPROV_FALLBACK_DIR": str(fallback_root)}) as kernel:
        text = kernel.ok("%load_ext nbprov\nimport nbprov")
        text += kernel.ok(
            "with nbprov.run(name='read-only', params={'lr': 0.1}) as run:\n"
            "    for i in range(1000):\n"
            "        run.log_metric('loss', float(i))\n"
            "print('trained')\n"
        )
        assert "trained" in text and "Traceback" not in text
        (fallback,) = fallback_root.glob("*/train.prov/journal")
        assert text.count("cannot write the journal next to the notebook") == 1, text
        assert str(fallback) in text
        kernel.ok("nbprov._tracking.flush()")
        records = journal_records(fallback)
    assert not list(journal.iterdir())
    assert_journal_consistent(records)
    (run,) = [r["run"] for r in records if r["type"] == "run_start"]
    assert series_points(records, run)["loss"]["values"] == [float(i) for i in range(1000)]
    assert [r["status"] for r in records if r["type"] == "run_end"] == ["finished"]
