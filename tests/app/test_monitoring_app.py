"""Monitoring in the app (issue 16): an upload's drift on the Score page and two model versions
compared on the Compare page, through ``app_evidence.upload_drift`` and
``app_evidence.compare_versions``.
"""

from __future__ import annotations

from pathlib import Path

import evidence_projects
import model_projects
import numpy as np
import pandas as pd
import pytest
from conftest import PROJECT_ROOT, REAL_FILES, real_file
from model_projects import NEWER_K, OLDER_K, model_stamps
from streamlit.testing.v1 import AppTest

from customer_segmentation import schema
from customer_segmentation.core.monitoring import drift
from customer_segmentation.serving import app_evidence, app_logic
from customer_segmentation.serving.versions import PROJECT_ENV_VAR, ModelStore, ModelVersion

ENTRY = PROJECT_ROOT / "app" / "streamlit_app.py"
TIMEOUT = 120  # seconds for one script run (the first opens a Kedro session)
ROWS = 400

# Shared project fixtures (session-scoped, built once for all modules).
two_versions_project = model_projects.two_versions_project
pre_evidence_project = evidence_projects.pre_evidence_project


def open_app(project: Path, monkeypatch: pytest.MonkeyPatch, page: str) -> AppTest:
    monkeypatch.setenv(PROJECT_ENV_VAR, str(project))
    app = AppTest.from_file(str(ENTRY), default_timeout=TIMEOUT).run()
    app.switch_page(f"app_pages/{page}.py").run()
    assert not app.exception, [e.message for e in app.exception]
    return app


def texts(elements) -> str:
    return "\n".join(str(e.value) for e in elements)


def frame_with(app: AppTest, *columns: str) -> pd.DataFrame:
    """The first table on the page that has all ``columns``."""
    tables = [e.value for e in app.dataframe if set(columns) <= set(e.value.columns)]
    assert tables, f"no table with columns {columns} on the page"
    return tables[0]


def migration_table(app: AppTest) -> pd.DataFrame:
    """The Compare page's contingency table: every column a new segment (``"0: name"``)."""
    tables = [
        e.value
        for e in app.dataframe
        if len(e.value.columns) and e.value.columns.str.match(r"\d+: ").all()
    ]
    assert tables, "no contingency table on the page"
    return tables[0]


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
    return drift.drift_reference(
        training, ["Income", "Recency"], training["segment"], bins=5, sample_size=200, seed=0
    )


def test_an_upload_of_the_training_customers_has_not_drifted(training, reference, params):
    thresholds = params["monitoring"].drift
    report = app_evidence.upload_drift(training, reference, thresholds, training)

    assert report is not None, "a version with a drift reference gives a report"
    assert report.summary["sentence"].startswith("No feature drifted"), report.summary["sentence"]
    assert set(report.features["verdict"]) == {"stable"}, report.features
    assert report.summary["segment_test"]["verdict"] == "negligible"
    moves = report.summary["moves"]
    assert (moves["matched"], moves["changed"]) == (ROWS, 0), moves
    segments = app_evidence.drift_segment_table(report, {0: "Savers", 1: "Spenders"})
    assert list(segments.columns) == list(app_evidence.DRIFT_SEGMENT_COLUMNS)
    assert segments["name"].tolist() == ["Savers", "Spenders"]


def test_a_shifted_upload_drifts_and_new_ids_are_not_counted_as_moves(training, reference, params):
    shifted = training.assign(
        **{schema.ID: training[schema.ID] + 10_000, "Income": training["Income"] + 30_000}
    )
    report = app_evidence.upload_drift(shifted, reference, params["monitoring"].drift, training)

    assert report is not None
    verdicts = report.features.set_index("feature")["verdict"]
    assert verdicts["Income"] == "major", report.features
    assert verdicts["Recency"] == "stable", report.features
    assert "retrain" in report.summary["sentence"], report.summary["sentence"]
    assert report.summary["moves"] is None, "no uploaded ID is a training ID"
    assert set(app_evidence.DRIFT_FEATURE_COLUMNS) <= set(report.features.columns)


def test_without_a_drift_reference_there_is_no_report(training, params):
    assert app_evidence.upload_drift(training, None, params["monitoring"].drift) is None
    message = app_evidence.not_available("Drift", "v1", app_evidence.DRIFT_NODES)
    assert app_evidence.NOT_AVAILABLE in message and "keep_drift_reference" in message, message


# ------------------------------------------------------------------- versions compared


@pytest.fixture(scope="module")
def versions(two_versions_project: Path) -> tuple[ModelStore, ModelVersion, ModelVersion]:
    """The store and the newer (k=5) and older (k=6) versions."""
    store = ModelStore(two_versions_project)
    newer, older = model_stamps(two_versions_project)
    return store, ModelVersion(store, newer), ModelVersion(store, older)


def test_compare_versions_reads_the_saved_migration_and_computes_the_same(versions, monkeypatch):
    store, newer, older = versions
    distance = store.params["monitoring"].migration.match_distance
    saved = app_evidence.compare_versions(older, newer, distance)
    assert saved.saved, "the newer version's segment_migration was made against the older"
    assert (saved.older, saved.newer) == (older.version, newer.version)
    assert saved.migration["previous_version"] == older.version

    monkeypatch.setattr(newer, "optional", lambda name: None)  # as if it had none saved
    computed = app_evidence.compare_versions(newer, older, distance)
    assert not computed.saved
    assert (computed.older, computed.newer) == (older.version, newer.version), "either order"
    for key in ("sentence", "adjusted_rand_index", "contingency", "n_kept", "n_new"):
        assert computed.migration[key] == saved.migration[key], f"{key} differs when computed"


