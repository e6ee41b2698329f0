"""The model card: what the app, the report and a reader need to know about one fitted model."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.cluster import KMeans
from sklearn.preprocessing import StandardScaler

from customer_segmentation import schema
from customer_segmentation.core.modeling.kmeans import describe_start
from customer_segmentation.core.modeling.metrics import silhouette_on_sample
from customer_segmentation.core.modeling.sampling import positions_of, sample_positions
from customer_segmentation.core.segments import profile_and_name
from customer_segmentation.params import ClusteringParams

SEGMENT_NUMBERING = "segment 0 has the highest mean Total_Spending (ties: Income)"
CARD_SEGMENT_COLUMNS = ("segment", "name", "behaviour", "description", "action", "size", "share")


def model_card(  # noqa: PLR0913
    features: pd.DataFrame,
    segments: pd.DataFrame,
    scaler: StandardScaler,
    model: KMeans,
    feature_info: dict[str, Any],
    params: ClusteringParams,
) -> dict[str, Any]:
    """Describe the model of this run.

    Args:
        features: ``ID``, the model's features and ``schema.NAMING_COLUMNS``.
        segments: ``customer_segments`` (``ID``, ``segment``).
        scaler, model: the fitted scaler and K-Means.
        feature_info: what ``feature_engineering`` recorded (reference date, partner statuses,
            the typical customer).
        params: the ``clustering`` parameters.

    Returns:
        ``k``, ``algorithm``, ``features``, ``reference_date``, ``partner_statuses``,
        ``training_rows``, ``inertia``, ``initialisation``, ``silhouette`` (on
        ``silhouette_rows`` sampled rows), ``random_state``, ``segment_numbering``,
        ``feature_ranges`` (training min/max per feature), ``typical_customer`` (the form's
        starting values) and ``segments``: number, name, behaviour, description, action,
        size and share of each.
    """
    columns = list(params.features)
    # Only the described columns, in the segments' row order.
    wanted = list(dict.fromkeys([*schema.NAMING_COLUMNS, *columns]))
    table = features[wanted]
    if not np.array_equal(features[schema.ID].to_numpy(), segments[schema.ID].to_numpy()):
        table = table.iloc[positions_of(features[schema.ID], segments[schema.ID])]
    table = table.reset_index(drop=True)  # no copy of the values when the rows are in order
    labels = segments["segment"].to_numpy()
    seed = params.random_state
    # Silhouette on the seeded sample: only those rows are scaled.
    keep = sample_positions(len(table), params.silhouette_sample_size, seed)
    scaled = scaler.transform(table[columns].iloc[keep].astype("float64"))
    named = profile_and_name(table.assign(segment=labels), columns, params.naming)
    ranges = table[columns].agg(["min", "max"]).astype(float)
    return {
        "k": int(model.n_clusters),
        "algorithm": type(model).__name__,
        "features": columns,
        "reference_date": feature_info["reference_date"],
        "partner_statuses": list(feature_info["partner_statuses"]),
        "training_rows": len(table),
        "inertia": float(model.inertia_),
        "initialisation": describe_start(model),
        # ``scaled`` holds the sampled rows already: all of them (size None) are measured.
        "silhouette": silhouette_on_sample(scaled, labels[keep], None, seed),
        "silhouette_rows": len(keep),
        "random_state": seed,
        "segment_numbering": SEGMENT_NUMBERING,
        "feature_ranges": {
            c: {"min": ranges.loc["min", c], "max": ranges.loc["max", c]} for c in columns
        },
        "typical_customer": dict(feature_info["typical_customer"]),
        "segments": named[list(CARD_SEGMENT_COLUMNS)]
        .astype({"segment": int, "size": int, "share": float})
        .to_dict(orient="records"),
    }
