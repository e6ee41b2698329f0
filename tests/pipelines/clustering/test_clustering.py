"""``clustering``: k decided once, stable numbering, the model card, DBSCAN, the pipeline on an
in-memory catalog.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import changed
from kedro.io import DataCatalog, MemoryDataset
from kedro.runner import SequentialRunner
from sklearn.cluster import DBSCAN
from sklearn.metrics import adjusted_rand_score, silhouette_score

from customer_segmentation.core import engine, scoring
from customer_segmentation.core.modeling.card import model_card as build_model_card
from customer_segmentation.core.modeling.dbscan import (
    dbscan_scan,
    dbscan_verdict,
    eps_scan,
    k_distance_eps,
)
from customer_segmentation.core.modeling.kmeans import describe_start
from customer_segmentation.core.modeling.selection import choose_k
from customer_segmentation.core.scoring import score_customers
from customer_segmentation.params import ParameterError
from customer_segmentation.pipelines.clustering import create_pipeline
from customer_segmentation.pipelines.clustering.nodes import compare_with_dbscan, fit_segmentation
from customer_segmentation.pipelines.model_selection.nodes import select_k

NO_CENTRES = pd.DataFrame(columns=["k", "centre"])


class Kept(MemoryDataset):
    """A MemoryDataset the runner cannot release: the test reads intermediate outputs."""

    def _release(self) -> None:
        pass


INFO = {
    "reference_date": "2014-06-29",
    "partner_statuses": ["Married", "Together"],
    "typical_customer": {"Income": 50_000},
}
REPORT = {
    "source": "data/01_raw/demo_customers.csv",
    "format": "text",
    "input": {"bytes": 123, "sha256": "ab" * 32},
    "rows_in": 2240,
    "rows_clean": 2200,
}
SWEEP = pd.DataFrame(
    {"k": [5, 6, 7], "is_knee": [True, False, False], "preferred_by": ["elbow", "", ""]}
)


@pytest.fixture
def k_selection() -> pd.DataFrame:
    """k=6 decided by the parameter; the knee is at 5."""
    return choose_k(SWEEP, 6)


@pytest.fixture
def kmeanspp(params):
    """The clustering parameters with ten k-means++ starts on all rows."""
    return changed(params["clustering"], init="k-means++")


def fit(features, k_selection, settings, centres=NO_CENTRES):
    """``fit_segmentation`` with the segments as pandas."""
    scaler, model, segments = fit_segmentation(features, k_selection, settings, centres)
    return scaler, model, engine.to_pandas_table(segments)


def test_segments_are_numbered_by_spending_highest_first(demo_features, k_selection, kmeanspp):
    _, model, segments = fit(demo_features, k_selection, kmeanspp)

    merged = demo_features.merge(segments, on="ID")
    spending = merged.groupby("segment")["Total_Spending"].mean()
    assert spending.is_monotonic_decreasing, spending
    assert sorted(segments["segment"].unique()) == list(range(6))
    assert len(segments) == len(demo_features) and segments["ID"].is_unique
    predicted = model.predict(
        pd.DataFrame(_scaled(demo_features.sort_values("ID"), kmeanspp), columns=kmeanspp.features)
    )
    assert (predicted == segments["segment"].to_numpy()).all(), "predict must give stable numbers"


def _scaled(features: pd.DataFrame, settings) -> np.ndarray:
    values = features[list(settings.features)].astype(float)
    return ((values - values.mean()) / values.std(ddof=0)).to_numpy()


def test_shuffled_input_gives_the_same_segments(demo_features, k_selection, kmeanspp):
    _, _, first = fit(demo_features, k_selection, kmeanspp)
    shuffled = demo_features.sample(frac=1.0, random_state=7)
    _, _, second = fit(shuffled, k_selection, kmeanspp)
    pd.testing.assert_frame_equal(first, second)


def test_the_fit_uses_the_k_decided_in_k_selection(demo_features, kmeanspp):
    """k is decided once (choose_k); the fit reads it, whatever the knee says."""
    auto = choose_k(SWEEP, "auto")
    _, model, _ = fit(demo_features, auto, changed(kmeanspp, n_clusters="auto"))
    assert model.n_clusters == 5, "auto: the knee"
    _, model, _ = fit(demo_features, choose_k(SWEEP, 7), kmeanspp)
    assert model.n_clusters == 7, "the k in k_selection, not clustering.n_clusters (6)"


def test_minibatch_kmeans_agrees_with_kmeans(demo_features, k_selection, kmeanspp):
    _, _, full = fit(demo_features, k_selection, kmeanspp)
    _, model, mini = fit(demo_features, k_selection, changed(kmeanspp, algorithm="minibatch"))
    assert "MiniBatchKMeans" in describe_start(model), "the start was fitted by MiniBatchKMeans"
    assert adjusted_rand_score(full["segment"], mini["segment"]) > 0.8


def test_unknown_settings_and_too_few_customers_are_errors(demo_features, k_selection, params):
    with pytest.raises(ParameterError, match=r"clustering.algorithm = 'x'"):
        changed(params["clustering"], algorithm="x")
    with pytest.raises(ParameterError, match=r"clustering.init = 'random'"):
        changed(params["clustering"], init="random")
    with pytest.raises(ParameterError, match=r"clustering.n_clusters = 1"):
        changed(params["clustering"], n_clusters=1)
    with pytest.raises(ParameterError, match=r"clustering.features = .*unknown feature\(s\) Incme"):
        changed(params["clustering"], features=["Age", "Incme"])
    with pytest.raises(ValueError, match="3 customers cannot make 6 segments"):
        fit(demo_features.head(3), k_selection, params["clustering"])


@pytest.fixture
def sampled_sweep(demo_features, params) -> tuple[pd.DataFrame, pd.DataFrame]:
    """select_k on 800 of the 2,240 demo customers, k 5-7, and k=6 chosen."""
    settings = changed(
        params["model_selection"], k_min=5, k_max=7, sample_size=800, stability_resamples=1
    )
    sweep, centres = select_k(demo_features, settings)
    return choose_k(sweep, 6), centres


def test_kmeans_starts_from_the_sweep_centres_and_fits_as_well_as_kmeans_plus_plus(
    demo_features, sampled_sweep, params
):
    k_selection, centres = sampled_sweep
    settings = changed(params["clustering"], init="sweep")
    scaler, model, segments = fit(demo_features, k_selection, settings, centres)
    _, fresh, fresh_segments = fit(
        demo_features, k_selection, changed(settings, init="k-means++"), centres
    )

    start = centres.loc[centres["k"] == 6, list(settings.features)]
    np.testing.assert_allclose(model.init, scaler.transform(start))
    assert describe_start(model) == "the k sweep's centres for this k"
    assert describe_start(fresh).startswith("the best of 10 k-means++ starts")
    # Refined on all rows from the sample's best centres: as good as 10 fresh starts.
    assert model.inertia_ <= fresh.inertia_ * 1.001, (model.inertia_, fresh.inertia_)
    assert adjusted_rand_score(segments["segment"], fresh_segments["segment"]) > 0.95


def test_a_k_outside_the_sweep_starts_with_kmeans_plus_plus(demo_features, sampled_sweep, params):
    k_selection, centres = sampled_sweep
    four = choose_k(k_selection.drop(columns=["is_chosen", "chosen_by"]), 4)

    _, model, _ = fit(demo_features, four, changed(params["clustering"], init="sweep"), centres)

    assert model.n_clusters == 4 and "k-means++ starts" in describe_start(model)


def test_sweep_centres_of_other_features_are_an_error(demo_features, sampled_sweep, params):
    k_selection, centres = sampled_sweep
    settings = changed(params["clustering"], init="sweep")
    with pytest.raises(ValueError, match="sweep_centres has no column Recency"):
        fit(demo_features, k_selection, settings, centres.drop(columns="Recency"))


def test_model_card_describes_the_model(demo_features, k_selection, kmeanspp):
    scaler, model, segments = fit(demo_features, k_selection, kmeanspp)
    card = build_model_card(demo_features, segments, scaler, model, INFO, REPORT, kmeanspp)

    assert card["k"] == 6 and card["training_rows"] == len(demo_features)
    assert card["features"] == list(kmeanspp.features)
    assert 0 < card["silhouette"] < 1
    assert [s["segment"] for s in card["segments"]] == list(range(6))
    assert sum(s["size"] for s in card["segments"]) == len(demo_features)
    assert len({s["name"] for s in card["segments"]}) == 6, "segment names must be unique"
    assert card["feature_ranges"]["Age"]["min"] == demo_features["Age"].min()
    assert card["partner_statuses"] == ["Married", "Together"], "as feature engineering used"
    assert card["typical_customer"] == INFO["typical_customer"]
    assert card["input"] == {
        "source": "data/01_raw/demo_customers.csv",
        "format": "text",
        "bytes": 123,
        "sha256": "ab" * 32,
        "rows_in": 2240,
        "rows_clean": 2200,
    }, "what it was trained on"


def test_pipeline_decides_k_once_and_every_output_follows_it(demo_features, sampled_sweep, params):
    """`--pipeline clustering --params clustering.n_clusters=5` after a sweep whose knee is
    elsewhere: k_selection, the model, the segments, the card and the comparison all say 5.
    """
    k_selection, centres = sampled_sweep
    sweep = k_selection.drop(columns=["is_chosen", "chosen_by"])
    catalog = DataCatalog(
        {
            "customer_model_input": MemoryDataset(demo_features),
            "k_sweep": MemoryDataset(sweep),
            "sweep_centres": MemoryDataset(centres),
            "feature_info": MemoryDataset(INFO),
            "data_quality_report": MemoryDataset(REPORT),
            "params:clustering": MemoryDataset(changed(params["clustering"], n_clusters=5)),
            "params:monitoring": MemoryDataset(params["monitoring"]),
            "params:model_selection": MemoryDataset(params["model_selection"]),
            **{
                name: Kept()
                for name in ("k_selection", "scaler", "kmeans_model", "customer_segments")
            },
        }
    )
    SequentialRunner().run(create_pipeline(), catalog)

    decided = catalog.load("k_selection")
    assert decided.loc[decided["is_chosen"], "k"].tolist() == [5]
    assert catalog.load("kmeans_model").n_clusters == 5
    assert engine.to_pandas_table(catalog.load("customer_segments"))["segment"].nunique() == 5
    card = catalog.load("model_card")
    assert card["k"] == 5 and len(card["segments"]) == 5
    assert card["initialisation"] == "the k sweep's centres for this k"
    comparison = catalog.load("clustering_comparison").set_index("method")
    assert comparison.loc["kmeans", "clusters"] == 5
    assert {"kmeans", "dbscan"} == set(comparison.index)


def test_fitted_segments_are_what_scoring_the_customers_gives(demo_features, k_selection, kmeanspp):
    scaler, model, segments = fit(demo_features, k_selection, kmeanspp)

    rescored = score_customers(demo_features.sort_values("ID"), scaler, model)

    keys = demo_features.sort_values("ID")["customer_key"].to_numpy()
    assert (segments["customer_key"].to_numpy() == keys).all(), "each customer's key kept"
    pd.testing.assert_frame_equal(segments.drop(columns="customer_key"), rescored, check_exact=True)


def test_model_card_silhouette_is_seeded_on_a_sample(demo_features, k_selection, kmeanspp):
    settings = changed(kmeanspp, silhouette_sample_size=500)
    scaler, model, segments = fit(demo_features, k_selection, settings)

    card = build_model_card(demo_features, segments, scaler, model, INFO, REPORT, settings)
    again = build_model_card(demo_features, segments, scaler, model, INFO, REPORT, settings)
    other = build_model_card(
        demo_features, segments, scaler, model, INFO, REPORT, changed(settings, random_state=7)
    )

    assert card == again, "same seed, same model card"
    # What the card promises: silhouette on the seeded sample of the customers, scaled.
    segmented = engine.lazy(demo_features.merge(segments[["ID", "segment"]], on="ID"))
    drawn = engine.to_pandas(engine.sample(segmented, 500, settings.random_state, "ID"))
    scaled = scoring.scaled_matrix(engine.lazy(drawn), scaler, list(settings.features))
    expected = silhouette_score(scaled, drawn["segment"].to_numpy())
    assert card["silhouette"] == pytest.approx(expected, abs=1e-9)
    assert card["silhouette_rows"] == 500
    assert other["silhouette"] != card["silhouette"], "another seed draws another sample"


def test_model_card_does_not_depend_on_feature_row_order(demo_features, k_selection, kmeanspp):
    scaler, model, segments = fit(demo_features, k_selection, kmeanspp)
    extra = demo_features.head(1).assign(ID=-1, Income=1e9)  # a customer without a segment
    shuffled = pd.concat([demo_features.sample(frac=1.0, random_state=3), extra])

    card = build_model_card(demo_features, segments, scaler, model, INFO, REPORT, kmeanspp)

    assert build_model_card(shuffled, segments, scaler, model, INFO, REPORT, kmeanspp) == card
    with pytest.raises(ValueError, match="1 customer.s. of customer_segments have no row"):
        build_model_card(demo_features.iloc[1:], segments, scaler, model, INFO, REPORT, kmeanspp)


@pytest.fixture
def dbscan_setup(demo_features, k_selection, kmeanspp):
    settings = changed(kmeanspp, dbscan={**kmeanspp.dbscan.model_dump(), "sample_size": 800})
    scaler, _, segments = fit(demo_features, k_selection, settings)
    return settings, scaler, segments


def test_dbscan_comparison_is_dbscan_run_directly_on_the_seeded_sample(demo_features, dbscan_setup):
    settings, scaler, segments = dbscan_setup
    dbscan = settings.dbscan
    min_samples, quantiles = dbscan.min_samples, list(dbscan.scan_quantiles)

    table, _, _ = compare_with_dbscan(demo_features, segments, scaler, settings)

    drawn = engine.sample(engine.lazy(segments), 800, settings.random_state, "ID")
    sample = demo_features.set_index("ID").loc[engine.to_pandas(drawn)["ID"].to_numpy()]
    # Scaled by the project's one formula (scoring.scale), as the node scales its sample.
    scaled = scoring.scaled_matrix(engine.lazy(sample), scaler, list(settings.features))
    distances, eps = k_distance_eps(scaled, min_samples)
    row = table.set_index("method").loc["dbscan"]
    assert row["eps"] == eps and row["sample_rows"] == 800
    labels = DBSCAN(eps=eps, min_samples=min_samples).fit_predict(scaled)
    assert row["clusters"] == len(set(labels) - {-1})
    assert row["noise_share"] == pytest.approx((labels == -1).mean(), abs=1e-12)
    # The eps scan: DBSCAN run directly at every quantile gives the same table.
    eps_values = [float(np.quantile(distances, q)) for q in quantiles]
    direct = [DBSCAN(eps=e, min_samples=min_samples).fit_predict(scaled) for e in eps_values]
    scan = eps_scan(
        quantiles, eps_values, dbscan_scan(scaled, eps_values, min_samples), min_samples
    )
    pd.testing.assert_frame_equal(scan, eps_scan(quantiles, eps_values, direct, min_samples))
    for found, expected in zip(dbscan_scan(scaled, eps_values, min_samples), direct, strict=True):
        np.testing.assert_array_equal(found, expected)
    assert row["verdict"] == dbscan_verdict(dict(row), dbscan.blob_share, scan)


def test_dbscan_comparison_is_seeded(demo_features, dbscan_setup):
    settings, scaler, segments = dbscan_setup

    first, _, _ = compare_with_dbscan(demo_features, segments, scaler, settings)
    again, _, _ = compare_with_dbscan(demo_features, segments, scaler, settings)
    other, _, _ = compare_with_dbscan(
        demo_features, segments, scaler, changed(settings, random_state=7)
    )

    pd.testing.assert_frame_equal(first, again)
    assert not first.equals(other), "another seed draws another sample"
