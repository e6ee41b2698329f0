"""Nodes of ``scoring``: a new export through the data contract, scored with a chosen model
version by the serving layer's one scoring path (``serving.score.scored_frame``, the app's
too), and its drift against the training data.

The model's datasets are only read (``kedro_io.versioning.ModelVersionHook`` pins them to
``--params model_version=STAMP`` or the newest complete version and gives its stamp as
``model_version_stamp``); the outputs carry the scoring run's own stamp.
"""

from __future__ import annotations

from typing import Any

from customer_segmentation import schema
from customer_segmentation.params import MonitoringParams

MODEL_VERSION = "model_version"


def score_new_customers(
    new_customers: Any,
    scaler: Any,
    kmeans_model: Any,
    model_card: dict[str, Any],
    customer_segments: Any,
    segment_membership: dict[str, Any],
    model_version_stamp: str,
) -> Any:
    """``scored_customers``: every clean new customer's segment, name, distance, runner-up,
    margin, probability of belonging (``membership``) and out-of-training-range flags
    (``serving.score.scored_frame``), the model stamp
    used, and the segment the model gave the same ``ID`` in training (``previous_segment``,
    null for a new customer); in the engine, in the new table's order.
    """
    import narwhals as nw

    from customer_segmentation.core import engine
    from customer_segmentation.serving.score import scored_frame, with_previous_segment
    from customer_segmentation.serving.versions import ModelBundle

    bundle = ModelBundle(
        model_version_stamp, scaler, kmeans_model, model_card, membership=segment_membership
    )
    scored = scored_frame(engine.lazy(new_customers), bundle)
    joined = with_previous_segment(scored, customer_segments)
    columns = joined.collect_schema().names()
    return engine.native(
        joined.select(
            schema.ID,
            nw.lit(model_version_stamp).alias(MODEL_VERSION),
            *(c for c in columns if c != schema.ID),
        )
    )


def check_drift(
    scored_customers: Any,
    drift_reference: dict[str, Any],
    model_card: dict[str, Any],
    params: MonitoringParams,
) -> tuple[dict[str, Any], str]:
    """``drift_report`` (per model feature PSI, KS, means and a verdict; the segment shares'
    chi-square and Cramér's V; customers who moved since training; one sentence on top) and
    the same as an HTML section (``drift_report_html``, the report's tables).
    """
    from customer_segmentation.core import engine
    from customer_segmentation.core.monitoring import drift
    from customer_segmentation.report import report as html
    from customer_segmentation.serving.score import returning

    scored = engine.lazy(scored_customers)
    found = drift.drift_report(
        drift_reference,
        scored.select(schema.ID, schema.SEGMENT, *model_card["features"]),
        params.drift,
        previous=returning(scored),
    )
    stamps = engine.rows(scored.select(MODEL_VERSION).head(1))
    stamp = str(stamps[0][MODEL_VERSION]) if stamps else None
    saved = {
        "model_version": stamp,
        **found.summary,
        "features": found.features.to_dict(orient="records"),
        "segments": found.segments.to_dict(orient="records"),
    }
    return saved, html.drift_section(found)
