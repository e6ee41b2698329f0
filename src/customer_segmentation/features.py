"""Engineered customer features, shared by the pipeline and the app.

Everything here is a pure function of a clean customer table (the output of
``data_contract.clean_customers``) and parameters.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd

from customer_segmentation import schema

logger = logging.getLogger(__name__)


def reference_date(clean: pd.DataFrame, params: dict[str, Any]) -> pd.Timestamp:
    """The date that "age" and "tenure" are measured at.

    ``params["reference_date"]`` when set, otherwise the latest ``Dt_Customer`` in the data;
    never today's date, so that a rerun gives the same features.
    """
    configured = params.get("reference_date")
    if configured:
        return pd.Timestamp(configured)
    if clean.empty:
        raise ValueError("cannot derive a reference date from an empty customer table")
    return pd.Timestamp(clean[schema.DATE_COLUMN].max()).normalize()


def build_features(
    clean: pd.DataFrame, ref_date: pd.Timestamp, params: dict[str, Any]
) -> pd.DataFrame:
    """Compute the engineered features of each customer.

    Args:
        clean: needs ``ID``, ``Year_Birth``, ``Education``, ``Marital_Status``, ``Income``,
            ``Kidhome``, ``Teenhome``, ``Dt_Customer``, ``Recency``, the six ``Mnt*``, the four
            ``Num*Purchases``, ``NumWebVisitsMonth``; campaign flags if present.
        ref_date: see :func:`reference_date`.
        params: ``partner_statuses``: marital statuses that mean two adults at home.

    Returns:
        One row per customer: ``ID``, the raw numeric columns the analysis uses, and every
        column of ``schema.ENGINEERED_FEATURES``.
    """
    partner = set(params.get("partner_statuses", ["Married", "Together"]))
    spend = clean[list(schema.SPEND_COLUMNS)].sum(axis=1)
    channel_total = clean[list(schema.CHANNEL_COLUMNS)].sum(axis=1)
    safe_total = channel_total.where(channel_total > 0, np.nan)
    children = clean["Kidhome"] + clean["Teenhome"]
    adults = np.where(clean["Marital_Status"].isin(partner), 2, 1)
    tenure_days = (ref_date - clean[schema.DATE_COLUMN]).dt.days
    campaigns = [c for c in schema.CAMPAIGN_COLUMNS if c in clean.columns]
    education_rank = {level: i for i, level in enumerate(schema.EDUCATION_LEVELS)}

    features = pd.DataFrame(
        {
            schema.ID: clean[schema.ID].astype("int64"),
            "Income": clean["Income"].astype("float64"),
            "Recency": clean["Recency"],
            **{c: clean[c] for c in schema.SPEND_COLUMNS},
            **{c: clean[c] for c in schema.PURCHASE_COLUMNS},
            "NumWebVisitsMonth": clean["NumWebVisitsMonth"],
            "Kidhome": clean["Kidhome"],
            "Teenhome": clean["Teenhome"],
            "Age": ref_date.year - clean["Year_Birth"],
            "Total_Spending": spend,
            "Tenure_Days": tenure_days,
            "Tenure_Months": tenure_days / (365.25 / 12),
            "Children": children,
            "Is_Parent": (children > 0).astype("int64"),
            "Adults": adults,
            "Family_Size": adults + children,
            "Total_Purchases": channel_total,
            "Avg_Spend_Per_Purchase": (spend / safe_total).fillna(0.0),
            "Web_Share": (clean["NumWebPurchases"] / safe_total).fillna(0.0),
            "Store_Share": (clean["NumStorePurchases"] / safe_total).fillna(0.0),
            "Catalog_Share": (clean["NumCatalogPurchases"] / safe_total).fillna(0.0),
            "Deal_Share": (clean["NumDealsPurchases"] / safe_total).fillna(0.0).clip(upper=1.0),
            "Total_Campaigns_Accepted": clean[campaigns].sum(axis=1) if campaigns else 0,
            "Education_Level": clean["Education"].map(education_rank).fillna(-1).astype("int64"),
        },
        index=clean.index,
        copy=False,  # the raw columns stay views of ``clean``: no copy of a large table
    )
    return features.reset_index(drop=True)


def features_from_raw(
    raw: dict[str, Any] | pd.DataFrame,
    ref_date: pd.Timestamp,
    params: dict[str, Any] | None = None,
) -> pd.DataFrame:
    """Features of customers given as raw fields (a form or a table), for scoring.

    Args:
        raw: one customer as a dict, or a table, with the raw Kaggle columns.
        ref_date: the reference date the model was trained with (model card).
        params: the feature parameters of that model (``partner_statuses``).

    Missing ``ID``, ``Dt_Customer`` or category fields are filled (ID by position, the date
    with ``ref_date``, categories empty); every numeric field the features need must be
    present, otherwise a ``KeyError`` names it.
    """
    frame = pd.DataFrame([raw]) if isinstance(raw, dict) else raw.copy()
    if schema.ID not in frame:
        frame[schema.ID] = np.arange(len(frame))
    if schema.DATE_COLUMN not in frame:
        frame[schema.DATE_COLUMN] = ref_date
    frame[schema.DATE_COLUMN] = pd.to_datetime(frame[schema.DATE_COLUMN])
    for column in ("Education", "Marital_Status"):
        if column not in frame:
            frame[column] = ""
    return build_features(frame, ref_date, params or {})
