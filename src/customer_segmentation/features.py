"""Engineered customer features: one home for every formula, used by the pipeline, the app's
form and upload pages and the benchmark.

Everything here is a pure function of a clean customer table (the output of the data contract,
``data_contract``) and explicit settings.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from customer_segmentation import schema

logger = logging.getLogger(__name__)

# Days in an average month, for Tenure_Months.
DAYS_PER_MONTH = 365.25 / 12


def reference_date(clean: pd.DataFrame, configured: date | None) -> pd.Timestamp:
    """The date that "age" and "tenure" are measured at.

    ``configured`` (``feature_engineering.reference_date``) when set, otherwise the latest
    ``Dt_Customer`` in the data; never today's date, so that a rerun gives the same features.
    """
    if configured is not None:
        return pd.Timestamp(configured)
    if clean.empty:
        raise ValueError("cannot derive a reference date from an empty customer table")
    return pd.Timestamp(clean[schema.DATE_COLUMN].max()).normalize()


def total_purchases(table: pd.DataFrame) -> pd.Series:
    """Purchases through the three channels (web, catalogue, store). Deal purchases are a
    subset of these, not a fourth channel.
    """
    return table[list(schema.CHANNEL_COLUMNS)].sum(axis=1)


def deal_share(deals: pd.Series | np.ndarray, purchases: pd.Series | np.ndarray) -> np.ndarray:
    """Share of purchases made with a discount: ``NumDealsPurchases / Total_Purchases``,
    capped at 1 (exports hold a few customers with more deals than purchases), 0 without
    purchases. Per customer, or per segment from the sums of both columns.
    """
    deals = np.asarray(deals, dtype="float64")
    purchases = np.asarray(purchases, dtype="float64")
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(purchases > 0, deals / purchases, 0.0)
    return np.minimum(share, 1.0)


def _share(part: pd.Series, whole: pd.Series) -> pd.Series:
    """``part / whole`` with 0 where ``whole`` is 0."""
    return (part / whole.where(whole > 0, np.nan)).fillna(0.0)


def build_features(
    clean: pd.DataFrame, ref_date: pd.Timestamp, partner_statuses: Sequence[str]
) -> pd.DataFrame:
    """Compute the engineered features of each customer.

    Args:
        clean: needs ``ID``, ``Year_Birth``, ``Education``, ``Marital_Status``, ``Income``,
            ``Kidhome``, ``Teenhome``, ``Dt_Customer``, ``Recency``, the six ``Mnt*``, the four
            ``Num*Purchases``, ``NumWebVisitsMonth``; campaign flags if present.
        ref_date: see :func:`reference_date`.
        partner_statuses: marital statuses that mean two adults at home.

    Returns:
        One row per customer: ``ID`` and every column of ``schema.FEATURE_COLUMNS``.
    """
    spend = clean[list(schema.SPEND_COLUMNS)].sum(axis=1)
    purchases = total_purchases(clean)
    children = clean["Kidhome"] + clean["Teenhome"]
    adults = np.where(clean["Marital_Status"].isin(set(partner_statuses)), 2, 1)
    tenure_days = (ref_date - clean[schema.DATE_COLUMN]).dt.days
    campaigns = [c for c in schema.CAMPAIGN_COLUMNS if c in clean.columns]
    education_rank = {level: i for i, level in enumerate(schema.EDUCATION_LEVELS)}

    features = pd.DataFrame(
        {
            schema.ID: clean[schema.ID].astype("int64"),
            "Income": clean["Income"].astype("float64"),
            **{c: clean[c] for c in schema.RAW_FEATURE_COLUMNS if c != "Income"},
            "Age": ref_date.year - clean["Year_Birth"],
            "Total_Spending": spend,
            "Tenure_Days": tenure_days,
            "Tenure_Months": tenure_days / DAYS_PER_MONTH,
            "Children": children,
            "Is_Parent": (children > 0).astype("int64"),
            "Adults": adults,
            "Family_Size": adults + children,
            "Total_Purchases": purchases,
            "Avg_Spend_Per_Purchase": _share(spend, purchases),
            "Web_Share": _share(clean["NumWebPurchases"], purchases),
            "Store_Share": _share(clean["NumStorePurchases"], purchases),
            "Catalog_Share": _share(clean["NumCatalogPurchases"], purchases),
            "Deal_Share": deal_share(clean["NumDealsPurchases"], purchases),
            "Total_Campaigns_Accepted": clean[campaigns].sum(axis=1) if campaigns else 0,
            "Education_Level": clean["Education"].map(education_rank).fillna(-1).astype("int64"),
        },
        index=clean.index,
        copy=False,  # the raw columns stay views of ``clean``: no copy of a large table
    )
    return features.reset_index(drop=True)


def typical_customer(clean: pd.DataFrame) -> dict[str, Any]:
    """The median training customer, field by field: what the app's form starts from.

    Returns:
        The median of every whole-number and money field of the export (``Year_Birth``,
        ``Income``, ``Mnt*``, ``Num*``, ``Recency``, ``Kidhome``, ``Teenhome``), the most common
        ``Education`` and ``Marital_Status``, and the median ``Dt_Customer`` (ISO date).
    """
    numeric = ["Year_Birth", *schema.RAW_FEATURE_COLUMNS]
    medians = clean[numeric].median()
    typical: dict[str, Any] = {c: round(float(medians[c])) for c in numeric}
    for column in schema.CATEGORY_COLUMNS:
        typical[column] = str(clean[column].mode().iloc[0])
    typical[schema.DATE_COLUMN] = (
        pd.Timestamp(clean[schema.DATE_COLUMN].median()).date().isoformat()
    )
    return typical
