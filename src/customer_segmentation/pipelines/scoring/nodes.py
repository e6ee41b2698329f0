"""Nodes of ``scoring``: a new export through the data contract, scored with a chosen model
version (the app's Score page's code), and its drift against the training data.

The model's datasets are only read (``versioning.ModelVersionHook`` pins them to
``--params model_version=STAMP`` or the newest complete version and gives its stamp as
``model_version_stamp``); the outputs carry the scoring run's own stamp.
"""

from __future__ import annotations

from typing import Any

from customer_segmentation import schema
from customer_segmentation.kedro_io.lazy_types import DataFrame
from customer_segmentation.params import MonitoringParams

MODEL_VERSION = "model_version"
PREVIOUS_SEGMENT = "previous_segment"


def score_new_customers(  # noqa: PLR0913
    new_customers: Any,
    scaler: Any,
    kmeans_model: Any,
    model_card: dict[str, Any],
    customer_segments: Any,
    model_version_stamp: str,
) -> DataFrame:
    """``scored_customers``: every clean new customer's segment, name, distance, runner-up,
    margin and out-of-training-range flags (``app_logic.score_clean``), the model stamp used,
    and the segment the model gave the same ``ID`` in training (``previous_segment``, null for
    a new customer).
    """
    from customer_segmentation.core import engine
    from customer_segmentation.serving.app_logic import score_clean
    from customer_segmentation.serving.versions import ModelBundle

    bundle = ModelBundle(model_version_stamp, scaler, kmeans_model, model_card)
    scored, _ = score_clean(engine.to_pandas_table(new_customers), bundle)
    training = engine.to_pandas(engine.lazy(customer_segments).select(schema.ID, "segment"))
    previous = training.rename(columns={"segment": PREVIOUS_SEGMENT})
    scored = scored.merge(previous, on=schema.ID, how="left")
    scored[PREVIOUS_SEGMENT] = scored[PREVIOUS_SEGMENT].astype("Int64")
    scored.insert(1, MODEL_VERSION, model_version_stamp)
    return scored


def check_drift(
    scored_customers: DataFrame,
    drift_reference: dict[str, Any],
    model_card: dict[str, Any],
    params: MonitoringParams,
) -> tuple[dict[str, Any], str]:
    """``drift_report`` (per model feature PSI, KS, means and a verdict; the segment shares'
    chi-square and Cramér's V; customers who moved since training; one sentence on top) and
    the same as an HTML section (``drift_report_html``).
    """
    from customer_segmentation.core import engine
    from customer_segmentation.core.monitoring import drift

    scored = engine.to_pandas_table(scored_customers)
    known = scored.dropna(subset=[PREVIOUS_SEGMENT])
    previous = known[[schema.ID, PREVIOUS_SEGMENT]].astype({PREVIOUS_SEGMENT: "int64"})
    report = drift.drift_report(
        drift_reference,
        scored[[schema.ID, *model_card["features"]]],
        scored["segment"],
        params.drift,
        previous=previous,
    )
    stamp = str(scored[MODEL_VERSION].iloc[0]) if len(scored) else None
    saved = {
        "model_version": stamp,
        **report.summary,
        "features": report.features.to_dict(orient="records"),
        "segments": report.segments.to_dict(orient="records"),
    }
    return saved, drift.drift_html(report)
