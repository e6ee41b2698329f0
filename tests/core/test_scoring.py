"""``scoring``: nearest centre, runner-up and margin as engine arithmetic match a stable sort
of the distances and what scikit-learn's ``KMeans.predict`` says.
"""

from __future__ import annotations

import narwhals as nw
import numpy as np
import pandas as pd
import polars as pl
import pytest
from sklearn.cluster import KMeans
from sklearn.preprocessing import StandardScaler

from customer_segmentation.core import engine
from customer_segmentation.core.scoring import nearest, score_customers


def _by_sorting(distances: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    order = np.argsort(distances, axis=1, kind="stable")
    return order[:, 0], order[:, min(1, distances.shape[1] - 1)]


@pytest.mark.parametrize(
    "distances",
    [
        np.random.default_rng(0).random((200, 6)),
        # Ties: equal distances keep the lower segment number first.
        np.array([[1.0, 1.0, 2.0], [3.0, 2.0, 2.0], [0.5, 0.5, 0.5], [2.0, 1.0, 1.0]]),
        np.array([[1.0], [2.0]]),  # one centroid is its own runner-up
    ],
)
def test_segment_and_runner_up_are_the_two_nearest_in_stable_order(distances):
    frame = pl.DataFrame({f"_d{k}": distances[:, k] for k in range(distances.shape[1])})
    table = engine.to_pandas(nearest(nw.from_native(frame).lazy(), distances.shape[1]))

    own, runner = _by_sorting(distances)
    np.testing.assert_array_equal(table["segment"].to_numpy(), own)
    np.testing.assert_array_equal(table["runner_up"].to_numpy(), runner)
    rows = np.arange(len(distances))
    np.testing.assert_array_equal(table["distance"].to_numpy(), distances[rows, own])
    np.testing.assert_array_equal(table["runner_up_distance"].to_numpy(), distances[rows, runner])
    expected_margin = distances[rows, runner] / np.maximum(distances[rows, own], 1e-12) - 1
    np.testing.assert_allclose(table["margin"].to_numpy(), expected_margin, rtol=1e-12)


def test_scores_are_what_kmeans_predicts_and_its_distances():
    rng = np.random.default_rng(3)
    raw = pd.DataFrame(rng.normal(size=(1003, 4)) * [1, 10, 100, 1000], columns=list("abcd"))
    scaler = StandardScaler().fit(raw)
    model = KMeans(5, n_init=2, random_state=0).fit(
        pd.DataFrame(scaler.transform(raw), columns=list("abcd"))
    )
    features = raw.assign(ID=np.arange(1003) + 100)

    scored = score_customers(features, scaler, model)

    scaled = pd.DataFrame(scaler.transform(raw), columns=list("abcd"))
    assert (scored["segment"].to_numpy() == model.predict(scaled)).all()
    assert (scored["ID"].to_numpy() == features["ID"].to_numpy()).all(), "rows keep their order"
    distances = model.transform(scaled)
    np.testing.assert_allclose(
        scored["distance"].to_numpy(), distances.min(axis=1), rtol=1e-9, atol=1e-12
    )


def test_a_missing_model_feature_is_named():
    scaler = StandardScaler().fit(pd.DataFrame({"a": [0.0, 1.0], "b": [1.0, 2.0]}))
    model = KMeans(1, n_init=1).fit(
        scaler.transform(pd.DataFrame({"a": [0.0, 1.0], "b": [1.0, 2.0]}))
    )
    model.feature_names_in_ = np.asarray(["a", "b"], dtype=object)
    with pytest.raises(KeyError, match="b"):
        score_customers(pd.DataFrame({"ID": [1], "a": [0.5]}), scaler, model)
