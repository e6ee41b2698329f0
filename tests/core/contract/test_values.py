"""Values (``contract/values.py``): dates in every shape and order the contract reads, and
numbers read the same by the whole-file pass as by the rules."""

from __future__ import annotations

import narwhals as nw
import pandas as pd
import polars as pl
import pytest
from contract_api import parse_dates

from customer_segmentation.core import engine
from customer_segmentation.core.contract import values as contract_values

PIVOT = 70  # two-digit years below are 20yy


def test_ambiguous_date_column_follows_the_parameter_and_says_so():
    text = pd.Series(["04-09-2012", "08-03-2014", "01-12-2013", "04-09-2012"])

    day_first, info = parse_dates(text, "day_first", PIVOT)
    month_first, info_m = parse_dates(text, "month_first", PIVOT)

    assert day_first[0] == pd.Timestamp("2012-09-04") and month_first[0] == pd.Timestamp(
        "2012-04-09"
    )
    assert info["date_order_decided_by"] == info_m["date_order_decided_by"]
    assert "ambiguous" in info["date_order_decided_by"]


@pytest.mark.parametrize(
    ("values", "order"),
    [
        (["04-09-2012", "25-03-2014"], "day_first"),
        (["4/9/2012", "3/25/2014"], "month_first"),
    ],
)
def test_one_value_above_12_decides_the_date_order(values, order):
    dates, info = parse_dates(pd.Series(values), "day_first", PIVOT)
    assert info["date_order"] == order
    assert dates.notna().all()
    assert dates[1] == pd.Timestamp("2014-03-25")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("04-09-2012", "2012-09-04"),
        ("04.09.2012", "2012-09-04"),
        ("2012-09-04", "2012-09-04"),
        ("4-Sep-12", "2012-09-04"),
        ("04 September 2012", "2012-09-04"),
        ("41156", "2012-09-04"),
        ("41156.0", "2012-09-04"),
        ("04/09/2012 00:00", "2012-09-04"),
        ("2012-09-04T00:00:00", "2012-09-04"),
        ("4-9-2012", "2012-09-04"),
        ("4/9/12", "2012-09-04"),
        ("2012-9-4", "2012-09-04"),
    ],
)
def test_date_spellings(value, expected):
    dates, _ = parse_dates(pd.Series([value, "25-12-2013"]), "day_first", PIVOT)
    assert dates[0] == pd.Timestamp(expected), f"{value!r} read as {dates[0]}"


NUMBER_TEXTS = [
    "58138",
    "0012",
    "",
    None,
    " 42 ",
    "$58,138",
    "58.138,00",
    "58138,5",
    "1.234",
    "1,234",
    "-5",
    "+5",
    "-0",
    "1e308",
    "abc",
    "n/a",
    "99999999999999999999999",
    "€ 1 200",
    "1'200",
]


@pytest.mark.parametrize("mark", [contract_values.POINT, contract_values.COMMA])
def test_the_whole_file_pass_reads_numbers_as_the_rules_do(mark):
    """The first pass reads a column before its form is known, running the patterns only on
    the values the typed read cannot read (``number_value``): the same numbers as the rules'
    reading with every pattern (``number``).
    """
    frame = nw.from_native(pl.DataFrame({"x": NUMBER_TEXTS}, schema={"x": pl.String})).lazy()
    read = engine.to_pandas(
        contract_values.with_integers(frame, ["x"]).select(
            rules=contract_values.number("x", decimal_mark=mark).value,
            first_pass=contract_values.number_value("x", mark, contract_values.odd("x")),
        )
    )
    pd.testing.assert_series_equal(read["first_pass"], read["rules"], check_names=False)
    assert read["rules"].notna().sum() >= 8, "the examples hold numbers, not only refusals"


def test_lookup_maps_known_values_and_gives_the_default_to_the_rest():
    """``values.lookup`` says what ``replace_strict`` said: a known value's mapping, the default
    (or null) for an unknown value and for null.
    """
    frame = pl.LazyFrame({"v": ["jan", "dec", "xyz", None]})
    months = {"jan": 1, "dec": 12}
    picked = nw.from_native(frame).select(
        strict=contract_values.lookup(nw.col("v"), months, nw.Int64),
        fallback=contract_values.lookup(nw.col("v"), months, nw.Int64, default=-1),
        one=contract_values.lookup(nw.col("v"), {"dec": "D"}, nw.String),
    )
    got = picked.collect().to_native().to_dict(as_series=False)
    assert got == {
        "strict": [1, 12, None, None],
        "fallback": [1, 12, -1, -1],
        "one": [None, "D", None, None],
    }
