"""``serving.form``: the form's customer is a file row for the data contract."""

from __future__ import annotations

import re

import polars as pl
import pytest
import served
from contract_api import RawCustomerFile, prepare_customers
from served import form_values

from customer_segmentation import schema
from customer_segmentation.serving import form, predict

real = served.real  # the real-table model, a session fixture


@pytest.mark.parametrize(
    ("change", "code", "words"),
    [
        ({"Income": None}, "missing_income", "Yearly household income is missing"),
        ({"Recency": -1}, "negative_value", "Days since the last purchase -1 is negative"),
        ({"Age": 130}, "birth_year_out_of_range", "Birth year (from age 130) 1884 is before 1901"),
        ({"Income": 5_000_000}, "income_outlier", "income 5000000 is above max_income 200,000"),
        ({"NumWebPurchases": 2.5}, "not_whole_number", "Web purchases 2.5 is not a whole number"),
        (
            {"Dt_Customer": "1990-01-01"},
            "date_out_of_range",
            "Customer since 1990-01-01 is outside",
        ),
    ],
)
def test_the_form_goes_through_the_data_contract(real: dict, change, code, words):
    """A form row breaks the same rules as a file row, with the contract's reason code and its
    message in the form's words.
    """
    bundle = real["bundle"]
    values = {**form_values(real["customers"].iloc[0], bundle.reference_date, "age"), **change}
    with pytest.raises(form.FormRejected, match=re.escape(words)) as refused:
        predict.predict_customer(values, bundle, real["rules"])
    assert refused.value.reason_code == code
    # The same row in a file, beside a good one (a file where no row survives stops instead).
    good = form_values(real["customers"].iloc[0], bundle.reference_date, "age")
    table = pl.concat(
        [
            form.form_table(values, bundle.reference_date),
            form.form_table(good, bundle.reference_date).with_columns(ID=pl.lit("999999")),
        ]
    )
    result = prepare_customers(
        RawCustomerFile("two.csv", table.drop("source_row").write_csv().encode()), real["rules"]
    )
    assert result.rejected["reason_code"].tolist() == [code], "a file row meets the same rule"


def test_a_spending_total_is_spread_in_whole_amounts():
    spread = form.spread_spending(1003)
    assert sum(spread.values()) == 1003
    assert set(spread.values()) == {167, 168}


def test_the_form_starts_at_the_typical_customer_with_its_features(real: dict):
    """Age and total spending of the typical customer come from the features' formulas."""
    bundle = real["bundle"]
    defaults = form.form_defaults(bundle)
    typical = bundle.card["typical_customer"]
    assert defaults["Age"] == bundle.reference_date.year - typical["Year_Birth"]
    assert defaults["Total_Spending"] == sum(typical[c] for c in schema.SPEND_COLUMNS)
    assert defaults["Income"] == typical["Income"]
    assert defaults is not form.form_defaults(bundle), "callers get their own copy"
