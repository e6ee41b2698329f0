"""The model card: what the app, the report and a reader need to know about one fitted model."""

from __future__ import annotations

from typing import Any

import narwhals as nw
import numpy as np
from sklearn.cluster import KMeans
from sklearn.preprocessing import StandardScaler

from customer_segmentation.core import engine, sampling
from customer_segmentation.core.modeling.kmeans import describe_start
from customer_segmentation.core.modeling.metrics import silhouette
from customer_segmentation.core.segments import profile_and_name
from customer_segmentation.params import ClusteringParams

SEGMENT_NUMBERING = "segment 0 has the highest mean Total_Spending (ties: Income)"
CARD_SEGMENT_COLUMNS = ("segment", "name", "behaviour", "description", "action", "size", "share")


def model_card(
    features: Any,
    segments: Any,
    scaler: StandardScaler,
    model: KMeans,
    feature_info: dict[str, Any],
    quality_report: dict[str, Any],
    params: ClusteringParams,
) -> dict[str, Any]:
    """Describe the model of this run: aggregates in the engine over every segmented
    customer, the silhouette on a seeded sample of ``silhouette_sample_size``.

    Args:
        features: ``ID``, the model's features and ``schema.NAMING_COLUMNS`` (a native frame).
        segments: ``customer_segments`` (``ID``, ``segment``; a native frame).
        scaler: the fitted scaler.
        model: the fitted K-Means.
        feature_info: what ``feature_engineering`` recorded (reference date, partner statuses,
            the typical customer).
        quality_report: the training table's ``data_quality_report`` (its :func:`input_of`).
        params: the ``clustering`` parameters.

    Raises:
        ValueError: a segmented customer has no features, or a table repeats an ID.

    Returns:
        ``k``, ``algorithm``, ``input`` (:func:`input_of`), ``features``, ``reference_date``, ``partner_statuses``,
        ``training_rows``, ``inertia``, ``initialisation``, ``silhouette`` (on
        ``silhouette_rows`` sampled rows), ``random_state``, ``segment_numbering``,
        ``feature_ranges`` (training min/max per feature), ``typical_customer`` (the form's
        starting values) and ``segments``: number, name, behaviour, description, action,
        size and share of each.
    """
    columns = list(params.features)
    seed = params.random_state
    segmented = sampling.segmented_frame(features, segments)
    named = profile_and_name(segmented, columns, params.naming)
    ranges = _ranges(segmented, segments, columns)
    _, labels, scaled = sampling.scaled_sample(
        segmented, scaler, columns, params.silhouette_sample_size, seed
    )
    measurable = len(np.unique(labels)) >= 2
    return {
        "k": int(model.n_clusters),
        "algorithm": type(model).__name__,
        "input": input_of(quality_report),
        "features": columns,
        "reference_date": feature_info["reference_date"],
        "partner_statuses": list(feature_info["partner_statuses"]),
        "training_rows": int(ranges["rows"]),
        "inertia": float(model.inertia_),
        "initialisation": describe_start(model),
        "silhouette": silhouette(scaled, labels) if measurable else float("nan"),
        "silhouette_rows": len(labels),
        "random_state": seed,
        "segment_numbering": SEGMENT_NUMBERING,
        "feature_ranges": ranges["features"],
        "typical_customer": dict(feature_info["typical_customer"]),
        "segments": named[list(CARD_SEGMENT_COLUMNS)]
        .astype({"segment": int, "size": int, "share": float})
        .to_dict(orient="records"),
    }


def input_of(quality_report: dict[str, Any]) -> dict[str, Any]:
    """The training table's identity: ``source`` (its path, or table and database),
    ``format``, ``bytes`` and ``sha256`` (of the file's bytes; of a database table's sorted rows
    as CSV) and its rows (``rows_in``, ``rows_clean``). Two cards with one ``sha256`` were trained
    on the same table.
    """
    return {
        "source": quality_report["source"],
        "format": quality_report.get("format", "text"),
        **quality_report["input"],
        "rows_in": quality_report["rows_in"],
        "rows_clean": quality_report["rows_clean"],
    }


def _ranges(segmented: nw.LazyFrame, segments: Any, columns: list[str]) -> dict[str, Any]:
    """The segmented customers (``rows``) and each feature's training range (``features``:
    ``min``, ``max``), as engine aggregates.

    Raises:
        ValueError: a customer of ``segments`` has no features.
    """
    found = engine.first_row(
        segmented.select(
            _rows=nw.len(),
            **{f"min:{c}": nw.col(c).cast(nw.Float64).min() for c in columns},
            **{f"max:{c}": nw.col(c).cast(nw.Float64).max() for c in columns},
        )
    )
    missing = engine.row_count(engine.lazy(segments)) - int(found["_rows"])
    if missing:
        raise ValueError(
            f"{missing:,} customer(s) of customer_segments have no row in the features: the "
            "tables are not of one run"
        )
    return {
        "rows": int(found["_rows"]),
        "features": {
            c: {"min": float(found[f"min:{c}"]), "max": float(found[f"max:{c}"])} for c in columns
        },
    }
