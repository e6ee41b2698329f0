"""The real-table model as the serving layer reads it, shared by the serving tests."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from model_projects import pipeline_tables

from customer_segmentation import schema
from customer_segmentation.serving.versions import ModelStore, ModelVersion


@pytest.fixture(scope="session")
def real(real_project: Path) -> dict:
    """The real run's store, newest version, its bundle, the contract's parameters and the
    pipeline's tables (``model_projects.pipeline_tables``).
    """
    store = ModelStore(real_project)
    version = ModelVersion(store)
    return {
        "store": store,
        "version": version,
        "bundle": version.bundle,
        "rules": store.params["data_processing"],
        **pipeline_tables(real_project),
    }


def form_values(customer: pd.Series, ref_date: pd.Timestamp, mode: str) -> dict:
    """What a marketer would type for this customer, in one of the form's modes."""
    values = {c: customer[c] for c in schema.KAGGLE_COLUMNS if c != schema.ID}
    if mode in ("age", "age_and_total"):
        values["Age"] = int(ref_date.year - values.pop("Year_Birth"))
    if mode == "age_and_total":
        values["Total_Spending"] = sum(values.pop(c) for c in schema.SPEND_COLUMNS)
    return values
