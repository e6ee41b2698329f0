"""Issue 16 through the catalog of real runs: the scoring pipeline on new exports (no drift on
the training export, Income and Age flagged on a changed copy) and the migration after a
retrain with another k.
"""

from __future__ import annotations

import itertools
import shutil

import numpy as np
import pandas as pd
import pytest
from conftest import REAL_FILES, load_catalog, native_catalog, real_file, run_project

from customer_segmentation.core.monitoring.migration import VersionSegments, centroid_distances
from customer_segmentation.kedro_io.versioning import stamps

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def project(real_project, tmp_path_factory):
    """A copy of the real table's project (its first model version), to score and retrain."""
    copy = tmp_path_factory.mktemp("monitoring") / "project"
    shutil.copytree(real_project, copy)
    return copy


def _score(project, path) -> tuple[dict, pd.DataFrame]:
    run_project(project, pipeline="scoring", params={"new_customers_path": str(path)})
    catalog = load_catalog(project)
    return catalog.load("drift_report"), catalog.load("scored_customers")


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


def test_a_retrain_with_five_segments_records_the_migration(project):
    run_project(
        project,
        params={"raw_customers_path": str(real_file(REAL_FILES[0])), "clustering.n_clusters": 5},
    )
    catalog = load_catalog(project)
    new, old = stamps(native_catalog(project), "kmeans_model")[:2]
    migration = catalog.load("segment_migration")
    assert migration["previous_version"] == old
    counts = pd.DataFrame(migration["contingency"])
    assert counts["customers"].sum() == migration["customers_compared"] == 2212
    assert -1 <= migration["adjusted_rand_index"] <= 1
    # The matching is the assignment of least total centroid distance: brute force on k=6/5.
    sides = [
        VersionSegments.from_model(
            stamp,
            catalog.load("customer_segments", version=stamp),
            catalog.load("model_card", version=stamp),
            catalog.load("scaler", version=stamp),
            catalog.load("kmeans_model", version=stamp),
        )
        for stamp in (old, new)
    ]
    distances = centroid_distances(*sides, sides[0].features).to_numpy()
    best = min(
        itertools.permutations(range(6), 5),
        key=lambda olds: sum(distances[o, n] for n, o in enumerate(olds)),
    )
    matched = {
        row["segment"]: row["matched_segment"]
        for row in migration["new_segments"]
        if row["matched_segment"] is not None
    }
    assert matched == dict(enumerate(best)), (matched, best)
    assert np.isfinite(distances).all()
