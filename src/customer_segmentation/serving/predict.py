"""Predict one customer: the Predict page's answer, and the benchmark's single prediction.

The form's customer goes through the data contract's one-row path (``serving.form``), then
through the one scoring path (``serving.score.scored_frame`` with its detail), compiled once per
model version (``engine.Compiled``): features, scaling, distances, segment, runner-up, margin,
name and the features outside the training range. The explanation (which features pulled the
customer into its segment) and the place on the segment map read the scaled values and
distances that score holds; nothing is computed twice.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from customer_segmentation.core import engine, scoring
from customer_segmentation.params import DataProcessingParams
from customer_segmentation.serving.form import check_form
from customer_segmentation.serving.score import OUTSIDE, scored_frame
from customer_segmentation.serving.versions import ModelBundle

OUT_OF_RANGE_COLUMNS = ("feature", "value", "min", "max")


@dataclass(frozen=True)
class Prediction:
    """The segment of one customer and why.

    ``explanation`` is ``scoring.explain``'s table; ``out_of_range`` lists the model features
    whose value lies outside the training range (``feature``, ``value``, ``min``, ``max``);
    ``margin_percentile`` is the share of training customers that belong less clearly (``None``
    when the training margins are not given); ``membership`` is the probability of belonging to
    the segment (``None`` for a version without ``segment_membership``); ``position`` is where the customer sits on the
    model version's PCA map (``None`` without its projection); ``features`` the customer's
    model features.
    """

    segment: int
    name: str
    description: str
    action: str
    distance: float
    runner_up: int
    runner_up_name: str
    runner_up_distance: float
    margin: float
    margin_percentile: float | None
    membership: float | None
    explanation: pd.DataFrame
    out_of_range: pd.DataFrame
    features: pd.DataFrame
    position: tuple[float, float] | None


def _scorer(bundle: ModelBundle) -> engine.Compiled:
    """The one scoring path with its detail, compiled once per model version."""
    return bundle.derived(
        "one_customer_scorer",
        lambda: engine.Compiled(lambda clean: [scored_frame(clean, bundle, detail=True)]),
    )


def score_one(clean: Any, bundle: ModelBundle) -> dict[str, Any]:
    """The detailed score of one clean customer (a one-row Polars table), as a dict."""
    (scored,) = _scorer(bundle)(clean)
    return scored.row(0, named=True)


def out_of_range(row: Mapping[str, Any], card: Mapping[str, Any]) -> pd.DataFrame:
    """The features a scored row flags as outside the training range (``score.OUTSIDE``), with
    their value and the range (:data:`OUT_OF_RANGE_COLUMNS`).
    """
    flagged = [f for f in str(row[OUTSIDE]).split(", ") if f]
    ranges = card["feature_ranges"]
    return pd.DataFrame(
        [(f, float(row[f]), float(ranges[f]["min"]), float(ranges[f]["max"])) for f in flagged],
        columns=list(OUT_OF_RANGE_COLUMNS),
    )


def margin_percentile(margin: float, training_margins: np.ndarray | None) -> float | None:
    """The share of training customers (their sorted margins) that belong less clearly."""
    if training_margins is None or not len(training_margins):
        return None
    return float(np.searchsorted(training_margins, margin, side="left") / len(training_margins))


def predict_customer(
    values: Mapping[str, Any],
    bundle: ModelBundle,
    data_params: DataProcessingParams,
    training_margins: np.ndarray | None = None,
    projection: Any = None,
) -> Prediction:
    """Segment, name, action, explanation and map position for one customer of the form.

    Args:
        values: the form's fields (``serving.form.form_table``).
        bundle: the model version to use.
        data_params: the ``data_processing`` parameters (the contract's rules).
        training_margins: the training customers' margins, sorted ascending (the model
            version's ``customer_segments``); optional.
        projection: the model version's ``segment_map_projection``; optional.

    Raises:
        FormRejected: the data contract rejects the customer.
    """
    row = score_one(check_form(values, bundle, data_params), bundle)
    segments = bundle.segment_table().set_index("segment")
    own, runner = int(row["segment"]), int(row["runner_up"])
    names = scoring.model_features(bundle.model)
    position = None
    if projection is not None:
        scaled = np.array([[row[scoring.scaled_name(n)] for n in names]], dtype="float64")
        x, y = projection.transform(scaled)[0]
        position = (float(x), float(y))
    return Prediction(
        segment=own,
        name=str(row["name"]),
        description=str(segments.loc[own, "description"]),
        action=str(segments.loc[own, "action"]),
        distance=float(row["distance"]),
        runner_up=runner,
        runner_up_name=str(segments.loc[runner, "name"]),
        runner_up_distance=float(row["runner_up_distance"]),
        margin=float(row["margin"]),
        margin_percentile=margin_percentile(float(row["margin"]), training_margins),
        membership=None if bundle.membership is None else float(row[scoring.MEMBERSHIP]),
        explanation=scoring.explain(row, bundle.model),
        out_of_range=out_of_range(row, bundle.card),
        features=pd.DataFrame([{n: row[n] for n in ["ID", *names]}]),
        position=position,
    )
