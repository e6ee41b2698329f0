"""Every page of the Streamlit app, driven by ``streamlit.testing.v1.AppTest``."""

from __future__ import annotations

import re
from pathlib import Path

import evidence_projects
import model_projects
import pandas as pd
import pytest
from conftest import PROJECT_ROOT, REAL_FILES, real_file
from model_projects import (
    HALF_RUN_STAMP,
    NEWER_K,
    OLDER_K,
    model_stamps,
    pipeline_tables,
)
from streamlit import config
from streamlit.testing.v1 import AppTest

from customer_segmentation import schema
from customer_segmentation.core import outcomes
from customer_segmentation.serving import evidence as segment_evidence
from customer_segmentation.serving.versions import (
    EVIDENCE_DATASETS,
    PROJECT_ENV_VAR,
    ModelStore,
    ModelVersion,
)

ENTRY = PROJECT_ROOT / "app" / "streamlit_app.py"
TIMEOUT = 120  # seconds for one script run (the first opens a Kedro session)
CUSTOMER_ROW = 17

# Shared project fixtures (session-scoped, built once for all modules).
half_run_project = model_projects.half_run_project
truncated_model_project = model_projects.truncated_model_project
two_versions_project = model_projects.two_versions_project
pre_evidence_project = evidence_projects.pre_evidence_project
no_campaigns_project = evidence_projects.no_campaigns_project
EVIDENCE_SECTIONS = ("Can I trust this segment?", "Will it respond?", "RFM beside K-Means")


def open_app(project: Path, monkeypatch: pytest.MonkeyPatch, page: str | None = None) -> AppTest:
    monkeypatch.setenv(PROJECT_ENV_VAR, str(project))
    app = AppTest.from_file(str(ENTRY), default_timeout=TIMEOUT).run()
    if page:
        app.switch_page(f"app_pages/{page}.py").run()
    assert not app.exception, [e.message for e in app.exception]
    return app


def frame_with(app: AppTest, *columns: str) -> pd.DataFrame:
    """The first table on the page that has all ``columns``."""
    for element in app.dataframe:
        if set(columns) <= set(element.value.columns):
            return element.value
    raise AssertionError(f"no table with columns {columns} on the page")


def texts(elements) -> str:
    return "\n".join(str(e.value) for e in elements)


def image_urls(app: AppTest) -> list[str]:
    """The media URL of every image on the page (one per figure's bytes)."""
    return [image.url for element in app.get("image") for image in element.proto.imgs]


def predicted_segment(app: AppTest) -> int:
    """The segment number of the Predict page's answer heading."""
    heading = next(h for h in texts(app.subheader).splitlines() if h.startswith("Segment "))
    return int(heading.split(":")[0].removeprefix("Segment "))


def test_predict_page_gives_the_pipeline_segment_of_a_real_customer(real_project, monkeypatch):
    tables = pipeline_tables(real_project)
    customer = tables["customers"].iloc[CUSTOMER_ROW]
    expected = tables["customer_segments"].set_index(schema.ID).loc[customer[schema.ID]]
    card = ModelStore(real_project).load().card
    segment_names = [s["name"] for s in card["segments"]]
    name = segment_names[int(expected["segment"])]

    app = open_app(real_project, monkeypatch)
    assert "Fill in the form" in texts(app.info)
    app.radio(key="age_mode").set_value("Birth year").run()
    for column in ("Year_Birth", "Income", *schema.SPEND_COLUMNS, *schema.PURCHASE_COLUMNS):
        app.number_input(key=column).set_value(customer[column])
    for column in ("Recency", "NumWebVisitsMonth", "Kidhome", "Teenhome"):
        app.number_input(key=column).set_value(customer[column])
    app.selectbox(key="Marital_Status").set_value(customer["Marital_Status"])
    app.selectbox(key="Education").set_value(customer["Education"])
    app.date_input(key=schema.DATE_COLUMN).set_value(customer[schema.DATE_COLUMN].date())
    app.button[0].click().run()  # the form's submit button
    assert not app.exception, [e.message for e in app.exception]

    heading = f"Segment {int(expected['segment'])}: {name}"
    assert heading in texts(app.subheader), (
        f"expected {heading!r}, page shows {texts(app.subheader)}"
    )
    assert "Suggested action" in texts(app.info)
    assert any(m.label.startswith("Runner-up: segment") for m in app.metric)
    explanation = frame_with(app, "feature", "pull")
    assert set(explanation["feature"]) == set(card["features"])
    assert "Where the customer sits on the segment map" in texts(app.subheader)
    charts = [c.proto.spec for c in app.get("vega_lite_chart")]
    maps = [spec for spec in charts if '"shape": "diamond"' in spec]  # the customer's mark
    assert len(maps) == 1, "the map is a chart drawn in the browser, with the customer on it"
    assert all(f"{s}: {n}" in maps[0] for s, n in enumerate(name for name in segment_names))
    assert not app.get("image"), "no server-drawn image on the Predict page"


