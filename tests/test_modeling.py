"""``modeling``: criteria on hand-checkable data, the knee, stable segment numbering."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from customer_segmentation.modeling import find_knee, silhouette_on_sample, sweep
from customer_segmentation.pipelines.clustering.nodes import fit_segmentation

# Four points on a line, two obvious pairs: every criterion can be worked out by hand.
LINE = np.array([[0.0], [1.0], [10.0], [11.0]])
PAIRS = np.array([0, 0, 1, 1])


def test_silhouette_matches_hand_computation():
    # a = 1 for every point; b = 10.5 for the outer points, 9.5 for the inner ones.
    expected = np.mean([1 - 1 / 10.5, 1 - 1 / 9.5, 1 - 1 / 9.5, 1 - 1 / 10.5])

    got = silhouette_on_sample(LINE, PAIRS, size=10, seed=0)

    assert got == pytest.approx(expected), f"silhouette {got}, by hand {expected}"


def test_silhouette_is_nan_for_a_single_cluster():
    assert np.isnan(silhouette_on_sample(LINE, np.zeros(4, dtype=int), 10, 0)), (
        "one cluster has no silhouette; expected NaN"
    )


def test_sweep_criteria_match_hand_computation():
    params = {
        "k_min": 2,
        "k_max": 2,
        "n_init": 5,
        "random_state": 0,
        "silhouette_sample_size": 10,
        "stability_sample_size": 10,
        "stability_resamples": 3,
    }

    row = sweep(LINE, params).iloc[0]

    # Inertia: 4 points each 0.5 from their centroid. Between-group SS: 4 * 5^2 = 100, so
    # Calinski-Harabasz = (100 / 1) / (1 / 2) = 200. Davies-Bouldin: (0.5 + 0.5) / 10 = 0.1.
    assert row["inertia"] == pytest.approx(1.0), f"inertia {row['inertia']}, expected 1"
    assert row["calinski_harabasz"] == pytest.approx(200.0), row["calinski_harabasz"]
    assert row["davies_bouldin"] == pytest.approx(0.1), row["davies_bouldin"]
    assert row["silhouette"] == pytest.approx(0.8997, abs=1e-4), row["silhouette"]
    assert (
        row["stability_ari_mean"] <= 1.0 and row["stability_ari_min"] <= row["stability_ari_mean"]
    ), "stability: min above mean or ARI above 1"


def test_knee_found_on_a_curve_with_a_known_knee():
    ks = list(range(1, 11))
    # Falls steeply until k=4, then by 1 per step: the elbow is at 4.
    inertia = [100, 70, 40, 10, 9, 8, 7, 6, 5, 4]

    assert find_knee(ks, inertia) == 4, f"knee at {find_knee(ks, inertia)}, expected 4"


def test_knee_needs_three_points_and_a_bend():
    assert find_knee([2, 3], [10.0, 5.0]) is None, "two points cannot have a knee"
    assert find_knee([1, 2, 3, 4], [4.0, 3.0, 2.0, 1.0]) is None, "a straight line has no knee"


def _segment_by_id(features: pd.DataFrame, params) -> pd.Series:
    k_selection = pd.DataFrame({"k": [6], "is_knee": [True]})
    _, _, segments = fit_segmentation(features, k_selection, params["clustering"])
    return segments.set_index("ID")["segment"].sort_index()


def test_numbering_is_stable_across_runs_and_row_order(demo_features, params):
    first = _segment_by_id(demo_features, params)
    again = _segment_by_id(demo_features, params)
    shuffled = _segment_by_id(demo_features.sample(frac=1.0, random_state=7), params)

    assert first.equals(again), "two runs on the same table gave different segments"
    changed = int((first != shuffled).sum())
    assert changed == 0, f"{changed} customers changed segment when the rows were shuffled"
    spending = demo_features.set_index("ID")["Total_Spending"].groupby(first).mean()
    assert spending.is_monotonic_decreasing, f"segment 0 is not the top spender: {spending}"
