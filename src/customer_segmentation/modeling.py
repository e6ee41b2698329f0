"""Clustering building blocks: seeded samples, K-Means fits with stable numbering, criteria.

Every quadratic computation (silhouette, stability, DBSCAN, maps) runs on a seeded sample whose
size is a parameter; everything linear runs on all rows.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import cache
from itertools import compress
from typing import Any

import numpy as np
import pandas as pd
from kneed import KneeLocator
from scipy import sparse
from scipy.spatial.distance import cdist
from sklearn.cluster import DBSCAN, KMeans, MiniBatchKMeans
from sklearn.metrics import (
    adjusted_rand_score,
    calinski_harabasz_score,
    davies_bouldin_score,
)
from sklearn.neighbors import NearestNeighbors
from threadpoolctl import ThreadpoolController
from tqdm.auto import tqdm

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


def _ascending(values: np.ndarray, *, strictly: bool) -> bool:
    """Whether numeric ``values`` ascend (``strictly``: without repeats); NaN never does."""
    if values.dtype.kind not in "iuf":
        return False
    later, earlier = values[1:], values[:-1]
    return bool(np.all(later > earlier) if strictly else np.all(later >= earlier))


def id_order(ids: pd.Series | np.ndarray) -> np.ndarray | None:
    """Positions that sort integer ``ids`` ascending, ties in their original order: what
    ``sort_values(kind="stable")`` does, by the faster unstable sort when the IDs are unique
    (then both orders are the same). ``None`` when the IDs are not integers.
    """
    values = np.asarray(ids)
    if values.dtype.kind not in "iu":
        return None
    order = np.argsort(values)
    ordered = values[order]
    if len(ordered) > 1 and (ordered[1:] == ordered[:-1]).any():
        return np.argsort(values, kind="stable")
    return order


def in_id_order(table: pd.DataFrame, id_column: str) -> pd.DataFrame:
    """``table`` with its rows in ascending ``id_column`` order, ties in their original order
    (``sort_values(kind="stable")``); ``table`` itself when they already are (no copy).
    """
    ids = table[id_column].to_numpy()
    if _ascending(ids, strictly=False):
        return table
    order = id_order(ids)
    if order is None:
        return table.sort_values(id_column, kind="stable", ignore_index=True)
    return table.take(order).reset_index(drop=True)


def positions_of(ids: pd.Series | np.ndarray, wanted: pd.Series | np.ndarray) -> np.ndarray:
    """Positions in ``ids`` (unique) of every value of ``wanted``, in ``wanted``'s order: the rows
    ``table.set_index(ID).loc[wanted]`` selects, found without copying the table.

    Raises:
        KeyError: some of ``wanted`` are not in ``ids``.
    """
    ids, wanted = np.asarray(ids), np.asarray(wanted)
    if len(ids) == len(wanted) and np.array_equal(ids, wanted):
        return np.arange(len(ids))
    positions = pd.Index(ids).get_indexer(wanted)
    missing = positions < 0
    if missing.any():
        raise KeyError(
            f"{int(missing.sum())} IDs not found, e.g. {', '.join(map(str, wanted[missing][:5]))}"
        )
    return positions


def matched_positions(
    ids: pd.Series | np.ndarray, other: pd.Series | np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The rows an inner one-to-one merge on the ID keeps, without copying either table.

    Returns:
        Positions in ``ids`` of the values also in ``other`` (in ``ids``' order, as
        ``merge(how="inner")`` keeps them) and, for each, its position in ``other``.

    Raises:
        ValueError: an ID is repeated (the merge's ``validate="1:1"``).
    """
    ids, other = np.asarray(ids), np.asarray(other)
    if len(ids) == len(other) and _ascending(other, strictly=True) and np.array_equal(ids, other):
        return np.arange(len(ids)), np.arange(len(ids))  # both in ID order, IDs unique
    index = pd.Index(other)
    if not index.is_unique:
        raise ValueError("the segments repeat an ID: a customer must have one segment")
    where = index.get_indexer(ids)
    rows = np.flatnonzero(where >= 0)
    if len(rows) and np.bincount(where[rows]).max() > 1:
        raise ValueError("the features repeat an ID: a customer must have one row")
    return rows, where[rows]