def test_a_form_the_data_contract_rejects_gets_its_message(real_project, monkeypatch):
    """The form goes through the data contract: a birth year of 1890 is refused as a file row
    with it would be, in the form's words, and no segment is shown.
    """
    app = open_app(real_project, monkeypatch)
    app.radio(key="age_mode").set_value("Birth year").run()
    app.number_input(key="Year_Birth").set_value(1890)
    app.button[0].click().run()
    assert not app.exception, [e.message for e in app.exception]

    message = texts(app.error)
    assert "Birth year 1890 is before 1901" in message, message
    assert "birth_year_out_of_range" in message, message
    assert not [h for h in texts(app.subheader).splitlines() if h.startswith("Segment ")]

    app.number_input(key="Year_Birth").set_value(1960)
    app.number_input(key="Income").set_value(5_000_000.0)
    app.button[0].click().run()
    assert "Yearly household income 5000000 is above max_income 200,000" in texts(app.error)


def test_score_page_reproduces_customer_segments_through_the_upload(real_project, monkeypatch):
    tables = pipeline_tables(real_project)
    app = open_app(real_project, monkeypatch, "score")
    content = real_file(REAL_FILES[0]).read_bytes()
    app.file_uploader[0].set_value((REAL_FILES[0], content, "text/csv")).run()
    assert not app.exception, [e.message for e in app.exception]
    assert not app.error, texts(app.error)

    scored = frame_with(app, "ID", "segment", "name", "margin")
    expected = tables["customer_segments"]
    merged = expected.merge(scored, on=schema.ID, how="outer", suffixes=("", "_app"))
    assert len(merged) == len(expected) == len(scored)
    differ = merged.loc[merged["segment"] != merged["segment_app"], schema.ID].tolist()
    assert not differ, f"upload and pipeline segments differ for IDs {differ[:20]}"
    rejected = frame_with(app, "ID", "reason_code", "reason")
    assert sorted(rejected[schema.ID]) == sorted(tables["rejected_customers"][schema.ID])
    assert (rejected["reason"].str.len() > 0).all(), "every rejected row needs its reason"
    metrics = {m.label: m.value for m in app.metric}
    assert metrics["Scored"] == f"{len(expected):,}", metrics
    assert app.get("download_button"), "the scored table must be downloadable"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\x80\x04\x95\x00\x00pickle", "binary file"),
        (b"CustomerID,Gender,Age\n1,Male,19\n", "first line has none of the customer"),
        (b"", "the file is empty"),
    ],
)
def test_bad_uploads_show_a_message(real_project, monkeypatch, content, message):
    app = open_app(real_project, monkeypatch, "score")
    app.file_uploader[0].set_value(("upload.csv", content, "text/csv")).run()
    assert not app.exception, [e.message for e in app.exception]
    assert message in texts(app.error), texts(app.error)
    assert not app.get("download_button")


def test_too_large_upload_is_refused_with_the_limit(real_project, monkeypatch):
    app = open_app(real_project, monkeypatch, "score")
    content = real_file(REAL_FILES[0]).read_bytes() * 6  # above 1 MB
    before = config.get_option("server.maxUploadSize")
    config.set_option("server.maxUploadSize", 1)
    try:
        app.file_uploader[0].set_value(("big.csv", content, "text/csv")).run()
    finally:
        config.set_option("server.maxUploadSize", before)
    assert not app.exception, [e.message for e in app.exception]
    assert "the app accepts files up to 1 MB" in texts(app.error), texts(app.error)


def test_explore_page_shows_tables_and_figures_from_the_catalog(real_project, monkeypatch):
    app = open_app(real_project, monkeypatch, "explore")
    store = ModelStore(real_project)
    card = store.load().card
    segments = frame_with(app, "segment", "name", "action", "size")
    assert list(segments["name"]) == [s["name"] for s in card["segments"]]
    assert len(frame_with(app, "segment", "name", "mean_Income")) == card["k"]
    assert not frame_with(app, "k", "inertia").empty
    assert set(frame_with(app, "method", "clusters")["method"]) == {
        "kmeans",
        "dbscan",
    }
    images = app.get("image")
    assert len(images) == len(store.figure_names()) >= 10, (
        f"{len(images)} images for figures {store.figure_names()}"
    )


