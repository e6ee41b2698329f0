"""The data contract: what a customer export must be, and what becomes of each of its rows.

One package for the pipeline (``data_processing``), the app's form and its upload page, on any
engine. Reading: ``containers`` (what a file is), ``layout`` (a text export's encoding,
delimiter and header), ``reading`` (the table of strings, Polars), ``spark`` (Spark's reader,
with the session the caller hands over). Rules: ``values`` (numbers, dates, categories),
``facts`` (what the whole file tells), ``rules`` (row rules and reasons), ``apply`` (the
contract built once per columns and parameters, applied to a frame), ``plan`` (a file's one
scan for its facts, its slices, the spill), ``accounting`` (counts and the quality report),
``diagnosis`` (the stop with a cause), ``schema`` (the clean table's shape), ``check`` (a file
or a few rows through it all).
"""

from customer_segmentation.core.contract import containers, rules, values
from customer_segmentation.core.contract.check import CheckResult, check, check_rows
from customer_segmentation.core.contract.errors import CustomerDataError
from customer_segmentation.core.contract.reading import (
    SOURCE_ROW,
    RawTable,
    read_file,
    typed_table,
    with_info,
)
from customer_segmentation.core.contract.rules import REASON, REASON_CODE
from customer_segmentation.core.contract.source import RawCustomerFile
from customer_segmentation.params import DataProcessingParams


def prepare_customers(raw: RawCustomerFile | RawTable, params: DataProcessingParams) -> CheckResult:
    """Check every row of an export: a file (read by its engine, :func:`read_file`) or a table
    that arrived typed (a database table, :func:`typed_table`). The quality report's ``input``
    tells the export from another (a file's :meth:`RawCustomerFile.identity`; a table's is
    given by whoever read it).
    """
    if isinstance(raw, RawTable):
        return check(raw, params)
    return check(with_info(read_file(raw), input=raw.identity()), params)


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
    "containers",
    "prepare_customers",
    "read_file",
    "rules",
    "typed_table",
    "values",
]
