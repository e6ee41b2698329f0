"""Quality of a partition: the exact silhouette, in blocks, for one or many labellings."""

from __future__ import annotations

import numpy as np
from scipy.spatial.distance import cdist

from customer_segmentation.core.modeling.threads import sized_threads


def silhouette(points: np.ndarray, labels: np.ndarray, block_rows: int = 1024) -> float:
    """Mean silhouette coefficient, as ``sklearn.metrics.silhouette_score`` (Euclidean).

    The same definition (a point alone in its cluster scores 0). Needs two clusters or more.
    See :func:`silhouettes`, which it calls with one labelling.
    """
    return silhouettes(points, [labels], block_rows)[0]


def silhouettes(
    points: np.ndarray, labellings: list[np.ndarray], block_rows: int = 1024
) -> list[float]:
    """Mean silhouette coefficient of each labelling of the same ``points``.

    Computed in blocks of ``block_rows`` rows: each block's exact distances (``cdist``) are
    computed once and summed per cluster for every labelling (a product with the labelling's
    one-hot matrix), so the sweep's nine k pay for one distance matrix (timed in
    ``benchmarks/README.md``); equal to scikit-learn's ``silhouette_score`` to rounding
    (``tests/test_modeling.py``). The products run on the BLAS threads the points' size calls
    for (``threads.sized_threads``).

    Raises:
        ValueError: a labelling has fewer than two clusters.
    """
    if not labellings:
        return []
    points = np.asarray(points, dtype="float64")
    codes, counts, onehots = [], [], []
    for labels in labellings:
        clusters, code, count = np.unique(labels, return_inverse=True, return_counts=True)
        if len(clusters) < 2:
            raise ValueError(f"silhouette needs two clusters or more, got {len(clusters)}")
        codes.append(code)
        counts.append(count)
        onehot = np.zeros((len(points), len(clusters)))
        onehot[np.arange(len(points)), code] = 1.0
        onehots.append(onehot)
    totals = np.zeros(len(labellings))
    with sized_threads(*points.shape, pool="blas"):
        for lo in range(0, len(points), block_rows):
            distances = cdist(points[lo : lo + block_rows], points)
            rows = np.arange(len(distances))
            for i, (code, count, onehot) in enumerate(zip(codes, counts, onehots, strict=True)):
                block_own = code[lo : lo + block_rows]
                sums = distances @ onehot
                size = count[block_own]
                inside = sums[rows, block_own] / np.maximum(size - 1, 1)
                means = sums / count
                means[rows, block_own] = np.inf
                nearest = means.min(axis=1)
                with np.errstate(invalid="ignore", divide="ignore"):
                    scores = (nearest - inside) / np.maximum(inside, nearest)
                scores[(size == 1) | ~np.isfinite(scores)] = 0.0
                totals[i] += float(scores.sum())
    return [float(total / len(points)) for total in totals]
