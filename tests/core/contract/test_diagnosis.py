"""A file that cannot be right stops with a diagnosis (``contract/diagnosis.py``): the
column, the rule, how many rows, examples with their rows and the likely cause."""

from __future__ import annotations

import pandas as pd
import pytest
from contract_rows import good_rows, run, stopped

from customer_segmentation import schema
from customer_segmentation.core.contract import diagnosis
from customer_segmentation.core.contract.apply import contract_for
from customer_segmentation.core.contract.plan import FilePlan


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


def test_each_rule_is_counted_only_when_the_file_may_stop(rows, params, monkeypatch):
    """Too few rejects for any rule to reach stop_share: the file is never read again for the
    rules' counts; past that bound it is, and the diagnosis is the one of every rule's rows.
    """
    passes = []
    counted = FilePlan.rule_rows

    def rule_rows(plan, contract):
        passes.append(plan.source)
        return counted(plan, contract)

    monkeypatch.setattr(FilePlan, "rule_rows", rule_rows)
    rows.loc[:4, "Income"] = "lots"  # 5 rejects of 30
    run(rows, params, stop_share=0.5)
    assert passes == [], "5 rejects of 30 cannot reach 50 % in one column: nothing to count"

    run(rows, params, stop_share=0.2)  # two rules of 5 rows could reach 20 %: counted
    assert passes == ["t.csv"]
    rows.loc[:19, "Income"] = "lots"
    assert "Income fails the rule not_a_number in 20 of 30 rows" in stopped(
        rows, params, stop_share=0.5
    )
    assert passes == ["t.csv", "t.csv"]


def test_the_bound_adds_up_the_rules_of_one_column_and_code(params):
    """Year_Birth has two rules of one code (before min_birth_year, after the first purchase):
    the diagnosis adds them up, so the bound is twice the rejected rows.
    """
    settings = params["data_processing"]
    built = contract_for(schema.KAGGLE_COLUMNS, settings).rules
    pairs = [(r.column, r.code) for r in built]
    assert pairs.count(("Year_Birth", "birth_year_out_of_range")) == 2
    assert diagnosis.most_one_rule_rejects(built, 7) == 2 * 7


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


# --- ranked by impact (issue 29) -------------------------------------------------------------

ROWS = 2240
FLAGS = ("AcceptedCmp3", "AcceptedCmp4", "AcceptedCmp5", "AcceptedCmp1", "AcceptedCmp2")


def test_the_rule_failing_the_most_rows_comes_first_with_every_column_it_fails():
    counts = [("Income", "missing_income", 24), *((f, "bad_flag", ROWS) for f in FLAGS)]
    counts += [("Complain", "bad_flag", ROWS), ("Response", "bad_flag", ROWS - 3)]
    failure = diagnosis.worst(counts, ROWS, 0.5)

    assert (failure.code, failure.rows) == ("bad_flag", ROWS)
    assert failure.columns == (*FLAGS, "Complain", "Response"), "every column, the file's order"
    assert failure.others == (), "Income's 24 rows are below stop_share: not a cause"
    assert diagnosis.is_broken(failure, ROWS, 0, 0.5)
    text = diagnosis.message("x.csv", failure, ROWS, 0, 0.5, [(1, "maybe")])
    first = text.split("; e.g.")[0]
    assert first.endswith(
        f"the most common problem: {', '.join(FLAGS)}, Complain and Response fail the rule "
        f"bad_flag in 2,240 of 2,240 rows (100%)"
    ), first
    assert "missing_income" not in text, "a rule failing 1 % is no cause of a 100 % stop"
    assert "yes/no" in text, "the likely cause names the spellings the contract reads"


def test_other_rules_over_the_stop_share_follow_by_rows():
    counts = [("Income", "missing_income", 1300), ("Recency", "negative_value", 1600)]
    counts += [("Income", "not_a_number", 100), ("Complain", "bad_flag", 1200)]
    failure = diagnosis.worst(counts, ROWS, 0.5)

    assert (failure.column, failure.code) == ("Recency", "negative_value")
    assert failure.others == (("Income", "missing_income", 1300), ("Complain", "bad_flag", 1200))
    assert failure.failing == ("Income", "Recency"), "required columns only, the file's order"
    text = diagnosis.message("x.csv", failure, ROWS, 500, 0.5, [])
    assert text.index("Recency fails") < text.index("Income fails") < text.index("Complain")
    assert "also more than data_processing.stop_share" in text


def test_a_tie_goes_to_the_leftmost_column():
    counts = [("Response", "bad_flag", ROWS), ("Dt_Customer", "bad_date", ROWS)]
    failure = diagnosis.worst(counts, ROWS, 0.5)
    assert (failure.column, failure.code) == ("Dt_Customer", "bad_date")
    assert failure.others == (("Response", "bad_flag", ROWS),)


def test_an_optional_column_failing_most_rows_stops_the_run():
    failure = diagnosis.worst([("Response", "bad_flag", 1500)], ROWS, 0.5)
    assert diagnosis.is_broken(failure, ROWS, ROWS - 1500, 0.5)


def test_corrupted_lines_are_ranked_as_lines():
    failure = diagnosis.worst([(None, "control_characters", ROWS)], ROWS, 0.5)
    assert failure.column == diagnosis.LINE
    text = diagnosis.message("x.csv", failure, ROWS, 0, 0.5, [(1, "1\ufffd2")])
    assert "the line fails the rule control_characters in 2,240 of 2,240 rows" in text, text
    assert "corrupted on its way" in text, text


def test_unreadable_flags_stop_naming_the_flag_columns(rows, params):
    flags = [
        c for c in rows.columns if c.startswith("AcceptedCmp") or c in ("Complain", "Response")
    ]
    rows[flags] = "maybe"
    rows.loc[:1, "Income"] = ""  # a few customers without income, as in the real table
    message = stopped(rows, params)
    assert "the most common problem: AcceptedCmp" in message, message
    assert f"Response fail the rule not_a_number in {len(rows)} of {len(rows)} rows" in message
    assert "yes/no" in message, "the likely cause names the spellings the contract reads"
    assert "missing_income" not in message, message
