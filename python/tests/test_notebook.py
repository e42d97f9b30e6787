"""examples/compare.ipynb runs from top to bottom against the module as built (so it cannot rot)."""

from __future__ import annotations

import nbclient
import nbformat

from conftest import ROOT


def test_the_example_notebook_runs():
    path = ROOT / "examples" / "compare.ipynb"
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(
        nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    )
    client.execute()  # raises CellExecutionError, with the cell and its traceback, if a cell fails
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert any(o.output_type == "display_data" and "image/png" in o.get("data", {}) for o in outputs), "no plot"
