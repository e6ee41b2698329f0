"""``model_selection``: the sweep finds a known number of groups; the pipeline runs. Deciding k
(``choose_k``) is the clustering pipeline's, tested here beside the sweep it reads.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import changed
from kedro.io import DataCatalog, MemoryDataset
from kedro.runner import SequentialRunner
from matplotlib.figure import Figure

from customer_segmentation.core.modeling.selection import choose_k, chosen_k, verdict
from customer_segmentation.pipelines.model_selection import create_pipeline
from customer_segmentation.pipelines.model_selection.nodes import select_k
from customer_segmentation.report import figures

FEATURES = ["Age", "Income", "Recency"]


@pytest.fixture
def four_groups() -> pd.DataFrame:
    """Four tight, far-apart groups of 60 points: the right k is 4."""
    rng = np.random.default_rng(0)
    centers = np.array([[0, 0, 0], [10, 0, 0], [0, 10, 0], [0, 0, 10]])
    points = np.vstack([c + rng.normal(0, 0.5, size=(60, 3)) for c in centers])
    frame = pd.DataFrame(points, columns=FEATURES)
    frame.insert(0, "ID", np.arange(len(frame)))
    return frame


@pytest.fixture
def settings(params):
    return changed(
        params["model_selection"],
        features=FEATURES,
        k_min=2,
        k_max=8,
        n_init=4,
        stability_resamples=3,
    )


def test_sweep_finds_the_planted_number_of_groups(four_groups, settings):
    table, centres = select_k(four_groups, settings)

    assert table["k"].tolist() == list(range(2, 9))
    assert table.loc[table["is_knee"], "k"].tolist() == [4], table
    best = table.set_index("k")
    assert best["silhouette"].idxmax() == 4
    assert best["davies_bouldin"].idxmin() == 4
    assert best["calinski_harabasz"].idxmax() == 4
    assert best.loc[4, "stability_ari_mean"] == pytest.approx(1.0), "4 clear groups are stable"
    assert "elbow" in best.loc[4, "preferred_by"] and "silhouette" in best.loc[4, "preferred_by"]
    assert table["inertia"].is_monotonic_decreasing
    assert "is_chosen" not in table, "the sweep does not decide k: choose_k does, once"
    assert (table["sweep_rows"] == 240).all()
    assert centres.groupby("k").size().to_dict() == {k: k for k in range(2, 9)}
    four = centres.loc[centres["k"] == 4, FEATURES].to_numpy()
    planted = np.round(four / 10) * 10
    assert sorted(map(tuple, planted)) == [(0, 0, 0), (0, 0, 10), (0, 10, 0), (10, 0, 0)]
    assert np.abs(four - planted).max() < 0.3, "centres are in the features' own units"


def test_auto_takes_the_knee_and_an_integer_is_kept(four_groups, settings):
    sweep, _ = select_k(four_groups, settings)
    auto = choose_k(sweep, "auto")
    assert chosen_k(auto) == 4
    assert auto.loc[auto["is_chosen"], "chosen_by"].item().startswith("knee")
    seven = choose_k(sweep, 7)
    assert chosen_k(seven) == 7
    assert seven.loc[seven["is_chosen"], "chosen_by"].item() == "parameter clustering.n_clusters"


def test_a_k_outside_the_sweep_gets_a_row_of_its_own(four_groups, settings):
    sweep, _ = select_k(four_groups, settings)
    table = choose_k(sweep, 12)
    assert chosen_k(table) == 12
    assert table["k"].tolist() == [*range(2, 9), 12]
    assert np.isnan(table.set_index("k").loc[12, "inertia"]), "no criteria for an unswept k"
    assert figures.elbow(table).axes[0].get_legend() is not None, "the elbow still draws"


def test_auto_without_a_knee_is_an_error():
    flat = pd.DataFrame({"k": [2, 3], "is_knee": [False, False], "preferred_by": ["", ""]})
    with pytest.raises(ValueError, match="no knee"):
        choose_k(flat, "auto")


def test_the_verdict_names_the_model_k_not_a_fixed_number(four_groups, settings):
    sweep, _ = select_k(four_groups, settings)
    for k in (3, 5, 7):
        agree, sentence = verdict(choose_k(sweep, k))
        assert not agree
        assert f"uses k={k}" in sentence and f"({k} actionable segments)" in sentence, sentence
        assert "six" not in sentence
    agree, sentence = verdict(choose_k(sweep, 4))
    assert agree, sentence


def test_the_sweep_is_reproducible(four_groups, settings):
    first = select_k(four_groups, settings)
    second = select_k(four_groups, settings)
    pd.testing.assert_frame_equal(first[0], second[0])
    pd.testing.assert_frame_equal(first[1], second[1])


def test_elbow_figure_marks_knee_and_choice(four_groups, settings):
    figure = figures.elbow(choose_k(select_k(four_groups, settings)[0], 5))
    assert isinstance(figure, Figure)
    labels = [t.get_text() for t in figure.axes[0].get_legend().get_texts()]
    assert labels == ["knee (Kneedle): 4", "chosen k: 5"]


def test_pipeline_runs_on_an_in_memory_catalog(four_groups, settings):
    catalog = DataCatalog(
        {
            "customer_model_input": MemoryDataset(four_groups),
            "params:model_selection": MemoryDataset(settings),
        }
    )
    SequentialRunner().run(create_pipeline(), catalog)

    sweep = catalog.load("k_sweep")
    assert sweep["k"].tolist() == list(range(2, 9)), "one row per k"
    assert set(catalog.load("sweep_centres")["k"]) == set(range(2, 9))
