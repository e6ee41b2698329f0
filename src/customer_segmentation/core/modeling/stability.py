"""How stable each segment is: Hennig's cluster-wise bootstrap (R's ``fpc::clusterboot``).

``selection.stability`` asks how stable a whole partition is for each k (one adjusted Rand
index per k). Here the question is per segment of the chosen model: refit K-Means (the model's
k and settings, :func:`~customer_segmentation.core.modeling.kmeans.fit_kmeans`) on bootstrap
resamples of the customers and, for every original segment, find the refit cluster most like
it by the Jaccard similarity; a segment that the refits keep finding is stable, one that they
split or merge is not (Hennig 2007, "Cluster-wise assessment of cluster stability",
Computational Statistics & Data Analysis 52, 258-271).

As in ``clusterboot(bootmethod="boot", multipleboot=TRUE, bscompare=FALSE)``: the refit sees the
resample with its repeated rows; the Jaccard similarity counts each resampled customer once
(fpc's present default, ``multipleboot=FALSE``, refits on the distinct customers only). A
resample that holds no customer of a segment says nothing about it and is left out of its mean
(``clusterboot`` scores it 0; counted here in ``stability_skipped``). A resample dissolves a
segment at a Jaccard of at most ``dissolution`` and recovers it above ``recovery``, as
``clusterboot`` counts ``bootbrd`` and ``bootrecover``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping

import numpy as np
import pandas as pd

from customer_segmentation.core.modeling.kmeans import KMeansSettings, fit_kmeans

logger = logging.getLogger(__name__)

# Refits' seeds are drawn from [0, 2**31 - 1), as ``selection.stability`` draws them.
_SEED_BOUND = 2**31 - 1


def bootstrap(rows: int, resamples: int, seed: int) -> Iterator[tuple[np.ndarray, int]]:
    """The seeded bootstrap resamples of ``rows`` rows, each with a seed for its refit: the one
    draw of the k sweep's stability, each segment's stability and the methods' comparison.
    """
    rng = np.random.default_rng(seed)
    for _ in range(resamples):
        drawn = rng.integers(0, rows, size=rows)
        yield drawn, int(rng.integers(0, _SEED_BOUND))


COLUMNS = [
    "segment",
    "stability_jaccard",
    "stability_jaccard_se",
    "stability_dissolved",
    "stability_recovered",
    "stability_label",
    "stability_resamples",
    "stability_skipped",
    "stability_rows",
]


def max_jaccard(
    original: np.ndarray, refit: np.ndarray, in_resample: np.ndarray, n_segments: int
) -> np.ndarray:
    """For each original segment, the Jaccard similarity with the most similar refit cluster,
    over the customers in the resample, each counted once (Hennig's gamma).

    The original segment is restricted to the resampled customers; a refit cluster is the
    resampled customers the refit put in it. Computed from one contingency table of the label
    pairs: intersection / (segment + cluster - intersection).

    Args:
        original: every customer's segment, ``0 .. n_segments - 1``.
        refit: every customer's refit cluster (``0 ..``); read only where ``in_resample``.
        in_resample: whether each customer was drawn (at least once).
        n_segments: the number of original segments.

    Returns:
        One value in [0, 1] per segment ``0 .. n_segments - 1``; NaN for a segment with no
        customer in the resample.
    """
    drawn = np.asarray(in_resample, dtype=bool)
    old = np.asarray(original, dtype=np.int64)[drawn]
    new = np.asarray(refit, dtype=np.int64)[drawn]
    if old.size == 0:
        return np.full(n_segments, np.nan)
    clusters = int(new.max()) + 1
    both = np.bincount(old * clusters + new, minlength=n_segments * clusters).reshape(
        n_segments, clusters
    )
    sizes = both.sum(axis=1)
    union = sizes[:, None] + both.sum(axis=0)[None, :] - both
    with np.errstate(invalid="ignore", divide="ignore"):
        jaccard = np.where(union > 0, both / np.where(union > 0, union, 1), 0.0)
    return np.where(sizes > 0, jaccard.max(axis=1), np.nan)


def stability_label(jaccard: float, thresholds: Mapping[str, float]) -> str | None:
    """The reading of a mean Jaccard similarity: the label with the highest lower bound that
    ``jaccard`` reaches (``None`` for NaN, a segment never resampled).

    Args:
        jaccard: a segment's mean Jaccard similarity.
        thresholds: label -> the lowest mean Jaccard that earns it, e.g. Hennig's
            ``{"highly stable": 0.85, "stable": 0.75, "a pattern": 0.6, "weak": 0.5,
            "dissolved": 0.0}``.
    """
    if np.isnan(jaccard):
        return None
    reached = [(bound, label) for label, bound in thresholds.items() if jaccard >= bound]
    return max(reached)[1]


def segment_stability(
    scaled: np.ndarray,
    labels: np.ndarray,
    k: int,
    settings: KMeansSettings,
    *,
    resamples: int,
    n_init: int | None,
    seed: int,
    thresholds: Mapping[str, float],
    dissolution: float,
    recovery: float,
) -> pd.DataFrame:
    """Each segment's bootstrap stability (Hennig's cluster-wise Jaccard bootstrap).

    ``resamples`` times, a bootstrap resample of the customers (drawn with replacement from
    ``np.random.default_rng(seed)``; on a large table the node passes a seeded sample) is
    clustered again by K-Means with ``k`` and ``settings`` (``n_init`` starts, a seed drawn from
    the same generator), and each segment gets the Jaccard similarity of its best matching
    refit cluster (:func:`max_jaccard`).

    Args:
        scaled: the model's scaled features, one row per customer.
        labels: each customer's segment, ``0 .. k - 1``.
        k: the model's number of segments.
        settings: the model's K-Means parameters (algorithm, batch size).
        resamples: bootstrap resamples B.
        n_init: k-means++ starts per refit; ``None``: the model's own. Fewer starts than the
            model had add k-means++'s local optima to what is measured.
        seed: seeds the resamples.
        thresholds: label -> the lowest mean Jaccard that earns it (:func:`stability_label`).
        dissolution: a resample dissolves a segment at a Jaccard of at most this (0.5).
        recovery: a resample recovers a segment at a Jaccard above this (0.75).

    Returns:
        One row per segment: ``segment``, ``stability_jaccard`` (mean over the resamples that
        hold it) and ``stability_jaccard_se``, ``stability_dissolved`` and
        ``stability_recovered`` (shares of those resamples), ``stability_label``,
        ``stability_resamples`` (B), ``stability_skipped`` (resamples without the segment),
        ``stability_rows`` (customers used).

    Raises:
        ValueError: labels and rows differ in number, or a label is outside ``0 .. k - 1``.
    """
    scaled, labels = _checked(scaled, labels, k)
    starts = settings.n_init if n_init is None else n_init
    scores = _bootstrap(scaled, labels, k, settings, resamples, starts, seed)
    table = summarise(scores, dissolution, recovery, thresholds)
    table["stability_rows"] = len(scaled)
    shown = table[["segment", "stability_jaccard", "stability_label"]].itertuples(index=False)
    logger.info(
        "Segment stability over %d bootstrap resamples of %d customers (k=%d): %s",
        resamples,
        len(scaled),
        k,
        ", ".join(f"{s} {j:.2f} ({label})" for s, j, label in shown),
    )
    return table[COLUMNS]


def _checked(scaled: np.ndarray, labels: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The features as float64 and the labels as int64, refused if they do not fit k."""
    scaled, labels = np.asarray(scaled, dtype="float64"), np.asarray(labels)
    if len(labels) != len(scaled):
        raise ValueError(f"{len(labels)} labels for {len(scaled)} rows of features")
    if len(labels) and (labels.min() < 0 or labels.max() >= k):
        raise ValueError(f"segments must be 0..{k - 1}; got {labels.min()}..{labels.max()}")
    return scaled, labels.astype(np.int64)


