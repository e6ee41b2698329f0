"""``serving.monitoring``: an upload's drift against the model version's training data, and two
model versions compared (the Score and Compare pages' logic; the pages: ``tests/app``).
"""

from __future__ import annotations

from pathlib import Path

import model_projects
import numpy as np
import pandas as pd
import pytest
from model_projects import NEWER_K, OLDER_K, model_stamps

from customer_segmentation import schema
from customer_segmentation.core.monitoring import drift, migration
from customer_segmentation.serving import charts, evidence, monitoring
from customer_segmentation.serving.versions import ModelStore, ModelVersion

ROWS = 400

# Shared project fixtures (session-scoped, built once for all modules).
two_versions_project = model_projects.two_versions_project


# ----------------------------------------------------------------------- upload drift


@pytest.fixture(scope="module")
def training() -> pd.DataFrame:
    """Training customers: ``ID``, two features and a segment (by income)."""
    rng = np.random.default_rng(7)
    income = rng.normal(50_000, 10_000, ROWS)
    return pd.DataFrame(
        {
            schema.ID: np.arange(ROWS),
            "Income": income,
            "Recency": rng.integers(0, 100, ROWS).astype("float64"),
            "segment": (income > np.median(income)).astype("int64"),
        }
    )


@pytest.fixture(scope="module")
def reference(training: pd.DataFrame) -> dict:
    return drift.drift_reference(training, ["Income", "Recency"], bins=5, sample_size=200, seed=0)


def test_an_upload_of_the_training_customers_has_not_drifted(training, reference, params):
    thresholds = params["monitoring"].drift
    report = monitoring.upload_drift(training, reference, thresholds, training)

    assert report is not None, "a version with a drift reference gives a report"
    assert report.summary["sentence"].startswith("No feature drifted"), report.summary["sentence"]
    assert set(report.features["verdict"]) == {"stable"}, report.features
    assert report.summary["segment_test"]["verdict"] == "negligible"
    moves = report.summary["moves"]
    assert (moves["matched"], moves["changed"]) == (ROWS, 0), moves
    segments = monitoring.drift_segment_table(report, {0: "Savers", 1: "Spenders"})
    assert list(segments.columns) == list(monitoring.DRIFT_SEGMENT_COLUMNS)
    assert segments["name"].tolist() == ["Savers", "Spenders"]


def test_a_shifted_upload_drifts_and_new_ids_are_not_counted_as_moves(training, reference, params):
    shifted = training.assign(
        **{schema.ID: training[schema.ID] + 10_000, "Income": training["Income"] + 30_000}
    )
    report = monitoring.upload_drift(shifted, reference, params["monitoring"].drift, training)

    assert report is not None
    verdicts = report.features.set_index("feature")["verdict"]
    assert verdicts["Income"] == "major", report.features
    assert verdicts["Recency"] == "stable", report.features
    assert "retrain" in report.summary["sentence"], report.summary["sentence"]
    assert report.summary["moves"] is None, "no uploaded ID is a training ID"
    assert set(monitoring.DRIFT_FEATURE_COLUMNS) <= set(report.features.columns)


def test_without_a_drift_reference_there_is_no_report(training, params):
    assert monitoring.upload_drift(training, None, params["monitoring"].drift) is None
    message = evidence.not_available("Drift", "v1", monitoring.DRIFT_NODES)
    assert evidence.NOT_AVAILABLE in message and "keep_drift_reference" in message, message


# ------------------------------------------------------------------- versions compared


@pytest.fixture(scope="module")
def versions(two_versions_project: Path) -> tuple[ModelStore, ModelVersion, ModelVersion]:
    """The store and the newer (k=5) and older (k=6) versions."""
    store = ModelStore(two_versions_project)
    newer, older = model_stamps(two_versions_project)
    return store, ModelVersion(store, newer), ModelVersion(store, older)


def test_compare_versions_reads_the_saved_migration_and_computes_the_same(versions, monkeypatch):
    store, newer, older = versions
    settings = store.params["monitoring"].migration
    saved = monitoring.compare_versions(older, newer, settings)
    assert saved.saved, "the newer version's segment_migration was made against the older"
    assert (saved.older, saved.newer) == (older.version, newer.version)
    assert saved.migration["previous_version"] == older.version

    monkeypatch.setattr(newer, "optional", lambda name: None)  # as if it had none saved
    computed = monitoring.compare_versions(newer, older, settings)
    assert not computed.saved
    assert (computed.older, computed.newer) == (older.version, newer.version), "either order"
    for key in ("sentence", "adjusted_rand_index", "contingency", "n_kept", "n_new"):
        assert computed.migration[key] == saved.migration[key], f"{key} differs when computed"


def test_the_same_version_twice_is_refused(versions):
    store, newer, _ = versions
    with pytest.raises(ValueError, match="two different model versions"):
        monitoring.compare_versions(newer, newer, store.params["monitoring"].migration)


def test_the_contingency_table_as_matrix_heat_map_and_flows(versions):
    store, newer, older = versions
    result = monitoring.compare_versions(
        older, newer, store.params["monitoring"].migration
    ).migration
    compared = result["customers_compared"]

    counts = migration.contingency_matrix(result)
    assert counts.shape == (OLDER_K, NEWER_K)
    assert counts.index[0].startswith("0: ") and counts.columns[-1].startswith(f"{NEWER_K - 1}: ")
    assert int(counts.to_numpy().sum()) == compared
    shares = migration.contingency_matrix(result, "share_of_old")
    assert shares.sum(axis=1).to_numpy() == pytest.approx(1.0), "each old segment's shares"

    spec = charts.migration_heatmap_spec(result)
    cells = spec["data"]["values"]
    assert len(cells) == OLDER_K * NEWER_K
    assert sum(c["customers"] for c in cells) == compared

    labels, flows = migration.migration_flows(result)
    assert len(labels) == OLDER_K + NEWER_K
    assert flows["source"].between(0, OLDER_K - 1).all()
    assert flows["target"].between(OLDER_K, OLDER_K + NEWER_K - 1).all()
    assert int(flows["customers"].sum()) == compared
    assert (flows["customers"] > 0).all(), "only pairs with customers flow"
