"""The Predict page's form: a marketer's fields as one row of an export, through the data
contract like a file's row.

A form (one customer's fields) -> :func:`form_table` (one row of text in the Kaggle layout) ->
the contract's one-row path (``contract.check_rows``: the same rules and messages as a file
row) -> :func:`check_form`'s clean row. A row the contract rejects raises
:class:`FormRejected` with the contract's reason in the form's words.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import narwhals as nw
import numpy as np
import pandas as pd
import polars as pl

from customer_segmentation import schema
from customer_segmentation.core import engine, features
from customer_segmentation.core.contract import SOURCE_ROW, check_rows
from customer_segmentation.params import DataProcessingParams
from customer_segmentation.serving.versions import ModelBundle

# Form fields that stand in for Kaggle columns.
AGE = "Age"
TOTAL_SPENDING = "Total_Spending"
FORM_ID = 0  # the ID given to the one customer of a form
FORM_SOURCE = "the form"

# What the form calls each field (the pages' labels and the rejection messages).
FIELD_LABELS: dict[str, str] = {
    "Year_Birth": "Birth year",
    AGE: "Age",
    "Income": "Yearly household income",
    "Recency": "Days since the last purchase",
    TOTAL_SPENDING: "Total spending on all products",
    "MntWines": "Wine",
    "MntFruits": "Fruit",
    "MntMeatProducts": "Meat",
    "MntFishProducts": "Fish",
    "MntSweetProducts": "Sweets",
    "MntGoldProds": "Gold",
    "NumDealsPurchases": "Purchases with a discount",
    "NumWebPurchases": "Web purchases",
    "NumCatalogPurchases": "Catalogue purchases",
    "NumStorePurchases": "Store purchases",
    "NumWebVisitsMonth": "Web visits per month",
    "Kidhome": "Children at home",
    "Teenhome": "Teenagers at home",
    "Marital_Status": "Marital status",
    "Education": "Education",
    schema.DATE_COLUMN: "Customer since",
    **{c: f"Campaign {c.removeprefix('AcceptedCmp')}" for c in schema.CAMPAIGN_COLUMNS},
}
# The form's fields in the Kaggle layout: every required column and the campaign flags.
FORM_COLUMNS: tuple[str, ...] = (*schema.REQUIRED_COLUMNS, *schema.CAMPAIGN_COLUMNS)


class FormRejected(ValueError):
    """The data contract rejects the customer typed into the form; the message says which
    rule, in the form's words.
    """

    def __init__(self, message: str, reason_code: str) -> None:
        super().__init__(message)
        self.reason_code = reason_code


def _text(value: Any) -> str:
    """A form value as an export would write it (missing: empty)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, int | float | np.integer | np.floating):
        number = float(value)
        return str(int(number)) if number.is_integer() else repr(number)
    if isinstance(value, pd.Timestamp):
        return value.date().isoformat()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def spread_spending(total: int) -> dict[str, int]:
    """A whole total split over the product categories in whole amounts (the total is what
    the features read; the categories' split is unknown, so it is as even as whole numbers
    allow).
    """
    base, extra = divmod(int(total), len(schema.SPEND_COLUMNS))
    return {c: base + (i < extra) for i, c in enumerate(schema.SPEND_COLUMNS)}


def form_table(values: Mapping[str, Any], ref_date: pd.Timestamp) -> pl.DataFrame:
    """One customer's form fields as one row of text in the Kaggle layout, as a file row
    arrives at the data contract.

    Args:
        values: the Kaggle fields; ``Year_Birth`` may be given as ``Age`` (at ``ref_date``,
            ``features.birth_year``), the six ``Mnt*`` as ``Total_Spending`` (a whole number,
            spread by :func:`spread_spending`). ``Dt_Customer`` defaults to ``ref_date``, the
            campaign flags to 0. A field left out is missing, and the contract says so.
        ref_date: the model's reference date (model card).

    Returns:
        ``source_row`` and :data:`FORM_COLUMNS`, every value a string; ``ID`` is
        :data:`FORM_ID`.
    """
    row: dict[str, Any] = {c: values.get(c) for c in FORM_COLUMNS}
    row[schema.ID] = FORM_ID
    if row["Year_Birth"] is None and values.get(AGE) is not None:
        row["Year_Birth"] = features.birth_year(values[AGE], ref_date)
    if all(row[c] is None for c in schema.SPEND_COLUMNS) and values.get(TOTAL_SPENDING) is not None:
        row.update(spread_spending(values[TOTAL_SPENDING]))
    if row[schema.DATE_COLUMN] is None:
        row[schema.DATE_COLUMN] = ref_date
    for column in schema.CAMPAIGN_COLUMNS:
        row[column] = row[column] or 0
    texts = {c: [_text(v)] for c, v in row.items()}
    return pl.DataFrame(
        {SOURCE_ROW: [1], **texts}, schema_overrides=dict.fromkeys(texts, pl.String)
    )


def in_form_words(reason: str, values: Mapping[str, Any]) -> str:
    """A rejection reason of the data contract with the form's labels for its column names
    (``Year_Birth '1890' is before 1901`` -> ``Birth year 1890 is before 1901``); a birth year
    that came from an age says so.
    """
    parts = []
    for part in reason.split("; "):
        column = part.split(" ", 1)[0]
        label = FIELD_LABELS.get(column, column)
        rest = re.sub(r"^ '([^']*)'", r" \1", part[len(column) :])
        if column == "Year_Birth" and values.get("Year_Birth") is None and AGE in values:
            label = f"Birth year (from age {values[AGE]})"
        parts.append(label + rest)
    return "; ".join(parts)


def check_form(
    values: Mapping[str, Any], bundle: ModelBundle, data_params: DataProcessingParams
) -> pl.DataFrame:
    """The form's customer through the data contract (its one-row path): its clean row.

    Raises:
        FormRejected: a rule of the contract rejects the row (message in the form's words).
    """
    checked = check_rows(form_table(values, bundle.reference_date), FORM_SOURCE, data_params)
    rejected = checked.rejected
    if len(rejected):
        first = rejected.row(0, named=True)
        reason, code = str(first["reason"]), str(first["reason_code"])
        raise FormRejected(f"{in_form_words(reason, values)} (data contract rule {code})", code)
    return checked.clean


def form_defaults(bundle: ModelBundle) -> dict[str, Any]:
    """Starting values for the form: the model version's typical training customer (the median
    of each field, the most common categories), with its ``Age`` and ``Total_Spending``
    (``features.age``, ``features.total_spending``). Computed once per version.
    """

    def compute() -> dict[str, Any]:
        typical = dict(bundle.card["typical_customer"])
        row = engine.lazy(pd.DataFrame([typical]))
        derived = engine.first_row(
            row.select(
                **{
                    AGE: features.age(bundle.reference_date),
                    TOTAL_SPENDING: features.total_spending(),
                }
            ).select(nw.all().cast(nw.Int64))
        )
        typical[schema.DATE_COLUMN] = pd.Timestamp(typical[schema.DATE_COLUMN]).date()
        return {**typical, **derived}

    return dict(bundle.derived("form_defaults", compute))
