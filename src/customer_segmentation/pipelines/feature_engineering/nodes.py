"""Nodes of ``feature_engineering``."""

from __future__ import annotations

import logging
from typing import Any

import pandas as pd

from customer_segmentation.features import build_features, reference_date

logger = logging.getLogger(__name__)


def engineer_features(
    customers: pd.DataFrame, params: dict[str, Any]
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Age, Total_Spending, Tenure, family and channel features of every clean customer.

    Args:
        customers: the clean table of ``data_processing``.
        params: ``reference_date`` (``null``: the latest ``Dt_Customer``) and
            ``partner_statuses``.

    Returns:
        ``customer_features`` (``ID`` and every feature) and ``feature_info``: the reference
        date used and where it came from, and the feature parameters (the app reuses them).
    """
    ref = reference_date(customers, params)
    features = build_features(customers, ref, params)
    info = {
        "reference_date": ref.date().isoformat(),
        "reference_date_source": "parameter"
        if params.get("reference_date")
        else "latest Dt_Customer",
        "partner_statuses": list(params.get("partner_statuses", [])),
        "rows": len(features),
    }
    logger.info(
        "Features of %d customers at reference date %s", len(features), info["reference_date"]
    )
    return features, info
