"""The clean table's shape (``contract/schema.py``): a clean table that is not what the contract
promises is refused, naming what is wrong (a bug in the rules, never the user's data)."""

from __future__ import annotations

import pandas as pd
import pytest
from conftest import REAL_FILES, real_file
from contract_api import CustomerDataError, RawCustomerFile, check_clean_table, prepare_customers


@pytest.fixture(scope="module")
def clean(params) -> pd.DataFrame:
    content = real_file(REAL_FILES[0]).read_bytes()
    return prepare_customers(RawCustomerFile("real.csv", content), params["data_processing"]).clean


def test_the_real_tables_clean_rows_keep_the_contract(clean, params):
    check_clean_table(clean, params["data_processing"])


@pytest.mark.parametrize(
    ("breaking", "named"),
    [
        (lambda t: t.assign(ID=t["ID"].where(t.index != 1, t["ID"].iloc[0])), "ID is not unique"),
        (lambda t: t.assign(Income=t["Income"].where(t.index != 3)), "Income has missing values"),
        (lambda t: t.assign(Recency=t["Recency"].astype("float64")), "Recency is Float64"),
        (lambda t: t.drop(columns="Complain"), "columns"),
    ],
    ids=["repeated_id", "missing_income", "float_recency", "missing_column"],
)
def test_a_broken_clean_table_is_refused_naming_the_problem(clean, params, breaking, named):
    with pytest.raises(CustomerDataError, match="breaks the data contract") as caught:
        check_clean_table(breaking(clean.head(10)), params["data_processing"])
    assert named in str(caught.value), str(caught.value)
