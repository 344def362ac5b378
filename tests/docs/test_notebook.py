"""examples/notebooks/quickstart.ipynb runs from top to bottom in a fresh kernel (nbclient), in a fresh folder."""

from __future__ import annotations

from pathlib import Path

import nbclient
import nbformat

NOTEBOOK = Path(__file__).parents[2] / "examples" / "notebooks" / "quickstart.ipynb"


def test_the_quickstart_notebook_runs_every_primitive(tmp_path):
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    client = nbclient.NotebookClient(
        notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    client.execute()  # raises CellExecutionError, with the cell and its traceback, when a cell fails
    printed = "".join(
        output.get("text", "") for cell in notebook.cells if cell.cell_type == "code" for output in cell.outputs
    )
    for landmark in ("new tokens, by source", "| filter |", "specialty: 8 steps", "## AneQA-bpc"):
        assert landmark in printed, landmark
    assert (tmp_path / "runs" / "training" / "train-specialty" / "model").is_dir()


def test_the_committed_notebook_carries_its_outputs_for_the_docs():
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code and all(cell.outputs for cell in code if "print(" in cell.source)
    assert not any(output.output_type == "error" for cell in code for output in cell.outputs)
