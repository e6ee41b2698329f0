"""Scaling and scoring customers with a fitted scaler and K-Means model: the one home of the
scaling formula and of the distances, for the pipeline, the app and the benchmark.

Everything is engine arithmetic on narwhals expressions, no Python function per row: the same
definition scales and scores the training table on Polars or Spark, an uploaded file, a seeded
sample that scikit-learn reads (:func:`scaled_matrix`) and the app's one customer. The score of
a customer (nearest centre, distance, runner-up, margin) keeps, on request, the scaled values
and the squared distance of each feature to each centre it was computed from
(``detail=True``): :func:`explain` reads them, it computes nothing again.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import narwhals as nw
import numpy as np
import pandas as pd
from sklearn.base import TransformerMixin
from sklearn.cluster import KMeans
from sklearn.preprocessing import StandardScaler

from customer_segmentation import schema
from customer_segmentation.core import engine

SCORE_COLUMNS = ("segment", "distance", "runner_up", "runner_up_distance", "margin")
# The probability of belonging to the customer's own segment (a version's segment_membership).
MEMBERSHIP = "membership"
# The smallest own distance a margin divides by (a customer exactly on a centre).
_EPSILON = 1e-12


def model_features(model: KMeans) -> list[str]:
    """The feature names, in order, that the model was fitted on."""
    return [str(name) for name in model.feature_names_in_]


def _check_features(present: Sequence[str], names: Sequence[str]) -> None:
    missing = [c for c in names if c not in present]
    if missing:
        raise KeyError(f"features missing for scoring: {', '.join(missing)}")


def scaled_name(feature: str) -> str:
    """The column holding ``feature`` standardised (:func:`scale`)."""
    return f"_scaled_{feature}"


def term_name(centre: int, feature: str) -> str:
    """The column holding the squared distance of ``feature`` to centre ``centre``."""
    return f"_t{centre}_{feature}"


def scaled_columns(names: Sequence[str], mean: np.ndarray, scale: np.ndarray) -> dict[str, nw.Expr]:
    """The scaling formula: each feature minus its mean, over its scale (what
    ``StandardScaler.transform`` computes), as ``_scaled_<feature>`` columns.
    """
    return {
        scaled_name(name): (nw.col(name).cast(nw.Float64) - float(m)) / float(s)
        for name, m, s in zip(names, mean, scale, strict=True)
    }


def scale(frame: nw.LazyFrame, scaler: TransformerMixin, names: Sequence[str]) -> nw.LazyFrame:
    """``frame`` with its ``names`` standardised by ``scaler`` (:func:`scaled_columns`).

    Raises:
        KeyError: a feature is not in ``frame``.
    """
    _check_features(frame.collect_schema().names(), names)
    return frame.with_columns(**scaled_columns(names, scaler.mean_, scaler.scale_))


def fit_scaler(frame: nw.LazyFrame, columns: Sequence[str]) -> StandardScaler:
    """A ``StandardScaler`` fitted in the engine on every row of ``frame``: the means and
    population variances are aggregates (the object ``StandardScaler().fit`` makes; a zero
    variance scales by 1, as scikit-learn does).
    """
    columns = list(columns)
    stats = engine.first_row(
        frame.select(
            _rows=nw.len(),
            **{f"mean_{c}": nw.col(c).cast(nw.Float64).mean() for c in columns},
            **{f"var_{c}": nw.col(c).cast(nw.Float64).var(ddof=0) for c in columns},
        )
    )
    scaler = StandardScaler()
    scaler.mean_ = np.array([stats[f"mean_{c}"] for c in columns], dtype="float64")
    scaler.var_ = np.array([stats[f"var_{c}"] for c in columns], dtype="float64")
    spread = np.sqrt(scaler.var_)
    scaler.scale_ = np.where(spread < 10 * np.finfo("float64").eps, 1.0, spread)
    scaler.n_features_in_ = len(columns)
    scaler.feature_names_in_ = np.asarray(columns, dtype=object)
    scaler.n_samples_seen_ = int(stats["_rows"])
    return scaler


def scaled_matrix(
    frame: nw.LazyFrame, scaler: TransformerMixin, names: Sequence[str]
) -> np.ndarray:
    """``frame``'s ``names`` scaled (:func:`scale`) and gathered as a rows x features matrix,
    for what scikit-learn fits or measures on a small table (a seeded sample, centres).
    """
    scaled = scale(frame, scaler, names).select(*(scaled_name(n) for n in names))
    return engine.to_numpy(scaled, [scaled_name(n) for n in names])


def unscaled(centres: np.ndarray, scaler: TransformerMixin) -> np.ndarray:
    """Centres in scaled units back in the features' own units (the inverse of the scaling)."""
    return np.asarray(scaler.inverse_transform(np.asarray(centres, dtype="float64")))


