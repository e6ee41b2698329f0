"""Scoring customers with a fitted scaler and K-Means model: shared by the pipeline, the app
and the benchmark.

The score of a customer (nearest centre, distance, runner-up, margin) is engine arithmetic on
narwhals expressions, no Python function per row: the same definition scores the training
table on Polars or Spark, an uploaded file and the app's one customer. :func:`explain` (which
features pulled one customer into its segment) works on that one customer in NumPy.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import narwhals as nw
import numpy as np
import pandas as pd
from sklearn.base import TransformerMixin
from sklearn.cluster import KMeans

from customer_segmentation import schema
from customer_segmentation.core import engine

SCORE_COLUMNS = ("segment", "distance", "runner_up", "runner_up_distance", "margin")
# The smallest own distance a margin divides by (a customer exactly on a centre).
_EPSILON = 1e-12


def model_features(model: KMeans) -> list[str]:
    """The feature names, in order, that the model was fitted on."""
    return [str(name) for name in model.feature_names_in_]


def _check_features(present: Sequence[str], names: Sequence[str]) -> None:
    missing = [c for c in names if c not in present]
    if missing:
        raise KeyError(f"features missing for scoring: {', '.join(missing)}")


def scaled_columns(names: Sequence[str], mean: np.ndarray, scale: np.ndarray) -> dict[str, nw.Expr]:
    """``_scaled_<feature>``: each feature standardised as ``StandardScaler.transform`` does
    (minus the mean, over the scale).
    """
    return {
        f"_scaled_{name}": (nw.col(name).cast(nw.Float64) - float(m)) / float(s)
        for name, m, s in zip(names, mean, scale, strict=True)
    }


def distance_columns(names: Sequence[str], centers: np.ndarray) -> dict[str, nw.Expr]:
    """``_d<k>``: the Euclidean distance of each row's scaled features (``_scaled_<feature>``)
    to centre k, summed feature by feature in a fixed order (the same on every engine).
    """
    out = {}
    for k, centre in enumerate(np.asarray(centers, dtype="float64")):
        total = None
        for name, c in zip(names, centre, strict=True):
            term = (nw.col(f"_scaled_{name}") - float(c)) ** 2
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


def score_frame(
    features: nw.LazyFrame, scaler: TransformerMixin, model: KMeans, keep: Sequence[str] = ()
) -> nw.LazyFrame:
    """Segment of every customer, with how clearly it belongs (see :func:`nearest`).

    Args:
        features: needs ``ID`` and the model's features (see :func:`model_features`).
        keep: other columns of ``features`` to keep beside the score.

    Returns:
        ``ID``, ``keep``, ``segment``, ``distance``, ``runner_up``, ``runner_up_distance``,
        ``margin``; rows in the order of ``features``.

    Raises:
        KeyError: a feature the model was fitted on is not in ``features``.
    """
    names = model_features(model)
    _check_features(features.collect_schema().names(), names)
    centers = model.cluster_centers_
    frame = features.select(
        nw.col(schema.ID),
        *(nw.col(c) for c in keep if c != schema.ID),
        **scaled_columns(names, scaler.mean_, scaler.scale_),
    )
    frame = nearest(frame.with_columns(**distance_columns(names, centers)), len(centers))
    return frame.select(schema.ID, *(c for c in keep if c != schema.ID), *SCORE_COLUMNS)


def score_customers(features: Any, scaler: TransformerMixin, model: KMeans) -> pd.DataFrame:
    """:func:`score_frame` of a small native table (the app's customers), as pandas."""
    return engine.to_pandas(score_frame(engine.lazy(features), scaler, model))


def scale_features(features: pd.DataFrame, scaler: TransformerMixin, model: KMeans) -> np.ndarray:
    """The model's features of every row of a small pandas table, scaled (rows x features).

    Raises:
        KeyError: a feature the model was fitted on is not in ``features``.
    """
    names = model_features(model)
    _check_features(list(features.columns), names)
    return np.asarray(scaler.transform(features[names].astype("float64")), dtype="float64")


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
    one = features.iloc[[row]]
    scored = score_customers(one, scaler, model).iloc[0]
    own, runner = int(scored["segment"]), int(scored["runner_up"])
    centers = model.cluster_centers_
    x = scale_features(one, scaler, model)[0]
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
