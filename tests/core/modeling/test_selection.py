"""``modeling.selection``: the sweep's criteria on hand-checkable data, the knee."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import changed

from customer_segmentation.core.modeling.selection import find_knee, sweep

# Four points on a line, two obvious pairs: every criterion can be worked out by hand.
LINE = np.array([[0.0], [1.0], [10.0], [11.0]])


def test_sweep_criteria_match_hand_computation(params):
    settings = changed(
        params["model_selection"],
        k_min=2,
        k_max=2,
        n_init=5,
        random_state=0,
        silhouette_sample_size=10,
        stability_sample_size=10,
        stability_resamples=3,
    )

    every = np.arange(len(LINE))
    table, centres = sweep(LINE, settings, every, every)
    row = table.iloc[0]

    # Inertia: 4 points each 0.5 from their centroid. Between-group SS: 4 * 5^2 = 100, so
    # Calinski-Harabasz = (100 / 1) / (1 / 2) = 200. Davies-Bouldin: (0.5 + 0.5) / 10 = 0.1.
    assert row["inertia"] == pytest.approx(1.0), f"inertia {row['inertia']}, expected 1"
    assert row["calinski_harabasz"] == pytest.approx(200.0), row["calinski_harabasz"]
    assert row["davies_bouldin"] == pytest.approx(0.1), row["davies_bouldin"]
    assert row["silhouette"] == pytest.approx(0.8997, abs=1e-4), row["silhouette"]
    assert (
        row["stability_ari_mean"] <= 1.0 and row["stability_ari_min"] <= row["stability_ari_mean"]
    ), "stability: min above mean or ARI above 1"
    assert sorted(centres[2][:, 0].round(6).tolist()) == [0.5, 10.5], centres


def test_knee_found_on_a_curve_with_a_known_knee():
    ks = list(range(1, 11))
    # Falls steeply until k=4, then by 1 per step: the elbow is at 4.
    inertia = [100, 70, 40, 10, 9, 8, 7, 6, 5, 4]

    assert find_knee(ks, inertia) == 4, f"knee at {find_knee(ks, inertia)}, expected 4"


def test_knee_needs_three_points_and_a_bend():
    assert find_knee([2, 3], [10.0, 5.0]) is None, "two points cannot have a knee"
    assert find_knee([1, 2, 3, 4], [4.0, 3.0, 2.0, 1.0]) is None, "a straight line has no knee"
