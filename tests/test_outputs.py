"""Kernel-side output capture under stress, in real kernels: threads, interrupts, unloading, a
read-only blobs folder."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import nbformat
import pytest
from conftest import kernel_env
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient

from nbprov.journal import read_journal


def _kernel_outputs(journal: Path) -> dict[str, list[dict[str, Any]]]:
    """Each execution's items, applying its kernel_output records as a reader does."""
    items: dict[str, list[dict[str, Any]]] = {}
    for record in read_journal(journal):
        if record["type"] == "kernel_output":
            items[record["exec"]] = items.get(record["exec"], [])[: record["index"]] + record["outputs"]
    return items


def _exec_of(journal: Path, source: str) -> str:
    return next(r["exec"] for r in read_journal(journal) if r["type"] == "exec_start" and r["source"] == source)


THREADS_CELL = """
import threading
def shout(name):
    for i in range(10_000):
        print(name, i)
threads = [threading.Thread(target=shout, args=(f't{n}',)) for n in range(4)]
for thread in threads: thread.start()
for thread in threads: thread.join()
"""


def test_four_threads_printing_keep_every_byte(tmp_path: Path) -> None:
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(s) for s in ("%load_ext nbprov", THREADS_CELL)]
    NotebookClient(
        notebook, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    ).execute(env=kernel_env({"NBPROV_NOTEBOOK": "threads.ipynb", "NBPROV_ENERGY": "0"}))
    journal = tmp_path / "threads.prov" / "journal"
    (item,) = _kernel_outputs(journal)[_exec_of(journal, THREADS_CELL)]
    expected = sum(len(f"t{n} {i}\n") for n in range(4) for i in range(10_000))
    shown = "".join(o["text"] for o in notebook.cells[1].outputs if o["output_type"] == "stream")
    assert len(shown) == expected  # what the notebook got
    assert (item["name"], item["size"], item["truncated"]) == ("stdout", expected, True)


def test_an_interrupted_printing_cell_keeps_its_lines_and_the_interrupt(tmp_path: Path) -> None:
    manager = KernelManager(kernel_name="python3")
    manager.start_kernel(cwd=str(tmp_path), env=kernel_env({"NBPROV_NOTEBOOK": "stop.ipynb", "NBPROV_ENERGY": "0"}))
    client = manager.client()
    client.start_channels()
    cell = "import time\ni = 0\nwhile True:\n    print(i)\n    i += 1\n    time.sleep(0.001)"
    try:
        client.wait_for_ready(timeout=60)
        client.execute_interactive("%load_ext nbprov", timeout=60)
        printed: list[str] = []
        client.execute(cell)
        started = time.monotonic()
        interrupted = False
        while True:
            message = client.get_iopub_msg(timeout=30)
            if message["msg_type"] == "stream":
                printed.append(message["content"]["text"])
            if not interrupted and time.monotonic() - started > 1.5:
                manager.interrupt_kernel()
                interrupted = True
            if message["msg_type"] == "status" and message["content"]["execution_state"] == "idle" and interrupted:
                break
        client.execute_interactive("%unload_ext nbprov", timeout=60)
        # After unloading, printing still works and nothing more is recorded.
        after: list[str] = []
        client.execute_interactive(
            "print('after unload')",
            timeout=60,
            output_hook=lambda m: after.append(m["content"].get("text", "")) if m["msg_type"] == "stream" else None,
        )
        # ipykernel may send one print as several stream messages (its flush timer), so join them.
        assert "".join(after) == "after unload\n"
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)
    journal = tmp_path / "stop.prov" / "journal"
    exec_id = _exec_of(journal, cell)
    stream, error = _kernel_outputs(journal)[exec_id]
    text = "".join(printed)
    assert stream["size"] == len(text) and text.startswith(stream["text"])  # every line, none twice
    assert error["output_type"] == "error" and error["name"] == "KeyboardInterrupt"
    (end,) = [r for r in read_journal(journal) if r["type"] == "exec_end" and r["exec"] == exec_id]
    assert end["status"] == "interrupted"
    finals = [r for r in read_journal(journal) if r["type"] == "kernel_output" and r["final"]]
    assert [r["exec"] for r in finals][-1] == exec_id  # the unload cell and the one after recorded nothing
    assert not any(r["type"] == "exec_start" and r["source"] == "print('after unload')" for r in read_journal(journal))


PNG_CELL = """
import base64
from IPython.display import Image, display
print('before')
display(Image(base64.b64decode(
    'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==')))
print('after')
"""


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("node") is None, reason="needs root (bind mounts) and Node.js")
def test_a_read_only_blobs_folder_keeps_the_text_and_the_blob_is_written_once_writable(tmp_path: Path) -> None:
    from nbprov.export import run_cli_export

    (tmp_path / "ro.ipynb").write_text(json.dumps(nbformat.v4.new_notebook()))
    blobs = tmp_path / "ro.prov" / "blobs"
    blobs.mkdir(parents=True)
    subprocess.run(["mount", "--bind", str(blobs), str(blobs)], check=True)
    mounted = True
    manager = KernelManager(kernel_name="python3")
    manager.start_kernel(cwd=str(tmp_path), env=kernel_env({"NBPROV_NOTEBOOK": "ro.ipynb", "NBPROV_ENERGY": "0"}))
    client = manager.client()
    client.start_channels()
    try:
        subprocess.run(["mount", "-o", "remount,bind,ro", str(blobs)], check=True)
        client.wait_for_ready(timeout=60)
        client.execute_interactive("%load_ext nbprov", timeout=60)
        streams: list[str] = []
        reply = client.execute_interactive(
            PNG_CELL,
            timeout=60,
            output_hook=lambda m: streams.append(m["content"]["text"]) if m["msg_type"] == "stream" else None,
        )
        assert reply["content"]["status"] == "ok"  # the user's cell is not broken
        time.sleep(0.5)  # a few retries on the journal's thread
        assert sum("cannot write output blobs" in text for text in streams) <= 1
        client.execute_interactive("import nbprov; nbprov._tracking.flush()", timeout=60)
        assert list(blobs.iterdir()) == []

        def image_output() -> dict[str, Any]:
            document = json.loads(run_cli_export(tmp_path / "ro.ipynb", None).read_text())
            outputs = [e for e in document["entity"].values() if e.get("prov:type", {}).get("$") == "nbprov:Output"]
            assert [o["nbprov:text"] for o in outputs if o["nbprov:output_type"] == "stream"] == ["before\n", "after\n"]
            (image,) = [o for o in outputs if o.get("nbprov:mime") == "image/png"]
            return image

        image = image_output()
        assert image["nbprov:blob_missing"] is True and "nbprov:blob" not in image
        subprocess.run(["umount", str(blobs)], check=True)
        mounted = False
        deadline = time.monotonic() + 10
        while not (blobs / image["nbprov:sha256"]).exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        image = image_output()
        assert image["nbprov:blob"] == f"blobs/{image['nbprov:sha256']}" and "nbprov:blob_missing" not in image
        data = (blobs / image["nbprov:sha256"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == image["nbprov:sha256"]
        assert [p.name for p in blobs.iterdir()] == [image["nbprov:sha256"]]  # no temporary left behind
    finally:
        if mounted:
            subprocess.run(["umount", str(blobs)], check=False)
        client.stop_channels()
        manager.shutdown_kernel(now=True)