def radius_graph(scaled: np.ndarray, radius: float) -> sparse.csr_matrix:
    """Distances between all pairs of rows at most ``radius`` apart (each row included as its
    own neighbour), sorted per row, from one brute-force search (faster than a tree at the
    large radii of a DBSCAN eps scan). Distances are computed by matrix products, so they
    carry a small rounding error: see :func:`_tie_band`.
    """
    search = NearestNeighbors(radius=radius, algorithm="brute", metric="euclidean").fit(scaled)
    return search.radius_neighbors_graph(scaled, mode="distance", sort_results=True)


def _tie_band(scaled: np.ndarray) -> Callable[[float], float]:
    """How close to ``eps`` a graph distance must be to count as tied with it: wide enough to
    cover the rounding of the brute-force distances (squared distances from matrix products
    err by about ``(features + 2)`` units in the last place of the largest squared norm) and
    the difference between a rounded distance and the KD-tree's squared-distance test.
    """
    largest = float(np.max(np.einsum("ij,ij->i", scaled, scaled))) if len(scaled) else 0.0
    unit = 8 * (scaled.shape[1] + 8) * np.finfo(np.float64).eps * largest
    return lambda eps: max(1e-9 * eps, unit / eps)


def _neighbourhoods(
    graph: sparse.csr_matrix, scaled: np.ndarray, eps: float, band: float
) -> sparse.csr_matrix | None:
    """The part of ``graph`` that ``DBSCAN(eps)`` counts as neighbours: distance ``<= eps``,
    except that rows holding a distance within ``band`` of eps get exactly the neighbours
    DBSCAN's own KD-tree query returns for them (``None`` if the graph lacks one of those).
    """
    data, indices, indptr = graph.data, graph.indices, graph.indptr
    keep = data <= eps
    tied = np.flatnonzero(np.abs(data - eps) <= band)
    if len(tied):
        rows = np.unique(np.searchsorted(indptr, tied, side="right") - 1)
        search = NearestNeighbors(radius=eps, metric="euclidean").fit(scaled)
        exact = search.radius_neighbors(scaled[rows], return_distance=False)
        for row, members in zip(rows, exact, strict=True):
            start, stop = indptr[row], indptr[row + 1]
            keep[start:stop] = np.isin(indices[start:stop], members)
            if keep[start:stop].sum() != len(members):
                return None
    # Kept distances are capped at eps so DBSCAN's own "<= eps" keeps exactly these.
    return sparse.csr_matrix(
        (
            np.minimum(data[keep], eps),
            indices[keep],
            np.concatenate(([0], np.cumsum(keep)))[indptr],
        ),
        shape=graph.shape,
    )


def dbscan_scan(scaled: np.ndarray, eps_values: list[float], min_samples: int) -> list[np.ndarray]:
    """``DBSCAN(eps=eps, min_samples=min_samples).fit_predict(scaled)`` for every eps, with the
    neighbour search done once (:func:`radius_graph` just above the largest eps) and each
    run given its neighbourhoods as a precomputed sparse graph.

    The labels are DBSCAN's own: each point's neighbourhood is the same set of points as in a
    direct run (distance ``<= eps``, the point itself included). Where a distance lies within
    rounding of eps (e.g. eps taken from the k-distance curve is some pair's distance), that
    point's neighbours come from the KD-tree query a direct run makes.
    """
    if not eps_values:
        return []
    scaled = np.asarray(scaled, dtype=np.float64)
    band = _tie_band(scaled)
    largest = max(eps_values)
    graph = radius_graph(scaled, largest + 2 * band(largest))
    labels = []
    for eps in eps_values:
        within = _neighbourhoods(graph, scaled, eps, band(eps))
        if within is None:  # not expected; a direct run is always right
            labels.append(DBSCAN(eps=eps, min_samples=min_samples).fit_predict(scaled))
        else:
            model = DBSCAN(eps=eps, min_samples=min_samples, metric="precomputed")
            labels.append(model.fit_predict(within))
    return labels


