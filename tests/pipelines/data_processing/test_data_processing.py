"""``data_processing``: the node and the pipeline on an in-memory catalog."""

from __future__ import annotations

import polars as pl
import pytest
from conftest import REAL_FILES, changed, real_file
from contract_api import CustomerDataError, RawCustomerFile
from kedro.io import DataCatalog, MemoryDataset
from kedro.runner import SequentialRunner
from polars.testing import assert_frame_equal

from customer_segmentation.core import engine
from customer_segmentation.kedro_io.datasets import LazyParquetDataset
from customer_segmentation.params import ParameterError
from customer_segmentation.pipelines.data_processing import create_pipeline
from customer_segmentation.pipelines.data_processing.nodes import check_customers
from customer_segmentation.schema import KAGGLE_COLUMNS

GOOD = "5524,1957,Graduation,Single,58138,0,0,04-09-2012,58,635,88,546,172,88,88,3,8,10,4,7,0,0,0,0,0,0,3,11,1"


def table(*rows: str, header: str = ",".join(KAGGLE_COLUMNS)) -> RawCustomerFile:
    return RawCustomerFile("customers.csv", "\n".join([header, *rows]).encode())


def with_field(row: str, column: str, value: str, new_id: int) -> str:
    fields = row.split(",")
    fields[KAGGLE_COLUMNS.index(column)] = value
    fields[0] = str(new_id)
    return ",".join(fields)


@pytest.fixture
def raw() -> RawCustomerFile:
    return table(
        GOOD,
        with_field(GOOD, "Income", "", 2),
        with_field(GOOD, "Year_Birth", "1893", 3),
        with_field(GOOD, "Income", "666666", 4),
        with_field(GOOD, "Marital_Status", "YOLO", 5),
    )


def checked(raw, settings):
    """``check_customers`` with its tables as pandas."""
    clean, rejected, report = check_customers(raw, settings)
    return engine.to_pandas_table(clean), engine.to_pandas_table(rejected), report


def test_every_row_is_clean_or_rejected_with_its_reason(raw, params):
    clean, rejected, report = checked(raw, params["data_processing"])

    assert report["rows_in"] == 5
    assert report["rows_in"] == report["rows_clean"] + report["rows_rejected"], report
    assert sorted(clean["ID"]) == [5, 5524], "odd marital statuses are kept, not dropped"
    reasons = dict(zip(rejected["ID"], rejected["reason_code"], strict=True))
    assert reasons == {
        "2": "missing_income",
        "3": "birth_year_out_of_range",
        "4": "income_outlier",
    }, rejected
    assert report["rejected_by_reason"] == {
        "birth_year_out_of_range": 1,
        "income_outlier": 1,
        "missing_income": 1,
    }
    assert rejected.loc[rejected["ID"] == "3", "source_row"].item() == 3


def test_missing_income_can_be_imputed_instead_of_dropped(raw, params):
    settings = changed(params["data_processing"], missing_income="impute_median")
    clean, rejected, report = checked(raw, settings)

    assert 2 in set(clean["ID"]), "the customer without income must be kept"
    assert clean.loc[clean["ID"] == 2, "Income"].item() == 58138
    assert report["repaired"]["Income: missing, imputed with the median"] == 1
    assert "missing_income" not in report["rejected_by_reason"]


def test_unknown_missing_income_policy_is_refused_before_any_row_is_read(params):
    with pytest.raises(ParameterError, match=r"data_processing.missing_income = 'zero'"):
        changed(params["data_processing"], missing_income="zero")


def test_missing_columns_are_all_named_in_one_message(params):
    header = ",".join(c for c in KAGGLE_COLUMNS if c not in ("Income", "Recency"))
    with pytest.raises(CustomerDataError, match=r"2 required column\(s\) missing: Income, Recency"):
        check_customers(table("1", header=header), params["data_processing"])


def test_pipeline_runs_on_an_in_memory_catalog(raw, params):
    catalog = DataCatalog(
        {
            "raw_customers": MemoryDataset(raw),
            "params:data_processing": MemoryDataset(params["data_processing"]),
        }
    )
    SequentialRunner().run(create_pipeline(), catalog)

    report = catalog.load("data_quality_report")
    assert (report["rows_clean"], report["rows_rejected"]) == (2, 3)
    assert len(catalog.load("customers")) == 2
    assert len(catalog.load("rejected_customers")) == 3


def test_a_file_of_several_slices_is_streamed_to_the_catalog_unchanged(params, tmp_path):
    """Several slices: the clean rows wait on disk (``engine.Spill``) and the node returns
    their scan, lazy; ``customers`` (``datasets.LazyParquetDataset``) streams it to its file.
    What is written is the one-slice run's table, row for row.
    """
    raw = RawCustomerFile(REAL_FILES[0], real_file(REAL_FILES[0]).read_bytes())
    whole, _, report = check_customers(raw, params["data_processing"])
    sliced, _, sliced_report = check_customers(
        raw, changed(params["data_processing"], chunk_rows=500)
    )
    dataset = LazyParquetDataset(
        filepath=str(tmp_path / "customers.parquet"), file_format="parquet"
    )

    dataset.save(sliced)

    assert isinstance(sliced, pl.LazyFrame), "five slices: the clean rows are a scan"
    assert isinstance(whole, pl.DataFrame), "one slice: the clean rows stay in memory"
    assert sliced_report == report
    assert_frame_equal(dataset.load().collect(), whole)
