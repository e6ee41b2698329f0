"""``scoring``: in memory on a tiny model (the wiring, the error path), and through the
catalog of real runs (issue 16: no drift on the training export, Income and Age flagged on a
changed copy).
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import (
    REAL_FILES,
    load_catalog,
    native_catalog,
    real_file,
    run_project,
    run_summary,
)
from kedro.io import DataCatalog, MemoryDataset
from kedro.runner import SequentialRunner

from customer_segmentation.core import engine
from customer_segmentation.core.contract import CustomerDataError, RawCustomerFile
from customer_segmentation.kedro_io.versioning import stamps
from customer_segmentation.pipelines.scoring import create_pipeline

MODEL_READS = (
    "scaler",
    "kmeans_model",
    "model_card",
    "customer_segments",
    "drift_reference",
    "segment_membership",
)
NEW_ROWS = 300


def _in_memory(demo_project: Path, export: bytes) -> DataCatalog:
    """The scoring pipeline's inputs in memory: the demo run's model version, a new export."""
    catalog = native_catalog(demo_project)
    stamp = stamps(catalog, "kmeans_model")[0]
    inputs = {name: MemoryDataset(catalog.load(name, version=stamp)) for name in MODEL_READS}
    return DataCatalog(
        {
            **inputs,
            "new_raw_customers": MemoryDataset(
                RawCustomerFile("new.csv", export), copy_mode="assign"
            ),
            "model_version_stamp": MemoryDataset(stamp),
            "params:data_processing": MemoryDataset(catalog.load("params:data_processing")),
            "params:monitoring": MemoryDataset(catalog.load("params:monitoring")),
        }
    )


def test_the_pipeline_scores_a_new_export_in_memory(demo_project: Path):
    demo = (demo_project / "data" / "01_raw" / "demo_customers.csv").read_bytes()
    export = b"\n".join(demo.splitlines()[: NEW_ROWS + 1]) + b"\n"
    catalog = _in_memory(demo_project, export)
    stamp = catalog.load("model_version_stamp")
    training = engine.to_pandas_table(catalog.load("customer_segments"))

    scoring = SequentialRunner().run(create_pipeline().to_outputs("scored_customers"), catalog)
    outputs = SequentialRunner().run(create_pipeline(), _in_memory(demo_project, export))

    scored = engine.to_pandas_table(scoring["scored_customers"].load())
    report = scoring["new_data_quality_report"].load()
    assert len(scored) == report["rows_clean"] and report["rows_in"] == NEW_ROWS
    assert (scored["model_version"] == stamp).all()
    expected = scored[["ID"]].merge(training, on="ID", how="left")
    np.testing.assert_array_equal(scored["previous_segment"], expected["segment"])
    np.testing.assert_array_equal(scored["segment"], expected["segment"])  # same model, same data
    drift_report, html = outputs["drift_report"].load(), outputs["drift_report_html"].load()
    assert drift_report["model_version"] == stamp
    assert drift_report["sentence"] in html.replace("&#39;", "'")


def test_an_export_that_is_not_the_customer_table_stops_the_pipeline(demo_project: Path):
    mall = b"CustomerID,Gender,Age,Annual Income (k$),Spending Score (1-100)\n1,Male,19,15,39\n"
    with pytest.raises(Exception, match="new.csv: this is the 'Mall Customers' table") as stopped:
        SequentialRunner().run(create_pipeline(), _in_memory(demo_project, mall))
    assert isinstance(stopped.value, CustomerDataError) or isinstance(
        stopped.value.__cause__, CustomerDataError
    )


@pytest.fixture(scope="module")
def project(real_project, tmp_path_factory):
    """A copy of the real table's project (its first model version), to score."""
    copy = tmp_path_factory.mktemp("monitoring") / "project"
    shutil.copytree(real_project, copy)
    return copy


def _score(project, path) -> tuple[dict, pd.DataFrame]:
    run_project(project, pipeline="scoring", params={"new_customers_path": str(path)})
    catalog = load_catalog(project)
    return catalog.load("drift_report"), catalog.load("scored_customers")


@pytest.mark.slow
def test_scoring_the_training_export_reports_no_drift_and_no_moves(project):
    model = stamps(native_catalog(project), "kmeans_model")[0]
    report, scored = _score(project, real_file(REAL_FILES[0]))
    verdicts = {row["feature"]: row["verdict"] for row in report["features"]}
    assert set(verdicts.values()) == {"stable"}, verdicts
    assert report["moves"]["changed"] == 0, report["moves"]
    assert report["moves"]["matched"] == len(scored) == 2212
    assert report["model_version"] == model
    assert (scored["model_version"] == model).all()
    assert (scored["segment"] == scored["previous_segment"]).all()
    assert stamps(native_catalog(project), "kmeans_model") == [model], "no model written"


@pytest.mark.slow
def test_richer_and_older_customers_flag_income_and_age_only(project, tmp_path):
    table = pd.read_csv(real_file(REAL_FILES[0]), dtype=str, keep_default_na=False)
    income = pd.to_numeric(table["Income"].replace("", None))
    table["Income"] = (income * 4 / 3).round().astype("Int64").astype(str).replace("<NA>", "")
    table["Year_Birth"] = (table["Year_Birth"].astype(int) - 8).astype(str)
    changed = tmp_path / "next_month.csv"
    table.to_csv(changed, index=False)
    report, _ = _score(project, changed)
    features = {row["feature"]: row for row in report["features"]}
    major = sorted(f for f, row in features.items() if row["verdict"] == "major")
    assert major == ["Age", "Income"], {f: round(r["psi"], 3) for f, r in features.items()}
    assert features["Income"]["psi"] > 0.25 and features["Age"]["psi"] > 0.25
    assert {r["verdict"] for f, r in features.items() if f not in major} == {"stable"}
    assert "Income" in report["sentence"] and "Age" in report["sentence"], report["sentence"]


@pytest.mark.slow
def test_a_scoring_run_ends_saying_what_it_scored(project):
    model = stamps(native_catalog(project), "kmeans_model")[0]
    report, scored = _score(project, real_file(REAL_FILES[1]))

    (text,) = run_summary(project)
    assert f"with model version {model}" in text and "model     " not in text, "no new model"
    new = load_catalog(project).load("new_data_quality_report")
    rows = new["rows_in"], new["rows_clean"], new["rows_rejected"]
    assert "rows      {:,} in, {:,} clean, {:,} rejected".format(*rows) in text, text
    names = {s["segment"]: s["name"] for s in load_catalog(project).load("model_card")["segments"]}
    for segment, size in scored["segment"].value_counts().items():
        assert f"{segment} {names[segment]}: {size:,} (" in text, (segment, size)
    assert f"drift     {report['sentence']}" in text
    paths = re.findall(r"data/09_scoring/\S+", text)
    assert len(paths) == 3 and all((project / p).is_file() for p in paths), paths
