"""Is K-Means the right tool here? Seven clustering methods side by side on the same customers.

On one seeded sample of scaled customers (the k sweep's stability sample: the same rows, the
same bootstrap resamples), every method is fitted with the model's k where it takes one, and
judged by the same criteria: silhouette, Davies-Bouldin and Calinski-Harabasz (without the
customers a density method leaves unassigned), bootstrap stability (the adjusted Rand index of
each resample's refit with the method's own partition, on the resampled customers), the share
left unassigned, the smallest segment's share, agreement with K-Means and the fit's time.

The methods: K-Means (the model), mini-batch K-Means, a Gaussian mixture (full and diagonal
covariance with the model's k, and full covariance with k chosen by BIC), agglomerative
clustering with Ward linkage, BIRCH, HDBSCAN and DBSCAN (eps from the k-distance knee, as in
``dbscan``). :func:`favoured` ranks them; :func:`verdict` says in words what the criteria favour,
whether K-Means' segments survive under the others and what a marketer gains or loses by
switching.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.cluster import DBSCAN, HDBSCAN, AgglomerativeClustering, Birch, MiniBatchKMeans
from sklearn.metrics import adjusted_rand_score, calinski_harabasz_score, davies_bouldin_score
from sklearn.mixture import GaussianMixture

from customer_segmentation.core.modeling.dbscan import NOISE, k_distance_eps
from customer_segmentation.core.modeling.kmeans import KMeansSettings, fit_kmeans
from customer_segmentation.core.modeling.metrics import silhouette
from customer_segmentation.core.modeling.stability import bootstrap
from customer_segmentation.core.modeling.threads import cores_available, sized_threads

KMEANS = "kmeans"
# Criterion column -> whether higher is better: what :func:`favoured` ranks by.
CRITERIA = {
    "silhouette": True,
    "davies_bouldin": False,
    "calinski_harabasz": True,
    "stability_ari": True,
}
# An adjusted Rand index at least this high: the method keeps K-Means' segments.
SURVIVES_ARI = 0.5


@dataclass(frozen=True)
class MethodSettings:
    """What the methods are fitted with: the model's K-Means settings, the BIC's k range, the
    density methods' sizes, the resamples of the stability and the seed.
    """

    kmeans: KMeansSettings
    k_range: tuple[int, int]
    min_samples: int
    hdbscan_min_share: float
    hdbscan_min_samples: int
    resamples: int
    seed: int


@dataclass(frozen=True)
class Method:
    """One row of the comparison: ``fit(points, seed)`` gives a label per point (``NOISE``
    for a customer left unassigned).
    """

    name: str
    title: str
    family: str
    k_rule: str
    fit: Callable[[np.ndarray, int], np.ndarray]


# What a marketer gains or loses with each family, against K-Means' one segment per customer.
SWITCHING = {
    "K-Means": "every customer in exactly one of k segments, a new one placed by its nearest "
    "centre",
    "mini-batch K-Means": "the same kind of segments, fitted in batches: faster on very large "
    "tables, slightly less exact",
    "Gaussian mixture": "a probability of belonging for every customer (segments may overlap "
    "and take other shapes), at the price of segments that are harder to describe by a centre",
    "Ward": "a tree of segments to merge or split, but no rule to place a new customer without "
    "fitting again",
    "BIRCH": "one pass over very large tables; new customers placed by the nearest subcluster",
    "HDBSCAN": "only the dense groups, of any shape; the customers between them are left "
    "without a segment",
    "DBSCAN": "dense groups at one radius; the customers between them are left without a segment",
}


def _gaussian(k: int, covariance: str) -> Callable[[np.ndarray, int], np.ndarray]:
    def fit(points: np.ndarray, seed: int) -> np.ndarray:
        return GaussianMixture(k, covariance_type=covariance, random_state=seed).fit_predict(points)

    return fit


def bic_k(points: np.ndarray, k_range: tuple[int, int], seed: int) -> int:
    """The k of the full-covariance Gaussian mixture with the lowest BIC over ``k_range``."""
    ks = range(k_range[0], k_range[1] + 1)
    bics = [GaussianMixture(k, random_state=seed).fit(points).bic(points) for k in ks]
    return ks[int(np.argmin(bics))]


def methods(points: np.ndarray, k: int, settings: MethodSettings) -> list[Method]:
    """The methods compared on ``points`` (the model's ``k`` where a method takes one)."""
    best = bic_k(points, settings.k_range, settings.seed)
    eps = float(k_distance_eps(points, settings.min_samples)[1])
    min_size = max(2, round(settings.hdbscan_min_share * len(points)))
    model_k = f"the model's k={k}"
    low, high = settings.k_range
    return [
        Method(
            KMEANS,
            "K-Means",
            "K-Means",
            model_k,
            lambda p, s: fit_kmeans(k, settings.kmeans, p, random_state=s).labels_,
        ),
        Method(
            "minibatch_kmeans",
            "mini-batch K-Means",
            "mini-batch K-Means",
            model_k,
            lambda p, s: MiniBatchKMeans(
                k, batch_size=settings.kmeans.batch_size, n_init=3, random_state=s
            ).fit_predict(p),
        ),
        Method(
            "gaussian_mixture_full",
            "Gaussian mixture (full covariance)",
            "Gaussian mixture",
            model_k,
            _gaussian(k, "full"),
        ),
        Method(
            "gaussian_mixture_diag",
            "Gaussian mixture (diagonal covariance)",
            "Gaussian mixture",
            model_k,
            _gaussian(k, "diag"),
        ),
        Method(
            "gaussian_mixture_bic",
            f"Gaussian mixture (k={best} by BIC)",
            "Gaussian mixture",
            f"k={best}: the lowest BIC over k={low}-{high}",
            _gaussian(best, "full"),
        ),
        Method(
            "agglomerative_ward",
            "Ward (agglomerative)",
            "Ward",
            model_k,
            lambda p, s: AgglomerativeClustering(k, linkage="ward").fit_predict(p),
        ),
        Method("birch", "BIRCH", "BIRCH", model_k, lambda p, s: Birch(n_clusters=k).fit_predict(p)),
        Method(
            "hdbscan",
            "HDBSCAN",
            "HDBSCAN",
            f"found by density (groups of {min_size}+ customers)",
            lambda p, s: HDBSCAN(
                min_cluster_size=min_size, min_samples=settings.hdbscan_min_samples, copy=True
            ).fit_predict(p),
        ),
        Method(
            "dbscan",
            "DBSCAN",
            "DBSCAN",
            f"found by density (eps {eps:.2f}: the k-distance knee)",
            lambda p, s: DBSCAN(eps=eps, min_samples=settings.min_samples).fit_predict(p),
        ),
    ]


def _quality(points: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    """Silhouette, Davies-Bouldin and Calinski-Harabasz of the assigned points (NaN with
    fewer than two groups).
    """
    kept = labels != NOISE
    if len(np.unique(labels[kept])) < 2:
        return dict.fromkeys(("silhouette", "davies_bouldin", "calinski_harabasz"), np.nan)
    points, labels = points[kept], labels[kept]
    return {
        "silhouette": silhouette(points, labels),
        "davies_bouldin": float(davies_bouldin_score(points, labels)),
        "calinski_harabasz": float(calinski_harabasz_score(points, labels)),
    }


def stability_ari(
    points: np.ndarray, labels: np.ndarray, method: Method, settings: MethodSettings
) -> float:
    """Mean adjusted Rand index, over the bootstrap resamples (:func:`bootstrap`), of the
    method refitted on a resample with its own ``labels``, on the customers drawn (each once);
    NaN when ``labels`` hold fewer than two segments (nothing to be stable).
    """
    if len(np.unique(labels[labels != NOISE])) < 2:
        return float("nan")
    scores = []
    for drawn, seed in bootstrap(len(points), settings.resamples, settings.seed):
        refit = method.fit(points[drawn], seed)
        unique, first = np.unique(drawn, return_index=True)
        scores.append(adjusted_rand_score(labels[unique], refit[first]))
    return float(np.mean(scores))


def judge(
    method: Method, points: np.ndarray, model_labels: np.ndarray, settings: MethodSettings
) -> tuple[dict[str, object], np.ndarray]:
    """One method's row of the comparison (see :func:`compare_methods`) and its labels."""
    started = time.perf_counter()
    fitted = method.fit(points, settings.seed)
    seconds = time.perf_counter() - started
    labels = model_labels if method.name == KMEANS else fitted
    kept = labels != NOISE
    sizes = np.bincount(labels[kept]) if kept.any() else np.array([0])
    row = {
        "method": method.name,
        "title": method.title,
        "family": method.family,
        "k_rule": method.k_rule,
        "segments": int((sizes > 0).sum()),
        **_quality(points, labels),
        "stability_ari": stability_ari(points, labels, method, settings),
        "noise_share": float(1 - kept.mean()),
        "smallest_share": float(sizes[sizes > 0].min() / len(labels)) if kept.any() else 0.0,
        "ari_vs_kmeans": float(adjusted_rand_score(model_labels, labels)),
        "fit_seconds": seconds,
        "sample_rows": len(points),
    }
    return row, labels


def compare_methods(
    points: np.ndarray, model_labels: np.ndarray, settings: MethodSettings
) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """Every method on ``points`` (scaled customers, a seeded sample) whose K-Means segments
    are ``model_labels``, the methods judged side by side on the process's cores (each on one
    thread: a few thousand rows, where one thread per fit is fastest; the results do not depend
    on the order).

    Returns:
        The table, one row per method: ``method``, ``title``, ``family``, ``k_rule``,
        ``segments``, the :data:`CRITERIA`, ``noise_share``, ``smallest_share`` (of all the
        sample's customers), ``ari_vs_kmeans``, ``fit_seconds`` (the fit's wall time, beside
        the other methods' work), ``sample_rows`` and ``mean_rank`` (:func:`mean_ranks`); and
        each method's labels of ``points`` (the K-Means row's are the model's own segments).
    """
    k = len(np.unique(model_labels))
    with sized_threads(*points.shape), ThreadPoolExecutor(cores_available()) as pool:
        judged = list(
            pool.map(
                lambda method: judge(method, points, model_labels, settings),
                methods(points, k, settings),
            )
        )
    table = pd.DataFrame([row for row, _ in judged])
    table["mean_rank"] = mean_ranks(table)
    return table, {row["method"]: labels for row, labels in judged}


def mean_ranks(table: pd.DataFrame) -> pd.Series:
    """Each method's mean rank over the :data:`CRITERIA` (1 = best; a method with fewer than
    two segments, whose criteria are undefined, ranks last on each).
    """
    ranks = [
        table[column].rank(ascending=not higher, method="min", na_option="bottom")
        for column, higher in CRITERIA.items()
    ]
    return pd.concat(ranks, axis=1).mean(axis=1)


def favoured(table: pd.DataFrame) -> pd.Series:
    """The row the criteria favour: the lowest mean rank (the table's order breaks a tie)."""
    return table.loc[mean_ranks(table).idxmin()]


def verdict(table: pd.DataFrame) -> str:
    """The comparison in words: the favoured method and its mean rank (and K-Means' if it is
    not it), which methods keep K-Means' segments (:data:`SURVIVES_ARI`) and what switching
    gains or loses.
    """
    best = favoured(table)
    ranks = mean_ranks(table)
    kmeans = table.index[table["method"] == KMEANS][0]
    others = table[table["method"] != KMEANS]
    keep = others[others["ari_vs_kmeans"] >= SURVIVES_ARI]["title"].tolist()
    lose = others[others["ari_vs_kmeans"] < SURVIVES_ARI]["title"].tolist()
    opening = (
        f"On {int(table['sample_rows'].iloc[0]):,} customers the criteria (silhouette, "
        f"Davies-Bouldin, Calinski-Harabasz, bootstrap stability) favour {best['title']} (mean "
        f"rank {ranks[best.name]:.1f} of {len(table)})"
    )
    if best["method"] == KMEANS:
        unassigned = [
            f"{row.title} {row.noise_share:.0%}"
            for row in others.itertuples()
            if row.noise_share > 0
        ]
        switch = (
            "K-Means stays: no other method does better on these criteria. What another would "
            "give: a Gaussian mixture a probability of belonging (shown beside K-Means' margin, "
            "from one Gaussian per segment)"
            + (
                f"; the density methods leave customers without a segment ({', '.join(unassigned)})."
                if unassigned
                else "."
            )
        )
    else:
        opening += f"; K-Means ranks {ranks[kmeans]:.1f}"
        switch = f"Switching to {best['title']} gives {SWITCHING[best['family']]}" + (
            f"; it leaves {best['noise_share']:.0%} of the customers without a segment."
            if best["noise_share"] > 0
            else "."
        )
    survival = (
        f"K-Means' segments survive under {_listed(keep)} (adjusted Rand index "
        f"{SURVIVES_ARI:g} or more)"
        if keep
        else "No other method keeps K-Means' segments (every adjusted Rand index below "
        f"{SURVIVES_ARI:g})"
    )
    if keep and lose:
        survival += f", not under {_listed(lose)}"
    return f"{opening}. {survival}. {switch}"


def _listed(names: list[str]) -> str:
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"
