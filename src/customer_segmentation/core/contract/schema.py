"""The clean table's shape: its columns, their types, and the check every clean table passes.

The row rules (``rules``) decide which rows are clean; this module only says what a clean table
looks like, and refuses one that does not (a bug in the rules, never the user's data).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import narwhals as nw

from customer_segmentation import schema
from customer_segmentation.core import engine
from customer_segmentation.core.contract.errors import CustomerDataError

CLEAN_TYPES: dict[str, nw.dtypes.DType] = {
    column: (
        nw.Float64
        if column == "Income"
        else nw.Date
        if column == schema.DATE_COLUMN
        else nw.String
        if column in schema.CATEGORY_COLUMNS
        else nw.Int64
    )
    for column in schema.KAGGLE_COLUMNS
}


def clean_counts(clean: nw.LazyFrame) -> nw.LazyFrame:
    """Aggregation over a clean table: its rows, distinct IDs and missing values per column
    (what :func:`problems` reads).
    """
    return clean.select(
        rows=nw.len(),
        ids=nw.col(schema.ID).n_unique(),
        **{f"null:{c}": nw.col(c).null_count() for c in schema.KAGGLE_COLUMNS},
    )


def problems(found: Mapping[str, Any], counts: Callable[[], Mapping[str, Any]]) -> list[str]:
    """What breaks the contract in a clean table of schema ``found`` (column -> type), whose
    :func:`clean_counts` ``counts`` gives (asked only when the columns are right).
    """
    wrong = [
        f"{column} is {found.get(column)}, not {dtype}"
        for column, dtype in CLEAN_TYPES.items()
        if found.get(column) != dtype
    ]
    if list(found) != list(schema.KAGGLE_COLUMNS):
        wrong.append(f"columns {list(found)}")
    if wrong:
        return wrong
    count = counts()
    if count["rows"] and count["ids"] != count["rows"]:
        wrong.append("ID is not unique")
    return wrong + [
        f"{k.removeprefix('null:')} has missing values"
        for k, v in count.items()
        if k.startswith("null:") and v
    ]


def refuse(wrong: list[str], source: str) -> None:
    """Raise for a clean table that breaks the contract (:func:`problems`), if it does.

    Raises:
        CustomerDataError: naming what is wrong (a bug in the cleaning rules).
    """
    if wrong:
        raise CustomerDataError(
            f"{source}: the cleaned table breaks the data contract; this is a bug in the "
            f"cleaning rules, please report it with the file: {'; '.join(wrong)}"
        )


def check_clean(clean: nw.LazyFrame, source: str) -> None:
    """Refuse a clean table that is not what the contract promises: the columns of
    ``schema.KAGGLE_COLUMNS`` in order and type, no missing value, ``ID`` unique.

    Raises:
        CustomerDataError: naming what is wrong (a bug in the cleaning rules).
    """
    found = dict(clean.collect_schema().items())
    refuse(problems(found, lambda: engine.first_row(clean_counts(clean))), source)
