"""Engineered customer features: one home for every formula, used by the pipeline, the app's
form and upload pages and the benchmark.

Every formula is a narwhals expression over a clean customer table (the output of the data
contract, ``contract``): the same definition runs on Polars locally and on Spark with
``--env spark``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import date
from typing import Any

import narwhals as nw

from customer_segmentation import schema
from customer_segmentation.core import engine
from customer_segmentation.core.contract import values

logger = logging.getLogger(__name__)

# Days in an average month, for Tenure_Months.
DAYS_PER_MONTH = 365.25 / 12


def _as_date(value: date) -> date:
    """A plain date (a pandas Timestamp or a datetime is a date too)."""
    return date(value.year, value.month, value.day)


def day_numbers(column: str) -> nw.Expr:
    """Days since 1970-01-01 of a Date column, by integer arithmetic from its year and day
    of year (the same on every engine; Spark has no ``dt.total_days``).
    """
    when = nw.col(column)
    first_of_year = values.days_from_civil(when.dt.year().cast(nw.Int64), nw.lit(1), nw.lit(1))
    return first_of_year + when.dt.ordinal_day().cast(nw.Int64) - 1


def customer_key(days: nw.Expr) -> nw.Expr:
    """Who a customer is beyond ``ID`` (``customer_key``): ``Year_Birth`` x 1,000,000 +
    ``days``, ``Dt_Customer`` in days since 1970-01-01 (:func:`day_numbers`). Neither changes
    for one customer, so two tables whose rows share an ``ID`` but not this key hold different
    people under that ``ID``.
    """
    return (nw.col("Year_Birth").cast(nw.Int64) * 1_000_000 + days).alias(schema.CUSTOMER_KEY)


def reference_date(clean: Any, configured: date | None) -> date:
    """The date that "age" and "tenure" are measured at.

    ``configured`` (``feature_engineering.reference_date``) when set, otherwise the latest
    ``Dt_Customer`` in the data; never today's date, so that a rerun gives the same features.
    """
    if configured is not None:
        return _as_date(configured)
    frame = engine.lazy(clean)
    if not engine.row_count(frame):
        raise ValueError("cannot derive a reference date from an empty customer table")
    latest = engine.first_row(frame.select(days=day_numbers(schema.DATE_COLUMN).max()))
    return date.fromordinal(date(1970, 1, 1).toordinal() + int(latest["days"]))


def share(part: nw.Expr, whole: nw.Expr) -> nw.Expr:
    """``part / whole`` with 0 where ``whole`` is 0."""
    return nw.when(whole > 0).then(part / whole).otherwise(0.0)


def deal_share(deals: nw.Expr, purchases: nw.Expr) -> nw.Expr:
    """Share of purchases made with a discount: ``NumDealsPurchases / Total_Purchases``,
    capped at 1 (exports hold a few customers with more deals than purchases), 0 without
    purchases. Per customer, or per segment from the sums of both columns.
    """
    ratio = share(deals.cast(nw.Float64), purchases.cast(nw.Float64))
    return nw.when(ratio > 1.0).then(1.0).otherwise(ratio)


def row_sum(columns: Sequence[str]) -> nw.Expr:
    """The sum of ``columns``, left to right (the same order on every engine)."""
    total = nw.col(columns[0])
    for column in columns[1:]:
        total = total + nw.col(column)
    return total


def total_spending() -> nw.Expr:
    """A customer's total spending: the six ``Mnt*`` columns summed (``Total_Spending``)."""
    return row_sum(schema.SPEND_COLUMNS)


def age(ref_date: date) -> nw.Expr:
    """A customer's age at ``ref_date``, in whole years from ``Year_Birth`` (``Age``)."""
    return _as_date(ref_date).year - nw.col("Year_Birth")


def birth_year(age_at_reference: int, ref_date: date) -> int:
    """The ``Year_Birth`` that gives ``age_at_reference`` at ``ref_date``: the inverse of
    :func:`age` (the app's form takes an age).
    """
    return _as_date(ref_date).year - int(age_at_reference)


def total_purchases() -> nw.Expr:
    """A customer's purchases through the web, the catalogue and the store
    (``Total_Purchases``; ``NumDealsPurchases`` counts those made with a discount, not a
    channel of its own).
    """
    return row_sum(schema.CHANNEL_COLUMNS)


