"""``clustering``: stable numbering, the model card, the pipeline on an in-memory catalog."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from kedro.io import DataCatalog, MemoryDataset
from kedro.runner import SequentialRunner
from sklearn.metrics import adjusted_rand_score

from customer_segmentation.pipelines.clustering import create_pipeline
from customer_segmentation.pipelines.clustering.nodes import build_model_card, fit_segmentation


@pytest.fixture
def k_selection() -> pd.DataFrame:
    return pd.DataFrame({"k": [5, 6, 7], "is_knee": [True, False, False]})


def test_segments_are_numbered_by_spending_highest_first(demo_features, k_selection, params):
    _, model, segments = fit_segmentation(demo_features, k_selection, params["clustering"])

    merged = demo_features.merge(segments, on="ID")
    spending = merged.groupby("segment")["Total_Spending"].mean()
    assert spending.is_monotonic_decreasing, spending
    assert sorted(segments["segment"].unique()) == list(range(6))
    assert len(segments) == len(demo_features) and segments["ID"].is_unique
    predicted = model.predict(
        pd.DataFrame(
            _scaled(demo_features.sort_values("ID"), params),
            columns=params["clustering"]["features"],
        )
    )
    assert (predicted == segments["segment"].to_numpy()).all(), "predict must give stable numbers"


def _scaled(features: pd.DataFrame, params) -> np.ndarray:
    columns = params["clustering"]["features"]
    values = features[columns].astype(float)
    return ((values - values.mean()) / values.std(ddof=0)).to_numpy()


def test_shuffled_input_gives_the_same_segments(demo_features, k_selection, params):
    _, _, first = fit_segmentation(demo_features, k_selection, params["clustering"])
    shuffled = demo_features.sample(frac=1.0, random_state=7)
    _, _, second = fit_segmentation(shuffled, k_selection, params["clustering"])
    pd.testing.assert_frame_equal(first, second)


def test_auto_uses_the_knee(demo_features, k_selection, params):
    settings = {**params["clustering"], "n_clusters": "auto"}
    _, model, _ = fit_segmentation(demo_features, k_selection, settings)
    assert model.n_clusters == 5


def test_minibatch_kmeans_agrees_with_kmeans(demo_features, k_selection, params):
    _, _, full = fit_segmentation(demo_features, k_selection, params["clustering"])
    settings = {**params["clustering"], "algorithm": "minibatch"}
    _, model, mini = fit_segmentation(demo_features, k_selection, settings)
    assert type(model).__name__ == "MiniBatchKMeans"
    assert adjusted_rand_score(full["segment"], mini["segment"]) > 0.8


def test_unknown_algorithm_and_too_few_customers_are_errors(demo_features, k_selection, params):
    with pytest.raises(ValueError, match="'kmeans' or 'minibatch'"):
        fit_segmentation(demo_features, k_selection, {**params["clustering"], "algorithm": "x"})
    with pytest.raises(ValueError, match="3 customers cannot make 6 segments"):
        fit_segmentation(demo_features.head(3), k_selection, params["clustering"])


def test_model_card_describes_the_model(demo_features, k_selection, params):
    scaler, model, segments = fit_segmentation(demo_features, k_selection, params["clustering"])
    info = {"reference_date": "2014-06-29", "partner_statuses": ["Married", "Together"]}
    card = build_model_card(demo_features, segments, scaler, model, info, params["clustering"])

    assert card["k"] == 6 and card["training_rows"] == len(demo_features)
    assert card["features"] == params["clustering"]["features"]
    assert 0 < card["silhouette"] < 1
    assert [s["segment"] for s in card["segments"]] == list(range(6))
    assert sum(s["size"] for s in card["segments"]) == len(demo_features)
    assert len({s["name"] for s in card["segments"]}) == 6, "segment names must be unique"
    assert card["feature_ranges"]["Age"]["min"] == demo_features["Age"].min()


def test_pipeline_runs_on_an_in_memory_catalog(demo_features, k_selection, params):
    info = {"reference_date": "2014-06-29", "partner_statuses": ["Married", "Together"]}
    catalog = DataCatalog(
        {
            "customer_features": MemoryDataset(demo_features),
            "k_selection": MemoryDataset(k_selection),
            "feature_info": MemoryDataset(info),
            "params:clustering": MemoryDataset(params["clustering"]),
        }
    )
    SequentialRunner().run(create_pipeline(), catalog)

    comparison = catalog.load("clustering_comparison").set_index("method")
    assert comparison.loc["kmeans", "clusters"] == 6
    assert {"kmeans", "dbscan"} == set(comparison.index)
    card = catalog.load("model_card")
    assert card["k"] == 6 and card["training_rows"] == len(demo_features)
