"""``modeling.dbscan``: the eps scan gives DBSCAN's own labels."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from sklearn.cluster import DBSCAN
from sklearn.neighbors import NearestNeighbors

from customer_segmentation.core.modeling.dbscan import dbscan_scan

# Four points on a line, two obvious pairs: every criterion can be worked out by hand.
LINE = np.array([[0.0], [1.0], [10.0], [11.0]])


# --- Fast paths: each must give exactly what the plain computation gives. ---------------------


def _direct_dbscan(data: np.ndarray, eps: float, min_samples: int) -> np.ndarray:
    return DBSCAN(eps=eps, min_samples=min_samples).fit_predict(data)


def test_dbscan_scan_gives_dbscans_own_labels_at_every_eps():
    rng = np.random.default_rng(0)
    blobs = np.vstack([rng.normal(centre, 0.4, (150, 3)) for centre in (0.0, 2.0, 5.0)])
    data = np.vstack([blobs, blobs[:40]])  # duplicated customers sit at distance 0
    k_distances = np.sort(NearestNeighbors(n_neighbors=6).fit(data).kneighbors(data)[0][:, -1])
    # The first eps is some pair's exact distance (as the knee of the k-distance curve is).
    eps_values = [float(k_distances[200]), *np.quantile(k_distances, [0.05, 0.5, 0.9, 0.99])]

    scanned = dbscan_scan(data, [float(e) for e in eps_values], 6)

    assert len(scanned) == len(eps_values)
    for eps, labels in zip(eps_values, scanned, strict=True):
        np.testing.assert_array_equal(labels, _direct_dbscan(data, eps, 6), err_msg=f"eps {eps}")
    assert len({len(np.unique(labels)) for labels in scanned}) > 1, "the scan must vary"


@pytest.mark.parametrize("offset", [0.0, 1e4])
def test_dbscan_scan_decides_pairs_exactly_at_eps_as_dbscan_does(offset):
    # A 5x5x5 grid: many pairs exactly 1, sqrt(2) and sqrt(3) apart. sqrt(3) squared rounds
    # below 3, so DBSCAN's squared-distance test leaves the cube diagonals out at eps=sqrt(3);
    # a graph filtered by "distance <= eps" would keep them. Far from the origin the
    # graph's distances carry more rounding.
    grid = np.array(list(itertools.product(range(5), repeat=3)), dtype=float) + offset
    for eps in (1.0, float(np.sqrt(2.0)), float(np.sqrt(3.0))):
        scanned = dbscan_scan(grid, [eps], 15)[0]
        np.testing.assert_array_equal(scanned, _direct_dbscan(grid, eps, 15), err_msg=str(eps))
    assert (dbscan_scan(grid, [float(np.sqrt(3.0))], 20)[0] == -1).all(), (
        "at eps=sqrt(3) no grid point has 20 neighbours: the diagonals are not neighbours"
    )


def test_dbscan_scan_of_no_eps_is_empty():
    assert dbscan_scan(LINE, [], 2) == []