def test_an_older_version_shows_its_own_segments_on_every_page(two_versions_project, monkeypatch):
    newer, older = model_stamps(two_versions_project)
    app = open_app(two_versions_project, monkeypatch, "explore")
    card_text = texts(app.sidebar.markdown)
    assert newer in card_text and f"k = {NEWER_K}" in card_text, card_text
    assert f"The {NEWER_K} segments" in texts(app.subheader)

    app.selectbox(key="model_version").set_value(older).run()
    assert not app.exception, [e.message for e in app.exception]
    card_text = texts(app.sidebar.markdown)
    assert older in card_text and f"k = {OLDER_K}" in card_text, card_text
    assert f"The {OLDER_K} segments" in texts(app.subheader)
    assert len(frame_with(app, "segment", "name", "action", "size")) == OLDER_K
    assert len(frame_with(app, "segment", "name", "mean_Income")) == OLDER_K, "its profiles"
    chosen = frame_with(app, "k", "inertia", "is_chosen")
    assert chosen.loc[chosen["is_chosen"], "k"].tolist() == [OLDER_K], "its k record"
    assert len(frame_with(app, "method", "clusters")) == 2

    app.switch_page("app_pages/predict.py").run()
    assert not app.exception, [e.message for e in app.exception]
    assert app.selectbox(key="model_version").value == older, "the choice holds across pages"
    app.button[0].click().run()
    heading = next(h for h in texts(app.subheader).splitlines() if h.startswith("Segment "))
    number = int(heading.split(":")[0].removeprefix("Segment "))
    names = ModelStore(two_versions_project).load(older).segment_names()
    assert heading == f"Segment {number}: {names[number]}", "a name of the older model"
    (shown_map,) = [
        c.proto.spec for c in app.get("vega_lite_chart") if '"shape": "diamond"' in c.proto.spec
    ]
    assert all(f"{s}: {n}" in shown_map for s, n in names.items()), "the older model's map"
    assert f"{OLDER_K}: " not in shown_map, "no segment beyond the older model's k"


def test_a_half_finished_run_is_not_the_default_and_is_refused(half_run_project, monkeypatch):
    app = open_app(half_run_project, monkeypatch)
    assert app.selectbox(key="model_version").value != HALF_RUN_STAMP
    assert "k = " in texts(app.sidebar.markdown)
    app.selectbox(key="model_version").set_value(HALF_RUN_STAMP).run()
    assert not app.exception, [e.message for e in app.exception]
    assert "incomplete" in texts(app.error), texts(app.error)
    assert not app.get("form"), "no form without a usable model"


def test_without_a_trained_model_the_app_says_to_run_kedro(fresh_project, monkeypatch):
    for page in (None, "score", "explore"):
        app = open_app(fresh_project, monkeypatch, page)
        assert "No trained model" in texts(app.error), texts(app.error)
        assert "kedro run" in texts(app.markdown) + texts(app.code), "say which command to run"


def test_an_unreadable_model_file_gets_a_message(truncated_model_project, monkeypatch):
    app = open_app(truncated_model_project, monkeypatch)
    assert "cannot be used" in texts(app.error) and "unreadable" in texts(app.error)


def test_scored_download_is_the_scored_table(real_project, monkeypatch):
    app = open_app(real_project, monkeypatch, "score")
    content = real_file(REAL_FILES[1]).read_bytes()
    app.file_uploader[0].set_value((REAL_FILES[1], content, "text/tab-separated-values")).run()
    scored = frame_with(app, "ID", "segment", "name", "margin")
    assert isinstance(scored, pd.DataFrame) and {"segment", "name", "margin"} <= set(scored)
    assert len(scored) == len(pipeline_tables(real_project)["customer_segments"])


