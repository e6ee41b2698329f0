"""Issue 16 through the catalog of a real run: a retrain with another k records the migration
from the previous model version, its segments matched by the least total centroid distance.
"""

from __future__ import annotations

import itertools
import shutil

import numpy as np
import pandas as pd
import pytest
from conftest import REAL_FILES, load_catalog, native_catalog, real_file, run_project

from customer_segmentation.core.monitoring.migration import VersionSegments, centroid_distances
from customer_segmentation.kedro_io.versioning import stamps

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def project(real_project, tmp_path_factory):
    """A copy of the real table's project (its first model version), to retrain."""
    copy = tmp_path_factory.mktemp("migration") / "project"
    shutil.copytree(real_project, copy)
    return copy


def test_a_retrain_with_five_segments_records_the_migration(project):
    run_project(
        project,
        params={"raw_customers_path": str(real_file(REAL_FILES[0])), "clustering.n_clusters": 5},
    )
    catalog = load_catalog(project)
    new, old = stamps(native_catalog(project), "kmeans_model")[:2]
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
