"""``modeling.methods``: seven clustering methods beside K-Means, judged alike; the verdict
agrees with the table; the stability draws the k sweep's resamples.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import load_catalog

from customer_segmentation.core.modeling import methods, selection, stability
from customer_segmentation.core.modeling.methods import CRITERIA, KMEANS, SURVIVES_ARI

FAMILIES = {
    "K-Means",
    "mini-batch K-Means",
    "Gaussian mixture",
    "Ward",
    "BIRCH",
    "HDBSCAN",
    "DBSCAN",
}


@pytest.fixture(scope="module")
def table(real_project: Path) -> pd.DataFrame:
    return load_catalog(real_project).load("method_comparison")


def test_the_real_table_lists_seven_methods_with_every_criterion(table, real_project):
    assert set(table["family"]) == FAMILIES
    assert len(table) == 9, "K-Means, mini-batch, three Gaussian mixtures, Ward, BIRCH, two density"
    clustered = table[table["segments"] >= 2]
    assert len(clustered) >= 7
    columns = [*CRITERIA, "noise_share", "smallest_share", "ari_vs_kmeans", "fit_seconds"]
    assert clustered[columns].notna().all().all(), clustered[columns]
    card = load_catalog(real_project).load("model_card")
    kmeans = table.set_index("method").loc[KMEANS]
    assert kmeans["segments"] == card["k"] and kmeans["ari_vs_kmeans"] == 1.0
    assert kmeans["silhouette"] == pytest.approx(card["silhouette"], abs=1e-12), "the model's own"
    assert (table["sample_rows"] == card["training_rows"]).all(), "the whole real table"
    assert table["k_rule"].str.contains("BIC").sum() == 1
    rows = f"{card['training_rows']:,}"
    assert (table["fitted_on"] == f"a seeded sample of {rows} customers, gathered to memory").all()


def test_the_verdict_names_the_method_the_table_favours(table):
    ranks = pd.concat(
        [
            table[c].rank(ascending=not higher, method="min", na_option="bottom")
            for c, higher in CRITERIA.items()
        ],
        axis=1,
    ).mean(axis=1)
    best = table.loc[ranks.idxmin()]
    sentence = table["verdict"].iloc[0]
    assert f"favour {best['title']} (mean rank {ranks.min():.1f} of {len(table)})" in sentence
    kept = table[(table["method"] != KMEANS) & (table["ari_vs_kmeans"] >= SURVIVES_ARI)]
    survive = sentence.split("survive under ")[1].split(" (adjusted Rand")[0]
    assert all(title in survive for title in kept["title"]), (survive, kept["title"].tolist())
    assert (table["verdict"] == sentence).all()


def _table(**columns: list) -> pd.DataFrame:
    rows = len(next(iter(columns.values())))
    base = {
        "method": [KMEANS, "gaussian_mixture_full", "hdbscan"][:rows],
        "title": ["K-Means", "Gaussian mixture (full covariance)", "HDBSCAN"][:rows],
        "family": ["K-Means", "Gaussian mixture", "HDBSCAN"][:rows],
        "noise_share": [0.0, 0.0, 0.3][:rows],
        "ari_vs_kmeans": [1.0, 0.7, 0.2][:rows],
        "sample_rows": [1000] * rows,
    }
    return pd.DataFrame({**base, **columns})


def test_a_method_that_ranks_first_is_the_switch_and_says_what_it_gives():
    table = _table(
        silhouette=[0.2, 0.3, 0.1],
        davies_bouldin=[1.5, 1.2, 1.9],
        calinski_harabasz=[500.0, 600.0, 100.0],
        stability_ari=[0.7, 0.8, 0.4],
    )
    sentence = methods.verdict(table)
    assert "favour Gaussian mixture (full covariance) (mean rank 1.0 of 3); K-Means ranks 2.0" in (
        sentence
    )
    assert "a probability of belonging" in sentence
    assert "survive under Gaussian mixture (full covariance) (adjusted Rand index 0.5 or more)" in (
        sentence
    )
    assert "not under HDBSCAN" in sentence


def test_a_method_with_one_segment_ranks_last():
    table = _table(
        silhouette=[0.2, np.nan, 0.5],
        davies_bouldin=[1.5, np.nan, 1.0],
        calinski_harabasz=[500.0, np.nan, 600.0],
        stability_ari=[0.7, np.nan, 0.9],
    )
    assert list(methods.mean_ranks(table)) == [2.0, 3.0, 1.0]
    assert methods.favoured(table)["method"] == "hdbscan"
    assert "leaves 30% of the customers without a segment" in methods.verdict(table)


def test_the_methods_and_the_sweep_draw_the_same_resamples():
    drawn = list(stability.bootstrap(50, 3, 7))
    again = list(stability.bootstrap(50, 3, 7))
    assert all((a == b).all() and s == t for (a, s), (b, t) in zip(drawn, again, strict=True))
    assert selection.bootstrap is stability.bootstrap and methods.bootstrap is stability.bootstrap


def test_a_partition_of_one_segment_has_no_stability():
    points = np.random.default_rng(0).normal(size=(40, 2))
    method = methods.Method("one", "one", "one", "-", lambda p, s: np.zeros(len(p), dtype=int))
    settings = methods.MethodSettings(None, (2, 3), 5, 0.1, 2, 3, 0)
    assert np.isnan(methods.stability_ari(points, np.zeros(40, dtype=int), method, settings))
