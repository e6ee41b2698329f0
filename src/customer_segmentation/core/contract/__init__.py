"""The data contract: what a customer export must be, and what becomes of each of its rows.

One package for the pipeline (``data_processing``), the app's form and its upload page, on any
engine: ``reading`` (the file: encoding, delimiter, header, the engine's reader), ``values``
(numbers, dates, categories), ``rules`` (row rules, reasons, accounting), ``schema`` (the clean
table's shape).
"""

import logging
from typing import Any

import narwhals as nw

from customer_segmentation.core.contract.errors import CustomerDataError
from customer_segmentation.core.contract.reading import (
    SOURCE_ROW,
    RawTable,
    read_file,
    typed_table,
)
from customer_segmentation.core.contract.rules import REASON, REASON_CODE, CheckResult, check
from customer_segmentation.core.contract.source import RawCustomerFile
from customer_segmentation.params import DataProcessingParams


def prepare_customers(raw: RawCustomerFile | RawTable, params: DataProcessingParams) -> CheckResult:
    """Check every row of an export: a file (read by its engine, :func:`read_file`) or a table
    that arrived typed (a database table, :func:`typed_table`).
    """
    return check(raw if isinstance(raw, RawTable) else read_file(raw), params)


def check_rows(rows: Any, source: str, params: DataProcessingParams) -> CheckResult:
    """Check rows that did not come from a file (the app's form) as a file's rows are checked.

    Args:
        rows: a small table (pandas or Polars) of strings under canonical column names, with
            ``source_row``.
        source: what to call the rows in messages.
    """
    import polars as pl  # noqa: PLC0415 - the local engine

    table = rows if isinstance(rows, pl.DataFrame) else pl.from_pandas(rows)
    strings = nw.from_native(table).lazy().with_columns(nw.col(SOURCE_ROW).cast(nw.Int64))
    return check(
        RawTable(strings, {"source": source}), params, log_level=logging.DEBUG, diagnose=False
    )


__all__ = [
    "SOURCE_ROW",
    "REASON",
    "REASON_CODE",
    "CheckResult",
    "CustomerDataError",
    "RawCustomerFile",
    "RawTable",
    "check",
    "check_rows",
    "prepare_customers",
    "read_file",
    "typed_table",
]
