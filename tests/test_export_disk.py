"""`nbprov export` on a disk that fills up midway: a real tmpfs of a few MiB as the `.prov` folder
(root only), its journal on a bind mount of an ordinary folder so that only the export competes for
the space. The export must fail with one clear line, and leave the previous export byte for byte."""

from __future__ import annotations

import os
import random
import shutil
import subprocess
from pathlib import Path

import pytest
from test_export_roundtrip import CLI, NODE, series, t, write_jsonl

pytestmark = [
    pytest.mark.skipif(NODE is None, reason="needs Node.js"),
    pytest.mark.skipif(os.geteuid() != 0 or shutil.which("mount") is None, reason="mounting a tmpfs needs root"),
]

SESSION = "d15cf011d15cf011"
RUN = "0123456789abcdef0123456789abcdef"


def journal(points: int) -> list[dict]:
    generator = random.Random(7)  # incompressible values: the export needs about 9 bytes per point
    values = [generator.random() for _ in range(points)]
    return [
        {
            "type": "kernel_start",
            "t": t(0),
            "session": SESSION,
            "kernel_id": None,
            "pid": 1,
            "hostname": "h",
            "python": "3.11",
            "nbprov_version": "0.1.0",
            "notebook": "full.ipynb",
            "user": "u",
        },
        {"type": "run_start", "t": t(1), "run": RUN, "name": "r", "experiment": "e", "exec": None, "code": None},
        {
            "type": "metrics",
            "t": t(2),
            "run": RUN,
            "batch": 1,
            "series": [series("loss", None, list(range(points)), values, [-1] * points)],
        },
        {"type": "run_end", "t": t(3), "run": RUN, "status": "finished"},
    ]


def tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def export(notebook: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([NODE, str(CLI), "export", str(notebook)], capture_output=True, text=True, check=False)


def test_a_disk_full_midway_leaves_the_previous_export_intact_with_one_clear_line(tmp_path: Path) -> None:
    notebook = tmp_path / "full.ipynb"
    notebook.write_text('{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}')
    prov_dir = tmp_path / "full.prov"
    journal_source = tmp_path / "journal-on-disk"
    prov_dir.mkdir()
    journal_source.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(prov_dir)], check=True)
    try:
        (prov_dir / "journal").mkdir()
        subprocess.run(["mount", "--bind", str(journal_source), str(prov_dir / "journal")], check=True)
        try:
            write_jsonl(journal_source / f"k-{SESSION}.jsonl", journal(1_000))
            first = export(notebook)
            assert first.returncode == 0, first.stderr
            exported = {name: data for name, data in tree(prov_dir).items() if not name.startswith("journal/")}
            assert "prov.json" in exported and any(name.startswith("metrics.zarr/") for name in exported)
            free_before = shutil.disk_usage(prov_dir).free

            # 300,000 random points: about 2.7 MB of export, more than the 2 MiB disk holds.
            write_jsonl(journal_source / f"k-{SESSION}.jsonl", journal(300_000))
            second = export(notebook)
            assert second.returncode == 1, second.stdout + second.stderr
            lines = second.stderr.strip().splitlines()
            assert lines == [
                f"nbprov export: cannot write the export into {prov_dir}: no space left on the device (ENOSPC); "
                "the previous export is unchanged"
            ]
            after = {name: data for name, data in tree(prov_dir).items() if not name.startswith("journal/")}
            assert after == exported
            assert sorted(p.name for p in prov_dir.iterdir()) == sorted(
                {"journal", *(n.split("/")[0] for n in exported)}
            )
            assert shutil.disk_usage(prov_dir).free == free_before  # the staging folder is gone

            # With room again the same export succeeds and replaces the previous one.
            write_jsonl(journal_source / f"k-{SESSION}.jsonl", journal(2_000))
            assert export(notebook).returncode == 0
            replaced = {name: data for name, data in tree(prov_dir).items() if not name.startswith("journal/")}
            assert replaced.keys() == exported.keys() and replaced["prov.json"] != exported["prov.json"]
        finally:
            subprocess.run(["umount", str(prov_dir / "journal")], check=True)
    finally:
        subprocess.run(["umount", str(prov_dir)], check=True)