def _bootstrap(
    points: np.ndarray,
    segments: np.ndarray,
    k: int,
    settings: KMeansSettings,
    resamples: int,
    n_init: int,
    seed: int,
) -> np.ndarray:
    """Each segment's best Jaccard in each of ``resamples`` bootstrap refits (resamples x
    segments; NaN where a resample holds none of the segment's customers).
    """
    rows = len(points)
    scores = np.full((resamples, k), np.nan)
    refit = np.empty(rows, dtype=np.int64)
    # fit_kmeans sizes the threads to the resample: one OpenMP thread on a few thousand rows,
    # where scikit-learn's threads cost more than they save (same labels; 2,212 rows x 7, k=6,
    # 2 busy cores: 8 ms a refit, not 47-86).
    for b, (drawn, refit_seed) in enumerate(bootstrap(rows, resamples, seed)):
        model = fit_kmeans(k, settings, points[drawn], n_init=n_init, random_state=refit_seed)
        in_resample = np.zeros(rows, dtype=bool)
        in_resample[drawn] = True
        refit[drawn] = model.labels_
        scores[b] = max_jaccard(segments, refit, in_resample, k)
    return scores


def summarise(
    scores: np.ndarray, dissolution: float, recovery: float, thresholds: Mapping[str, float]
) -> pd.DataFrame:
    """The per-segment table from the resamples' Jaccard values (resamples x segments; NaN
    where a resample holds no customer of the segment): the columns of
    :func:`segment_stability` but ``stability_rows``.
    """
    seen = ~np.isnan(scores)
    counted = seen.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.nansum(scores, axis=0) / counted
        spread = np.sqrt(np.nansum((scores - mean) ** 2, axis=0) / (counted - 1))
        se = spread / np.sqrt(counted)
        dissolved = (seen & (scores <= dissolution)).sum(axis=0) / counted
        recovered = (seen & (scores > recovery)).sum(axis=0) / counted
    mean = np.where(counted > 0, mean, np.nan)
    return pd.DataFrame(
        {
            "segment": np.arange(scores.shape[1]),
            "stability_jaccard": mean,
            "stability_jaccard_se": np.where(counted > 1, se, np.nan),
            "stability_dissolved": np.where(counted > 0, dissolved, np.nan),
            "stability_recovered": np.where(counted > 0, recovered, np.nan),
            "stability_label": [stability_label(float(m), thresholds) for m in mean],
            "stability_resamples": scores.shape[0],
            "stability_skipped": scores.shape[0] - counted,
        }
    )


