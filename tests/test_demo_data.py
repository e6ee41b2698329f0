"""The shipped demo table is made by the project's generator and has the real table's traits."""

from __future__ import annotations

import pandas as pd
from conftest import PROJECT_ROOT

from customer_segmentation.demo_data import generate_customers, write_customers
from customer_segmentation.schema import KAGGLE_COLUMNS

SHIPPED = PROJECT_ROOT / "data" / "01_raw" / "demo_customers.csv"


def test_shipped_demo_table_is_what_the_generator_writes(tmp_path):
    table, _ = generate_customers(2240, 42)
    write_customers(table, tmp_path / "demo.csv")
    assert (tmp_path / "demo.csv").read_bytes() == SHIPPED.read_bytes(), (
        "regenerate with `python -m customer_segmentation.demo_data`"
    )


def test_demo_table_has_the_schema_and_traits_of_the_real_one():
    demo = pd.read_csv(SHIPPED, dtype={"Dt_Customer": str})
    assert tuple(demo.columns) == KAGGLE_COLUMNS
    assert len(demo) == 2240
    assert demo["Income"].isna().sum() == 24
    assert (demo["Income"] == 666_666).sum() == 1
    assert (demo["Year_Birth"] < 1901).sum() == 3
    assert {"Alone", "Absurd", "YOLO"} & set(demo["Marital_Status"])
    assert demo["Dt_Customer"].str.fullmatch(r"\d{2}-\d{2}-\d{4}").all()
    assert demo["ID"].is_unique
    assert (demo[["Z_CostContact", "Z_Revenue"]].nunique() == 1).all()


def test_generator_is_seeded():
    first, planted_first = generate_customers(500, 3)
    second, planted_second = generate_customers(500, 3)
    other, _ = generate_customers(500, 4)
    pd.testing.assert_frame_equal(first, second)
    assert planted_first.equals(planted_second)
    assert not first.equals(other)


def test_tables_smaller_than_the_oddities_are_generated():
    # 24 missing incomes, 3 old birth years, 7 odd statuses and one 666,666 income need 35
    # distinct customers; smaller tables plant what fits, in that order, each to its own row.
    for rows in (1, 25, 34):
        table, _ = generate_customers(rows, 42)
        assert len(table) == rows, rows
        missing = int(table["Income"].isna().sum())
        old = int((table["Year_Birth"] < 1901).sum())
        assert missing == min(rows, 24), (rows, missing)
        assert old == min(max(rows - 24, 0), 3), (rows, old)
