"""Runs a small training notebook headless (nbclient) with the installed nbprov, exports it with
``nbprov.export()``, reads the export back with the standard readers, ``prov`` and ``zarr``, and
runs ``nbprov export`` and ``nbprov restore --notebook-only`` on it. Run from an empty folder,
with the virtual environment under test first on PATH."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import nbformat
import prov.model
import zarr
from nbclient import NotebookClient

STEPS = 200
CELLS = [
    "%load_ext nbprov",
    "import nbprov",
    "with nbprov.run(name='install-check', params={'lr': 0.1}) as run:\n"
    f"    for step in range({STEPS}):\n"
    "        run.log_metric('loss', 1 / (step + 1))",
    "print(nbprov.export())",
]


def main() -> None:
    path = Path("install-check.ipynb").resolve()
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(source) for source in CELLS]
    nbformat.write(notebook, path)
    env = {**os.environ, "NBPROV_NOTEBOOK": path.name, "NBPROV_ENERGY": "0"}
    client = NotebookClient(
        notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    )
    client.execute(env=env)

    prov_dir = path.parent / "install-check.prov"
    assert notebook.cells[-1].outputs[0]["text"].strip() == str(prov_dir / "prov.json"), notebook.cells[-1].outputs
    document = prov.model.ProvDocument.deserialize(source=str(prov_dir / "prov.json"), format="json")
    runs = [a for a in document.get_records(prov.model.ProvActivity) if str(a.identifier).startswith("nbprov:run.")]
    assert len(runs) == 1, runs
    labels = [str(value) for key, value in runs[0].attributes if str(key) == "prov:label"]
    assert labels == ["install-check"], labels

    group = zarr.open_group(str(prov_dir / "metrics.zarr"), mode="r")
    arrays = {array.path: array for array in iter_arrays(group)}
    # One run, one metric: its series is the only `values` array (<run>/<context>/<series>/values).
    loss = [array for name, array in arrays.items() if name.endswith("/values")]
    assert len(loss) == 1 and loss[0].shape == (STEPS,), sorted(arrays)
    assert abs(float(loss[0][-1]) - 1 / STEPS) < 1e-9
    # The command line, on the same export: `nbprov export` again, then `nbprov restore` of the run.
    subprocess.run(["nbprov", "export", str(path)], check=True)
    restored = path.parent / "restored"
    subprocess.run(
        ["nbprov", "restore", "--run", "install-check", "--notebook-only", str(prov_dir / "prov.json"), str(restored)],
        check=True,
    )
    sources = [cell.source for cell in nbformat.read(restored / path.name, as_version=4).cells]
    assert sources == CELLS[:3], sources
    print(
        f"headless export: {len(json.loads((prov_dir / 'prov.json').read_text())['activity'])} activities, "
        f"{STEPS} loss points read back by prov and zarr; nbprov export and restore ran"
    )


def iter_arrays(group: zarr.Group):
    for _, array in group.arrays():
        yield array
    for _, child in group.groups():
        yield from iter_arrays(child)


if __name__ == "__main__":
    main()
