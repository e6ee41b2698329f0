"""The data contract as the tests read its results: pandas tables (the package returns the
engine's native frames), and a column of date texts read as the contract reads one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import narwhals as nw
import pandas as pd
import polars as pl

from customer_segmentation.core import engine
from customer_segmentation.core.contract import (
    CustomerDataError,
    RawCustomerFile,
    read_file,
    values,
)
from customer_segmentation.core.contract import prepare_customers as _prepare
from customer_segmentation.core.contract.apply import contract_for
from customer_segmentation.core.contract.plan import plan_file
from customer_segmentation.core.contract.reading import read_errors_named
from customer_segmentation.core.contract.schema import check_clean

__all__ = [
    "CustomerDataError",
    "RawCustomerFile",
    "check_clean_table",
    "parse_dates",
    "prepare_customers",
    "read_customer_table",
]


@dataclass(frozen=True)
class PandasResult:
    clean: pd.DataFrame
    rejected: pd.DataFrame
    report: dict[str, Any]


def prepare_customers(raw: RawCustomerFile, params: Any) -> PandasResult:
    """``contract.prepare_customers`` with its tables as pandas."""
    result = _prepare(raw, params)
    return PandasResult(
        clean=engine.to_pandas(engine.lazy(result.clean)),
        rejected=engine.to_pandas(engine.lazy(result.rejected)),
        report=result.report,
    )


def check_clean_table(clean: pd.DataFrame, params: Any) -> None:
    """The clean table's schema check (``contract.schema.check_clean``)."""
    table = pl.from_pandas(clean).with_columns(pl.col("Dt_Customer").cast(pl.Date))
    check_clean(engine.lazy(table), "test")


def read_customer_table(content: bytes, source: str) -> tuple[pd.DataFrame, dict[str, Any]]:
    """An export read as text (``contract.read_file``), every value collected, after the
    contract's first look at the whole file (a file without data rows is refused there).
    """
    from conftest import project_params  # noqa: PLC0415

    raw = read_file(RawCustomerFile(source, content))
    plan_file(raw.strings, contract_for(raw.columns, project_params()["data_processing"]), source)
    with read_errors_named(source):  # the same message as a run's
        table = engine.to_pandas(raw.strings)
    return table, raw.info


def parse_dates(texts: pd.Series, ambiguous: str, pivot: int) -> tuple[pd.Series, dict[str, str]]:
    """A column of date texts read as the contract reads ``Dt_Customer``: the order of day and
    month decided by the column (``ambiguous`` when it does not tell), NaT where not a date.
    """
    frame = nw.from_native(pl.DataFrame({"d": [str(t) for t in texts]})).lazy()
    forms = values.date_forms(values.date_text("d"))
    counts = engine.first_row(frame.select(**{k: values.count(f) for k, f in forms.items()}))
    info = values.date_order(
        counts["first_big"], counts["second_big"], counts["shape:numeric"], ambiguous
    )
    parsed = values.parse_dates(frame, "d", info["date_order"], pivot, values.date_shapes(counts))
    dates = engine.to_pandas(parsed.select(values.to_date(nw.col(values.DATE_ISO)).alias("d")))
    return pd.to_datetime(dates["d"]), info
