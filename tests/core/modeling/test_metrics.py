"""``modeling.metrics``: the blocked silhouette against hand computations and scikit-learn."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import silhouette_score

from customer_segmentation.core.modeling.metrics import silhouette, silhouettes

# Four points on a line, two obvious pairs: every criterion can be worked out by hand.
LINE = np.array([[0.0], [1.0], [10.0], [11.0]])
PAIRS = np.array([0, 0, 1, 1])


def test_silhouette_matches_hand_computation():
    # a = 1 for every point; b = 10.5 for the outer points, 9.5 for the inner ones.
    expected = np.mean([1 - 1 / 10.5, 1 - 1 / 9.5, 1 - 1 / 9.5, 1 - 1 / 10.5])

    got = silhouette(LINE, PAIRS)

    assert got == pytest.approx(expected), f"silhouette {got}, by hand {expected}"


@pytest.mark.parametrize(
    ("labels", "block_rows"),
    [
        # Unsorted labels, blocks that split clusters.
        (np.random.default_rng(1).integers(0, 5, 300), 64),
        # A point alone in its cluster scores 0; labels need not start at 0 or be contiguous.
        (np.r_[np.full(150, 7), np.full(149, 3), [11]], 1024),
        # Duplicated points (zero distances) in two clusters.
        (np.r_[np.zeros(150, dtype=int), np.ones(150, dtype=int)], 100),
    ],
)
def test_silhouette_equals_scikit_learns(labels, block_rows):
    points = np.random.default_rng(0).normal(size=(300, 4))
    points[:20] = points[0]

    got = silhouette(points, labels, block_rows=block_rows)

    expected = silhouette_score(points, labels)
    # scikit-learn takes distances from dot products, which round at about 1e-8 of the
    # squared norms; the silhouettes agree to well below the 3 decimals reported.
    assert got == pytest.approx(expected, abs=1e-9), (got, expected)


def test_silhouettes_of_several_labellings_equal_scikit_learns():
    """The sweep measures all its k in one pass over the distances."""
    points = np.random.default_rng(0).normal(size=(300, 4))
    labellings = [
        np.random.default_rng(1).integers(0, 5, 300),
        np.r_[np.full(150, 7), np.full(149, 3), [11]],
        (points[:, 0] > 0).astype(int),
    ]

    got = silhouettes(points, labellings, block_rows=64)

    expected = [silhouette_score(points, labels) for labels in labellings]
    assert got == pytest.approx(expected, abs=1e-9), (got, expected)
    assert silhouettes(points, []) == []


def test_silhouette_needs_two_clusters():
    with pytest.raises(ValueError, match="two clusters"):
        silhouette(LINE, np.zeros(4, dtype=int))
