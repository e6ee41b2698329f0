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
from customer_segmentation.core.contract.plan import plan_file, whole_file_queries


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


def _plan(path, params, **settings):
    """The contract and the plan of the file at ``path``."""
    raw = read_file(RawCustomerFile(path.name, path=path))
    contract = contract_for(raw.columns, changed(params["data_processing"], **settings))
    return contract, plan_file(raw.strings, contract, path.name)


def test_a_file_of_one_slice_is_read_once(tmp_path, params):
    """A file of at most ``chunk_rows`` rows is read into memory by the plan: the rules read it
    there (the file may be gone by then); a larger file is read again slice by slice.
    """
    whole, sliced = tmp_path / "whole.csv", tmp_path / "sliced.csv"
    for path in (whole, sliced):
        path.write_bytes(real_file(REAL_FILES[0]).read_bytes())
    contract, plan = _plan(whole, params, chunk_rows=2240)
    sliced_contract, sliced_plan = _plan(sliced, params, chunk_rows=2239)
    whole.unlink()
    sliced.unlink()

    counts, clean, rejected = plan.run(contract.check_slice)

    assert counts["rows_in"] == 2240
    assert len(clean) + len(rejected) == 2240
    with pytest.raises(FileNotFoundError):
        sliced_plan.run(sliced_contract.check_slice)


def test_the_rows_are_joined_to_the_repeated_ids_only_when_an_id_repeats(tmp_path, params):
    """Most exports repeat no ID: their plan has no repeated rows to join (``None``)."""
    lines = real_file(REAL_FILES[0]).read_bytes().splitlines()
    clean, repeated = tmp_path / "clean.csv", tmp_path / "repeated.csv"
    clean.write_bytes(b"\n".join(lines) + b"\n")
    repeated.write_bytes(b"\n".join([*lines[:11], lines[1]]) + b"\n")

    assert _plan(clean, params)[1].repeats is None
    repeats = _plan(repeated, params)[1].repeats.collect().to_native()
    assert repeats.rows() == [(11, 1)]
