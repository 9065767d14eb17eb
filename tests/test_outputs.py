"""Kernel-side output capture under stress, in real kernels: threads, interrupts, unloading."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import nbformat
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
    NotebookClient(notebook, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute(
        env=kernel_env({"NBPROV_NOTEBOOK": "threads.ipynb", "NBPROV_ENERGY": "0"})
    )
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
            "print('after unload')", timeout=60,
            output_hook=lambda m: after.append(m["content"].get("text", "")) if m["msg_type"] == "stream" else None,
        )
        assert after == ["after unload\n"]
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
