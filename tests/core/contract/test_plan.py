"""The plan of a file (``contract/plan.py``): the whole-file facts from one scan, and row
slices that give the same result whatever their size."""

from __future__ import annotations

import pandas as pd
import polars as pl
import pytest
from conftest import REAL_FILES, changed, real_file
from contract_api import RawCustomerFile, prepare_customers

from customer_segmentation.core.contract import plan as plan_module
from customer_segmentation.core.contract import read_file
from customer_segmentation.core.contract.apply import contract_for
from customer_segmentation.core.contract.plan import whole_file_queries


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


def _scans(content: bytes, tmp_path, params) -> str:
    """The plan of the whole-file pass over a file of ``content``, as Polars will run it."""
    path = tmp_path / "customers.csv"
    path.write_bytes(content)
    raw = read_file(RawCustomerFile(path.name, path=path))
    queries = whole_file_queries(raw.strings, contract_for(raw.columns, params["data_processing"]))
    return pl.explain_all([query.to_native() for query in queries])


def test_the_whole_file_facts_come_from_one_scan_of_the_export(tmp_path, params):
    """The aggregation (dates, number forms, separators, median) and the repeated IDs are two
    queries over one scan: Polars reads the file once for both.
    """
    plan = _scans(real_file(REAL_FILES[0]).read_bytes(), tmp_path, params)

    assert plan.count("Csv SCAN") == 1, plan
    assert plan.count("CACHE[") == 2, f"both queries read the one scan's cache: {plan}"


def test_the_whole_file_pass_is_run_once_per_file(monkeypatch, params):
    """``prepare_customers`` runs the whole-file queries once, whatever the slices."""
    calls = []
    original = plan_module.whole_file_queries

    def counted(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(plan_module, "whole_file_queries", counted)
    content = real_file(REAL_FILES[0]).read_bytes()
    settings = changed(params["data_processing"], chunk_rows=500)

    result = prepare_customers(RawCustomerFile("sliced.csv", content), settings)

    assert len(calls) == 1, calls
    assert result.report["rows_in"] == 2240