def squared_terms(names: Sequence[str], centers: np.ndarray) -> dict[str, nw.Expr]:
    """``_t<k>_<feature>``: the squared distance of each row's scaled feature to centre k."""
    return {
        term_name(k, name): (nw.col(scaled_name(name)) - float(c)) ** 2
        for k, centre in enumerate(np.asarray(centers, dtype="float64"))
        for name, c in zip(names, centre, strict=True)
    }


def distance_columns(names: Sequence[str], centers: np.ndarray) -> dict[str, nw.Expr]:
    """``_d<k>``: the Euclidean distance of each row's scaled features to centre k, the
    :func:`squared_terms` summed feature by feature in a fixed order (the same on every engine).
    """
    terms = squared_terms(names, centers)
    out = {}
    for k in range(len(centers)):
        total = None
        for name in names:
            term = terms[term_name(k, name)]
            total = term if total is None else total + term
        out[f"_d{k}"] = total.sqrt()
    return out


def _first_equal(candidates: list[nw.Expr], target: nw.Expr) -> nw.Expr:
    """The lowest k whose ``candidates[k]`` equals ``target`` (ties: lower number first)."""
    found = nw.lit(len(candidates) - 1, dtype=nw.Int64)
    for k in reversed(range(len(candidates) - 1)):
        found = nw.when(candidates[k] == target).then(nw.lit(k, dtype=nw.Int64)).otherwise(found)
    return found


def assign(frame: nw.LazyFrame, n_centres: int) -> nw.LazyFrame:
    """``frame`` with ``_d0..`` distances gets ``segment`` (the nearest centre; ties: lower
    number first) and ``distance``.
    """
    d = [nw.col(f"_d{k}") for k in range(n_centres)]
    frame = frame.with_columns(distance=nw.min_horizontal(*d) if n_centres > 1 else d[0])
    return frame.with_columns(segment=_first_equal(d, nw.col("distance")))


def nearest(frame: nw.LazyFrame, n_centres: int) -> nw.LazyFrame:
    """``frame`` with ``_d0..`` distances gets ``segment`` and ``distance`` (the nearest
    centre), ``runner_up`` and ``runner_up_distance`` (the next nearest; one centre is its own
    runner-up) and ``margin``: the runner-up's distance over the own distance minus one
    (0 = on the border, larger = clearer).
    """
    d = [nw.col(f"_d{k}") for k in range(n_centres)]
    frame = assign(frame, n_centres)
    if n_centres == 1:
        frame = frame.with_columns(
            runner_up=nw.col("segment"), runner_up_distance=nw.col("distance")
        )
    else:
        others = [
            nw.when(nw.col("segment") == k).then(float("inf")).otherwise(d[k])
            for k in range(n_centres)
        ]
        frame = frame.with_columns(
            **{f"_o{k}": other for k, other in enumerate(others)}
        ).with_columns(
            runner_up_distance=nw.min_horizontal(*(nw.col(f"_o{k}") for k in range(n_centres)))
        )
        frame = frame.with_columns(
            runner_up=_first_equal(
                [nw.col(f"_o{k}") for k in range(n_centres)], nw.col("runner_up_distance")
            )
        )
    own = nw.col("distance")
    floor = nw.when(own > _EPSILON).then(own).otherwise(_EPSILON)
    return frame.with_columns(margin=nw.col("runner_up_distance") / floor - 1.0)


def _log_density(names: Sequence[str], gaussians: Mapping[str, Any], c: int) -> nw.Expr:
    """The log of weight x density of component ``c`` at the ``_scaled_`` columns."""
    mean = np.asarray(gaussians["means"][c])
    factor = np.asarray(gaussians["precisions_cholesky"][c])
    d = len(names)
    centred = [nw.col(scaled_name(n)) - float(mean[i]) for i, n in enumerate(names)]
    projected = [
        nw.sum_horizontal(*(centred[i] * float(factor[i, j]) for i in range(d))) for j in range(d)
    ]
    constant = (
        math.log(gaussians["weights"][c])
        + float(np.log(np.diag(factor)).sum())
        - 0.5 * d * math.log(2 * math.pi)
    )
    return constant - 0.5 * nw.sum_horizontal(*(p * p for p in projected))