def make_kmeans(
    n_clusters: int, params: dict[str, Any], init: np.ndarray | None = None
) -> KMeans | MiniBatchKMeans:
    """A K-Means estimator as the parameters say: ``algorithm`` (``kmeans`` or
    ``minibatch``), ``n_init``, ``random_state``, ``batch_size``, ``max_iter``.

    ``init``: starting centres (one run from them, instead of ``n_init`` k-means++ starts).
    """
    algorithm = params.get("algorithm", "kmeans")
    common: dict[str, Any] = {
        "n_clusters": int(n_clusters),
        "n_init": int(params["n_init"]),
        "random_state": int(params["random_state"]),
    }
    if init is not None:
        common.update(init=np.asarray(init, dtype="float64"), n_init=1)
    if "max_iter" in params:
        common["max_iter"] = int(params["max_iter"])
    if algorithm == "kmeans":
        return KMeans(**common)
    if algorithm == "minibatch":
        return MiniBatchKMeans(batch_size=int(params.get("batch_size", 4096)), **common)
    raise ValueError(f"clustering algorithm must be 'kmeans' or 'minibatch', not {algorithm!r}")


def fit_kmeans(
    n_clusters: int,
    params: dict[str, Any],
    data: np.ndarray | pd.DataFrame,
    init: np.ndarray | None = None,
) -> KMeans | MiniBatchKMeans:
    """``make_kmeans(n_clusters, params, init).fit(data)`` with BLAS held to one thread.

    scikit-learn's K-Means runs its own OpenMP threads; OpenBLAS's threads (the k-means++
    distances) spin-wait beside them and the two pools fight for the cores
    (scikit-learn issue #17334). On the 2-core benchmark machine the k sweep on 50,000 rows
    took 8.3 s with both pools and 3.0 s with one BLAS thread; the fit on 1,000,000 rows
    4.8 s and 4.4 s. The result is the same: only the threading changes.
    """
    with _thread_pools().limit(limits=1, user_api="blas"):
        return make_kmeans(n_clusters, params, init).fit(data)


@cache
def _thread_pools() -> ThreadpoolController:
    """The process's thread pools, found once: ``threadpool_limits`` searches the loaded
    libraries on every call (2 ms, 136 fits a run).
    """
    return ThreadpoolController()


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


def silhouette(points: np.ndarray, labels: np.ndarray, block_rows: int = 1024) -> float:
    """Mean silhouette coefficient, as ``sklearn.metrics.silhouette_score`` (Euclidean).

    The same definition (a point alone in its cluster scores 0). Needs two clusters or more.
    See :func:`silhouettes`, which it calls with one labelling.
    """
    return silhouettes(points, [labels], block_rows)[0]


def silhouettes(
    points: np.ndarray, labellings: list[np.ndarray], block_rows: int = 1024
) -> list[float]:
    """Mean silhouette coefficient of each labelling of the same ``points``.

    Computed in blocks of ``block_rows`` rows: each block's exact distances (``cdist``) are
    computed once and summed per cluster for every labelling (a product with the labelling's
    one-hot matrix), so the sweep's nine k pay for one distance matrix: 0.32 s for nine
    labellings of 5,000 rows, against 2.83 s for scikit-learn's ``silhouette_score``; equal to
    it to rounding (``tests/test_modeling.py``).

    Raises:
        ValueError: a labelling has fewer than two clusters.
    """
    if not labellings:
        return []
    points = np.asarray(points, dtype="float64")
    codes, counts, onehots = [], [], []
    for labels in labellings:
        clusters, code, count = np.unique(labels, return_inverse=True, return_counts=True)
        if len(clusters) < 2:  # noqa: PLR2004
            raise ValueError(f"silhouette needs two clusters or more, got {len(clusters)}")
        codes.append(code)
        counts.append(count)
        onehot = np.zeros((len(points), len(clusters)))
        onehot[np.arange(len(points)), code] = 1.0
        onehots.append(onehot)
    totals = np.zeros(len(labellings))
    for lo in range(0, len(points), block_rows):
        distances = cdist(points[lo : lo + block_rows], points)
        rows = np.arange(len(distances))
        for i, (code, count, onehot) in enumerate(zip(codes, counts, onehots, strict=True)):
            block_own = code[lo : lo + block_rows]
            sums = distances @ onehot
            size = count[block_own]
            inside = sums[rows, block_own] / np.maximum(size - 1, 1)
            means = sums / count
            means[rows, block_own] = np.inf
            nearest = means.min(axis=1)
            with np.errstate(invalid="ignore", divide="ignore"):
                scores = (nearest - inside) / np.maximum(inside, nearest)
            scores[(size == 1) | ~np.isfinite(scores)] = 0.0
            totals[i] += float(scores.sum())
    return [float(total / len(points)) for total in totals]


