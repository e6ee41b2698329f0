"""The Score and Compare pages (issue 16): an upload's drift, and two model versions compared,
as a user sees them (Streamlit's ``AppTest``).
"""

from __future__ import annotations

from pathlib import Path

import evidence_projects
import model_projects
import pandas as pd
import pytest
from conftest import PROJECT_ROOT, REAL_FILES, real_file
from model_projects import NEWER_K, OLDER_K, model_stamps
from streamlit.testing.v1 import AppTest

from customer_segmentation.core.monitoring import drift
from customer_segmentation.serving import evidence, monitoring, score
from customer_segmentation.serving.versions import PROJECT_ENV_VAR, ModelStore, ModelVersion

ENTRY = PROJECT_ROOT / "app" / "streamlit_app.py"
TIMEOUT = 120  # seconds for one script run (the first opens a Kedro session)

# Shared project fixtures (session-scoped, built once for all modules).
two_versions_project = model_projects.two_versions_project
unrelated_versions_project = model_projects.unrelated_versions_project
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


def test_compare_page_leads_with_a_warning_when_the_ids_name_other_people(
    unrelated_versions_project, monkeypatch
):
    newer, _ = model_stamps(unrelated_versions_project)
    saved = ModelVersion(ModelStore(unrelated_versions_project), newer).dataset("segment_migration")
    app = open_app(unrelated_versions_project, monkeypatch, "compare")

    shown = [e for e in app.main if e.type in ("warning", "markdown", "metric")]
    assert shown[0].type == "warning" and str(shown[0].value).startswith("Not the same customers")
    assert [w.value for w in app.warning] == saved["warnings"]
    first_figure = next(i for i, e in enumerate(shown) if e.type == "metric")
    sentence = next(i for i, e in enumerate(shown) if e.type == "markdown")
    assert len(saved["warnings"]) <= sentence < first_figure, "warnings, account, then figures"
    assert "trained on" in texts(app.caption), "each version's input"


def test_compare_page_with_one_version_says_there_is_nothing_to_compare(real_project, monkeypatch):
    app = open_app(real_project, monkeypatch, "compare")
    assert "the only complete one" in texts(app.info), texts(app.info)


def test_score_page_shows_the_drift_of_an_upload(real_project, monkeypatch):
    content = real_file(REAL_FILES[0]).read_bytes()
    store = ModelStore(real_project)
    version = ModelVersion(store)
    scored = score.score_upload(
        content, REAL_FILES[0], version.bundle, store.params["data_processing"], 50
    ).scored
    expected = monitoring.upload_drift(
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
    assert evidence.NOT_AVAILABLE in texts(app.info), texts(app.info)
    assert not [t for t in app.dataframe if "psi" in t.value.columns], "no drift table"
