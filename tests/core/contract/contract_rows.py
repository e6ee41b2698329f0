"""Real rows to break on purpose: the first rows of the real table that are clean as they are,
a file of them through the contract, and the checks every such run must pass.
"""

from __future__ import annotations

import functools
from typing import Any

import pandas as pd
import pytest
from conftest import REAL_FILES, changed, project_params, real_file
from contract_api import (
    CustomerDataError,
    RawCustomerFile,
    check_clean_table,
    prepare_customers,
    read_customer_table,
)

ROWS = 30


@functools.cache
def _good_rows() -> pd.DataFrame:
    text = pd.read_csv(real_file(REAL_FILES[0]), dtype=str, keep_default_na=False)
    result = prepare_customers(
        RawCustomerFile("real.csv", real_file(REAL_FILES[0]).read_bytes()),
        project_params()["data_processing"],
    )
    clean_ids = set(result.clean["ID"].astype(str))
    return text[text["ID"].isin(clean_ids)].head(ROWS).reset_index(drop=True)


def good_rows() -> pd.DataFrame:
    """The first ``ROWS`` real rows that are clean as they are (strings, Kaggle layout): a
    fresh copy to edit.
    """
    return _good_rows().copy()


def run(rows: pd.DataFrame, params: dict[str, Any], **overrides: Any):
    """``rows`` written as a CSV file through the contract (``data_processing`` parameters with
    ``overrides``): clean rows, rejects and report, after the checks every run must pass.
    """
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
    """The one reject of ``source_row``."""
    hit = rejected[rejected["source_row"].astype(int) == source_row]
    assert len(hit) == 1, f"row {source_row} should be rejected once; rejected: {rejected}"
    return hit.iloc[0]


def stopped(rows: pd.DataFrame, params: dict[str, Any], **overrides: Any) -> str:
    """The message of a file of ``rows`` that stops with a diagnosis."""
    settings = changed(params["data_processing"], **overrides)
    with pytest.raises(CustomerDataError) as caught:
        prepare_customers(RawCustomerFile("t.csv", rows.to_csv(index=False).encode()), settings)
    message = str(caught.value)
    assert message.startswith("t.csv: stopped before anything is modelled or saved"), message
    return message


def refusal(content: bytes, source: str = "upload.csv") -> str:
    """The message that refuses ``content`` as an export, which names the file first."""
    with pytest.raises(CustomerDataError) as caught:
        read_customer_table(content, source)
    message = str(caught.value)
    assert message.startswith(source), f"the message should name the file first: {message!r}"
    return message
