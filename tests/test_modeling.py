"""``modeling``: criteria on hand-checkable data, the knee, stable segment numbering."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from conftest import changed
from sklearn.cluster import DBSCAN, KMeans
from sklearn.metrics import silhouette_score
from sklearn.neighbors import NearestNeighbors
from threadpoolctl import threadpool_info, threadpool_limits

from customer_segmentation import OPENMP_WAIT_SETTINGS
from customer_segmentation.core import engine
from customer_segmentation.core.modeling import threads
from customer_segmentation.core.modeling.dbscan import dbscan_scan
from customer_segmentation.core.modeling.kmeans import fit_kmeans
from customer_segmentation.core.modeling.metrics import silhouette, silhouettes
from customer_segmentation.core.modeling.selection import choose_k, find_knee, sweep
from customer_segmentation.core.sampling import check_one_row_per_id, rows_of_sample
from customer_segmentation.pipelines.clustering.nodes import fit_segmentation

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


def test_fit_kmeans_is_the_estimators_own_fit(params):
    points = np.random.default_rng(3).normal(size=(2_000, 3))
    settings = changed(params["model_selection"], n_init=3, random_state=7)

    fitted = fit_kmeans(4, settings, points)

    plain = KMeans(4, n_init=3, random_state=7).fit(points)
    np.testing.assert_allclose(fitted.cluster_centers_, plain.cluster_centers_)
    np.testing.assert_array_equal(fitted.labels_, plain.labels_)


def test_sweep_criteria_match_hand_computation(params):
    settings = changed(
        params["model_selection"],
        k_min=2,
        k_max=2,
        n_init=5,
        random_state=0,
        silhouette_sample_size=10,
        stability_sample_size=10,
        stability_resamples=3,
    )

    every = np.arange(len(LINE))
    table, centres = sweep(LINE, settings, every, every)
    row = table.iloc[0]

    # Inertia: 4 points each 0.5 from their centroid. Between-group SS: 4 * 5^2 = 100, so
    # Calinski-Harabasz = (100 / 1) / (1 / 2) = 200. Davies-Bouldin: (0.5 + 0.5) / 10 = 0.1.
    assert row["inertia"] == pytest.approx(1.0), f"inertia {row['inertia']}, expected 1"
    assert row["calinski_harabasz"] == pytest.approx(200.0), row["calinski_harabasz"]
    assert row["davies_bouldin"] == pytest.approx(0.1), row["davies_bouldin"]
    assert row["silhouette"] == pytest.approx(0.8997, abs=1e-4), row["silhouette"]
    assert (
        row["stability_ari_mean"] <= 1.0 and row["stability_ari_min"] <= row["stability_ari_mean"]
    ), "stability: min above mean or ARI above 1"
    assert sorted(centres[2][:, 0].round(6).tolist()) == [0.5, 10.5], centres


def test_knee_found_on_a_curve_with_a_known_knee():
    ks = list(range(1, 11))
    # Falls steeply until k=4, then by 1 per step: the elbow is at 4.
    inertia = [100, 70, 40, 10, 9, 8, 7, 6, 5, 4]

    assert find_knee(ks, inertia) == 4, f"knee at {find_knee(ks, inertia)}, expected 4"


def test_knee_needs_three_points_and_a_bend():
    assert find_knee([2, 3], [10.0, 5.0]) is None, "two points cannot have a knee"
    assert find_knee([1, 2, 3, 4], [4.0, 3.0, 2.0, 1.0]) is None, "a straight line has no knee"


def _segment_by_id(features: pd.DataFrame, params) -> pd.Series:
    k_selection = choose_k(pd.DataFrame({"k": [6], "is_knee": [True], "preferred_by": [""]}), 6)
    settings = changed(params["clustering"], init="k-means++")
    _, _, segments = fit_segmentation(
        features, k_selection, settings, pd.DataFrame(columns=["k", "centre"])
    )
    return engine.to_pandas_table(segments).set_index("ID")["segment"].sort_index()


def test_numbering_is_stable_across_runs_and_row_order(demo_features, params):
    first = _segment_by_id(demo_features, params)
    again = _segment_by_id(demo_features, params)
    shuffled = _segment_by_id(demo_features.sample(frac=1.0, random_state=7), params)

    assert first.equals(again), "two runs on the same table gave different segments"
    changed = int((first != shuffled).sum())
    assert changed == 0, f"{changed} customers changed segment when the rows were shuffled"
    spending = demo_features.set_index("ID")["Total_Spending"].groupby(first).mean()
    assert spending.is_monotonic_decreasing, f"segment 0 is not the top spender: {spending}"


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


def test_a_repeated_id_is_refused_by_name():
    check_one_row_per_id(pd.DataFrame({"ID": [3, 1, 2]}), "the segments")
    with pytest.raises(ValueError, match=r"the segments: 3 row.s. repeat an ID .e.g. 1, 3 appear"):
        check_one_row_per_id(pd.DataFrame({"ID": [3, 1, 3, 1, 1, 2]}), "the segments")


def test_a_smaller_sample_of_one_seed_is_found_inside_a_larger_one():
    table = engine.lazy(pd.DataFrame({"ID": np.arange(1000) * 7 + 3, "x": np.arange(1000)}))
    larger = engine.sample(table, 300, 5, "ID")
    rows = rows_of_sample(larger, 40, 5)
    inner = engine.to_pandas(engine.sample(table, 40, 5, "ID"))["ID"].to_numpy()
    np.testing.assert_array_equal(engine.to_pandas(larger)["ID"].to_numpy()[rows], inner)
    assert len(set(inner) - set(engine.to_pandas(larger)["ID"])) == 0, "samples are nested"


# --------------------------------------------------------------------------------------
# Threads sized to the work (modeling.threads), OpenMP threads that sleep while they wait
# --------------------------------------------------------------------------------------


def _threads(pool: str) -> int:
    return max(lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == pool)


def test_threads_for_small_work_is_one_and_large_work_at_most_the_cores():
    assert threads.threads_for(2_212, 7, cores=2) == 1, "a few thousand rows got threads"
    assert threads.threads_for(1_000, 7, cores=8) == 1, "t-SNE's thousand rows got threads"
    assert threads.threads_for(50_000, 7, cores=2) == 2, "the 50,000-row sweep got one thread"
    assert threads.threads_for(10**7, 7, cores=4) == 4, "more threads than cores"
    assert threads.threads_for(10**7, 7, cores=1) == 1, "more threads than the one core"
    assert 1 <= threads.threads_for(10**7, 7) <= threads.cores_available()


def test_sized_threads_limits_the_pool_and_restores_it():
    before = {pool: _threads(pool) for pool in ("openmp", "blas")}
    with threads.sized_threads(1_000, 7) as used:
        assert used == 1, f"{used} threads for 1,000 x 7 values"
        assert _threads("openmp") == 1, "OpenMP was not held to one thread for small work"
        assert _threads("blas") == 1, "BLAS was not held to one thread beside OpenMP"
    with threads.sized_threads(10**7, 7, pool="blas") as used:
        assert used == min(threads.cores_available(), before["blas"]), used
        assert _threads("openmp") == 1, "OpenMP was not held to one thread beside BLAS"
    after = {pool: _threads(pool) for pool in ("openmp", "blas")}
    assert after == before, f"thread pools not restored: {before} -> {after}"


def test_sized_threads_never_raises_an_enclosing_limit():
    with threadpool_limits(limits=1, user_api="openmp"), threads.sized_threads(10**7, 7) as used:
        assert used == 1, "sized_threads raised the user's (or a caller's) OpenMP limit"
        assert _threads("openmp") == 1


def _fresh_python(code: str, **env: str) -> str:
    clean = {k: v for k, v in os.environ.items() if k not in OPENMP_WAIT_SETTINGS}
    done = subprocess.run(
        [sys.executable, "-c", code],
        env={**clean, **env},
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


def test_the_package_makes_openmp_threads_wait_passively_before_scikit_learn_loads():
    code = (
        "import sys, os, customer_segmentation; "
        "print(os.environ.get('OMP_WAIT_POLICY'), 'sklearn' in sys.modules)"
    )
    assert _fresh_python(code) == "PASSIVE False", (
        "importing the package did not set OMP_WAIT_POLICY=PASSIVE before scikit-learn loads"
    )
    assert _fresh_python(code, OMP_WAIT_POLICY="ACTIVE") == "ACTIVE False", (
        "the user's OMP_WAIT_POLICY was overridden"
    )
    assert _fresh_python(code, GOMP_SPINCOUNT="1000") == "None False", (
        "a wait policy was set although the user chose GOMP_SPINCOUNT"
    )
