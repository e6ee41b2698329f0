"""The app's computations: the form and the upload give the pipeline's own segments."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import REAL_FILES, real_file
from contract_api import (
    CustomerDataError,
    RawCustomerFile,
    prepare_customers,
)
from model_projects import pipeline_tables

from customer_segmentation import schema
from customer_segmentation.serving import app_logic
from customer_segmentation.serving.versions import ModelStore, ModelVersion

CUSTOMERS_CHECKED = 60  # real customers pushed through the form path
SEED = 7


@pytest.fixture(scope="module")
def real(real_project: Path) -> dict:
    store = ModelStore(real_project)
    version = ModelVersion(store)
    return {
        "store": store,
        "version": version,
        "bundle": version.bundle,
        "rules": store.params["data_processing"],
        **pipeline_tables(real_project),
    }


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
            form_values(customer, bundle.reference_date, mode), bundle, real["rules"]
        )
        want = expected.loc[customer[schema.ID]]
        if prediction.segment != want["segment"] or not np.isclose(
            prediction.distance, want["distance"]
        ):
            wrong.append((customer[schema.ID], prediction.segment, int(want["segment"])))
    assert not wrong, f"form ({mode}) and pipeline disagree (ID, form, pipeline): {wrong}"


def test_prediction_names_explains_and_places_the_customer(real: dict):
    bundle, version = real["bundle"], real["version"]
    points = version.dataset("segment_map_points")
    drawn = points[points["kind"] == "customer"].iloc[0]
    customer = real["customers"].set_index(schema.ID).loc[drawn[schema.ID]].rename(None)
    customer[schema.ID] = drawn[schema.ID]
    prediction = app_logic.predict_customer(
        form_values(customer, bundle.reference_date, "age"),
        bundle,
        real["rules"],
        version.training_margins(),
    )
    card = {s["segment"]: s for s in bundle.card["segments"]}
    assert prediction.segment == drawn["segment"]
    assert prediction.name == card[prediction.segment]["name"]
    assert prediction.action == card[prediction.segment]["action"]
    assert prediction.runner_up != prediction.segment
    assert prediction.runner_up_distance >= prediction.distance
    margins = real["customer_segments"]["margin"]
    assert prediction.margin_percentile == pytest.approx((margins < prediction.margin).mean())
    assert set(prediction.explanation["feature"]) == set(bundle.card["features"])
    assert prediction.explanation["pull"].sum() == pytest.approx(
        prediction.runner_up_distance**2 - prediction.distance**2
    ), "the pulls must add up to the squared-distance gap to the runner-up"
    x, y = app_logic.map_position(
        version.dataset("segment_map_projection"), bundle, prediction.features
    )
    assert (x, y) == pytest.approx((drawn["x"], drawn["y"]), abs=1e-9), (
        "a training customer typed in lands where the report's map drew it"
    )


def test_values_outside_the_training_range_are_flagged_not_clipped(real: dict):
    bundle = real["bundle"]
    values = form_values(real["customers"].iloc[0], bundle.reference_date, "age")
    top = bundle.card["feature_ranges"]["Recency"]["max"]
    values["Recency"] = 4 * top  # the contract has no bound on recency; training does
    prediction = app_logic.predict_customer(values, bundle, real["rules"])
    flagged = prediction.out_of_range.set_index("feature")
    assert list(flagged.index) == ["Recency"], prediction.out_of_range
    assert flagged.loc["Recency", "value"] == 4 * top and flagged.loc["Recency", "max"] == top
    assert prediction.features["Recency"].iloc[0] == 4 * top, "the value must not be clipped"


@pytest.mark.parametrize(
    ("change", "code", "words"),
    [
        ({"Income": None}, "missing_income", "Yearly household income is missing"),
        ({"Recency": -1}, "negative_value", "Days since the last purchase -1 is negative"),
        ({"Age": 130}, "birth_year_out_of_range", "Birth year (from age 130) 1884 is before 1901"),
        ({"Income": 5_000_000}, "income_outlier", "income 5000000 is above max_income 200,000"),
        ({"NumWebPurchases": 2.5}, "not_whole_number", "Web purchases 2.5 is not a whole number"),
        (
            {"Dt_Customer": "1990-01-01"},
            "date_out_of_range",
            "Customer since 1990-01-01 is outside",
        ),
    ],
)
def test_the_form_goes_through_the_data_contract(real: dict, change, code, words):
    """A form row breaks the same rules as a file row, with the contract's reason code and its
    message in the form's words.
    """
    bundle = real["bundle"]
    values = {**form_values(real["customers"].iloc[0], bundle.reference_date, "age"), **change}
    with pytest.raises(app_logic.FormRejected, match=re.escape(words)) as refused:
        app_logic.predict_customer(values, bundle, real["rules"])
    assert refused.value.reason_code == code
    # The same row in a file, beside a good one (a file where no row survives stops instead).
    good = form_values(real["customers"].iloc[0], bundle.reference_date, "age")
    table = pd.concat(
        [
            app_logic.form_table(values, bundle.reference_date),
            app_logic.form_table(good, bundle.reference_date).assign(ID="999999"),
        ]
    )
    result = prepare_customers(
        RawCustomerFile("two.csv", table.drop(columns="source_row").to_csv(index=False).encode()),
        real["rules"],
    )
    assert result.rejected["reason_code"].tolist() == [code], "a file row meets the same rule"


def test_a_spending_total_is_spread_in_whole_amounts():
    spread = app_logic.spread_spending(1003)
    assert sum(spread.values()) == 1003
    assert set(spread.values()) == {167, 168}


@pytest.mark.parametrize("name", REAL_FILES)
def test_upload_scoring_reproduces_customer_segments_for_every_row(real: dict, name: str):
    bundle = real["bundle"]
    result = app_logic.score_upload(real_file(name).read_bytes(), name, bundle, real["rules"], 50)
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
    bundle, params = real["bundle"], real["rules"]
    with pytest.raises(CustomerDataError, match="binary file"):
        app_logic.score_upload(b"\x80\x04\x95pickle\x00\x00", "model.pkl", bundle, params, 50)
    mall = b"CustomerID,Gender,Age,Annual Income (k$),Spending Score (1-100)\n1,Male,19,15,39\n"
    with pytest.raises(CustomerDataError, match="Mall Customers"):
        app_logic.score_upload(mall, "Mall_Customers.csv", bundle, params, 50)


def test_uploads_above_the_limit_are_refused_before_parsing(real: dict):
    bundle, params = real["bundle"], real["rules"]
    content = real_file(REAL_FILES[0]).read_bytes()
    limit_mb = len(content) / 2 / 1_000_000
    with pytest.raises(app_logic.UploadTooLargeError, match=r"accepts files up to .* MB"):
        app_logic.score_upload(content, "big.csv", bundle, params, limit_mb)
