"""``feature_engineering``: hand-checked features, the reference date, the pipeline."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest
from conftest import changed
from kedro.io import DataCatalog, MemoryDataset
from kedro.runner import SequentialRunner

from customer_segmentation.core import engine
from customer_segmentation.pipelines.feature_engineering import create_pipeline
from customer_segmentation.pipelines.feature_engineering.nodes import engineer_features
from customer_segmentation.schema import (
    ENGINEERED_FEATURES,
    FEATURE_COLUMNS,
    KAGGLE_COLUMNS,
    NAMING_COLUMNS,
)


def customer(**overrides) -> dict:
    row = dict.fromkeys(KAGGLE_COLUMNS, 0)
    row.update(
        ID=1,
        Year_Birth=1960,
        Education="Master",
        Marital_Status="Married",
        Income=50_000.0,
        Kidhome=1,
        Teenhome=1,
        Dt_Customer=pd.Timestamp("2013-06-29"),
        Recency=10,
        MntWines=100,
        MntFruits=10,
        MntMeatProducts=50,
        MntFishProducts=20,
        MntSweetProducts=5,
        MntGoldProds=15,
        NumDealsPurchases=2,
        NumWebPurchases=2,
        NumCatalogPurchases=1,
        NumStorePurchases=5,
        NumWebVisitsMonth=4,
        AcceptedCmp1=1,
        Response=1,
    )
    row.update(overrides)
    return row


@pytest.fixture
def customers() -> pd.DataFrame:
    return pd.DataFrame(
        [
            customer(),
            customer(
                ID=2,
                Marital_Status="Single",
                Kidhome=0,
                Teenhome=0,
                Dt_Customer=pd.Timestamp("2014-06-29"),
                NumWebPurchases=0,
                NumCatalogPurchases=0,
                NumStorePurchases=0,
            ),
        ]
    )


def engineer(customers, settings):
    """``engineer_features`` with its tables as pandas."""
    features, model_input, info = engineer_features(customers, settings)
    return engine.to_pandas_table(features), engine.to_pandas_table(model_input), info


def test_features_are_computed_as_documented(customers, params):
    features, _, info = engineer(customers, params["feature_engineering"])
    first = features.set_index("ID").loc[1]

    assert info["reference_date"] == "2014-06-29", "reference date is the latest Dt_Customer"
    assert info["reference_date_source"] == "latest Dt_Customer"
    assert first["Age"] == 2014 - 1960
    assert first["Total_Spending"] == 200
    assert first["Tenure_Days"] == 365
    assert first["Children"] == 2
    assert first["Family_Size"] == 4, "married: two adults plus two children"
    assert first["Is_Parent"] == 1
    assert first["Total_Purchases"] == 8
    assert first["Avg_Spend_Per_Purchase"] == pytest.approx(25.0)
    assert first["Web_Share"] == pytest.approx(0.25)
    assert first["Total_Campaigns_Accepted"] == 1
    assert first["Education_Level"] == 3
    assert first["Deal_Share"] == pytest.approx(2 / 8), "deals among web+catalogue+store"
    assert set(ENGINEERED_FEATURES) <= set(features.columns)
    assert list(features.columns) == ["ID", "customer_key", *FEATURE_COLUMNS], "in order"
    days = (date(2013, 6, 29) - date(1970, 1, 1)).days
    assert first["customer_key"] == 1960 * 1_000_000 + days, "Year_Birth and Dt_Customer"


def test_the_typical_customer_is_the_median_customer(customers, params):
    _, _, info = engineer(customers, params["feature_engineering"])
    typical = info["typical_customer"]
    assert typical["Income"] == 50_000
    assert typical["NumWebPurchases"] == 1, "the median of 2 and 0"
    assert typical["Dt_Customer"] == "2013-12-28", "half-way between the two dates"
    assert typical["Marital_Status"] in {"Married", "Single"}


def test_a_customer_without_purchases_gets_zero_shares_not_nan(customers, params):
    features, _, _ = engineer(customers, params["feature_engineering"])
    second = features.set_index("ID").loc[2]

    assert second["Family_Size"] == 1
    assert second["Tenure_Days"] == 0
    assert second[["Web_Share", "Store_Share", "Avg_Spend_Per_Purchase"]].tolist() == [0, 0, 0]
    assert not features.isna().any().any(), "features must have no missing values"


def test_reference_date_parameter_overrides_the_data(customers, params):
    settings = changed(params["feature_engineering"], reference_date="2015-01-01")
    features, _, info = engineer(customers, settings)

    assert info["reference_date_source"] == "parameter"
    assert features.set_index("ID").loc[1, "Age"] == 2015 - 1960
    assert features.set_index("ID").loc[2, "Tenure_Days"] == 186


def test_an_empty_table_has_no_reference_date(params):
    empty = pd.DataFrame(columns=KAGGLE_COLUMNS)
    with pytest.raises(ValueError, match="empty customer table"):
        engineer_features(empty, params["feature_engineering"])


def test_pipeline_runs_on_an_in_memory_catalog(customers, params):
    catalog = DataCatalog(
        {
            "customers": MemoryDataset(customers),
            "params:feature_engineering": MemoryDataset(params["feature_engineering"]),
        }
    )
    SequentialRunner().run(create_pipeline(), catalog)

    # customer_features is lazy: the catalog computes it as it writes it
    assert engine.to_pandas_table(catalog.load("customer_features"))["ID"].to_list() == [1, 2]
    assert catalog.load("feature_info")["rows"] == 2


def test_model_input_has_the_model_and_naming_columns_in_id_order(customers, params):
    shuffled = customers.iloc[::-1].reset_index(drop=True)  # IDs 2, 1

    features, model_input, _ = engineer(shuffled, params["feature_engineering"])

    assert features["ID"].tolist() == [2, 1], "customer_features keeps the input's row order"
    assert model_input["ID"].tolist() == [1, 2], "customer_model_input is in ID order"
    expected = dict.fromkeys(["ID", "customer_key", *params["feature_engineering"].model_features])
    expected |= dict.fromkeys(NAMING_COLUMNS)
    assert list(model_input.columns) == list(expected)
    by_id = features.set_index("ID")
    for _, row in model_input.iterrows():
        assert row.drop("ID").equals(by_id.loc[row["ID"], row.index.drop("ID")]), row
