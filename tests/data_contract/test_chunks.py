"""Large exports are checked chunk by chunk: the result must not depend on the chunk size.

Duplicate IDs are found across chunks (naming the row where the ID was first seen), the median
used by ``impute_median`` is the whole file's, and the date order shown by one chunk holds for
the chunks after it.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest
from conftest import REAL_FILES, changed, real_file

from customer_segmentation.data_contract import RawCustomerFile, prepare_customers
from customer_segmentation.params import ParameterError


def prepare(content: bytes, params: dict[str, Any], **overrides: Any):
    return prepare_customers(
        RawCustomerFile("big.csv", content), changed(params["data_processing"], **overrides)
    )


def assert_same(one, many) -> None:
    pd.testing.assert_frame_equal(one.clean, many.clean)
    pd.testing.assert_frame_equal(one.rejected, many.rejected)
    assert one.report == many.report


@pytest.mark.parametrize("name", REAL_FILES)
def test_the_real_table_in_small_chunks_gives_the_same_result(name, params) -> None:
    content = real_file(name).read_bytes()
    whole = prepare(content, params)
    chunked = prepare(content, params, chunk_rows=250)
    assert whole.report["rows_in"] == 2240
    assert_same(whole, chunked)


@pytest.fixture(scope="module")
def dirty_table() -> pd.DataFrame:
    """The real table with problems planted far apart, so they fall in different chunks."""
    table = pd.read_csv(real_file(REAL_FILES[0]), dtype=str, keep_default_na=False)
    table.loc[2000, "ID"] = table.loc[10, "ID"]  # duplicate of a row in the first chunk
    table.loc[2100, "ID"] = table.loc[10, "ID"]  # and another one
    table.loc[1500, "Income"] = "$58,138"  # repaired
    table.loc[1800, "MntWines"] = "lots"  # rejected
    return table


def test_problems_in_later_chunks_are_found_with_the_row_that_came_first(
    dirty_table, params
) -> None:
    content = dirty_table.to_csv(index=False).encode()
    whole = prepare(content, params)
    chunked = prepare(content, params, chunk_rows=300)
    assert_same(whole, chunked)
    rejected = chunked.rejected.set_index(chunked.rejected["source_row"].astype(int))
    assert rejected.loc[2001, "reason_code"] == "duplicate_id"
    assert rejected.loc[2001, "reason"] == "duplicate ID, first seen at row 11"
    assert rejected.loc[2101, "reason"] == "duplicate ID, first seen at row 11"
    assert rejected.loc[1801, "reason_code"] == "not_a_number"
    assert chunked.report["repaired"] == {"Income: currency/thousands marks removed": 1}


def test_imputed_income_is_the_median_of_the_whole_file(params) -> None:
    content = real_file(REAL_FILES[0]).read_bytes()
    whole = prepare(content, params, missing_income="impute_median")
    chunked = prepare(content, params, missing_income="impute_median", chunk_rows=200)
    assert_same(whole, chunked)
    assert chunked.report["repaired"]["Income: missing, imputed with the median"] == 24
    raw = pd.read_csv(real_file(REAL_FILES[0]), sep=None, engine="python")
    imputed = chunked.clean.loc[chunked.clean["ID"].isin(raw.loc[raw["Income"].isna(), "ID"])]
    assert len(imputed) == 24
    assert (imputed["Income"] == raw["Income"].median()).all()


def test_a_chunk_without_telling_dates_follows_the_order_shown_before(params) -> None:
    header = "ID,Year_Birth,Education,Marital_Status,Income,Kidhome,Teenhome,Dt_Customer,Recency"
    spend = ",MntWines,MntFruits,MntMeatProducts,MntFishProducts,MntSweetProducts,MntGoldProds"
    buys = ",NumDealsPurchases,NumWebPurchases,NumCatalogPurchases,NumStorePurchases"
    rest = ",NumWebVisitsMonth"
    body = ",1,1,1,1,1,1,1,1,1,1,1"
    dates = ["25-01-2013", "13-02-2013"] + ["03-04-2013"] * 4  # day-first shown in chunk 1
    lines = [header + spend + buys + rest]
    lines += [f"{i},1970,Graduation,Single,50000,0,0,{d},10{body}" for i, d in enumerate(dates, 1)]
    content = ("\n".join(lines) + "\n").encode()
    chunked = prepare(content, params, chunk_rows=2, ambiguous_date_order="month_first")
    assert chunked.report["rows_clean"] == 6
    assert chunked.report["date_order"] == "day_first"
    assert (chunked.clean["Dt_Customer"].iloc[2:] == pd.Timestamp("2013-04-03")).all()


def test_chunk_rows_must_be_positive(params) -> None:
    with pytest.raises(ParameterError, match="data_processing.chunk_rows = 0"):
        prepare(b"ID\n1\n", params, chunk_rows=0)


@pytest.mark.parametrize("name", REAL_FILES)
def test_a_file_streamed_from_disk_gives_what_its_bytes_give(name, params) -> None:
    path = real_file(name)
    settings = changed(params["data_processing"], chunk_rows=700)
    from_disk = prepare_customers(RawCustomerFile(path.name, path=path), settings)
    from_bytes = prepare_customers(RawCustomerFile(path.name, path.read_bytes()), settings)
    assert_same(from_disk, from_bytes)


def test_an_irregular_file_on_disk_is_diagnosed_like_an_upload(tmp_path, params) -> None:
    path = tmp_path / "broken.csv"
    lines = real_file(REAL_FILES[0]).read_text().splitlines()
    lines[1500] += ",extra,fields"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(ValueError, match=r"broken\.csv: not a regular table"):
        prepare_customers(RawCustomerFile("broken.csv", path=path), params["data_processing"])


def test_repairs_in_several_chunks_are_all_counted(params) -> None:
    table = pd.read_csv(real_file(REAL_FILES[0]), dtype=str, keep_default_na=False)
    for row in (100, 1000, 2000):  # three different chunks of 300 rows
        table.loc[row, "MntWines"] = "$1,000"
    content = table.to_csv(index=False).encode()
    whole = prepare(content, params)
    chunked = prepare(content, params, chunk_rows=300)
    assert_same(whole, chunked)
    assert chunked.report["repaired"] == {"MntWines: currency/thousands marks removed": 3}