def feature_frame(
    clean: nw.LazyFrame, ref_date: date, partner_statuses: Sequence[str]
) -> nw.LazyFrame:
    """The engineered features of each customer, as expressions over ``clean``.

    Args:
        clean: needs ``ID``, ``Year_Birth``, ``Education``, ``Marital_Status``, ``Income``,
            ``Kidhome``, ``Teenhome``, ``Dt_Customer``, ``Recency``, the six ``Mnt*``, the four
            ``Num*Purchases``, ``NumWebVisitsMonth``; campaign flags if present.
        ref_date: see :func:`reference_date`.
        partner_statuses: marital statuses that mean two adults at home.

    Returns:
        One row per customer, in the order of ``clean``: ``ID``, ``customer_key``
        (:func:`customer_key`) and every column of ``schema.FEATURE_COLUMNS``.
    """
    ref = _as_date(ref_date)
    present = clean.collect_schema().names()
    campaigns = [c for c in schema.CAMPAIGN_COLUMNS if c in present]
    # Intermediate values are named columns: an expression repeated inside another is
    # computed again on some engines.
    step = clean.with_columns(
        _spend=total_spending(),
        _purchases=total_purchases(),
        _children=nw.col("Kidhome") + nw.col("Teenhome"),
        _adults=nw.when(nw.col("Marital_Status").is_in(list(partner_statuses)))
        .then(nw.lit(2, dtype=nw.Int64))
        .otherwise(nw.lit(1, dtype=nw.Int64)),
        _days=day_numbers(schema.DATE_COLUMN),
    )
    education_rank = {level: i for i, level in enumerate(schema.EDUCATION_LEVELS)}
    spend, purchases = nw.col("_spend"), nw.col("_purchases")
    children, adults = nw.col("_children"), nw.col("_adults")
    tenure = values.day_number(ref) - nw.col("_days")
    return step.select(
        nw.col(schema.ID).cast(nw.Int64),
        customer_key(nw.col("_days")),
        nw.col("Income").cast(nw.Float64),
        *(nw.col(c) for c in schema.RAW_FEATURE_COLUMNS if c != "Income"),
        Age=age(ref),
        Total_Spending=spend,
        Tenure_Days=tenure,
        Tenure_Months=tenure / DAYS_PER_MONTH,
        Children=children,
        Is_Parent=(children > 0).cast(nw.Int64),
        Adults=adults,
        Family_Size=adults + children,
        Total_Purchases=purchases,
        Avg_Spend_Per_Purchase=share(spend.cast(nw.Float64), purchases.cast(nw.Float64)),
        Web_Share=share(nw.col("NumWebPurchases").cast(nw.Float64), purchases.cast(nw.Float64)),
        Store_Share=share(nw.col("NumStorePurchases").cast(nw.Float64), purchases.cast(nw.Float64)),
        Catalog_Share=share(
            nw.col("NumCatalogPurchases").cast(nw.Float64), purchases.cast(nw.Float64)
        ),
        Deal_Share=deal_share(nw.col("NumDealsPurchases"), purchases),
        Total_Campaigns_Accepted=row_sum(campaigns).cast(nw.Int64)
        if campaigns
        else nw.lit(0, dtype=nw.Int64),
        Education_Level=values.lookup(nw.col("Education"), education_rank, nw.Int64, default=-1),
    )


def typical_customer(clean: Any) -> dict[str, Any]:
    """The median training customer, field by field: what the app's form starts from.

    Returns:
        The median of every whole-number and money field of the export (``Year_Birth``,
        ``Income``, ``Mnt*``, ``Num*``, ``Recency``, ``Kidhome``, ``Teenhome``), the most common
        ``Education`` and ``Marital_Status`` (ties: the first in sort order), and the median
        ``Dt_Customer`` (ISO date).
    """
    frame = engine.lazy(clean)
    numeric = ["Year_Birth", *schema.RAW_FEATURE_COLUMNS]
    medians = engine.first_row(
        frame.select(
            *(nw.col(c).cast(nw.Float64).median() for c in numeric),
            _days=day_numbers(schema.DATE_COLUMN).cast(nw.Float64).median(),
        )
    )
    typical: dict[str, Any] = {c: round(float(medians[c])) for c in numeric}
    for column in schema.CATEGORY_COLUMNS:
        counts = (
            frame.group_by(column).agg(_n=nw.len()).sort(["_n", column], descending=[True, False])
        )
        typical[column] = str(engine.first_row(counts.head(1))[column])
    day = date(1970, 1, 1).toordinal() + int(medians["_days"] // 1)
    typical[schema.DATE_COLUMN] = date.fromordinal(day).isoformat()
    return typical