def silhouette_on_sample(scaled: np.ndarray, labels: np.ndarray, size: int, seed: int) -> float:
    """Silhouette on a seeded sample of ``size`` rows (NaN with fewer than two clusters)."""
    keep = sample_positions(len(scaled), size, seed)
    if len(np.unique(labels[keep])) < 2:
        return float("nan")
    return silhouette(scaled[keep], labels[keep])


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
        model = fit_kmeans(k, seed_params, scaled[rows])
        scores.append(adjusted_rand_score(reference, model.predict(scaled)))
    return float(np.mean(scores)), float(np.min(scores))


def sweep(scaled: np.ndarray, params: dict[str, Any]) -> tuple[pd.DataFrame, dict[int, np.ndarray]]:
    """Fit K-Means for every k in ``k_min..k_max`` and compute the criteria.

    Args:
        scaled: the scaled features of the sweep sample.
        params: ``k_min``, ``k_max``, ``n_init``, ``random_state``, ``algorithm``,
            ``silhouette_sample_size``, ``stability_sample_size``, ``stability_resamples``.

    Returns:
        One row per k: ``inertia`` (on the sweep sample),
        ``silhouette``, ``davies_bouldin``, ``calinski_harabasz``, ``stability_ari_mean``,
        ``stability_ari_min``; and each k's fitted centres (in the units of ``scaled``).
    """
    seed = int(params["random_state"])
    stable_rows = sample_positions(len(scaled), params["stability_sample_size"], seed)
    silhouette_rows = sample_positions(len(scaled), params["silhouette_sample_size"], seed)
    rows, labellings, centres = [], [], {}
    ks = range(int(params["k_min"]), int(params["k_max"]) + 1)
    # A progress bar on a terminal (stderr); the log line per k below says the same in logs.
    for k in tqdm(ks, desc="k sweep", unit="k", disable=None, leave=False):
        model = fit_kmeans(k, params, scaled)
        labels = model.labels_
        mean_ari, min_ari = stability(scaled[stable_rows], k, params, labels[stable_rows])
        labellings.append(labels[silhouette_rows])
        centres[k] = model.cluster_centers_
        rows.append(
            {
                "k": k,
                "inertia": float(model.inertia_),
                "silhouette": float("nan"),  # below, for every k at once
                "davies_bouldin": float(davies_bouldin_score(scaled, labels)),
                "calinski_harabasz": float(calinski_harabasz_score(scaled, labels)),
                "stability_ari_mean": mean_ari,
                "stability_ari_min": min_ari,
            }
        )
        logger.info("k=%d: inertia %.0f, stability %.3f", k, model.inertia_, mean_ari)
    # One pass over the sampled rows' distances serves every k (NaN below two clusters).
    measurable = [len(np.unique(labels)) >= 2 for labels in labellings]  # noqa: PLR2004
    scores = iter(silhouettes(scaled[silhouette_rows], list(compress(labellings, measurable))))
    for row, ok in zip(rows, measurable, strict=True):
        if ok:
            row["silhouette"] = next(scores)
    logger.info(
        "Silhouette on %d sampled rows: %s",
        len(silhouette_rows),
        ", ".join(f"k={row['k']} {row['silhouette']:.3f}" for row in rows),
    )
    return pd.DataFrame(rows), centres
