"""Nodes of ``clustering``: k decided once, the scaler and K-Means, DBSCAN.

The model card's node is ``modeling.card.model_card`` itself: its inputs are what it needs.
"""

from __future__ import annotations

import pandas as pd
from matplotlib.figure import Figure
from sklearn.cluster import KMeans
from sklearn.preprocessing import StandardScaler

from customer_segmentation import figures, schema
from customer_segmentation.modeling import dbscan, kmeans, selection
from customer_segmentation.modeling.sampling import positions_of, sample_positions
from customer_segmentation.params import ClusteringParams


def choose_k(k_sweep: pd.DataFrame, params: ClusteringParams) -> pd.DataFrame:
    """``k_selection``: the sweep with the one k every later node uses (``is_chosen``,
    ``chosen_by``), from ``clustering.n_clusters`` or the knee (``auto``).
    """
    return selection.choose_k(k_sweep, params.n_clusters)


def fit_segmentation(
    customer_model_input: pd.DataFrame,
    k_selection: pd.DataFrame,
    params: ClusteringParams,
    sweep_centres: pd.DataFrame,
) -> tuple[StandardScaler, KMeans, pd.DataFrame]:
    """Fit the scaler and K-Means with the chosen k on all customers
    (``modeling.kmeans.fit_segmentation``).

    Returns:
        ``scaler``, ``kmeans_model`` and ``customer_segments`` (``ID``, ``segment``,
        ``distance``, ``runner_up``, ``runner_up_distance``, ``margin``).
    """
    fitted = kmeans.fit_segmentation(
        customer_model_input, selection.chosen_k(k_selection), params, sweep_centres
    )
    return fitted.scaler, fitted.model, fitted.segments


def compare_with_dbscan(
    customer_model_input: pd.DataFrame,
    customer_segments: pd.DataFrame,
    scaler: StandardScaler,
    params: ClusteringParams,
) -> tuple[pd.DataFrame, Figure, Figure]:
    """K-Means against DBSCAN on one seeded sample of ``dbscan.sample_size`` customers
    (``modeling.dbscan.compare``).

    Returns:
        ``clustering_comparison``, the k-distance figure and side-by-side PCA maps.
    """
    settings = params.dbscan
    ids = customer_segments[schema.ID].to_numpy()
    keep = sample_positions(len(ids), settings.sample_size, params.random_state)
    rows = positions_of(customer_model_input[schema.ID], ids[keep])
    sample = customer_model_input.iloc[rows][list(params.features)].astype("float64")
    found = dbscan.compare(
        scaler.transform(sample),
        customer_segments["segment"].to_numpy()[keep],
        settings.min_samples,
        list(settings.scan_quantiles),
        settings.blob_share,
    )
    return (
        found.table,
        figures.k_distance(found),
        figures.kmeans_vs_dbscan(found, params.random_state),
    )