def reading(thresholds: Mapping[str, float]) -> str:
    """Hennig's reading of a mean Jaccard from the labels' thresholds, e.g. "0.85 and above
    highly stable, 0.75 stable, 0.6 a pattern, 0.5 weak, below that dissolved".
    """
    bounds = sorted(thresholds.items(), key=lambda item: item[1], reverse=True)
    parts = [
        f"{bound:g}{' and above' if i == 0 else ''} {label}"
        for i, (label, bound) in enumerate(bounds[:-1])
    ]
    return ", ".join([*parts, f"below that {bounds[-1][0]}"])


def how_to_read(profiles: pd.DataFrame, thresholds: Mapping[str, float]) -> str:
    """How the segments' stability was measured (B resamples of N customers, from the
    ``segment_profiles``' stability columns) and how to read it (:func:`reading`): the report's
    words and the app's.
    """
    first = profiles.iloc[0]
    return (
        "Each segment's mean Jaccard similarity with its best match among K-Means refits on "
        f"{int(first['stability_resamples'])} bootstrap resamples of "
        f"{int(first['stability_rows']):,} customers (Hennig's cluster-wise bootstrap, as R's "
        "fpc::clusterboot), with its standard error and the share of resamples in which the "
        "segment dissolved. Reading (clustering.segment_stability.thresholds): "
        f"{reading(thresholds)}."
    )
