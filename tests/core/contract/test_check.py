"""A file, and rows that did not come from one (the app's form), through the contract
(``contract/check.py``): a row checked alone (``check_rows``: plans compiled once) gets the clean
row, reason code, reason and report it gets as a file (``check`` of the file read as text)."""

from __future__ import annotations

from typing import Any

import pandas as pd
import polars as pl
import pytest
from conftest import REAL_FILES, real_file
from polars.testing import assert_frame_equal

from customer_segmentation.core.contract import (
    SOURCE_ROW,
    RawCustomerFile,
    check,
    check_rows,
    read_file,
)

# What reading a file adds to the report (how the file was written), not what checking found.
READING_INFO = {
    "source",
    "format",
    "encoding",
    "byte_order_mark",
    "delimiter",
    "line_ends",
    "ignored_columns",
    "absent_optional_columns",
}
REAL_ROWS = (0, 1, 7, 100, 2000)
CHANGES: dict[str, dict[str, str]] = {
    "as_it_is": {},
    "birth_year_1890": {"Year_Birth": "1890"},
    "income_5000000": {"Income": "5000000"},
    "impossible_date": {"Dt_Customer": "31-02-2013"},
    "unreadable_date": {"Dt_Customer": "yesterday"},
    "iso_date": {"Dt_Customer": "2013-02-28"},
    "income_with_marks": {"Income": "$58,138"},
    "income_decimal_comma": {"Income": "58138,5"},
    "odd_category": {"Education": " GRADUATION "},
    "missing_recency": {"Recency": ""},
    "negative_wine": {"MntWines": "-4"},
    "bad_flag": {"Response": "2"},
}


@pytest.fixture(scope="module")
def real() -> pd.DataFrame:
    return pd.read_csv(real_file(REAL_FILES[0]), dtype=str, keep_default_na=False)


def _both(rows: pd.DataFrame, settings: Any) -> tuple[Any, Any]:
    """``rows`` checked as rows (``check_rows``) and as a CSV file (``check`` without the stop
    of a file that cannot be right, which rows from elsewhere do not have).
    """
    alone = check_rows(rows.assign(**{SOURCE_ROW: range(1, len(rows) + 1)}), "rows", settings)
    content = rows.to_csv(index=False).encode()
    as_file = check(read_file(RawCustomerFile("rows.csv", content)), settings, diagnose=False)
    return alone, as_file


def _same(alone: Any, as_file: Any) -> None:
    assert_frame_equal(alone.clean, as_file.clean)
    assert_frame_equal(alone.rejected, as_file.rejected)
    checked = {k: v for k, v in as_file.report.items() if k not in READING_INFO}
    assert {k: v for k, v in alone.report.items() if k != "source"} == checked


@pytest.mark.parametrize("change", sorted(CHANGES))
@pytest.mark.parametrize("row", REAL_ROWS)
def test_a_row_alone_gets_what_it_gets_in_a_file(real, params, row, change):
    customer = real.iloc[[row]].assign(**CHANGES[change])

    alone, as_file = _both(customer, params["data_processing"])

    _same(alone, as_file)
    assert alone.report["rows_in"] == 1


@pytest.mark.parametrize(
    ("change", "code", "words"),
    [
        ({"Year_Birth": "1890"}, "birth_year_out_of_range", "Year_Birth '1890' is before 1901"),
        ({"Income": "5000000"}, "income_outlier", "Income '5000000' is above max_income"),
        ({"Dt_Customer": "31-02-2013"}, "bad_date", "Dt_Customer '31-02-2013' is not a date"),
    ],
)
def test_a_rejected_row_alone_gets_the_files_reason(real, params, change, code, words):
    customer = real.iloc[[0]].assign(**change)

    alone, as_file = _both(customer, params["data_processing"])

    _same(alone, as_file)
    assert alone.clean.is_empty()
    assert alone.rejected["reason_code"].to_list() == [code]
    assert words in alone.rejected["reason"].item(), alone.rejected["reason"].item()


def test_several_rows_alone_get_what_they_get_in_a_file(real, params):
    """A few rows, one repeating an earlier row's ID and one broken: duplicates are found
    among them as in a file.
    """
    rows = real.iloc[[3, 4, 5, 6]].copy()
    rows.iloc[2, rows.columns.get_loc("ID")] = rows.iloc[0]["ID"]
    rows.iloc[3, rows.columns.get_loc("Kidhome")] = "1.5"

    alone, as_file = _both(rows, params["data_processing"])

    _same(alone, as_file)
    assert alone.rejected["reason_code"].to_list() == ["duplicate_id", "not_whole_number"]
    assert alone.rejected["reason"].to_list()[0] == "duplicate ID, first seen at row 1"


def test_a_polars_table_and_a_pandas_table_give_the_same(real, params):
    rows = real.iloc[[0, 1]].assign(**{SOURCE_ROW: [1, 2]})
    from_pandas = check_rows(rows, "rows", params["data_processing"])
    from_polars = check_rows(pl.from_pandas(rows), "rows", params["data_processing"])

    assert_frame_equal(from_pandas.clean, from_polars.clean)
    assert_frame_equal(from_pandas.rejected, from_polars.rejected)
    assert from_pandas.report == from_polars.report


def test_rows_without_any_are_refused(real, params):
    with pytest.raises(ValueError, match="no data rows"):
        check_rows(real.iloc[[]].assign(**{SOURCE_ROW: []}), "rows", params["data_processing"])