def membership(frame: nw.LazyFrame, gaussians: Mapping[str, Any], segment: str) -> nw.LazyFrame:
    """``frame`` (with the ``_scaled_`` columns of the mixture's features and ``segment``)
    with :data:`MEMBERSHIP`: the posterior probability of the customer's own segment under one
    Gaussian per segment (``modeling.membership.fit_gaussians``: the log density of component
    ``c`` is ``log w_c + sum(log diag L_c) - d/2 log(2 pi) - |(x - m_c) L_c|^2 / 2``), in the
    engine.
    """
    names = gaussians["features"]
    components = range(len(gaussians["segments"]))
    logs = {f"_lp{c}": _log_density(names, gaussians, c) for c in components}
    frame = frame.with_columns(**logs).with_columns(
        _lpmax=nw.max_horizontal(*(nw.col(f"_lp{c}") for c in components))
    )
    shifted = {f"_e{c}": (nw.col(f"_lp{c}") - nw.col("_lpmax")).exp() for c in components}
    frame = frame.with_columns(**shifted)
    total = nw.sum_horizontal(*(nw.col(f"_e{c}") for c in components))
    own = nw.lit(None, dtype=nw.Float64)
    for c, label in zip(components, gaussians["segments"], strict=True):
        own = nw.when(nw.col(segment) == label).then(nw.col(f"_e{c}")).otherwise(own)
    temporary = [*logs, "_lpmax", *shifted]
    return frame.with_columns(**{MEMBERSHIP: own / total}).drop(temporary)


def score_frame(
    features: nw.LazyFrame,
    scaler: TransformerMixin,
    model: KMeans,
    keep: Sequence[str] = (),
    *,
    detail: bool = False,
    gaussians: Mapping[str, Any] | None = None,
) -> nw.LazyFrame:
    """Segment of every customer, with how clearly it belongs (see :func:`nearest`) and, given
    the version's ``gaussians`` (``segment_membership``), its probability of belonging
    (:func:`membership`).

    Args:
        features: needs ``ID`` and the model's features (see :func:`model_features`).
        keep: other columns of ``features`` to keep beside the score.
        detail: keep the scaled features (``_scaled_<feature>``) and each feature's squared
            distance to each centre (``_t<k>_<feature>``) the score was computed from.

    Returns:
        ``ID``, ``keep``, ``segment``, ``distance``, ``runner_up``, ``runner_up_distance``,
        ``margin`` (``membership`` with ``gaussians``; and the detail); rows in the order of
        ``features``.

    Raises:
        KeyError: a feature the model was fitted on is not in ``features``.
    """
    names = model_features(model)
    centers = model.cluster_centers_
    kept = [c for c in dict.fromkeys(keep) if c != schema.ID]
    frame = scale(features, scaler, names).select(
        schema.ID, *kept, *(scaled_name(n) for n in names)
    )
    if detail:
        frame = frame.with_columns(**squared_terms(names, centers))
    frame = nearest(frame.with_columns(**distance_columns(names, centers)), len(centers))
    shown = [*SCORE_COLUMNS]
    if gaussians is not None:
        frame = membership(frame, gaussians, "segment")
        shown.append(MEMBERSHIP)
    if detail:
        shown += [scaled_name(n) for n in names] + list(squared_terms(names, centers))
    return frame.select(schema.ID, *kept, *shown)


def score_customers(features: Any, scaler: TransformerMixin, model: KMeans) -> pd.DataFrame:
    """:func:`score_frame` of a small native table (the app's customers), as pandas."""
    return engine.to_pandas(score_frame(engine.lazy(features), scaler, model))


def explain(scored: Mapping[str, Any], model: KMeans) -> pd.DataFrame:
    """Which features pulled one customer into its segment rather than the runner-up, from its
    score (:func:`score_frame` with ``detail``).

    The squared distance to the runner-up minus the squared distance to the own centroid is a
    sum over features; each feature's term is its pull (positive: towards the own segment).

    Args:
        scored: one row of a detailed score (its features' values too), e.g. a dict.

    Returns:
        ``feature``, ``value``, ``scaled``, ``own_centroid``, ``runner_up_centroid``, ``pull``,
        sorted by pull, strongest first.
    """
    own, runner = int(scored["segment"]), int(scored["runner_up"])
    names = model_features(model)
    centres = np.asarray(model.cluster_centers_, dtype="float64")
    table = pd.DataFrame(
        {
            "feature": names,
            "value": [float(scored[n]) for n in names],
            "scaled": [float(scored[scaled_name(n)]) for n in names],
            "own_centroid": centres[own],
            "runner_up_centroid": centres[runner],
            "pull": [
                float(scored[term_name(runner, n)]) - float(scored[term_name(own, n)])
                for n in names
            ],
        }
    )
    return table.sort_values("pull", ascending=False).reset_index(drop=True)
