"""Clustering building blocks: seeded samples, K-Means fits with stable numbering, criteria.

Every quadratic computation (silhouette, stability, DBSCAN, maps) runs on a seeded sample whose
size is a parameter; everything linear runs on all rows.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd
from kneed import KneeLocator
from sklearn.cluster import KMeans, MiniBatchKMeans
from sklearn.metrics import (
    adjusted_rand_score,
    calinski_harabasz_score,
    davies_bouldin_score,
    silhouette_score,
)

from customer_segmentation.segments import order_segments

logger = logging.getLogger(__name__)


def sample_positions(n_rows: int, size: int | None, seed: int) -> np.ndarray:
    """Sorted positions of a seeded sample of ``size`` rows (all rows when ``size`` is
    ``None`` or not smaller than ``n_rows``).
    """
    if size is None or size >= n_rows:
        return np.arange(n_rows)
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(n_rows, size=int(size), replace=False))


def make_kmeans(n_clusters: int, params: dict[str, Any]) -> KMeans | MiniBatchKMeans:
    """A K-Means estimator as the parameters say: ``algorithm`` (``kmeans`` or
    ``minibatch``), ``n_init``, ``random_state``, ``batch_size``, ``max_iter``.
    """
    algorithm = params.get("algorithm", "kmeans")
    common = {
        "n_clusters": int(n_clusters),
        "n_init": int(params["n_init"]),
        "random_state": int(params["random_state"]),
    }
    if "max_iter" in params:
        common["max_iter"] = int(params["max_iter"])
    if algorithm == "kmeans":
        return KMeans(**common)
    if algorithm == "minibatch":
        return MiniBatchKMeans(batch_size=int(params.get("batch_size", 4096)), **common)
    raise ValueError(f"clustering algorithm must be 'kmeans' or 'minibatch', not {algorithm!r}")


def renumber_by_spending(
    model: KMeans | MiniBatchKMeans, spending: np.ndarray, income: np.ndarray
) -> KMeans | MiniBatchKMeans:
    """Renumber the fitted model's clusters so segment 0 has the highest mean spending.

    The centroids and labels are permuted in place, so ``model.predict`` returns the stable
    numbers directly. Ties are broken by mean income (see ``segments.order_segments``).
    """
    perm = order_segments(model.labels_, spending, income)
    inverse = np.empty_like(perm)
    inverse[perm] = np.arange(len(perm))
    model.cluster_centers_ = model.cluster_centers_[perm]
    model.labels_ = inverse[model.labels_]
    return model


def find_knee(ks: list[int], inertia: list[float]) -> int | None:
    """The elbow of a decreasing convex inertia curve by the Kneedle algorithm (``kneed``)."""
    if len(ks) < 3:
        return None
    knee = KneeLocator(ks, inertia, curve="convex", direction="decreasing").knee
    return None if knee is None else int(knee)


def silhouette_on_sample(scaled: np.ndarray, labels: np.ndarray, size: int, seed: int) -> float:
    """Silhouette on a seeded sample of ``size`` rows (NaN with fewer than two clusters)."""
    keep = sample_positions(len(scaled), size, seed)
    if len(np.unique(labels[keep])) < 2:
        return float("nan")
    return float(silhouette_score(scaled[keep], labels[keep]))


def stability(
    scaled: np.ndarray, k: int, params: dict[str, Any], reference: np.ndarray
) -> tuple[float, float]:
    """Agreement of refits on bootstrap resamples with the reference labelling.

    For each of ``stability_resamples`` seeded bootstrap resamples of ``scaled`` a model is
    fitted (``stability_n_init`` initialisations, default ``n_init``) and asked to label all of ``scaled``; the adjusted Rand index against
    ``reference`` measures how much the partition depends on the particular rows.

    Returns:
        Mean and minimum adjusted Rand index.
    """
    rng = np.random.default_rng(int(params["random_state"]))
    scores = []
    for _ in range(int(params["stability_resamples"])):
        rows = rng.integers(0, len(scaled), size=len(scaled))
        seed_params = {
            **params,
            "n_init": int(params.get("stability_n_init", params["n_init"])),
            "random_state": int(rng.integers(0, 2**31 - 1)),
        }
        model = make_kmeans(k, seed_params).fit(scaled[rows])
        scores.append(adjusted_rand_score(reference, model.predict(scaled)))
    return float(np.mean(scores)), float(np.min(scores))


def sweep(scaled: np.ndarray, params: dict[str, Any]) -> pd.DataFrame:
    """Fit K-Means for every k in ``k_min..k_max`` and compute the criteria.

    Args:
        scaled: the scaled features of the sweep sample.
        params: ``k_min``, ``k_max``, ``n_init``, ``random_state``, ``algorithm``,
            ``silhouette_sample_size``, ``stability_sample_size``, ``stability_resamples``.

    Returns:
        One row per k: ``inertia`` (on the sweep sample),
        ``silhouette``, ``davies_bouldin``, ``calinski_harabasz``, ``stability_ari_mean``,
        ``stability_ari_min``.
    """
    seed = int(params["random_state"])
    stable_rows = sample_positions(len(scaled), params["stability_sample_size"], seed)
    rows = []
    for k in range(int(params["k_min"]), int(params["k_max"]) + 1):
        model = make_kmeans(k, params).fit(scaled)
        labels = model.labels_
        mean_ari, min_ari = stability(scaled[stable_rows], k, params, labels[stable_rows])
        rows.append(
            {
                "k": k,
                "inertia": float(model.inertia_),
                "silhouette": silhouette_on_sample(
                    scaled, labels, params["silhouette_sample_size"], seed
                ),
                "davies_bouldin": float(davies_bouldin_score(scaled, labels)),
                "calinski_harabasz": float(calinski_harabasz_score(scaled, labels)),
                "stability_ari_mean": mean_ari,
                "stability_ari_min": min_ari,
            }
        )
        logger.info(
            "k=%d: inertia %.0f, silhouette %.3f, stability %.3f",
            k,
            rows[-1]["inertia"],
            rows[-1]["silhouette"],
            mean_ari,
        )
    return pd.DataFrame(rows)
