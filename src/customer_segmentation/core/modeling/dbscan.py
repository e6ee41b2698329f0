"""DBSCAN beside K-Means: eps from the k-distance curve, a scan over eps, and the verdict.

DBSCAN asks whether the customers form dense groups separated by sparse gaps. The rule for eps
(the knee of the sorted k-distance curve), the scan over quantiles of that curve and the
sentences that say what DBSCAN found all live here; ``figures`` draws them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from kneed import KneeLocator
from scipy import sparse
from sklearn.cluster import DBSCAN
from sklearn.metrics import adjusted_rand_score, davies_bouldin_score
from sklearn.neighbors import NearestNeighbors

from customer_segmentation.core.modeling.metrics import silhouette
from customer_segmentation.core.modeling.threads import sized_threads

NOISE = -1
# eps when the k-distance curve has no knee (a straight line): this quantile of the curve.
NO_KNEE_QUANTILE = 0.95
EPS_RULE = "knee (Kneedle) of the sorted k-distance curve"


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


def k_distance_eps(scaled: np.ndarray, min_samples: int) -> tuple[np.ndarray, float]:
    """Sorted distance of each point to its ``min_samples``-th neighbour (itself counted,
    as DBSCAN counts it) and the curve's knee, used as ``eps``.

    Rule: the knee is Kneedle's (``kneed``, offline, ``S=1``) on the whole sorted curve,
    i.e. the point farthest below the chord from the first to the last point: where the
    slowly rising body of the curve (points inside dense regions) turns into the steep tail
    (points DBSCAN should call noise). ``online=True`` was tried and rejected: on these
    tables it stops at the first wiggle near the start (eps about 0.5, over 90% noise).
    Smoothing does not move the knee (the sorted curve is already smooth). Without a knee
    (a straight line) the 95th percentile is used.
    """
    neighbours = NearestNeighbors(n_neighbors=min_samples).fit(scaled)
    distances = np.sort(neighbours.kneighbors(scaled)[0][:, -1])
    knee = KneeLocator(
        np.arange(len(distances)), distances, curve="convex", direction="increasing"
    ).knee
    eps = (
        float(distances[int(knee)])
        if knee is not None
        else float(np.quantile(distances, NO_KNEE_QUANTILE))
    )
    return distances, eps


def partition_summary(
    name: str, labels: np.ndarray, scaled: np.ndarray, reference: np.ndarray
) -> dict[str, object]:
    """Clusters, noise share, quality without noise, sizes, largest cluster's share (of the
    clustered points) and agreement with K-Means (``reference``) of one labelling.
    """
    clustered = labels != NOISE
    found = np.unique(labels[clustered])
    sizes = pd.Series(labels[clustered]).value_counts().sort_index()
    has_two = len(found) >= 2
    return {
        "method": name,
        "clusters": len(found),
        "noise_share": float(1 - clustered.mean()),
        "largest_cluster_share": float(sizes.max() / clustered.sum())
        if clustered.any()
        else float("nan"),
        "silhouette_without_noise": silhouette(scaled[clustered], labels[clustered])
        if has_two
        else float("nan"),
        "davies_bouldin_without_noise": float(
            davies_bouldin_score(scaled[clustered], labels[clustered])
        )
        if has_two
        else float("nan"),
        "cluster_sizes": ", ".join(f"{int(k)}: {int(v)}" for k, v in sizes.items()),
        "ari_vs_kmeans": float(adjusted_rand_score(reference, labels)),
    }


def eps_scan(
    quantiles: list[float], eps_values: list[float], labels: list[np.ndarray], min_samples: int
) -> pd.DataFrame:
    """DBSCAN at each quantile of the k-distance curve (``eps_values``, with the ``labels``
    DBSCAN gave there): clusters with at least ``min_samples`` members, noise share and the
    largest cluster's share of all customers.
    """
    rows = []
    for quantile, eps, found in zip(quantiles, eps_values, labels, strict=True):
        clustered = found != NOISE
        sizes = np.bincount(found[clustered]) if clustered.any() else np.array([0])
        rows.append(
            {
                "quantile": float(quantile),
                "eps": eps,
                "min_samples": min_samples,
                "clusters": int((sizes >= min_samples).sum()),
                "noise_share": float((~clustered).mean()),
                "largest_share": float(sizes.max() / len(found)),
            }
        )
    return pd.DataFrame(rows)


def dbscan_verdict(row: dict[str, object], blob_share: float, scan: pd.DataFrame) -> str:
    """One plain sentence on what DBSCAN found, for the table and the report."""
    most = scan.loc[scan["clusters"].idxmax()]
    scan_text = (
        f"over eps {scan['eps'].min():.2f}-{scan['eps'].max():.2f} it finds at most "
        f"{int(most['clusters'])} clusters of {int(most['min_samples'])}+ customers "
        f"(at eps {most['eps']:.2f}, calling {most['noise_share']:.0%} of customers noise)"
    )
    if row["clusters"] == 0:
        return f"DBSCAN calls every customer noise at this eps; {scan_text}."
    if row["clusters"] == 1 or row["largest_cluster_share"] >= blob_share:
        return (
            f"DBSCAN finds one dense blob ({row['largest_cluster_share']:.0%} of clustered "
            f"customers) plus {row['noise_share']:.0%} noise: the customers do not form dense groups "
            f"separated by sparse gaps, so the K-Means segments are cuts through one "
            f"continuous cloud rather than natural clusters; "
            f"{scan_text}."
        )
    return (
        f"DBSCAN finds {row['clusters']} clusters and {row['noise_share']:.0%} noise; {scan_text}."
    )


def kmeans_verdict(row: dict[str, object]) -> str:
    """The K-Means row's sentence of the comparison table."""
    return (
        f"K-Means always returns k={row['clusters']} segments; "
        f"silhouette {row['silhouette_without_noise']:.2f}."
    )


