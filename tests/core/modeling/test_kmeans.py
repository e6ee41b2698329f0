"""``modeling.kmeans``: the estimator from parameters, stable segment numbering."""

from __future__ import annotations

import numpy as np
import pandas as pd
from conftest import changed
from sklearn.cluster import KMeans

from customer_segmentation.core import engine
from customer_segmentation.core.modeling.kmeans import fit_kmeans
from customer_segmentation.core.modeling.selection import choose_k
from customer_segmentation.pipelines.clustering.nodes import fit_segmentation


# Four points on a line, two obvious pairs: every criterion can be worked out by hand.
def test_fit_kmeans_is_the_estimators_own_fit(params):
    points = np.random.default_rng(3).normal(size=(2_000, 3))
    settings = changed(params["model_selection"], n_init=3, random_state=7)

    fitted = fit_kmeans(4, settings, points)

    plain = KMeans(4, n_init=3, random_state=7).fit(points)
    np.testing.assert_allclose(fitted.cluster_centers_, plain.cluster_centers_)
    np.testing.assert_array_equal(fitted.labels_, plain.labels_)


def _segment_by_id(features: pd.DataFrame, params) -> pd.Series:
    k_selection = choose_k(pd.DataFrame({"k": [6], "is_knee": [True], "preferred_by": [""]}), 6)
    settings = changed(params["clustering"], init="k-means++")
    _, _, segments = fit_segmentation(
        features, k_selection, settings, pd.DataFrame(columns=["k", "centre"])
    )
    return engine.to_pandas_table(segments).set_index("ID")["segment"].sort_index()


def test_numbering_is_stable_across_runs_and_row_order(demo_features, params):
    first = _segment_by_id(demo_features, params)
    again = _segment_by_id(demo_features, params)
    shuffled = _segment_by_id(demo_features.sample(frac=1.0, random_state=7), params)

    assert first.equals(again), "two runs on the same table gave different segments"
    changed = int((first != shuffled).sum())
    assert changed == 0, f"{changed} customers changed segment when the rows were shuffled"
    spending = demo_features.set_index("ID")["Total_Spending"].groupby(first).mean()
    assert spending.is_monotonic_decreasing, f"segment 0 is not the top spender: {spending}"
