"""The whole project, as a user runs it: demo data, both real files, each pipeline alone."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest
from conftest import (
    PROJECT_ROOT,
    REAL_FILES,
    copy_project,
    load_catalog,
    real_file,
    run_project,
    run_summary,
)
from model_projects import copy_run
from sklearn.metrics import adjusted_rand_score

from customer_segmentation.demo_data import generate_customers
from customer_segmentation.kedro_io.runs import LOCK_FILE
from customer_segmentation.pipeline_registry import register_pipelines

PIPELINES = [
    "data_processing",
    "feature_engineering",
    "model_selection",
    "clustering",
    "reporting",
    "crm_export",
]
CONTRACT = [
    "data_quality_report",
    "rejected_customers",
    "customer_features",
    "k_selection",
    "scaler",
    "kmeans_model",
    "customer_segments",
    "segment_profiles",
    "clustering_comparison",
]


def check_accounting_and_segments(project) -> dict:
    catalog = load_catalog(project)
    for name in CONTRACT:
        assert catalog.exists(name), f"{name} was not written by the run"
    report = catalog.load("data_quality_report")
    assert report["rows_in"] == report["rows_clean"] + report["rows_rejected"], report
    assert len(catalog.load("rejected_customers")) == report["rows_rejected"]
    clean_ids = set(catalog.load("customers")["ID"])
    segments = catalog.load("customer_segments")
    assert len(clean_ids) == report["rows_clean"]
    assert set(segments["ID"]) == clean_ids, "every clean customer must have exactly one segment"
    assert segments["ID"].is_unique
    assert set(catalog.load("customer_features")["ID"]) == clean_ids
    return report


def test_demo_run_accounts_for_every_row(demo_project):
    report = check_accounting_and_segments(demo_project)
    assert report["rows_in"] == 2240
    assert report["rejected_by_reason"] == {
        "birth_year_out_of_range": 3,
        "income_outlier": 1,
        "missing_income": 24,
    }


def test_demo_clustering_recovers_the_planted_types(demo_project):
    """Measured: adjusted Rand index 0.90 at k=6 on the shipped demo table (seed 42)."""
    segments = load_catalog(demo_project).load("customer_segments")
    _, planted = generate_customers(2240, 42)
    ari = adjusted_rand_score(planted.loc[segments["ID"]].to_numpy(), segments["segment"])
    assert ari >= 0.85, f"planted types recovered with ARI {ari:.3f} only"


def test_real_comma_file(real_project):
    report = check_accounting_and_segments(real_project)
    assert (report["rows_in"], report["rows_clean"], report["rows_rejected"]) == (2240, 2212, 28)
    assert report["delimiter"] == "comma"


@pytest.mark.slow
def test_real_tab_file_gives_the_same_segments(real_project, tmp_path):
    project = copy_project(tmp_path / "tab")
    run_project(project, params={"raw_customers_path": str(real_file(REAL_FILES[1]))})
    report = check_accounting_and_segments(project)
    assert report["delimiter"] == "tab"
    assert (report["rows_clean"], report["rows_rejected"]) == (2212, 28)
    tab = load_catalog(project).load("customer_segments")
    comma = load_catalog(real_project).load("customer_segments")
    assert tab[["ID", "segment"]].equals(comma[["ID", "segment"]])


@pytest.mark.slow
def test_each_pipeline_runs_alone_once_its_inputs_exist(demo_project, tmp_path):
    """``kedro run --pipeline NAME`` after a full run (a copy of the demo run): every node of
    the pipeline ran and the run completed (the run's own record of its nodes,
    ``node_timings_path``).
    """
    project = copy_run(demo_project, tmp_path / "alone")
    registered = register_pipelines()
    for name in PIPELINES:
        record = tmp_path / f"{name}.json"
        run_project(project, pipeline=name, params={"node_timings_path": str(record)})
        ran = json.loads(record.read_text())
        assert ran["completed"], f"kedro run --pipeline {name}: {ran['error']}"
        expected = {node.name for node in registered[name].nodes}
        assert {n["node"] for n in ran["nodes"]} == expected, f"--pipeline {name} ran other nodes"


def test_registry_lists_every_pipeline(fresh_project):
    result = subprocess.run(
        [sys.executable, "-m", "kedro", "registry", "list"],
        cwd=fresh_project,
        capture_output=True,
        text=True,
        check=True,
    )
    for name in [*PIPELINES, "scoring"]:
        assert f"- {name}" in result.stdout, result.stdout


def test_the_default_run_does_not_score_new_exports(fresh_project):
    from kedro.framework.project import pipelines  # noqa: PLC0415
    from kedro.framework.startup import bootstrap_project  # noqa: PLC0415

    bootstrap_project(fresh_project)
    assert "scored_customers" in pipelines["scoring"].all_outputs()
    assert "scored_customers" not in pipelines["__default__"].all_outputs()
    assert "segment_migration" in pipelines["__default__"].all_outputs()


def test_cli_run_reads_the_raw_path_parameter(fresh_project):
    """`kedro run --params raw_customers_path=...` with a missing file names the parameter."""
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "kedro",
            "run",
            "--pipeline",
            "data_processing",
            "--params",
            "raw_customers_path=nowhere/customers.csv",
        ],
        cwd=fresh_project,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0
    output = re.sub(r"\s+", "", result.stdout + result.stderr)  # rich wraps long lines
    assert "nowhere/customers.csv" in output
    assert "raw_customers_path=PATH" in output


def test_a_file_that_cannot_be_right_stops_the_run_and_saves_nothing(tmp_path):
    """Dates in a shape nobody writes: the run stops at the data contract with a diagnosis;
    no table, model or report of a new version is written.
    """
    text = real_file(REAL_FILES[0]).read_text()
    lines = text.splitlines()
    broken = tmp_path / "broken.csv"
    broken.write_text("\n".join([lines[0], *(line.replace("-", "~") for line in lines[1:])]))
    project = copy_project(tmp_path / "project")
    with pytest.raises(Exception, match="stopped before anything is modelled") as caught:
        run_project(project, params={"raw_customers_path": str(broken)})
    assert "Dt_Customer fails the rule bad_date in 2,240 of 2,240 rows" in str(caught.value)
    (said,) = run_summary(project)
    assert said.startswith("The run failed at node check_customers: "), said
    assert "\n" not in said and "broken.csv: stopped before anything is modelled" in said, said
    kept = {".gitkeep", LOCK_FILE}  # the layers' placeholders, the run lock (no data)
    written = [p for p in (project / "data").rglob("*") if p.is_file() and p.name not in kept]
    shipped = {project / "data" / "01_raw" / "demo_customers.csv"}
    assert set(written) <= shipped, f"a stopped run wrote {sorted(set(written) - shipped)}"


def test_telemetry_is_off_for_the_project(monkeypatch):
    """The tracked `.telemetry` opts out even where the environment does not."""
    from kedro_telemetry.plugin import _check_for_telemetry_consent  # noqa: PLC0415

    monkeypatch.delenv("KEDRO_DISABLE_TELEMETRY", raising=False)
    monkeypatch.delenv("DO_NOT_TRACK", raising=False)
    assert _check_for_telemetry_consent(PROJECT_ROOT) is False
