"""Scoring customers with a fitted scaler and K-Means model: shared by pipeline and app."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import TransformerMixin
from sklearn.cluster import KMeans

from customer_segmentation import schema

# Rows whose distances to the centroids are computed at a time (memory: rows x segments).
CHUNK_ROWS = 500_000


def model_features(model: KMeans) -> list[str]:
    """The feature names, in order, that the model was fitted on."""
    return [str(name) for name in model.feature_names_in_]


def centroid_distances(
    features: pd.DataFrame, scaler: TransformerMixin, model: KMeans
) -> tuple[np.ndarray, np.ndarray]:
    """Scale the model's features and measure each row's distance to every centroid.

    Returns:
        The scaled features (rows × features) and the distances (rows × segments).
    """
    scaled = scale_features(features, scaler, model)
    return scaled, distances_to_centroids(scaled, model.cluster_centers_)


def scale_features(features: pd.DataFrame, scaler: TransformerMixin, model: KMeans) -> np.ndarray:
    """The model's features of every row, scaled (rows × features, float64).

    Raises:
        KeyError: a feature the model was fitted on is not in ``features``.
    """
    names = model_features(model)
    missing = [c for c in names if c not in features.columns]
    if missing:
        raise KeyError(f"features missing for scoring: {', '.join(missing)}")
    return np.asarray(scaler.transform(features[names].astype("float64")), dtype="float64")


def distances_to_centroids(scaled: np.ndarray, centers: np.ndarray) -> np.ndarray:
    """Euclidean distance of every scaled row to every centroid (rows × centroids)."""
    squared = (
        (scaled**2).sum(axis=1)[:, None]
        - 2.0 * scaled @ centers.T
        + (centers**2).sum(axis=1)[None, :]
    )
    return np.sqrt(np.clip(squared, 0.0, None))


def _nearest_two(distances: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Nearest and second-nearest centroid of each row, as the first two columns of a stable
    ``argsort`` (ties: lower number first); one centroid is its own runner-up.
    """
    if distances.shape[1] == 1 or not np.isfinite(distances).all():
        order = np.argsort(distances, axis=1, kind="stable")
        return order[:, 0], order[:, min(1, distances.shape[1] - 1)]
    rows = np.arange(len(distances))
    own = distances.argmin(axis=1)
    others = distances.copy()
    others[rows, own] = np.inf
    return own, others.argmin(axis=1)


def score_customers(
    features: pd.DataFrame, scaler: TransformerMixin, model: KMeans
) -> pd.DataFrame:
    """Segment of every customer, with how clearly it belongs.

    Args:
        features: needs ``ID`` and the model's features (see :func:`model_features`).

    Returns:
        ``ID``, ``segment`` (nearest centroid, as ``model.predict``), ``distance`` to it,
        ``runner_up`` and ``runner_up_distance``, and ``margin``: the runner-up's distance
        over the own distance minus one (0 = on the border, larger = clearer).
    """
    scaled = scale_features(features, scaler, model)
    return segments_of(features[schema.ID].to_numpy(), scaled, model.cluster_centers_)


def segments_of(
    ids: np.ndarray, scaled: np.ndarray, centers: np.ndarray, chunk_rows: int = CHUNK_ROWS
) -> pd.DataFrame:
    """:func:`segment_table` of scaled rows, ``chunk_rows`` at a time, so the distance
    matrices and their temporaries stay small however many customers there are.
    """
    parts = [
        segment_table(
            ids[start : start + chunk_rows],
            distances_to_centroids(scaled[start : start + chunk_rows], centers),
        )
        for start in range(0, max(len(scaled), 1), chunk_rows)
    ]
    return parts[0] if len(parts) == 1 else pd.concat(parts, ignore_index=True)


def segment_table(ids: np.ndarray, distances: np.ndarray) -> pd.DataFrame:
    """What :func:`score_customers` returns, from the customers' distances to the centroids
    (for callers that already hold the scaled features, e.g. right after fitting).
    """
    own, runner = _nearest_two(distances)
    rows = np.arange(len(distances))
    own_d, runner_d = distances[rows, own], distances[rows, runner]
    return pd.DataFrame(
        {
            schema.ID: ids,
            "segment": own.astype("int64"),
            "distance": own_d,
            "runner_up": runner.astype("int64"),
            "runner_up_distance": runner_d,
            "margin": runner_d / np.maximum(own_d, 1e-12) - 1.0,
        }
    )


def explain(
    features: pd.DataFrame, scaler: TransformerMixin, model: KMeans, row: int = 0
) -> pd.DataFrame:
    """Which features pulled one customer into its segment rather than the runner-up.

    The squared distance to the runner-up minus the squared distance to the own centroid is a
    sum over features; each feature's term is its pull (positive: towards the own segment).

    Returns:
        ``feature``, ``value``, ``scaled``, ``own_centroid``, ``runner_up_centroid``, ``pull``,
        sorted by pull, strongest first.
    """
    scaled, distances = centroid_distances(features.iloc[[row]], scaler, model)
    order = np.argsort(distances[0], kind="stable")
    own, runner = order[0], order[min(1, len(order) - 1)]
    centers = model.cluster_centers_
    x = scaled[0]
    pull = (x - centers[runner]) ** 2 - (x - centers[own]) ** 2
    names = model_features(model)
    table = pd.DataFrame(
        {
            "feature": names,
            "value": features.iloc[row][names].to_numpy(dtype="float64"),
            "scaled": x,
            "own_centroid": centers[own],
            "runner_up_centroid": centers[runner],
            "pull": pull,
        }
    )
    return table.sort_values("pull", ascending=False).reset_index(drop=True)
