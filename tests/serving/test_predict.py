"""``serving.predict``: one customer typed into the form gets the pipeline's segment, its name,
why, and its place on the report's map.
"""

from __future__ import annotations

import numpy as np
import pytest
import served
from served import form_values

from customer_segmentation import schema
from customer_segmentation.core import scoring
from customer_segmentation.serving import predict

real = served.real  # the real-table model, a session fixture
CUSTOMERS_CHECKED = 60  # real customers pushed through the form path
SEED = 7


@pytest.mark.parametrize("mode", ["birth_year", "age", "age_and_total"])
def test_form_prediction_equals_the_pipeline_segment(real: dict, mode: str):
    bundle, customers = real["bundle"], real["customers"]
    expected = real["customer_segments"].set_index(schema.ID)
    rows = np.random.default_rng(SEED).choice(len(customers), CUSTOMERS_CHECKED, replace=False)
    wrong = []
    for row in rows:
        customer = customers.iloc[row]
        prediction = predict.predict_customer(
            form_values(customer, bundle.reference_date, mode), bundle, real["rules"]
        )
        want = expected.loc[customer[schema.ID]]
        same = prediction.segment == want["segment"] and prediction.runner_up == want["runner_up"]
        if not same or not np.isclose(prediction.distance, want["distance"]):
            wrong.append((customer[schema.ID], prediction.segment, int(want["segment"])))
    assert not wrong, f"form ({mode}) and pipeline disagree (ID, form, pipeline): {wrong}"


def test_prediction_names_explains_and_places_the_customer(real: dict):
    bundle, version = real["bundle"], real["version"]
    points = version.dataset("segment_map_points")
    drawn = points[points["kind"] == "customer"].iloc[0]
    customer = real["customers"].set_index(schema.ID).loc[drawn[schema.ID]].rename(None)
    customer[schema.ID] = drawn[schema.ID]
    prediction = predict.predict_customer(
        form_values(customer, bundle.reference_date, "age"),
        bundle,
        real["rules"],
        version.training_margins(),
        version.dataset("segment_map_projection"),
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
    assert prediction.position == pytest.approx((drawn["x"], drawn["y"]), abs=1e-9), (
        "a training customer typed in lands where the report's map drew it"
    )


def test_the_explanation_reads_the_score(real: dict):
    """Scaled values and pulls come from the score's own columns (``scoring.score_frame`` with
    ``detail``), and they are the scaler's and the centres' arithmetic.
    """
    bundle = real["bundle"]
    values = form_values(real["customers"].iloc[3], bundle.reference_date, "age")
    prediction = predict.predict_customer(values, bundle, real["rules"])
    names = scoring.model_features(bundle.model)
    raw = prediction.features[names].to_numpy(dtype="float64")[0]
    scaled = (raw - bundle.scaler.mean_) / bundle.scaler.scale_
    table = prediction.explanation.set_index("feature").loc[names]
    np.testing.assert_allclose(table["scaled"], scaled, rtol=1e-12)
    centres = bundle.model.cluster_centers_
    pull = (scaled - centres[prediction.runner_up]) ** 2 - (
        scaled - centres[prediction.segment]
    ) ** 2
    np.testing.assert_allclose(table["pull"], pull, rtol=1e-9, atol=1e-12)


def test_values_outside_the_training_range_are_flagged_not_clipped(real: dict):
    bundle = real["bundle"]
    values = form_values(real["customers"].iloc[0], bundle.reference_date, "age")
    top = bundle.card["feature_ranges"]["Recency"]["max"]
    values["Recency"] = 4 * top  # the contract has no bound on recency; training does
    prediction = predict.predict_customer(values, bundle, real["rules"])
    flagged = prediction.out_of_range.set_index("feature")
    assert list(flagged.index) == ["Recency"], prediction.out_of_range
    assert flagged.loc["Recency", "value"] == 4 * top and flagged.loc["Recency", "max"] == top
    assert prediction.features["Recency"].iloc[0] == 4 * top, "the value must not be clipped"
