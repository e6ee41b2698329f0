"""Row rules (``contract/rules.py``): each bad value is repaired by its rule or rejected with
its reason, and the quality report accounts for every input row."""

from __future__ import annotations

import pandas as pd
import pytest
from contract_api import RawCustomerFile, prepare_customers
from contract_rows import ROWS, good_rows, rejected_row, run

from customer_segmentation.params import ParameterError


@pytest.fixture
def rows() -> pd.DataFrame:
    return good_rows()


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


def test_an_id_too_large_for_an_integer_is_rejected_not_a_crash(rows, params):
    rows.loc[0, "ID"] = "1e308"  # a float64, far beyond any integer type

    _, rejected, report = run(rows, params)

    assert rejected_row(rejected, 1)["reason_code"] == "not_whole_number"
    assert report["rows_in"] == len(rows)


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
