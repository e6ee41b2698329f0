"""`kedro viz build` works offline, shows the pipelines and the layers in order, and, as a
command that touches no data, imports no scikit-learn, SciPy, matplotlib or Spark (issue 17),
although it builds every dataset of the catalog (figures, models, SQL for its environment).
"""

from __future__ import annotations

import json

from importtime import heavy_imports, run_importtime


def test_viz_build_shows_pipelines_and_layers(fresh_project):
    result = run_importtime(fresh_project, "-m", "kedro", "viz", "build")
    heavy = heavy_imports(result.stderr)
    assert not heavy, "`kedro viz build` imported " + "; ".join(
        f"{package} ({chain})" for package, chain in heavy.items()
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
