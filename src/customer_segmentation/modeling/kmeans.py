"""K-Means as the project fits it: estimators from parameters, BLAS held to one thread, stable
segment numbers, the start from the k sweep's centres, and the final fit on all customers.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import cache
from typing import Literal, Protocol

import numpy as np
import pandas as pd
from sklearn.cluster import KMeans, MiniBatchKMeans
from sklearn.preprocessing import StandardScaler
from threadpoolctl import ThreadpoolController

from customer_segmentation import schema
from customer_segmentation.modeling.sampling import in_id_order
from customer_segmentation.scoring import segments_of
from customer_segmentation.segments import order_segments

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
    """``make_kmeans(n_clusters, settings, init, **overrides).fit(data)`` with BLAS held to
    one thread.

    scikit-learn's K-Means runs its own OpenMP threads; OpenBLAS's threads (the k-means++
    distances) spin-wait beside them and the two pools fight for the cores (scikit-learn
    issue #17334; measured in ``benchmarks/README.md``). The result is the same: only the
    threading changes.
    """
    with _thread_pools().limit(limits=1, user_api="blas"):
        return make_kmeans(n_clusters, settings, init, **overrides).fit(data)


@cache
def _thread_pools() -> ThreadpoolController:
    """The process's thread pools, found once: ``threadpool_limits`` searches the loaded
    libraries on every call.
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
    if isinstance(model.init, np.ndarray):
        return "the k sweep's centres for this k"
    return f"the best of {model.n_init} k-means++ starts"


@dataclass(frozen=True)
class Segmentation:
    """The final fit: scaler, K-Means (segments numbered by spending) and every customer's
    segment with distance, runner-up and margin (``scoring.segment_table``).
    """

    scaler: StandardScaler
    model: KMeans | MiniBatchKMeans
    segments: pd.DataFrame


class FitSettings(KMeansSettings, Protocol):
    """The ``clustering`` parameters the final fit reads."""

    features: list[str]
    init: Literal["sweep", "k-means++"]


def fit_segmentation(
    features: pd.DataFrame,
    k: int,
    settings: FitSettings,
    sweep_centres: pd.DataFrame,
) -> Segmentation:
    """Fit the scaler and K-Means on all customers and give every customer a segment.

    Rows are ordered by ``ID`` first, so the input order does not matter; segments are
    numbered by mean ``Total_Spending``, highest first (segment 0). With ``init: sweep``
    K-Means starts from the sweep's centres for ``k`` and runs on all rows until it converges;
    with ``k-means++``, or when the sweep has no centres for k, it makes ``n_init`` k-means++
    starts.

    Args:
        features: needs ``ID``, ``Total_Spending``, ``Income`` and ``settings.features``.
        k: the number of segments (decided once, in ``k_selection``).
        settings: the ``clustering`` parameters.
        sweep_centres: the sweep's centres per k, in the features' units.

    Raises:
        ValueError: fewer customers than segments; the sweep used other features.
    """
    columns = list(settings.features)
    needed = list(dict.fromkeys([schema.ID, *columns, "Total_Spending", "Income"]))
    table = in_id_order(features[needed], schema.ID)
    if len(table) < k:
        raise ValueError(f"{len(table)} customers cannot make {k} segments")
    values = table[columns].astype("float64")
    scaler = StandardScaler().fit(values)
    scaled = scaler.transform(values)
    del values
    start = sweep_start(sweep_centres, k, columns) if settings.init == "sweep" else None
    model = fit_kmeans(
        k,
        settings,
        pd.DataFrame(scaled, columns=columns),
        init=None if start is None else scaler.transform(start),
    )
    renumber_by_spending(model, table["Total_Spending"].to_numpy(), table["Income"].to_numpy())
    # The scaled rows are those score_customers would scale again: measure them directly.
    segments = segments_of(table[schema.ID].to_numpy(), scaled, model.cluster_centers_)
    logger.info(
        "Fitted %s with k=%d on %d customers, starting from %s",
        type(model).__name__,
        k,
        len(table),
        describe_start(model),
    )
    return Segmentation(scaler=scaler, model=model, segments=segments)
