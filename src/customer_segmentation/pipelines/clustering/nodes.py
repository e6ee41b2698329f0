"""Nodes of ``clustering``: scaler and K-Means, the model card, the DBSCAN comparison."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd
from kneed import KneeLocator
from matplotlib.figure import Figure
from sklearn.cluster import KMeans
from sklearn.decomposition import PCA
from sklearn.metrics import adjusted_rand_score, davies_bouldin_score
from sklearn.neighbors import NearestNeighbors
from sklearn.preprocessing import StandardScaler

from customer_segmentation import schema
from customer_segmentation.modeling import (
    dbscan_scan,
    fit_kmeans,
    in_id_order,
    positions_of,
    renumber_by_spending,
    sample_positions,
    silhouette,
    silhouette_on_sample,
)
from customer_segmentation.pipelines.model_selection.nodes import resolve_k
from customer_segmentation.scoring import segments_of
from customer_segmentation.segments import NAMING_COLUMNS, profile_and_name

logger = logging.getLogger(__name__)

NOISE = -1
# Where the final K-Means starts: the sweep's centres for k, or k-means++ on all rows.
INITS = ("sweep", "k-means++")


def fit_segmentation(
    customer_features: pd.DataFrame,
    k_selection: pd.DataFrame,
    params: dict[str, Any],
    sweep_centres: pd.DataFrame | None = None,
) -> tuple[StandardScaler, KMeans, pd.DataFrame]:
    """Fit the scaler and K-Means on all customers and assign every customer a segment.

    Rows are ordered by ``ID`` before fitting, so the input order does not matter; segments
    are numbered by mean ``Total_Spending``, highest first (segment 0).

    With ``params["init"]`` ``sweep``, K-Means starts from the sweep's centres for k
    (``sweep_centres``: the best of ``n_init`` k-means++ starts on the sweep's sample) and
    runs on all rows until it converges; otherwise, or when the sweep has no centres for k,
    it makes ``n_init`` k-means++ starts on all rows.

    Args:
        customer_features: needs ``ID``, ``Total_Spending``, ``Income`` and
            ``params["features"]``.
        k_selection: the sweep; its knee is used when ``n_clusters`` is ``auto``.
        params: ``clustering`` parameters.
        sweep_centres: ``select_k``'s centres per k, in the features' units.

    Returns:
        ``scaler``, ``kmeans_model`` and ``customer_segments`` (``ID``, ``segment``,
        ``distance``, ``runner_up``, ``runner_up_distance``, ``margin``).
    """
    knee = k_selection.loc[k_selection["is_knee"], "k"]
    k = resolve_k(params["n_clusters"], int(knee.iloc[0]) if len(knee) else None)
    columns = list(params["features"])
    needed = list(dict.fromkeys([schema.ID, *columns, "Total_Spending", "Income"]))
    features = in_id_order(customer_features[needed], schema.ID)
    if len(features) < k:
        raise ValueError(f"{len(features)} customers cannot make {k} segments")
    values = features[columns].astype("float64")
    scaler = StandardScaler().fit(values)
    scaled = scaler.transform(values)
    del values
    init = params.get("init", "k-means++")
    if init not in INITS:
        raise ValueError(f"clustering.init must be one of {', '.join(INITS)}, not {init!r}")
    start = _sweep_start(sweep_centres, k, columns) if init == "sweep" else None
    model = fit_kmeans(
        k,
        params,
        pd.DataFrame(scaled, columns=columns),
        init=None if start is None else scaler.transform(start),
    )
    renumber_by_spending(
        model, features["Total_Spending"].to_numpy(), features["Income"].to_numpy()
    )
    # The scaled rows are those score_customers would scale again: measure them directly.
    segments = segments_of(features[schema.ID].to_numpy(), scaled, model.cluster_centers_)
    logger.info(
        "Fitted %s with k=%d on %d customers, starting from %s",
        type(model).__name__,
        k,
        len(features),
        describe_start(model),
    )
    return scaler, model, segments


def _sweep_start(
    sweep_centres: pd.DataFrame | None, k: int, columns: list[str]
) -> pd.DataFrame | None:
    """The sweep's centres for ``k`` (features' units), or ``None`` if it has none for k."""
    if sweep_centres is None:
        return None
    missing = [c for c in columns if c not in sweep_centres.columns]
    if missing:
        raise ValueError(
            f"sweep_centres has no column {', '.join(missing)}: the sweep used other features "
            "than clustering.features; give model_selection.features the same columns, or set "
            "clustering.init to k-means++"
        )
    found = sweep_centres.loc[sweep_centres["k"] == k].sort_values("centre")
    if found.empty:
        logger.info("The sweep has no centres for k=%d; K-Means starts with k-means++", k)
        return None
    return found[columns].astype("float64")


def describe_start(model: KMeans) -> str:
    """How the fitted model was started, in words (for the log and the model card)."""
    if isinstance(model.init, np.ndarray):
        return "the k sweep's centres for this k"
    return f"the best of {model.n_init} k-means++ starts"


def build_model_card(  # noqa: PLR0913
    customer_features: pd.DataFrame,
    customer_segments: pd.DataFrame,
    scaler: StandardScaler,
    kmeans_model: KMeans,
    feature_info: dict[str, Any],
    params: dict[str, Any],
) -> dict[str, Any]:
    """What the app and the report need to know about the model of this run.

    Returns:
        ``k``, ``algorithm``, ``features``, ``reference_date``, ``partner_statuses``,
        ``training_rows``, ``inertia``, ``silhouette`` (on ``silhouette_rows`` sampled rows),
        ``feature_ranges`` (training min/max per feature) and ``segments``: number, name,
        behaviour, description, action, size and share of each.
    """
    columns = list(params["features"])
    # Only the described columns, in the segments' row order.
    wanted = list(dict.fromkeys([*NAMING_COLUMNS, *columns]))
    rows = positions_of(customer_features[schema.ID], customer_segments[schema.ID])
    features = customer_features[wanted].iloc[rows].reset_index(drop=True)
    labels = customer_segments["segment"].to_numpy()
    seed = int(params["random_state"])
    sample = int(params["silhouette_sample_size"])
    # Silhouette on the seeded sample: only those rows are scaled.
    keep = sample_positions(len(features), sample, seed)
    scaled = scaler.transform(features[columns].iloc[keep].astype("float64"))
    named = profile_and_name(features, customer_segments["segment"], columns, params["naming"])
    ranges = features[columns].agg(["min", "max"]).astype(float)
    return {
        "k": int(kmeans_model.n_clusters),
        "algorithm": type(kmeans_model).__name__,
        "features": columns,
        "reference_date": feature_info["reference_date"],
        "partner_statuses": feature_info["partner_statuses"],
        "training_rows": len(features),
        "inertia": float(kmeans_model.inertia_),
        "initialisation": describe_start(kmeans_model),
        # ``scaled`` holds the sampled rows already: all of them (size None) are measured.
        "silhouette": silhouette_on_sample(scaled, labels[keep], None, seed),
        "silhouette_rows": len(keep),
        "random_state": seed,
        "segment_numbering": "segment 0 has the highest mean Total_Spending (ties: Income)",
        "feature_ranges": {
            c: {"min": ranges.loc["min", c], "max": ranges.loc["max", c]} for c in columns
        },
        "segments": named[
            ["segment", "name", "behaviour", "description", "action", "size", "share"]
        ]
        .astype({"segment": int, "size": int, "share": float})
        .to_dict(orient="records"),
    }


def _k_distance_eps(scaled: np.ndarray, min_samples: int) -> tuple[np.ndarray, float]:
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
    fallback = 0.95
    eps = (
        float(distances[int(knee)]) if knee is not None else float(np.quantile(distances, fallback))
    )
    return distances, eps


def _partition_figures(
    name: str, labels: np.ndarray, scaled: np.ndarray, reference: np.ndarray
) -> dict[str, Any]:
    """Clusters, noise share, quality without noise, sizes, largest cluster's share (of the
    clustered points) and agreement with K-Means (``reference``) of one labelling.
    """
    clustered = labels != NOISE
    found = np.unique(labels[clustered])
    sizes = pd.Series(labels[clustered]).value_counts().sort_index()
    has_two = len(found) >= 2  # noqa: PLR2004
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


def _dbscan_verdict(row: dict[str, Any], blob_share: float, scan: pd.DataFrame) -> str:
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


def _eps_scan(
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


def compare_with_dbscan(  # noqa: PLR0915
    customer_features: pd.DataFrame,
    customer_segments: pd.DataFrame,
    scaler: StandardScaler,
    params: dict[str, Any],
) -> tuple[pd.DataFrame, Figure, Figure]:
    """DBSCAN on the same scaled features, ``eps`` from the k-distance curve's knee.

    Both methods are measured on one seeded sample of ``dbscan.sample_size`` customers;
    DBSCAN is also run at the ``dbscan.scan_quantiles`` of the k-distance curve, so the
    result does not hinge on one eps.

    Returns:
        ``clustering_comparison`` (one row per method: clusters, noise share, largest
        cluster's share, silhouette and Davies-Bouldin without noise, cluster sizes,
        adjusted Rand index against K-Means, eps, eps_rule, min_samples, sample rows and a
        plain-language ``verdict``), the k-distance figure (curve with eps; clusters and noise
        against eps) and side-by-side PCA maps.
    """
    settings = params["dbscan"]
    columns = list(params["features"])
    ids = customer_segments[schema.ID].to_numpy()
    keep = sample_positions(len(ids), settings["sample_size"], int(params["random_state"]))
    rows = positions_of(customer_features[schema.ID], ids[keep])
    scaled = scaler.transform(customer_features.iloc[rows][columns].astype("float64"))
    kmeans_labels = customer_segments["segment"].to_numpy()[keep]
    min_samples = int(settings["min_samples"])
    distances, eps = _k_distance_eps(scaled, min_samples)
    quantiles = list(settings["scan_quantiles"])
    scan_eps = [float(np.quantile(distances, quantile)) for quantile in quantiles]
    # One neighbour search for the knee's eps and every scanned eps.
    dbscan_labels, *scan_labels = dbscan_scan(scaled, [eps, *scan_eps], min_samples)
    scan = _eps_scan(quantiles, scan_eps, scan_labels, min_samples)

    kmeans_row = _partition_figures("kmeans", kmeans_labels, scaled, kmeans_labels)
    dbscan_row = _partition_figures("dbscan", dbscan_labels, scaled, kmeans_labels)
    kmeans_row["verdict"] = (
        f"K-Means always returns k={kmeans_row['clusters']} segments; "
        f"silhouette {kmeans_row['silhouette_without_noise']:.2f}."
    )
    dbscan_row["verdict"] = _dbscan_verdict(dbscan_row, float(settings["blob_share"]), scan)
    table = pd.DataFrame([kmeans_row, dbscan_row])
    table["eps"] = [np.nan, eps]
    table["eps_rule"] = ["", "knee (Kneedle) of the sorted k-distance curve"]
    table["min_samples"] = [np.nan, min_samples]
    table["sample_rows"] = len(keep)
    logger.info(
        "DBSCAN eps=%.3f found %d clusters, %.1f%% noise; scan max %d clusters",
        eps,
        dbscan_row["clusters"],
        100 * dbscan_row["noise_share"],
        int(scan["clusters"].max()),
    )

    k_fig = Figure(figsize=(11, 4), layout="constrained")
    ax, scan_ax = k_fig.subplots(1, 2)
    ax.plot(distances, color="tab:blue")
    ax.axhline(eps, color="tab:red", linestyle="--", label=f"eps = {eps:.2f} (knee)")
    ax.set(
        xlabel="points sorted by distance",
        ylabel=f"distance to {min_samples}-th neighbour",
        title="k-distance curve for DBSCAN",
    )
    ax.legend()
    scan_ax.plot(scan["eps"], scan["clusters"], "o-", color="tab:blue", label="clusters")
    scan_ax.axvline(eps, color="tab:red", linestyle="--", label="chosen eps")
    scan_ax.set(
        xlabel="eps",
        ylabel=f"clusters with {min_samples}+ customers",
        title="DBSCAN across eps (k-distance quantiles)",
    )
    share_ax = scan_ax.twinx()
    share_ax.plot(scan["eps"], scan["noise_share"], "s--", color="grey", label="noise share")
    share_ax.plot(
        scan["eps"], scan["largest_share"], "^:", color="tab:green", label="largest cluster share"
    )
    share_ax.set(ylabel="share of customers", ylim=(0, 1))
    scan_ax.legend(loc="upper left", fontsize=8)
    share_ax.legend(loc="center right", fontsize=8)

    coords = PCA(n_components=2, random_state=int(params["random_state"])).fit_transform(scaled)
    map_fig = Figure(figsize=(11, 4.5), layout="constrained")
    for ax, labels, title in zip(
        map_fig.subplots(1, 2),
        (kmeans_labels, dbscan_labels),
        (
            f"K-Means (k={len(np.unique(kmeans_labels))})",
            f"DBSCAN (eps={eps:.2f}, min_samples={min_samples}): "
            f"{dbscan_row['clusters']} cluster(s), {dbscan_row['noise_share']:.0%} noise",
        ),
        strict=True,
    ):
        noise = labels == NOISE
        ax.scatter(coords[noise, 0], coords[noise, 1], s=6, c="lightgrey", label="noise")
        ax.scatter(
            coords[~noise, 0],
            coords[~noise, 1],
            s=6,
            c=labels[~noise],
            cmap="tab10",
            vmin=0,
            vmax=9,
        )
        ax.set(title=title, xlabel="PC1", ylabel="PC2")
    return table, k_fig, map_fig
