"""Row-level problems: each bad value is repaired by its rule or rejected with its reason,
and the quality report accounts for every input row."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest
from conftest import REAL_FILES, changed, real_file
from contract_api import (
    CustomerDataError,
    RawCustomerFile,
    check_clean_table,
    parse_dates,
    prepare_customers,
)

from customer_segmentation.params import ParameterError

ROWS = 30
PIVOT = 70  # two-digit years below are 20yy


@pytest.fixture(scope="module")
def good_rows(params) -> pd.DataFrame:
    """The first ``ROWS`` real rows that are clean as they are (strings, Kaggle layout)."""
    text = pd.read_csv(real_file(REAL_FILES[0]), dtype=str, keep_default_na=False)
    result = prepare_customers(
        RawCustomerFile("real.csv", real_file(REAL_FILES[0]).read_bytes()),
        params["data_processing"],
    )
    clean_ids = set(result.clean["ID"].astype(str))
    return text[text["ID"].isin(clean_ids)].head(ROWS).reset_index(drop=True)


@pytest.fixture
def rows(good_rows) -> pd.DataFrame:
    return good_rows.copy()


def run(rows: pd.DataFrame, params: dict[str, Any], **overrides: Any):
    settings = changed(params["data_processing"], **overrides)
    content = rows.to_csv(index=False).encode()
    result = prepare_customers(RawCustomerFile("t.csv", content), settings)
    clean, rejected, report = result.clean, result.rejected, result.report
    assert report["rows_in"] == len(rows), "rows_in must count every data row"
    assert report["rows_in"] == report["rows_clean"] + report["rows_rejected"], report
    assert len(clean) == report["rows_clean"] and len(rejected) == report["rows_rejected"]
    check_clean_table(clean, settings)
    assert (rejected["reason"] != "").all(), "every rejected row has a reason"
    return clean, rejected, report


def rejected_row(rejected: pd.DataFrame, source_row: int) -> pd.Series:
    hit = rejected[rejected["source_row"].astype(int) == source_row]
    assert len(hit) == 1, f"row {source_row} should be rejected once; rejected: {rejected}"
    return hit.iloc[0]


@pytest.mark.parametrize(
    ("column", "value", "code", "words"),
    [
        ("Income", "abc", "not_a_number", "Income 'abc' is not a number"),
        ("Income", "n/a", "missing_income", "Income is missing"),
        ("Income", "", "missing_income", "Income is missing"),
        ("Income", "950000", "income_outlier", "above max_income"),
        ("MntWines", "-5", "negative_value", "MntWines '-5' is negative"),
        ("MntMeatProducts", "", "missing_value", "MntMeatProducts is missing"),
        ("Recency", "NULL", "missing_value", "Recency is missing"),
        ("Kidhome", "1.5", "not_whole_number", "Kidhome '1.5' is not a whole number"),
        ("NumWebPurchases", "1e30", "not_whole_number", "not a whole number"),
        ("Education", " ", "missing_value", "Education is missing"),
        ("Marital_Status", "n/a", "missing_value", "Marital_Status is missing"),
        ("Response", "2", "bad_flag", "Response '2' is not 0 or 1"),
        ("Dt_Customer", "31-02-2013", "bad_date", "Dt_Customer '31-02-2013' is not a date"),
        ("Dt_Customer", "yesterday", "bad_date", "'yesterday' is not a date"),
        ("Dt_Customer", "", "bad_date", "Dt_Customer is not a date"),
        ("Dt_Customer", "04-09-1980", "date_out_of_range", "is outside 2000-01-01..2030-12-31"),
        ("Year_Birth", "1850", "birth_year_out_of_range", "Year_Birth '1850' is before 1901"),
        ("Year_Birth", "2019", "birth_year_out_of_range", "after the customer's first purchase"),
        ("ID", "", "missing_id", "ID is missing or not a number"),
        ("ID", "12.5", "not_whole_number", "ID '12.5' is not a whole number"),
    ],
)
def test_bad_value_is_rejected_with_its_reason(rows, params, column, value, code, words):
    rows.loc[7, column] = value

    clean, rejected, report = run(rows, params)

    row = rejected_row(rejected, 8)
    assert row["reason_code"] == code, f"{column}={value!r}: {row['reason']}"
    assert words in row["reason"], f"{column}={value!r}: reason {row['reason']!r}"
    assert row[column] == value.strip() or row[column] == value, "rejects keep the original text"
    assert report["rejected_by_reason"] == {code: 1}, report["rejected_by_reason"]
    assert report["rows_clean"] == ROWS - 1


def test_several_problems_in_one_row_are_all_listed(rows, params):
    rows.loc[3, ["Income", "MntWines", "Dt_Customer"]] = ["abc", "-1", "99-99-2013"]

    _, rejected, report = run(rows, params)

    reason = rejected_row(rejected, 4)["reason"]
    for part in ("Income 'abc'", "MntWines '-1' is negative", "Dt_Customer '99-99-2013'"):
        assert part in reason, f"{part!r} missing from {reason!r}"
    assert report["rows_rejected"] == 1
    assert report["problems_by_rule"] == {"bad_date": 1, "negative_value": 1, "not_a_number": 1}


def test_duplicate_id_keeps_the_first_row_and_names_it(rows, params):
    rows.loc[20, "ID"] = rows.loc[5, "ID"]

    clean, rejected, report = run(rows, params)

    row = rejected_row(rejected, 21)
    assert row["reason_code"] == "duplicate_id"
    assert row["reason"] == "duplicate ID, first seen at row 6", row["reason"]
    assert clean["ID"].is_unique
    assert str(int(clean.loc[5, "ID"])) == rows.loc[5, "ID"], "the first occurrence is kept"


def test_currency_and_thousands_marks_are_repaired_and_counted(rows, params):
    expected = float(rows.loc[0, "Income"])
    rows.loc[0, "Income"] = f"${expected:,.0f}"
    rows.loc[1, "MntWines"] = "1,234"

    clean, rejected, report = run(rows, params)

    assert rejected.empty, rejected
    assert clean.loc[0, "Income"] == expected
    assert clean.loc[1, "MntWines"] == 1234
    assert report["repaired"] == {
        "Income: currency/thousands marks removed": 1,
        "MntWines: currency/thousands marks removed": 1,
    }


def test_categories_are_trimmed_and_case_normalised(rows, params):
    rows.loc[0, "Education"] = " GRADUATION "
    rows.loc[1, "Education"] = "phd"
    rows.loc[2, "Marital_Status"] = "  married"
    rows.loc[3, "Marital_Status"] = "yolo"

    clean, rejected, report = run(rows, params)

    assert rejected.empty
    assert clean.loc[:3, "Education"].tolist()[:2] == ["Graduation", "PhD"]
    assert clean.loc[2:3, "Marital_Status"].tolist() == ["Married", "YOLO"]
    assert report["repaired"] == {
        "Education: trimmed/case-normalised": 2,
        "Marital_Status: trimmed/case-normalised": 2,
    }


def test_missing_income_imputed_with_the_median_when_asked(rows, params):
    median = rows.drop(index=4)["Income"].astype(float).median()
    rows.loc[4, "Income"] = "n/a"

    clean, rejected, report = run(rows, params, missing_income="impute_median")

    assert rejected.empty
    assert clean.loc[4, "Income"] == median
    assert report["repaired"] == {"Income: missing, imputed with the median": 1}
    assert report["missing_income_policy"] == "impute_median"


def test_unknown_parameters_are_refused_naming_them(rows, params):
    with pytest.raises(ParameterError, match="data_processing.missing_income = 'guess'"):
        run(rows, params, missing_income="guess")
    with pytest.raises(ParameterError, match="data_processing.ambiguous_date_order"):
        run(rows, params, ambiguous_date_order="year_first")


def test_truncated_last_line_is_a_rejected_row_not_a_lost_one(rows, params):
    content = rows.to_csv(index=False).encode()
    cut = content[: len(content) - 40]  # the last row loses its last fields

    result = prepare_customers(RawCustomerFile("cut.csv", cut), params["data_processing"])
    rejected, report = result.rejected, result.report

    assert report["rows_in"] == ROWS == report["rows_clean"] + report["rows_rejected"]
    assert rejected["source_row"].astype(int).tolist() == [ROWS]
    assert rejected.loc[0, "reason_code"] == "missing_value"


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


def test_mixed_date_orders_follow_the_majority_and_reject_the_rest(rows, params):
    rows.loc[2, "Dt_Customer"] = "12/25/2013"  # month-first among day-first values

    clean, rejected, report = run(rows, params)

    assert rejected_row(rejected, 3)["reason_code"] == "bad_date"
    assert report["date_order"] == "day_first"
    assert report["date_order_decided_by"].startswith("majority"), report["date_order_decided_by"]


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


@pytest.mark.parametrize("name", REAL_FILES)
def test_the_real_table_in_small_slices_gives_the_same_result(name, params):
    content = real_file(name).read_bytes()
    whole = prepare_customers(RawCustomerFile(name, content), params["data_processing"])
    sliced = prepare_customers(
        RawCustomerFile(name, content), changed(params["data_processing"], chunk_rows=300)
    )
    assert sliced.report == whole.report
    pd.testing.assert_frame_equal(sliced.clean, whole.clean)
    pd.testing.assert_frame_equal(sliced.rejected, whole.rejected)


def test_a_duplicate_in_a_later_slice_names_the_row_of_the_first(params):
    lines = real_file(REAL_FILES[0]).read_bytes().splitlines()
    copied = lines[1]  # the first customer again, 2,000 rows later (another slice)
    content = b"\n".join([*lines[:2001], copied, *lines[2001:]]) + b"\n"
    result = prepare_customers(
        RawCustomerFile("dup.csv", content), changed(params["data_processing"], chunk_rows=500)
    )
    duplicate = result.rejected[result.rejected["reason_code"] == "duplicate_id"]
    assert duplicate["source_row"].astype(int).tolist() == [2001]
    assert duplicate["reason"].str.contains("first seen at row 1").all(), duplicate["reason"]


def test_a_shape_seen_only_in_a_later_slice_is_read_there(params):
    """The shapes of dates and the columns holding currency or thousands marks are the whole
    file's (the first pass): a value in another shape 2,000 rows in is read, not rejected.
    """
    table = pd.read_csv(real_file(REAL_FILES[0]), dtype=str, keep_default_na=False)
    later = table.index[2000]
    income = float(table.loc[later, "Income"])
    day, month, year = table.loc[later, "Dt_Customer"].split("-")
    table.loc[later, "Income"] = f"${income:,.0f}"
    table.loc[later, "Dt_Customer"] = f"{int(day)}-{int(month)}-{year}"
    table.loc[later + 1, "Dt_Customer"] = f"{year}-{month}-{day}"

    result = prepare_customers(
        RawCustomerFile("later.csv", table.to_csv(index=False).encode()),
        changed(params["data_processing"], chunk_rows=500),
    )

    row = result.clean[result.clean["ID"] == int(table.loc[later, "ID"])].iloc[0]
    assert row["Income"] == income
    assert pd.Timestamp(row["Dt_Customer"]) == pd.Timestamp(f"{year}-{month}-{day}")
    after = result.clean[result.clean["ID"] == int(table.loc[later + 1, "ID"])].iloc[0]
    assert pd.Timestamp(after["Dt_Customer"]) == pd.Timestamp(f"{year}-{month}-{day}")
    assert result.report["repaired"] == {"Income: currency/thousands marks removed": 1}


def test_an_id_too_large_for_an_integer_is_rejected_not_a_crash(rows, params):
    rows.loc[0, "ID"] = "1e308"  # a float64, far beyond any integer type

    _, rejected, report = run(rows, params)

    assert rejected_row(rejected, 1)["reason_code"] == "not_whole_number"
    assert report["rows_in"] == len(rows)


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


def test_a_repeated_header_line_is_rejected_under_its_own_reason(rows, params):
    header = pd.DataFrame([rows.columns], columns=rows.columns)
    pasted = pd.concat([rows.head(10), header, rows.iloc[10:]], ignore_index=True)
    clean, rejected, report = run(pasted, params)
    assert len(clean) == len(rows), "every customer row of both parts is kept"
    row = rejected_row(rejected, 11)
    assert row["reason_code"] == "repeated_header"
    assert row["reason"] == "a header line repeated inside the table (exports pasted together)"
    assert report["rejected_by_reason"] == {"repeated_header": 1}
    assert report["problems_by_rule"] == {"repeated_header": 1}, "no other rule fires on it"


def _stopped(rows: pd.DataFrame, params: dict[str, Any], **overrides: Any) -> str:
    settings = changed(params["data_processing"], **overrides)
    with pytest.raises(CustomerDataError) as caught:
        prepare_customers(RawCustomerFile("t.csv", rows.to_csv(index=False).encode()), settings)
    message = str(caught.value)
    assert message.startswith("t.csv: stopped before anything is modelled or saved"), message
    return message


def test_a_column_failing_most_rows_stops_with_the_rule_rows_examples_and_cause(rows, params):
    # Amounts of wine with a decimal comma: read as 635.5, not a whole number of units.
    first = rows["MntWines"].iloc[0]
    rows.loc[: len(rows) - 5, "MntWines"] = rows["MntWines"] + ",5"
    message = _stopped(rows, params, stop_share=0.5)
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
    message = _stopped(rows, params)
    assert "no row passed the data contract" in message, message
    assert "Dt_Customer fails the rule bad_date" in message, message
    assert "31-12-2013" in message, "the shapes the contract reads are listed"


def test_shifted_columns_are_recognised(rows, params):
    columns = list(rows.columns)
    start = columns.index("Education")
    rows[columns[start:]] = rows[columns[start:]].shift(1, axis=1).fillna("")
    message = _stopped(rows, params)
    assert "Education fails the rule missing_value" in message, "the shift starts there"
    assert "the columns look shifted" in message, message


def test_a_file_whose_every_income_is_unreadable_stops_with_the_diagnosis(rows, params):
    rows["Income"] = rows["Income"] + " EUR/yr"
    message = _stopped(rows, params)
    assert f"Income fails the rule not_a_number in {len(rows)} of {len(rows)} rows" in message
    assert f"row 1: '{rows['Income'].iloc[0]}'" in message, message
