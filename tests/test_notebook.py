"""The walk-through notebook runs top to bottom against a project copy (so it never rots)."""

from __future__ import annotations

from pathlib import Path

import nbformat
from conftest import PROJECT_ROOT
from nbclient import NotebookClient

NOTEBOOK = PROJECT_ROOT / "notebooks" / "segments_walkthrough.ipynb"


def test_walkthrough_notebook_runs_on_a_project_copy(demo_project: Path, monkeypatch):
    monkeypatch.setenv("CUSTOMER_SEGMENTATION_PROJECT", str(demo_project))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    notebook = nbformat.read(NOTEBOOK, as_version=4)

    NotebookClient(
        notebook,
        kernel_name="python3",
        timeout=300,
        resources={"metadata": {"path": str(NOTEBOOK.parent)}},
    ).execute()

    outputs = [
        output.get("text", "") + str(output.get("data", {}).get("text/plain", ""))
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.outputs
    ]
    text = "\n".join(outputs)
    assert f"project: {demo_project.resolve()}" in text, "notebook did not use the project copy"
    assert "Action:" in text, "notebook printed no segment actions"
    stamp = sorted(p.name for p in (demo_project / "data/06_models/kmeans_model.skops").iterdir())
    assert f"model version: {stamp[-1]}" in text, "one model version, picked once"
    images = sum(
        "image/png" in output.get("data", {})
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.outputs
    )
    assert images >= 5, f"expected the EDA, mix and map figures, got {images} images"
