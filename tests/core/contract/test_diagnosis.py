"""A file that cannot be right stops with a diagnosis (``contract/diagnosis.py``): the
column, the rule, how many rows, examples with their rows and the likely cause."""

from __future__ import annotations

import pandas as pd
import pytest
from contract_rows import good_rows, run, stopped


@pytest.fixture
def rows() -> pd.DataFrame:
    return good_rows()


def test_a_column_failing_most_rows_stops_with_the_rule_rows_examples_and_cause(rows, params):
    # Amounts of wine with a decimal comma: read as 635.5, not a whole number of units.
    first = rows["MntWines"].iloc[0]
    rows.loc[: len(rows) - 5, "MntWines"] = rows["MntWines"] + ",5"
    message = stopped(rows, params, stop_share=0.5)
    bad = len(rows) - 4
    assert f"MntWines fails the rule not_whole_number in {bad} of {len(rows)} rows" in message
    assert f"row 1: '{first},5'" in message, "the first example is named with its row"
    assert "decimal comma" in message, message


def test_below_the_stop_share_the_rows_are_only_rejected(rows, params):
    rows.loc[:4, "Income"] = "lots"
    clean, rejected, _ = run(rows, params, stop_share=0.5)
    assert len(rejected) == 5 and len(clean) == len(rows) - 5


def test_dates_in_an_unknown_shape_stop_naming_the_shapes_read(rows, params):
    rows["Dt_Customer"] = rows["Dt_Customer"].str.replace("-", "~")
    message = stopped(rows, params)
    assert "no row passed the data contract" in message, message
    assert "Dt_Customer fails the rule bad_date" in message, message
    assert "31-12-2013" in message, "the shapes the contract reads are listed"


def test_shifted_columns_are_recognised(rows, params):
    columns = list(rows.columns)
    start = columns.index("Education")
    rows[columns[start:]] = rows[columns[start:]].shift(1, axis=1).fillna("")
    message = stopped(rows, params)
    assert "Education fails the rule missing_value" in message, "the shift starts there"
    assert "the columns look shifted" in message, message


def test_a_file_whose_every_income_is_unreadable_stops_with_the_diagnosis(rows, params):
    rows["Income"] = rows["Income"] + " EUR/yr"
    message = stopped(rows, params)
    assert f"Income fails the rule not_a_number in {len(rows)} of {len(rows)} rows" in message
    assert f"row 1: '{rows['Income'].iloc[0]}'" in message, message
