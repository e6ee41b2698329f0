"""``reporting``: EDA tables, spending mix, and what the analysis says on the real table."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import native_catalog
from kedro.io import DataCatalog, MemoryDataset
from kedro.runner import SequentialRunner

from customer_segmentation.core import eda, engine
from customer_segmentation.core.features import feature_frame
from customer_segmentation.kedro_io.datasets import FigureDataset
from customer_segmentation.kedro_io.versioning import stamps
from customer_segmentation.pipeline_registry import model_datasets
from customer_segmentation.pipelines.reporting import create_pipeline
from customer_segmentation.pipelines.reporting.nodes import spending_mix
from customer_segmentation.report.report import FIGURES, SECTIONS
from customer_segmentation.schema import (
    CHANNEL_COLUMNS,
    KAGGLE_COLUMNS,
    PURCHASE_COLUMNS,
    SPEND_COLUMNS,
)


def test_missing_values_count_clean_and_rejected_rows():
    customers = pd.DataFrame({"ID": [1, 2], "Income": [10.0, np.nan], "Recency": [1, 2]})
    rejected = pd.DataFrame({"ID": ["3", "4"], "Income": ["", "5"], "Recency": ["1", "2"]})

    table = eda.missing_values(customers, rejected).set_index("column")

    assert table.loc["Income", "missing_raw"] == 2, table
    assert table.loc["Income", "missing_raw_share"] == pytest.approx(0.5)
    assert table.loc["Income", "missing_clean"] == 1
    assert table.loc["Recency", "missing_raw"] == 0
    assert table.index[0] == "Income", "columns with most missing values come first"


def test_spending_mix_shares_sum_to_one_per_segment():
    rng = np.random.default_rng(0)
    features = pd.DataFrame(
        {c: rng.integers(0, 50, 20) for c in (*SPEND_COLUMNS, *PURCHASE_COLUMNS)}
    )
    features["ID"] = range(20)
    features["Total_Spending"] = features[list(SPEND_COLUMNS)].sum(axis=1)
    features["Total_Purchases"] = features[list(CHANNEL_COLUMNS)].sum(axis=1)
    features.loc[0, list(SPEND_COLUMNS)] = 0
    segments = pd.DataFrame({"ID": range(20), "segment": [0] * 10 + [1] * 10})
    card = {"segments": [{"segment": 0, "name": "A"}, {"segment": 1, "name": "B"}]}

    table, _ = spending_mix(features, segments, card)

    spend = table[[c for c in table if c.startswith("spend_")]].sum(axis=1)
    channel = table[[c for c in table if c.startswith("channel_")]].sum(axis=1)
    assert spend.to_numpy() == pytest.approx([1.0, 1.0]), spend
    assert channel.to_numpy() == pytest.approx([1.0, 1.0]), channel
    assert table["name"].tolist() == ["A", "B"]
    wines = features.loc[:9, "MntWines"].sum() / features.loc[:9, list(SPEND_COLUMNS)].sum().sum()
    assert table.loc[0, "spend_Wines"] == pytest.approx(wines)
    assert len(CHANNEL_COLUMNS) == sum(c.startswith("channel_") for c in table)


def test_deal_share_is_one_rule_for_a_customer_and_a_segment():
    """Deals are a subset of web + catalogue + store purchases: the segment's deal share is
    the same formula as a customer's, applied to the segment's sums (once counted deals twice).
    """
    rows = pd.DataFrame([dict.fromkeys(KAGGLE_COLUMNS, 0) for _ in range(2)]).assign(
        ID=[1, 2],
        Year_Birth=1970,
        Education="PhD",
        Marital_Status="Single",
        Dt_Customer=pd.Timestamp("2014-01-01"),
        NumDealsPurchases=[2, 3],
        NumWebPurchases=[4, 1],
        NumStorePurchases=[4, 1],
        MntWines=[10, 20],
    )
    features = engine.to_pandas(
        feature_frame(engine.lazy(rows), pd.Timestamp("2014-06-29"), ["Married"])
    )
    segments = pd.DataFrame({"ID": [1, 2], "segment": [0, 1]})
    card = {"segments": [{"segment": 0, "name": "A"}, {"segment": 1, "name": "B"}]}

    table, _ = spending_mix(features, segments, card)

    assert features["Deal_Share"].tolist() == pytest.approx([2 / 8, 1.0]), "3 deals of 2: capped"
    assert table["deal_share"].tolist() == features["Deal_Share"].tolist(), (
        "a one-customer segment's deal share is that customer's"
    )
    together, _ = spending_mix(features, segments.assign(segment=0), card)
    assert together["deal_share"].item() == pytest.approx(5 / 10), "sums of deals and purchases"


def test_real_table_removed_rows_are_reported(real_project: Path, catalog_of):
    catalog = catalog_of(real_project)
    removed = catalog.load("removed_outliers").set_index("reason_code")

    assert removed.loc["missing_income", "rows"] == 24, removed
    assert removed.loc["birth_year_out_of_range", "rows"] == 3, removed
    assert "666666" in removed.loc["income_outlier", "examples"], removed
    missing = catalog.load("missing_values").set_index("column")
    assert missing.loc["Income", "missing_raw"] == 24, "the export has 24 missing incomes"


def test_real_table_dbscan_result_is_stated_plainly(real_project: Path, catalog_of):
    comparison = catalog_of(real_project).load("clustering_comparison").set_index("method")
    dbscan = comparison.loc["dbscan"]

    assert dbscan["clusters"] <= 1 or dbscan["largest_cluster_share"] >= 0.9, dbscan
    assert "one dense blob" in dbscan["verdict"], dbscan["verdict"]
    assert "knee" in dbscan["eps_rule"], "the eps rule must be recorded"
    assert 0 <= dbscan["noise_share"] < 1


def test_real_table_six_segments_have_unique_names(real_project: Path, catalog_of):
    profiles = catalog_of(real_project).load("segment_profiles")

    assert len(profiles) == 6 and profiles["name"].is_unique, profiles["name"].tolist()
    assert profiles["share"].sum() == pytest.approx(1.0)
    top = profiles.loc[profiles["segment"] == 0].iloc[0]
    assert "Affluent" in top["name"], f"segment 0 (top spenders) is named {top['name']!r}"


def test_the_pipeline_runs_on_an_in_memory_catalog(demo_project: Path, tmp_path: Path):
    """``reporting`` alone, its inputs in memory (the demo run's model version), figures written
    by the project's ``FigureDataset`` to a temporary folder: the report has every section and
    figure, and the profiles are the demo run's.
    """
    project = native_catalog(demo_project)
    stamp = stamps(project, "kmeans_model")[0]
    pipeline = create_pipeline()
    figures = {
        name
        for name in pipeline.all_outputs()
        if type(project.get(name)).__name__ == "FigureDataset"
    }
    reads = pipeline.inputs() - {"model_version_stamp", "previous_model"}
    versioned = model_datasets()
    catalog = DataCatalog(
        {
            **{
                name: MemoryDataset(
                    project.load(name, version=stamp if name in versioned else None)
                )
                for name in reads
            },
            **{
                name: FigureDataset(filepath=str(tmp_path / f"{name}.png"), save_args={"dpi": 40})
                for name in figures
            },
            "model_version_stamp": MemoryDataset(stamp),
            "previous_model": MemoryDataset({"stamp": None}),
        }
    )

    outputs = SequentialRunner().run(pipeline, catalog)

    report = outputs["segmentation_report"].load()
    assert all(f'<section id="{anchor}">' in report for anchor, _ in SECTIONS)
    assert report.count("<img ") == len(FIGURES)
    assert sorted(p.stem for p in tmp_path.glob("*.png")) == sorted(figures), "each figure saved"
    saved = engine.to_pandas_table(project.load("segment_profiles", version=stamp))
    assert all(f">{name}<" in report for name in saved["name"]), "the demo run's segments"
