"""``crm_export``: the segments with their names, on Polars and from pandas, and the pipeline
on an in-memory catalog.
"""

from __future__ import annotations

import pandas as pd
import polars as pl
from kedro.io import DataCatalog, MemoryDataset
from kedro.runner import SequentialRunner

from customer_segmentation.core import engine
from customer_segmentation.pipelines.crm_export import create_pipeline
from customer_segmentation.pipelines.crm_export.nodes import crm_segments

CARD = {
    "segments": [
        {"segment": 0, "name": "Affluent wine lovers"},
        {"segment": 1, "name": "Budget families"},
    ]
}
SEGMENTS = pl.DataFrame(
    {
        "ID": [7, 3, 5],
        "segment": [1, 0, 1],
        "distance": [0.5, 1.0, 2.0],
        "runner_up": [0, 1, 0],
        "runner_up_distance": [1.5, 1.2, 2.1],
        "margin": [2.0, 0.2, 0.05],
    }
)


def test_every_customer_gets_its_segment_name_in_id_order():
    table = crm_segments(SEGMENTS, CARD)

    assert isinstance(table, pl.DataFrame), "the node returns the engine's native table"
    assert table.columns == [
        "ID",
        "segment",
        "segment_name",
        "distance",
        "runner_up",
        "runner_up_name",
        "runner_up_distance",
        "margin",
    ]
    assert table["ID"].to_list() == [3, 5, 7]
    assert table["segment_name"].to_list() == [
        "Affluent wine lovers",
        "Budget families",
        "Budget families",
    ]
    assert table["runner_up_name"].to_list() == [
        "Budget families",
        "Affluent wine lovers",
        "Affluent wine lovers",
    ]
    assert table["margin"].to_list() == [0.2, 0.05, 2.0], "scores travel with their customer"


def test_pipeline_runs_on_an_in_memory_catalog():
    catalog = DataCatalog(
        {
            "customer_segments": MemoryDataset(SEGMENTS.to_pandas()),
            "model_card": MemoryDataset(CARD),
        }
    )

    outputs = SequentialRunner().run(create_pipeline(), catalog)

    table = engine.to_pandas_table(outputs["crm_customer_segments"].load())
    assert isinstance(table, pd.DataFrame)
    assert set(table["ID"]) == {3, 5, 7}
    assert table["segment_name"].notna().all()