@dataclass(frozen=True)
class Comparison:
    """K-Means and DBSCAN on the same sampled customers (see :func:`compare`).

    ``table``: one row per method (``partition_summary``, ``verdict``, ``eps``, ``eps_rule``,
    ``min_samples``, ``sample_rows``); ``distances``: the sorted k-distance curve; ``eps``: its
    knee; ``scan``: :func:`eps_scan`; ``scaled``: the sampled customers' scaled features;
    ``kmeans_labels`` and ``dbscan_labels``: both partitions of them.
    """

    table: pd.DataFrame
    distances: np.ndarray
    eps: float
    min_samples: int
    scan: pd.DataFrame
    scaled: np.ndarray
    kmeans_labels: np.ndarray
    dbscan_labels: np.ndarray


def compare(
    scaled: np.ndarray,
    kmeans_labels: np.ndarray,
    min_samples: int,
    scan_quantiles: list[float],
    blob_share: float,
) -> Comparison:
    """DBSCAN on scaled customers (already sampled), ``eps`` from the k-distance knee, also run
    at ``scan_quantiles`` of the k-distance curve so the verdict does not hinge on one eps;
    both partitions measured the same way. The neighbour searches run on the OpenMP threads
    their work calls for (``threads.sized_threads``): the distances of all pairs of rows.
    """
    with sized_threads(len(scaled), len(scaled)):
        distances, eps = k_distance_eps(scaled, min_samples)
        scan_eps = [float(np.quantile(distances, quantile)) for quantile in scan_quantiles]
        # One neighbour search for the knee's eps and every scanned eps.
        dbscan_labels, *scan_labels = dbscan_scan(scaled, [eps, *scan_eps], min_samples)
    scan = eps_scan(list(scan_quantiles), scan_eps, scan_labels, min_samples)
    kmeans_row = partition_summary("kmeans", kmeans_labels, scaled, kmeans_labels)
    dbscan_row = partition_summary("dbscan", dbscan_labels, scaled, kmeans_labels)
    kmeans_row["verdict"] = kmeans_verdict(kmeans_row)
    dbscan_row["verdict"] = dbscan_verdict(dbscan_row, blob_share, scan)
    table = pd.DataFrame([kmeans_row, dbscan_row])
    table["eps"] = [np.nan, eps]
    table["eps_rule"] = ["", EPS_RULE]
    table["min_samples"] = [np.nan, min_samples]
    table["sample_rows"] = len(scaled)
    return Comparison(
        table=table,
        distances=distances,
        eps=eps,
        min_samples=min_samples,
        scan=scan,
        scaled=scaled,
        kmeans_labels=kmeans_labels,
        dbscan_labels=dbscan_labels,
    )


def verdict_of(comparison_table: pd.DataFrame) -> str:
    """The DBSCAN row's verdict of a ``clustering_comparison`` table."""
    row = comparison_table.loc[comparison_table["method"] == "dbscan", "verdict"]
    if row.empty:
        raise ValueError("clustering_comparison has no DBSCAN row")
    return str(row.iloc[0])
