"""Nodes of ``feature_engineering``."""

from __future__ import annotations

import logging
from typing import Any

import pandas as pd

from customer_segmentation import schema
from customer_segmentation.features import build_features, reference_date, typical_customer
from customer_segmentation.modeling.sampling import in_id_order
from customer_segmentation.params import FeatureEngineeringParams

logger = logging.getLogger(__name__)


def model_input(features: pd.DataFrame, model_features: list[str]) -> pd.DataFrame:
    """``ID``, the model's features and the columns the segment names read, in ``ID`` order.

    The clustering and map nodes need these few columns of every customer; reading them from
    a narrow table instead of all of ``customer_features`` saves most of their loading time
    and memory. In ``ID`` order the rows line up with ``customer_segments`` (also in ``ID``
    order), so matching them by ID is a comparison instead of a hash lookup.
    """
    columns = list(dict.fromkeys([schema.ID, *model_features, *schema.NAMING_COLUMNS]))
    return in_id_order(features[columns], schema.ID)


def engineer_features(
    customers: pd.DataFrame, params: FeatureEngineeringParams
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Any]]:
    """Age, Total_Spending, Tenure, family and channel features of every clean customer.

    Returns:
        ``customer_features`` (``ID`` and every feature, rows in the order of ``customers``),
        ``customer_model_input`` (:func:`model_input`) and ``feature_info``: the reference
        date used and where it came from, the partner statuses and the typical customer
        (the model card keeps them, so the app builds a customer's features as the model's).
    """
    ref = reference_date(customers, params.reference_date)
    features = build_features(customers, ref, params.partner_statuses)
    info = {
        "reference_date": ref.date().isoformat(),
        "reference_date_source": "parameter"
        if params.reference_date is not None
        else "latest Dt_Customer",
        "partner_statuses": list(params.partner_statuses),
        "typical_customer": typical_customer(customers),
        "rows": len(features),
    }
    logger.info(
        "Features of %d customers at reference date %s", len(features), info["reference_date"]
    )
    return features, model_input(features, params.model_features), info
