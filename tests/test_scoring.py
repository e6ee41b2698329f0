"""``scoring``: the segment table from distances matches a stable sort of the distances."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.cluster import KMeans

from customer_segmentation.scoring import segment_table, segments_of


def _by_sorting(distances: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    order = np.argsort(distances, axis=1, kind="stable")
    return order[:, 0], order[:, min(1, distances.shape[1] - 1)]


@pytest.mark.parametrize(
    "distances",
    [
        np.random.default_rng(0).random((200, 6)),
        # Ties: equal distances keep the lower segment number first.
        np.array([[1.0, 1.0, 2.0], [3.0, 2.0, 2.0], [0.5, 0.5, 0.5], [2.0, 1.0, 1.0]]),
        # Not finite (e.g. a missing feature): still what the stable sort gives.
        np.array([[np.nan, 1.0, 2.0], [np.inf, np.inf, 1.0], [1.0, np.nan, np.nan]]),
        np.array([[1.0], [2.0]]),  # one centroid is its own runner-up
    ],
)
def test_segment_and_runner_up_are_the_two_nearest_in_stable_order(distances):
    table = segment_table(np.arange(len(distances)), distances)

    own, runner = _by_sorting(distances)
    np.testing.assert_array_equal(table["segment"].to_numpy(), own)
    np.testing.assert_array_equal(table["runner_up"].to_numpy(), runner)
    rows = np.arange(len(distances))
    np.testing.assert_array_equal(table["distance"].to_numpy(), distances[rows, own])
    np.testing.assert_array_equal(table["runner_up_distance"].to_numpy(), distances[rows, runner])
    assert table["ID"].tolist() == list(range(len(distances)))


def test_scoring_in_chunks_gives_what_one_pass_gives_and_what_kmeans_predicts():
    rng = np.random.default_rng(3)
    scaled = rng.normal(size=(1003, 4))
    model = KMeans(5, n_init=2, random_state=0).fit(scaled)
    ids = np.arange(1003) + 100
    whole = segments_of(ids, scaled, model.cluster_centers_, chunk_rows=10_000)
    chunked = segments_of(ids, scaled, model.cluster_centers_, chunk_rows=100)
    pd.testing.assert_frame_equal(whole, chunked)
    assert (chunked["segment"].to_numpy() == model.predict(scaled)).all()
    assert (chunked["ID"].to_numpy() == ids).all()
