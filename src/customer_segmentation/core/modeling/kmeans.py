"""K-Means as the project fits it: estimators from parameters, threads sized to the work,
stable segment numbers, the start from the k sweep's centres, and the final fit on all customers.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import narwhals as nw
import numpy as np
import pandas as pd
from sklearn.cluster import KMeans, MiniBatchKMeans
from sklearn.preprocessing import StandardScaler
from sklearn.utils._openmp_helpers import _openmp_effective_n_threads

from customer_segmentation import schema
from customer_segmentation.core import engine, scoring
from customer_segmentation.core.modeling.threads import sized_threads
from customer_segmentation.core.segments import order_segments

logger = logging.getLogger(__name__)


class KMeansSettings(Protocol):
    """What a K-Means estimator is made from (``model_selection`` and ``clustering`` both
    have these parameters).
    """

    algorithm: Literal["kmeans", "minibatch"]
    n_init: int
    random_state: int
    batch_size: int


def make_kmeans(
    n_clusters: int,
    settings: KMeansSettings,
    init: np.ndarray | None = None,
    *,
    n_init: int | None = None,
    random_state: int | None = None,
) -> KMeans | MiniBatchKMeans:
    """A K-Means estimator as the parameters say: ``algorithm`` (``kmeans`` or
    ``minibatch``), ``n_init``, ``random_state``, ``batch_size``.

    ``init``: starting centres (one run from them, instead of ``n_init`` k-means++ starts).
    ``n_init``, ``random_state``: override the parameters' (bootstrap refits).
    """
    common = {
        "n_clusters": int(n_clusters),
        "n_init": int(settings.n_init if n_init is None else n_init),
        "random_state": int(settings.random_state if random_state is None else random_state),
    }
    if init is not None:
        common.update(init=np.asarray(init, dtype="float64"), n_init=1)
    if settings.algorithm == "kmeans":
        return KMeans(**common)
    return MiniBatchKMeans(batch_size=int(settings.batch_size), **common)


def fit_kmeans(
    n_clusters: int,
    settings: KMeansSettings,
    data: np.ndarray | pd.DataFrame,
    init: np.ndarray | None = None,
    **overrides: int,
) -> KMeans | MiniBatchKMeans:
    """``make_kmeans(n_clusters, settings, init, **overrides).fit(data)`` on the OpenMP threads
    the data's size calls for, with BLAS held to one thread (``threads.sized_threads``).

    scikit-learn's K-Means runs its own OpenMP threads; OpenBLAS's threads (the k-means++
    distances) spin-wait beside them and the two pools fight for the cores (scikit-learn
    issue #17334; measured in ``benchmarks/README.md``). On a few thousand rows (the bootstrap
    refits) one OpenMP thread is faster than two. The result is the same: only the threading
    changes.
    """
    rows, features = np.shape(data)
    with sized_threads(rows, features):
        return make_kmeans(n_clusters, settings, init, **overrides).fit(data)


def sweep_start(sweep_centres: pd.DataFrame, k: int, columns: list[str]) -> pd.DataFrame | None:
    """The sweep's centres for ``k`` (features' units), or ``None`` if it has none for k.

    Raises:
        ValueError: the sweep was fitted on other features.
    """
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


def describe_start(model: KMeans | MiniBatchKMeans) -> str:
    """How the fitted model was started, in words (for the log and the model card)."""
    if hasattr(model, "start_"):
        return str(model.start_)
    if isinstance(model.init, np.ndarray):
        return "the k sweep's centres for this k"
    return f"the best of {model.n_init} k-means++ starts"


@dataclass(frozen=True)
class Segmentation:
    """The final fit: scaler, K-Means (segments numbered by spending) and every customer's
    segment with distance, runner-up and margin (``scoring.score_frame``), a native frame.
    """

    scaler: StandardScaler
    model: KMeans
    segments: Any


class FitSettings(KMeansSettings, Protocol):
    """The ``clustering`` parameters the final fit reads."""

    features: list[str]
    init: Literal["sweep", "k-means++"]
    start_sample_size: int
    max_iter: int
    tol: float


def lloyd(
    scaled: nw.LazyFrame, names: list[str], centres: np.ndarray, max_iter: int, tol: float
) -> tuple[np.ndarray, int]:
    """Lloyd's iterations as engine aggregations: each row to its nearest centre, each centre
    to the mean of its rows, until the centres move less than ``tol`` (scikit-learn's
    criterion: the squared shift summed over centres, relative to the mean variance of the
    scaled features) or ``max_iter`` rounds. A centre that loses all its rows stays where it
    is.

    Args:
        scaled: the scaled features as ``_scaled_<feature>`` columns.

    Returns:
        The centres and the number of rounds run.
    """
    variances = engine.first_row(
        scaled.select(**{n: nw.col(scoring.scaled_name(n)).var(ddof=0) for n in names})
    )
    tolerance = tol * float(np.mean([variances[n] for n in names]))
    centres = np.array(centres, dtype="float64")
    rounds = 0
    for rounds in range(1, max_iter + 1):  # noqa: B007 - the last round is reported
        assigned = scoring.assign(
            scaled.with_columns(**scoring.distance_columns(names, centres)), len(centres)
        )
        means = engine.rows(
            assigned.group_by("segment").agg(
                **{n: nw.col(scoring.scaled_name(n)).mean() for n in names}
            )
        )
        moved = centres.copy()
        for row in means:
            moved[int(row["segment"])] = [row[n] for n in names]
        shift = float(((moved - centres) ** 2).sum())
        centres = moved
        if shift <= tolerance:
            break
    return centres, rounds


def fit_segmentation(
    features: Any,
    k: int,
    settings: FitSettings,
    sweep_centres: pd.DataFrame,
) -> Segmentation:
    """Fit the scaler and K-Means on all customers and give every customer a segment, inside
    the engine (Polars locally, Spark with ``--env spark``).

    The scaler's means and variances are aggregates of all rows. K-Means starts from the
    sweep's centres for ``k`` (``init: sweep``) or, with ``k-means++`` or when the sweep has
    none for k, from the best of ``n_init`` k-means++ starts on a seeded sample of
    ``start_sample_size`` rows (``engine.sample``), and refines on all rows with Lloyd's
    iterations written as engine aggregations (:func:`lloyd`): no row leaves the engine, and
    the same arithmetic runs on every engine. Segments are numbered by mean
    ``Total_Spending``, highest first (segment 0; ties by ``Income``).

    Args:
        features: a native frame with ``ID``, ``Total_Spending``, ``Income`` and
            ``settings.features``; its ``customer_key``, when it has one, is kept in the
            segments.
        k: the number of segments (decided once, in ``k_selection``).
        settings: the ``clustering`` parameters.
        sweep_centres: the sweep's centres per k, in the features' units.

    Raises:
        ValueError: fewer customers than segments; the sweep used other features.
    """
    columns = list(settings.features)
    frame = engine.lazy(features)
    keys = [c for c in (schema.ID, schema.CUSTOMER_KEY) if c in frame.collect_schema().names()]
    frame = frame.select(*dict.fromkeys([*keys, *columns, "Total_Spending", "Income"]))
    scaler = scoring.fit_scaler(frame, columns)
    rows = int(scaler.n_samples_seen_)
    if rows < k:
        raise ValueError(f"{rows} customers cannot make {k} segments")
    scaled = engine.cache(
        scoring.scale(frame, scaler, columns).select(
            *keys, "Total_Spending", "Income", *(scoring.scaled_name(c) for c in columns)
        )
    )
    centres, how = _start(frame, scaler, k, settings, sweep_centres)
    initial = np.array(centres, dtype="float64")
    centres, rounds = lloyd(scaled, columns, initial, settings.max_iter, settings.tol)
    order = _by_spending(scaled, columns, centres)
    model = _kmeans(k, centres[order], initial, settings, how, rounds, columns)
    scored = scoring.nearest(
        scaled.with_columns(**scoring.distance_columns(columns, model.cluster_centers_)), k
    )
    model.inertia_ = float(
        engine.first_row(scored.select(inertia=(nw.col("distance") ** 2).sum()))["inertia"]
    )
    segments = engine.native(scored.select(*keys, *scoring.SCORE_COLUMNS).sort(schema.ID))
    logger.info(
        "Fitted K-Means with k=%d on %d customers in %d Lloyd rounds, starting from %s",
        k,
        rows,
        rounds,
        how,
    )
    return Segmentation(scaler=scaler, model=model, segments=segments)


def _start(
    frame: nw.LazyFrame,
    scaler: StandardScaler,
    k: int,
    settings: FitSettings,
    sweep_centres: pd.DataFrame,
) -> tuple[np.ndarray, str]:
    """Where the final fit starts (scaled centres) and how that start was made, in words."""
    columns = list(settings.features)
    start = sweep_start(sweep_centres, k, columns) if settings.init == "sweep" else None
    if start is not None:
        return scoring.scaled_matrix(engine.lazy(start), scaler, columns), (
            "the k sweep's centres for this k"
        )
    sample = engine.sample(frame, settings.start_sample_size, settings.random_state, schema.ID)
    drawn = scoring.scaled_matrix(sample, scaler, columns)
    first = fit_kmeans(k, settings, drawn)
    how = (
        f"the best of {first.n_init} k-means++ starts ({type(first).__name__}) on a sample of "
        f"{len(drawn):,} rows"
    )
    return first.cluster_centers_, how


def _by_spending(scaled: nw.LazyFrame, columns: list[str], centres: np.ndarray) -> np.ndarray:
    """The order of the centres by their customers' mean ``Total_Spending``, highest first
    (ties by mean ``Income``; a centre without customers last).
    """
    assigned = scoring.assign(
        scaled.with_columns(**scoring.distance_columns(columns, centres)), len(centres)
    )
    means = {
        int(r["segment"]): r
        for r in engine.rows(
            assigned.group_by("segment").agg(
                spend=nw.col("Total_Spending").cast(nw.Float64).mean(),
                income=nw.col("Income").mean(),
            )
        )
    }
    labels = np.array(sorted(means), dtype="int64")
    perm = order_segments(
        labels,
        np.array([means[s]["spend"] for s in labels]),
        np.array([means[s]["income"] for s in labels]),
    )
    empty = [s for s in range(len(centres)) if s not in means]
    return np.array([*perm, *empty], dtype="int64")


def _kmeans(
    k: int,
    centres: np.ndarray,
    initial: np.ndarray,
    settings: FitSettings,
    how: str,
    rounds: int,
    columns: list[str],
) -> KMeans:
    """A fitted scikit-learn ``KMeans`` holding the engine's centres: ``predict`` and
    ``transform`` work, and it is saved as the same skops artifact whatever the engine.
    ``init`` holds the centres it started from (before Lloyd's iterations and numbering).
    ``labels_`` is not kept (every customer's segment is in ``customer_segments``).
    """
    model = KMeans(
        n_clusters=k,
        init=initial,
        n_init=1,
        max_iter=settings.max_iter,
        tol=settings.tol,
        random_state=settings.random_state,
    )
    model.cluster_centers_ = np.ascontiguousarray(centres, dtype="float64")
    model.n_features_in_ = len(columns)
    model.feature_names_in_ = np.asarray(columns, dtype=object)
    model.n_iter_ = int(rounds)
    model._n_threads = _openmp_effective_n_threads()
    model._n_features_out = k
    model.start_ = how
    return model
