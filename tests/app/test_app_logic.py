"""The app's computations: the form and the upload give the pipeline's own segments."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from app_projects import pipeline_tables
from conftest import REAL_FILES, real_file

from customer_segmentation import app_logic, schema
from customer_segmentation.data_contract import CustomerDataError
from customer_segmentation.model_store import ModelStore

CUSTOMERS_CHECKED = 60  # real customers pushed through the form path
SEED = 7


@pytest.fixture(scope="module")
def real(real_project: Path) -> dict:
    store = ModelStore(real_project)
    return {"store": store, "bundle": store.load(), **pipeline_tables(real_project)}


def form_values(customer: pd.Series, ref_date: pd.Timestamp, mode: str) -> dict:
    """What a marketer would type for this customer, in one of the form's modes."""
    values = {c: customer[c] for c in schema.KAGGLE_COLUMNS if c != schema.ID}
    if mode in ("age", "age_and_total"):
        values["Age"] = int(ref_date.year - values.pop("Year_Birth"))
    if mode == "age_and_total":
        values["Total_Spending"] = sum(values.pop(c) for c in schema.SPEND_COLUMNS)
    return values


@pytest.mark.parametrize("mode", ["birth_year", "age", "age_and_total"])
def test_form_prediction_equals_the_pipeline_segment(real: dict, mode: str):
    bundle, customers = real["bundle"], real["customers"]
    expected = real["customer_segments"].set_index(schema.ID)
    rows = np.random.default_rng(SEED).choice(len(customers), CUSTOMERS_CHECKED, replace=False)
    wrong = []
    for row in rows:
        customer = customers.iloc[row]
        prediction = app_logic.predict_customer(
            form_values(customer, bundle.reference_date, mode), bundle
        )
        want = expected.loc[customer[schema.ID]]
        if prediction.segment != want["segment"] or not np.isclose(
            prediction.distance, want["distance"]
        ):
            wrong.append((customer[schema.ID], prediction.segment, int(want["segment"])))
    assert not wrong, f"form ({mode}) and pipeline disagree (ID, form, pipeline): {wrong}"


def test_prediction_names_explains_and_places_the_customer(real: dict):
    bundle = real["bundle"]
    customer = real["customers"].iloc[0]
    prediction = app_logic.predict_customer(
        form_values(customer, bundle.reference_date, "age"), bundle, real["customer_segments"]
    )
    card = {s["segment"]: s for s in bundle.card["segments"]}
    assert prediction.name == card[prediction.segment]["name"]
    assert prediction.action == card[prediction.segment]["action"]
    assert prediction.runner_up != prediction.segment
    assert prediction.runner_up_distance >= prediction.distance
    assert 0.0 <= prediction.margin_percentile <= 1.0
    assert set(prediction.explanation["feature"]) == set(bundle.card["features"])
    assert prediction.explanation["pull"].sum() == pytest.approx(
        prediction.runner_up_distance**2 - prediction.distance**2
    ), "the pulls must add up to the squared-distance gap to the runner-up"
    figure = app_logic.segment_map(
        real["store"].load_table("customer_features"), bundle, 500, SEED, prediction.features
    )
    labels = [t.get_text() for t in figure.axes[0].get_legend().get_texts()]
    assert "this customer" in labels and len(labels) == bundle.card["k"] + 1, labels


def test_values_outside_the_training_range_are_flagged_not_clipped(real: dict):
    bundle = real["bundle"]
    values = form_values(real["customers"].iloc[0], bundle.reference_date, "age")
    top = bundle.card["feature_ranges"]["Income"]["max"]
    values["Income"] = 10 * top
    prediction = app_logic.predict_customer(values, bundle)
    flagged = prediction.out_of_range.set_index("feature")
    assert "Income" in flagged.index, prediction.out_of_range
    assert flagged.loc["Income", "value"] == 10 * top and flagged.loc["Income", "max"] == top
    assert prediction.features["Income"].iloc[0] == 10 * top, "the value must not be clipped"


def test_missing_or_negative_form_fields_are_refused(real: dict):
    bundle = real["bundle"]
    values = form_values(real["customers"].iloc[0], bundle.reference_date, "age")
    with pytest.raises(ValueError, match="Income"):
        app_logic.predict_customer({k: v for k, v in values.items() if k != "Income"}, bundle)
    with pytest.raises(ValueError, match="negative: Recency"):
        app_logic.predict_customer({**values, "Recency": -1}, bundle)


@pytest.mark.parametrize("name", REAL_FILES)
def test_upload_scoring_reproduces_customer_segments_for_every_row(real: dict, name: str):
    bundle = real["bundle"]
    params = real["store"].params["data_processing"]
    result = app_logic.score_upload(real_file(name).read_bytes(), name, bundle, params, 50)
    expected = real["customer_segments"]
    merged = expected.merge(result.scored, on=schema.ID, how="outer", suffixes=("", "_app"))
    assert len(merged) == len(expected) == len(result.scored), (
        f"{name}: pipeline scored {len(expected)} customers, the upload {len(result.scored)}"
    )
    differ = merged.loc[merged["segment"] != merged["segment_app"], schema.ID].tolist()
    assert not differ, f"{name}: segments differ for IDs {differ[:20]}"
    assert np.allclose(merged["distance"], merged["distance_app"]), "distances differ"
    names = {s["segment"]: s["name"] for s in bundle.card["segments"]}
    assert (result.scored["name"] == result.scored["segment"].map(names)).all()
    assert sorted(result.rejected[schema.ID]) == sorted(real["rejected_customers"][schema.ID]), (
        "the upload must reject the same rows as the pipeline"
    )
    assert set(result.rejected.columns) >= {"reason_code", "reason", "source_row"}
    assert result.distribution["customers"].sum() == len(result.scored)
    assert result.distribution["share"].sum() == pytest.approx(1.0)


def test_uploads_that_are_not_customer_tables_get_a_message(real: dict):
    bundle, params = real["bundle"], real["store"].params["data_processing"]
    with pytest.raises(CustomerDataError, match="binary file"):
        app_logic.score_upload(b"\x80\x04\x95pickle\x00\x00", "model.pkl", bundle, params, 50)
    mall = b"CustomerID,Gender,Age,Annual Income (k$),Spending Score (1-100)\n1,Male,19,15,39\n"
    with pytest.raises(CustomerDataError, match="Mall Customers"):
        app_logic.score_upload(mall, "Mall_Customers.csv", bundle, params, 50)


def test_uploads_above_the_limit_are_refused_before_parsing(real: dict):
    bundle, params = real["bundle"], real["store"].params["data_processing"]
    content = real_file(REAL_FILES[0]).read_bytes()
    limit_mb = len(content) / 2 / (1024 * 1024)
    with pytest.raises(app_logic.UploadTooLargeError, match=r"accepts files up to .* MB"):
        app_logic.score_upload(content, "big.csv", bundle, params, limit_mb)
