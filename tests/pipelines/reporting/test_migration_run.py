"""Issue 16 through the catalog of a real run: a retrain with another k records the migration
from the previous model version, its segments matched by the least total centroid distance.
"""

from __future__ import annotations

import itertools

import model_projects
import numpy as np
import pandas as pd
import pytest
from conftest import REAL_FILES, load_catalog, native_catalog

from customer_segmentation.core.monitoring.migration import VersionSegments, centroid_distances
from customer_segmentation.kedro_io.versioning import stamps

pytestmark = pytest.mark.slow

two_versions_project = model_projects.two_versions_project
unrelated_versions_project = model_projects.unrelated_versions_project


def test_a_retrain_with_five_segments_records_the_migration(two_versions_project):
    """The real run (k=6), then a retrain with k=5 on the same customers
    (``two_versions_project``, shared with the app's tests).
    """
    catalog = load_catalog(two_versions_project)
    new, old = stamps(native_catalog(two_versions_project), "kmeans_model")[:2]
    migration = catalog.load("segment_migration")
    assert migration["previous_version"] == old
    counts = pd.DataFrame(migration["contingency"])
    assert counts["customers"].sum() == migration["customers_compared"] == 2212
    assert -1 <= migration["adjusted_rand_index"] <= 1
    # The matching is the assignment of least total centroid distance: brute force on k=6/5.
    sides = [
        VersionSegments.from_model(
            stamp,
            catalog.load("customer_segments", version=stamp),
            catalog.load("model_card", version=stamp),
            catalog.load("scaler", version=stamp),
            catalog.load("kmeans_model", version=stamp),
        )
        for stamp in (old, new)
    ]
    distances = centroid_distances(*sides, sides[0].features).to_numpy()
    best = min(
        itertools.permutations(range(6), 5),
        key=lambda olds: sum(distances[o, n] for n, o in enumerate(olds)),
    )
    matched = {
        row["segment"]: row["matched_segment"]
        for row in migration["new_segments"]
        if row["matched_segment"] is not None
    }
    assert matched == dict(enumerate(best)), (matched, best)
    assert np.isfinite(distances).all()


def test_a_model_of_another_table_is_compared_only_on_the_same_customers(
    unrelated_versions_project,
):
    """Trained on the demo table after the real one: the IDs in both name other people, and
    segment_migration says so before any figure, comparing only the customers who agree.
    """
    catalog = load_catalog(unrelated_versions_project)
    migration = catalog.load("segment_migration")
    matching = migration["matching"]
    demo, real = (
        catalog.load("model_card", version=s)["input"]
        for s in stamps(native_catalog(unrelated_versions_project), "model_card")[:2]
    )

    assert real["source"].endswith(REAL_FILES[0]) and demo["source"].endswith("demo_customers.csv")
    assert real["sha256"] != demo["sha256"] and matching["same_input"] is False
    assert matching["ids_in_both"] > 100, "the demo table reuses some of the real IDs"
    assert matching["different_customers"] > 0.9 * matching["ids_in_both"], matching
    statuses = {c["check"]: c["status"] for c in matching["checks"]}
    assert statuses["same_customers"] == "failed"
    assert migration["warnings"][0].startswith("Not the same customers")
    assert migration["sentence"].startswith(migration["warnings"][0])
    assert migration["customers_compared"] == matching["same_customers"]
    assert pd.DataFrame(migration["contingency"])["customers"].sum() == matching["same_customers"]