def test_the_same_version_twice_is_refused(versions):
    store, newer, _ = versions
    with pytest.raises(ValueError, match="two different model versions"):
        app_evidence.compare_versions(newer, newer, 0.25)


def test_the_contingency_table_as_matrix_heat_map_and_flows(versions):
    store, newer, older = versions
    result = app_evidence.compare_versions(older, newer, 0.25).migration
    compared = result["customers_compared"]

    counts = app_evidence.contingency_matrix(result)
    assert counts.shape == (OLDER_K, NEWER_K)
    assert counts.index[0].startswith("0: ") and counts.columns[-1].startswith(f"{NEWER_K - 1}: ")
    assert int(counts.to_numpy().sum()) == compared
    shares = app_evidence.contingency_matrix(result, "share_of_old")
    assert shares.sum(axis=1).to_numpy() == pytest.approx(1.0), "each old segment's shares"

    spec = app_evidence.migration_heatmap_spec(result)
    cells = spec["data"]["values"]
    assert len(cells) == OLDER_K * NEWER_K
    assert sum(c["customers"] for c in cells) == compared

    labels, flows = app_evidence.migration_flows(result)
    assert len(labels) == OLDER_K + NEWER_K
    assert flows["source"].between(0, OLDER_K - 1).all()
    assert flows["target"].between(OLDER_K, OLDER_K + NEWER_K - 1).all()
    assert int(flows["customers"].sum()) == compared
    assert (flows["customers"] > 0).all(), "only pairs with customers flow"


# ------------------------------------------------------------------------------ pages


def test_compare_page_shows_the_migration_of_two_versions(two_versions_project, monkeypatch):
    newer, older = model_stamps(two_versions_project)
    saved = ModelVersion(ModelStore(two_versions_project), newer).dataset("segment_migration")
    app = open_app(two_versions_project, monkeypatch, "compare")

    assert saved["sentence"] in texts(app.markdown), texts(app.markdown)
    assert "Read from the `segment_migration`" in texts(app.caption), texts(app.caption)
    table = migration_table(app)
    assert table.shape == (OLDER_K, NEWER_K)
    assert int(table.to_numpy().sum()) == saved["customers_compared"]
    assert app.get("vega_lite_chart"), "the heat map"
    assert app.get("plotly_chart"), "the Sankey diagram (Plotly is installed)"
    metrics = {m.label: m.value for m in app.metric}
    assert metrics["Adjusted Rand index"] == f"{saved['adjusted_rand_index']:.2f}", metrics

    app.selectbox(key=f"compare_second:{newer}").set_value(newer).run()
    assert not app.exception, [e.message for e in app.exception]
    assert "two different model versions" in texts(app.warning)

    app.selectbox(key="model_version").set_value(older).run()  # the sidebar's choice
    assert not app.exception, [e.message for e in app.exception]
    assert app.selectbox(key=f"compare_first:{older}").value == older
    assert app.selectbox(key=f"compare_second:{older}").value == newer, "the other version"
    assert saved["sentence"] in texts(app.markdown), "the same comparison from either side"


def test_compare_page_with_one_version_says_there_is_nothing_to_compare(real_project, monkeypatch):
    app = open_app(real_project, monkeypatch, "compare")
    assert "the only complete one" in texts(app.info), texts(app.info)


def test_score_page_shows_the_drift_of_an_upload(real_project, monkeypatch):
    content = real_file(REAL_FILES[0]).read_bytes()
    store = ModelStore(real_project)
    version = ModelVersion(store)
    scored = app_logic.score_upload(
        content, REAL_FILES[0], version.bundle, store.params["data_processing"], 50
    ).scored
    expected = app_evidence.upload_drift(
        scored,
        version.dataset("drift_reference"),
        store.params["monitoring"].drift,
        version.dataset("customer_segments"),
    )
    assert expected is not None

    app = open_app(real_project, monkeypatch, "score")
    app.file_uploader[0].set_value((REAL_FILES[0], content, "text/csv")).run()
    assert not app.exception, [e.message for e in app.exception]
    assert "Drift against the training data" in texts(app.subheader)
    assert expected.summary["sentence"] in texts(app.markdown), texts(app.markdown)
    features = frame_with(app, "feature", "psi", "ks_statistic", "verdict")
    assert features["feature"].tolist() == version.bundle.card["features"]
    assert set(features["verdict"]) <= set(drift.FEATURE_VERDICTS)
    shares = frame_with(app, "share_training", "share_new", "count_new")
    assert shares["count_new"].sum() == len(scored)
    moved = f"{len(scored):,} customers of this file have an ID of the training table; 0 (0.0%)"
    assert moved in texts(app.caption), "the training customers again: none moved"


def test_score_page_says_drift_is_not_available_for_an_older_version(
    pre_evidence_project, monkeypatch
):
    app = open_app(pre_evidence_project, monkeypatch, "score")
    content = real_file(REAL_FILES[0]).read_bytes()
    app.file_uploader[0].set_value((REAL_FILES[0], content, "text/csv")).run()
    assert not app.exception, [e.message for e in app.exception]
    assert app_evidence.NOT_AVAILABLE in texts(app.info), texts(app.info)
    assert not [t for t in app.dataframe if "psi" in t.value.columns], "no drift table"
