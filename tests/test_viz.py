"""`kedro viz build` works offline and shows the pipelines and the layers in order."""

from __future__ import annotations

import json
import subprocess
import sys


def test_viz_build_shows_pipelines_and_layers(fresh_project):
    subprocess.run(
        [sys.executable, "-m", "kedro", "viz", "build"],
        cwd=fresh_project,
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    main = json.loads((fresh_project / "build" / "api" / "main").read_text())

    pipelines = {p["id"] for p in main["pipelines"]}
    assert {
        "data_processing",
        "feature_engineering",
        "model_selection",
        "clustering",
        "reporting",
        "crm_export",
        "scoring",
    } <= pipelines
    assert main["layers"] == [
        "raw",
        "primary",
        "feature",
        "model_input",
        "models",
        "model_output",
        "reporting",
    ], "kedro-viz drops the layers when data flows back to an earlier layer"
    data_nodes = {n["name"]: n.get("layer") for n in main["nodes"] if n["type"] == "data"}
    assert data_nodes["scaler"] == "models" and data_nodes["raw_customers"] == "raw"
    assert data_nodes["crm_customer_segments"] == "model_output"
    assert (fresh_project / "build" / "index.html").exists()
    scoring = json.loads((fresh_project / "build" / "api" / "pipelines" / "scoring").read_text())
    layers = {n["name"]: n.get("layer") for n in scoring["nodes"] if n["type"] == "data"}
    assert {
        name: layers.get(name)
        for name in ("new_raw_customers", "new_rejected_customers", "scored_customers")
    } == {
        "new_raw_customers": "raw",
        "new_rejected_customers": "primary",
        "scored_customers": "model_output",
    }
    assert layers.get("drift_report") == "reporting", layers
