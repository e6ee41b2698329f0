"""Versioned scaler and model: one stamp per run, the catalog loads the latest."""

from __future__ import annotations

import numpy as np
from conftest import load_catalog, run_project


def test_two_runs_leave_two_versions_and_the_latest_loads(fresh_project):
    run_project(fresh_project)
    run_project(fresh_project, pipeline="clustering", params={"clustering.n_clusters": 5})
    catalog = load_catalog(fresh_project)

    scaler_versions = catalog["scaler"].list_versions(full_path=False)
    model_versions = catalog["kmeans_model"].list_versions(full_path=False)
    card_versions = catalog["model_card"].list_versions(full_path=False)
    assert len(model_versions) == 2, model_versions
    assert scaler_versions == model_versions == card_versions, "one stamp per run for all"

    latest, older = model_versions
    assert latest > older
    assert catalog.load("kmeans_model").n_clusters == 5, "the latest run had k=5"
    assert catalog.load("kmeans_model", version=older).n_clusters == 6
    assert catalog.load("model_card", version=latest)["k"] == 5
    old_scaler = catalog.load("scaler", version=older)
    assert np.allclose(old_scaler.mean_, catalog.load("scaler").mean_), "same data, same scaler"
