"""The clean table's shape: its columns, their types, and the check every clean table passes.

The row rules (``rules``) decide which rows are clean; this module only says what a clean table
looks like, and refuses one that does not (a bug in the rules, never the user's data).
"""

from __future__ import annotations

import narwhals as nw

from customer_segmentation import schema
from customer_segmentation.core import engine
from customer_segmentation.core.contract.errors import CustomerDataError
from customer_segmentation.params import DataProcessingParams

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


def check_clean(clean: nw.LazyFrame, params: DataProcessingParams, source: str) -> None:
    """Refuse a clean table that is not what the contract promises: the columns of
    ``schema.KAGGLE_COLUMNS`` in order and type, no missing value, ``ID`` unique.

    Raises:
        CustomerDataError: naming what is wrong (a bug in the cleaning rules).
    """
    found = clean.collect_schema()
    problems = [
        f"{column} is {found.get(column)}, not {dtype}"
        for column, dtype in CLEAN_TYPES.items()
        if found.get(column) != dtype
    ]
    if list(found.names()) != list(schema.KAGGLE_COLUMNS):
        problems.append(f"columns {list(found.names())}")
    if not problems:
        counts = engine.first_row(
            clean.select(
                rows=nw.len(),
                ids=nw.col(schema.ID).n_unique(),
                **{f"null:{c}": nw.col(c).null_count() for c in schema.KAGGLE_COLUMNS},
            )
        )
        if counts["rows"] and counts["ids"] != counts["rows"]:
            problems.append("ID is not unique")
        problems += [
            f"{k.removeprefix('null:')} has missing values"
            for k, v in counts.items()
            if k.startswith("null:") and v
        ]
    if problems:
        raise CustomerDataError(
            f"{source}: the cleaned table breaks the data contract; this is a bug in the "
            f"cleaning rules, please report it with the file: {'; '.join(problems)}"
        )
