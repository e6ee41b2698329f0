"""Whole-file facts (``contract/facts.py``): the date order and each number column's decimal
mark are decided by the whole file's values, and said in the report."""

from __future__ import annotations

import narwhals as nw
import pandas as pd
import polars as pl
import pytest
from contract_rows import good_rows, rejected_row, run

from customer_segmentation import schema
from customer_segmentation.core import engine
from customer_segmentation.core.contract import SOURCE_ROW, facts, values


@pytest.fixture
def rows() -> pd.DataFrame:
    return good_rows()


def test_mixed_date_orders_follow_the_majority_and_reject_the_rest(rows, params):
    rows.loc[2, "Dt_Customer"] = "12/25/2013"  # month-first among day-first values

    clean, rejected, report = run(rows, params)

    assert rejected_row(rejected, 3)["reason_code"] == "bad_date"
    assert report["date_order"] == "day_first"
    assert report["date_order_decided_by"].startswith("majority"), report["date_order_decided_by"]


def test_ambiguous_thousands_marks_follow_the_decimal_mark_parameter(rows, params):
    # "51.381" is 51.381 with a decimal point and 51,381 with a decimal comma: no value tells,
    # so the parameter decides, and the report says so.
    incomes = pd.to_numeric(rows["Income"]).astype(int)
    rows["Income"] = incomes.map(lambda x: f"{x // 1000}.{x % 1000:03d}")
    clean, _, report = run(rows, params, decimal_mark=",")
    assert clean["Income"].tolist() == incomes.astype(float).tolist()
    assert report["decimal_marks"]["Income"].startswith("decimal comma: the values do not tell")
    pointed, _, report = run(rows, params, decimal_mark=".")
    assert pointed["Income"].tolist() == (incomes / 1000).tolist()
    assert report["decimal_marks"]["Income"].startswith("decimal point: the values do not tell")


def test_one_value_with_decimals_decides_the_decimal_mark(rows, params):
    incomes = pd.to_numeric(rows["Income"]).astype(int)
    rows["Income"] = incomes.map(lambda x: f"{x // 1000}.{x % 1000:03d}")
    rows.loc[0, "Income"] = "51.381,50"
    clean, _, report = run(rows, params, decimal_mark=".")
    assert clean["Income"].iloc[0] == 51381.5
    assert clean["Income"].iloc[1:].tolist() == incomes.iloc[1:].astype(float).tolist()
    assert report["decimal_marks"]["Income"].startswith("decimal comma: 1 values show it")


def test_repeated_ids_are_found_for_either_decimal_mark_in_the_same_pass():
    """The ID's decimal mark is decided by the pass that finds the repeated IDs, so both
    readings are kept: ``1,234`` repeats ``1234`` with a decimal point (a thousands mark) and
    is no whole number with a decimal comma.
    """
    ids = ["1234", "7", "1,234", "0007", "12.5", "", "7"]
    frame = nw.from_native(
        pl.DataFrame({SOURCE_ROW: range(1, len(ids) + 1), schema.ID: ids}).lazy()
    )
    keyed = values.with_integers(frame, [schema.ID])
    keyed = keyed.with_columns(**facts.id_keys(values.odd(schema.ID)))
    both = engine.cache(facts.repeated_ids(keyed))

    def repeated(mark: str) -> dict[int, int]:
        rows = engine.rows(facts.repeats(both, mark).sort(SOURCE_ROW))
        return {row[SOURCE_ROW]: row[facts.FIRST_ROW] for row in rows}

    assert repeated(".") == {3: 1, 4: 2, 7: 2}
    assert repeated(",") == {4: 2, 7: 2}