def test_explore_page_shows_the_evidence_per_segment(real_project, monkeypatch):
    app = open_app(real_project, monkeypatch, "explore")
    store = ModelStore(real_project)
    version = ModelVersion(store)
    names, k = version.bundle.segment_names(), version.bundle.k
    headings = texts(app.subheader).splitlines()
    assert [h for h in headings if h in EVIDENCE_SECTIONS] == list(EVIDENCE_SECTIONS), headings
    assert segment_evidence.NOT_AVAILABLE not in texts(app.info), texts(app.info)

    stability = frame_with(app, "segment", "mean_jaccard", "reading", "dissolved")
    thresholds = store.params["clustering"].segment_stability.thresholds
    assert len(stability) == k and set(stability["reading"]) <= set(thresholds)
    resamples = store.params["clustering"].segment_stability.resamples
    assert f"refits on {resamples} bootstrap resamples" in texts(app.markdown), texts(app.markdown)

    table = version.dataset("segment_outcomes")
    sentence = outcomes.next_campaign_sentence(table, store.params["reporting"].outcomes.z, names)
    assert sentence in texts(app.markdown), "the next-campaign sentence"
    responses = frame_with(app, "segment", "Response rate", "Response lift", "AnyCampaign rate")
    assert responses["segment"].tolist() == list(range(k))
    assert responses["Response rate"].str.fullmatch(r"[\d.]+% \([\d.]+%–[\d.]+%\)").all()

    rfm = frame_with(app, "segment", "largest_group", "customers")
    groups = [c for c in rfm.columns if c not in segment_evidence.RFM_LEADING]
    assert rfm[groups].sum(axis=1).to_numpy() == pytest.approx(1.0), "shares of each segment"
    assert rfm["customers"].sum() == version.bundle.card["training_rows"]

    urls = image_urls(app)
    assert len(urls) == len(set(urls)) == len(store.figure_names()), (
        "every figure of the version once, the evidence figures in their sections"
    )


def test_predict_page_says_how_stable_the_segment_is_and_how_it_responds(real_project, monkeypatch):
    app = open_app(real_project, monkeypatch)
    app.button[0].click().run()  # the typical customer
    assert not app.exception, [e.message for e in app.exception]
    segment = predicted_segment(app)
    store = ModelStore(real_project)
    version = ModelVersion(store)
    shown = texts(app.markdown)
    stable = segment_evidence.stability_sentence(version.dataset("segment_profiles"), segment)
    assert stable is not None and stable in shown, shown
    assert stable.startswith(f"Segment {segment} is "), stable
    evidence = segment_evidence.campaign_evidence(
        version.dataset("segment_outcomes"), segment, store.params["reporting"].outcomes.z
    )
    assert evidence is not None and evidence in shown, shown
    (belongs,) = [m for m in app.metric if m.label == "Probability of belonging"]
    assert re.fullmatch(r"\d{1,3}%", belongs.value), belongs.value


def test_a_version_saved_before_the_evidence_opens_and_says_it_is_not_available(
    pre_evidence_project, monkeypatch
):
    app = open_app(pre_evidence_project, monkeypatch, "explore")
    labels = app.selectbox(key="model_version").options
    assert all("saved before segment evidence" in label for label in labels), labels
    headings = texts(app.subheader).splitlines()
    assert [h for h in headings if h in EVIDENCE_SECTIONS] == list(EVIDENCE_SECTIONS), headings
    notes = texts(app.info)
    methods = "The methods comparison is " + segment_evidence.NOT_AVAILABLE
    assert methods in notes, "the seven methods too"
    assert notes.count(segment_evidence.NOT_AVAILABLE) == len(EVIDENCE_SECTIONS) + 1, notes
    store = ModelStore(pre_evidence_project)
    urls = image_urls(app)
    held = set(store.figure_names()) - set(EVIDENCE_DATASETS)
    assert len(urls) == len(set(urls)) == len(held), "every figure the version has, once"

    app.switch_page("app_pages/predict.py").run()
    app.button[0].click().run()
    assert not app.exception, [e.message for e in app.exception]
    assert predicted_segment(app) in ModelStore(pre_evidence_project).load().segment_names()
    assert texts(app.markdown).count(segment_evidence.NOT_AVAILABLE) == 2, texts(app.markdown)
    (belongs,) = [m for m in app.metric if m.label == "Probability of belonging"]
    assert belongs.value == "not available"
    command = f"kedro run --from-nodes {','.join(segment_evidence.BACKFILL_NODES)} --params"
    assert command in texts(app.caption), "the command that adds it"
    assert "fit_segment_membership" in segment_evidence.BACKFILL_NODES


def test_without_campaign_columns_the_explore_page_says_why(no_campaigns_project, monkeypatch):
    app = open_app(no_campaigns_project, monkeypatch, "explore")
    note = texts(app.info)
    assert "No campaign outcomes for this version" in note, note
    assert all(c in note for c in schema.FLAG_COLUMNS), note
    assert not [t for t in app.dataframe if "Response rate" in t.value.columns]
    assert frame_with(app, "segment", "largest_group").shape[0] > 0, "RFM needs no campaigns"
