"""Nodes of ``feature_engineering``.

The feature expressions and the engines are imported when a node runs, not when Kedro lists
the pipelines (see ``customer_segmentation.kedro_io.lazy_types``).
"""

from __future__ import annotations

import logging
from typing import Any

import narwhals as nw

from customer_segmentation import schema
from customer_segmentation.params import FeatureEngineeringParams

logger = logging.getLogger(__name__)


def model_input(features: nw.LazyFrame, model_features: list[str]) -> nw.LazyFrame:
    """``ID``, ``customer_key``, the model's features and the columns the segment names read,
    in ``ID`` order.

    The clustering and map nodes need these few columns of every customer; reading them from
    a narrow table instead of all of ``customer_features`` saves most of their loading time
    and memory.
    """
    columns = list(
        dict.fromkeys([schema.ID, schema.CUSTOMER_KEY, *model_features, *schema.NAMING_COLUMNS])
    )
    return features.select(*columns).sort(schema.ID)


def engineer_features(
    customers: Any, params: FeatureEngineeringParams
) -> tuple[Any, Any, dict[str, Any]]:
    """Age, Total_Spending, Tenure, family and channel features of every clean customer, in
    the run's engine.

    Returns:
        ``customer_features`` (``ID`` and every feature, rows in the order of ``customers``;
        lazy, computed as the catalog writes it),
        ``customer_model_input`` (:func:`model_input`) and ``feature_info``: the reference
        date used and where it came from, the partner statuses and the typical customer
        (the model card keeps them, so the app builds a customer's features as the model's).
    """
    from customer_segmentation.core import engine
    from customer_segmentation.core.features import feature_frame, reference_date, typical_customer

    clean = engine.lazy(customers)
    ref = reference_date(customers, params.reference_date)
    # Not gathered: the catalog streams customer_features from the customers' file, and
    # customer_model_input computes its few columns from that file again. That repeats a
    # little arithmetic (0.3 s at 1M) so memory never holds every feature of every customer.
    features = engine.shared(feature_frame(clean, ref, params.partner_statuses))
    info = {
        "reference_date": ref.isoformat(),
        "reference_date_source": "parameter"
        if params.reference_date is not None
        else "latest Dt_Customer",
        "partner_statuses": list(params.partner_statuses),
        "typical_customer": typical_customer(customers),
        "rows": engine.row_count(features),
    }
    logger.info(
        "Features of %d customers at reference date %s", info["rows"], info["reference_date"]
    )
    return (
        engine.streamed(features),
        engine.native(model_input(features, params.model_features)),
        info,
    )
