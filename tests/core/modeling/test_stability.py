"""``modeling.stability``: per-segment bootstrap stability on planted groups, on a cloud cut
into arbitrary segments, and against Jaccard similarities counted by hand.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np
import pandas as pd
import pytest
from threadpoolctl import threadpool_limits

from customer_segmentation.core.modeling.kmeans import fit_kmeans
from customer_segmentation.core.modeling.stability import (
    COLUMNS,
    max_jaccard,
    segment_stability,
    stability_label,
    summarise,
)

# Hennig's readings of a mean Jaccard similarity (fpc::clusterboot's help), as conf gives them.
THRESHOLDS = {"highly stable": 0.85, "stable": 0.75, "a pattern": 0.6, "weak": 0.5, "dissolved": 0}


@dataclass(frozen=True)
class Settings:
    """The K-Means parameters a model is fitted with (``KMeansSettings``)."""

    algorithm: str = "kmeans"
    n_init: int = 3
    random_state: int = 0
    batch_size: int = 1024


SETTINGS = Settings()


@pytest.fixture(autouse=True)
def _one_thread() -> Iterator[None]:
    """The tests' own K-Means fits on one OpenMP thread, as ``segment_stability`` runs its
    refits: on a few hundred points, threads on busy cores take 0.1-0.9 s a fit instead of 20 ms.
    """
    with threadpool_limits(limits=1, user_api="openmp"):
        yield


@cache
def _blobs() -> np.ndarray:
    """Three round groups of 100 points, 20 standard deviations apart."""
    rng = np.random.default_rng(0)
    centres = ([0.0, 0.0], [20.0, 0.0], [0.0, 20.0])
    return np.concatenate([rng.normal(c, 1.0, size=(100, 2)) for c in centres])


@cache
def _cloud() -> np.ndarray:
    """One round Gaussian cloud of 300 points: no groups, any cut into 4 is arbitrary."""
    return np.random.default_rng(0).normal(size=(300, 2))


def _segments(points: np.ndarray, k: int) -> np.ndarray:
    """The segments a model fitted on ``points`` gives them."""
    return fit_kmeans(k, SETTINGS, points).labels_


def _stability(points: np.ndarray, k: int, **changes: Any) -> pd.DataFrame:
    """``segment_stability`` of the K-Means segments of ``points`` (20 resamples)."""
    labels = _segments(points, k)
    args = {
        "resamples": 20,
        "n_init": 3,
        "seed": 0,
        "thresholds": THRESHOLDS,
        "dissolution": 0.5,
        "recovery": 0.75,
    } | changes
    return segment_stability(points, labels, k, SETTINGS, **args)


def _jaccard_by_sets(original, refit, drawn, segment) -> float:
    """The best Jaccard similarity of ``segment`` with a refit cluster, by Python sets over
    the distinct drawn positions.
    """
    distinct = set(int(i) for i in drawn)
    mine = {i for i in distinct if original[i] == segment}
    clusters = {int(refit[i]) for i in distinct}
    best = 0.0
    for cluster in clusters:
        theirs = {i for i in distinct if refit[i] == cluster}
        best = max(best, len(mine & theirs) / len(mine | theirs))
    return best


def test_planted_groups_are_highly_stable():
    table = _stability(_blobs(), 3)

    assert list(table.columns) == COLUMNS, f"columns {list(table.columns)}"
    assert table["segment"].tolist() == [0, 1, 2], "one row per segment"
    assert (table["stability_jaccard"] >= 0.85).all(), table.to_string()
    assert (table["stability_label"] == "highly stable").all(), table.to_string()
    assert (table["stability_dissolved"] == 0).all(), "a far-apart group dissolved"
    assert (table["stability_resamples"] == 20).all(), "B not reported"
    assert (table["stability_skipped"] == 0).all(), "a group of 100 missing from a resample"


def test_arbitrary_cuts_of_one_cloud_are_not_all_stable():
    cloud = _stability(_cloud(), 4)
    blobs = _stability(_blobs(), 3)

    assert cloud["stability_jaccard"].between(0, 1).all(), cloud.to_string()
    assert (cloud["stability_jaccard"] < 0.75).any(), f"every cut looked stable:\n{cloud}"
    assert (~cloud["stability_label"].isin(["stable", "highly stable"])).any(), cloud.to_string()
    assert cloud["stability_jaccard"].mean() < blobs["stability_jaccard"].mean(), (
        "a cloud cut into 4 scored as stable as 3 planted groups"
    )


def test_the_same_seed_gives_the_same_table():
    first = _stability(_cloud(), 4, seed=5)
    again = _stability(_cloud(), 4, seed=5)
    other = _stability(_cloud(), 4, seed=6)

    pd.testing.assert_frame_equal(first, again)
    assert not first["stability_jaccard"].equals(other["stability_jaccard"]), (
        "another seed drew the same resamples"
    )


def test_max_jaccard_matches_a_hand_count():
    # 8 customers in segments 0, 0, 0, 1, 1, 1, 2, 2; the resample drew 0, 1, 2, 3, 4 (some
    # twice) and none of segment 2; the refit put {0, 1} together and {2, 3, 4} together.
    original = np.array([0, 0, 0, 1, 1, 1, 2, 2])
    drawn = np.array([0, 0, 1, 2, 3, 4, 4, 3])
    refit = np.full(8, -1)
    refit[drawn] = np.array([0, 0, 0, 1, 1, 1, 1, 1])
    in_resample = np.zeros(8, dtype=bool)
    in_resample[drawn] = True
    # Segment 0 in the resample is {0, 1, 2}: with {0, 1} 2/3, with {2, 3, 4} 1/5.
    # Segment 1 in the resample is {3, 4} (5 was not drawn): with {2, 3, 4} 2/3.
    by_hand = [2 / 3, 2 / 3]

    got = max_jaccard(original, refit, in_resample, 3)

    np.testing.assert_allclose(got[:2], by_hand, err_msg="Jaccard differs from the hand count")
    assert np.isnan(got[2]), f"segment 2 was not drawn but scored {got[2]}"
    by_sets = [_jaccard_by_sets(original, refit, drawn, s) for s in (0, 1)]
    np.testing.assert_allclose(by_sets, by_hand, err_msg="the test's own count disagrees")


def test_one_resample_equals_a_recount_by_sets():
    points = _cloud()
    labels = _segments(points, 4)
    # The resample and the refit's seed, drawn as segment_stability draws them.
    rng = np.random.default_rng(11)
    drawn = rng.integers(0, len(points), size=len(points))
    refit = np.full(len(points), -1)
    refit[drawn] = fit_kmeans(
        4, SETTINGS, points[drawn], n_init=2, random_state=int(rng.integers(0, 2**31 - 1))
    ).labels_
    expected = [_jaccard_by_sets(labels, refit, drawn, s) for s in range(4)]

    table = _stability(points, 4, resamples=1, n_init=2, seed=11)

    np.testing.assert_allclose(table["stability_jaccard"], expected, err_msg="B=1 differs")


def test_the_rows_used_are_reported():
    points = _blobs()
    table = _stability(points, 3, seed=3)
    assert (table["stability_rows"] == len(points)).all(), "the customers used are not reported"


def test_summary_skips_resamples_without_the_segment():
    scores = np.array([[1.0, np.nan], [0.4, 0.8], [0.8, 0.9], [0.5, 0.7]])

    table = summarise(scores, dissolution=0.5, recovery=0.75, thresholds=THRESHOLDS)

    np.testing.assert_allclose(table["stability_jaccard"], [0.675, 0.8])
    np.testing.assert_allclose(table["stability_dissolved"], [0.5, 0.0])  # 0.4 and 0.5 (<=)
    np.testing.assert_allclose(table["stability_recovered"], [0.5, 2 / 3])  # above 0.75
    assert table["stability_skipped"].tolist() == [0, 1], "the missing segment not counted"
    assert table["stability_label"].tolist() == ["a pattern", "stable"]


@pytest.mark.parametrize(
    ("jaccard", "label"),
    [
        (0.95, "highly stable"),
        (0.85, "highly stable"),
        (0.8, "stable"),
        (0.6, "a pattern"),
        (0.55, "weak"),
        (0.3, "dissolved"),
        (float("nan"), None),
    ],
)
def test_label_reads_the_thresholds(jaccard, label):
    assert stability_label(jaccard, THRESHOLDS) == label, f"{jaccard} read as not {label}"


def test_labels_outside_the_segments_are_refused():
    points = _blobs()

    with pytest.raises(ValueError, match=r"segments must be 0\.\.2"):
        segment_stability(
            points,
            np.full(len(points), 3),
            3,
            SETTINGS,
            resamples=1,
            n_init=1,
            seed=0,
            thresholds=THRESHOLDS,
            dissolution=0.5,
            recovery=0.75,
        )
