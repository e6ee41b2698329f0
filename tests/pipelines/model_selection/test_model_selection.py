"""``model_selection``: the sweep finds a known number of groups; the pipeline runs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from kedro.io import DataCatalog, MemoryDataset
from kedro.runner import SequentialRunner
from matplotlib.figure import Figure

from customer_segmentation.pipelines.model_selection import create_pipeline
from customer_segmentation.pipelines.model_selection.nodes import plot_elbow, resolve_k, select_k

FEATURES = ["a", "b", "c"]


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
def settings(params) -> dict:
    return {
        **params["model_selection"],
        "features": FEATURES,
        "k_min": 2,
        "k_max": 8,
        "n_init": 4,
        "stability_resamples": 3,
    }


def test_sweep_finds_the_planted_number_of_groups(four_groups, settings):
    table, centres = select_k(four_groups, settings, 4)

    assert table["k"].tolist() == list(range(2, 9))
    assert table.loc[table["is_knee"], "k"].tolist() == [4], table
    best = table.set_index("k")
    assert best["silhouette"].idxmax() == 4
    assert best["davies_bouldin"].idxmin() == 4
    assert best["calinski_harabasz"].idxmax() == 4
    assert best.loc[4, "stability_ari_mean"] == pytest.approx(1.0), "4 clear groups are stable"
    assert "elbow" in best.loc[4, "preferred_by"] and "silhouette" in best.loc[4, "preferred_by"]
    assert table["inertia"].is_monotonic_decreasing
    assert table.loc[table["is_chosen"], "k"].tolist() == [4]
    assert (table["sweep_rows"] == 240).all()
    assert centres.groupby("k").size().to_dict() == {k: k for k in range(2, 9)}
    four = centres.loc[centres["k"] == 4, FEATURES].to_numpy()
    planted = np.round(four / 10) * 10
    assert sorted(map(tuple, planted)) == [(0, 0, 0), (0, 0, 10), (0, 10, 0), (10, 0, 0)]
    assert np.abs(four - planted).max() < 0.3, "centres are in the features' own units"


def test_auto_takes_the_knee_and_an_integer_is_kept(four_groups, settings):
    assert select_k(four_groups, settings, "auto")[0].query("is_chosen")["k"].item() == 4
    assert select_k(four_groups, settings, 7)[0].query("is_chosen")["k"].item() == 7


def test_auto_without_a_knee_is_an_error():
    with pytest.raises(ValueError, match="no knee"):
        resolve_k("auto", None)


def test_the_sweep_is_reproducible(four_groups, settings):
    first = select_k(four_groups, settings, 4)
    second = select_k(four_groups, settings, 4)
    pd.testing.assert_frame_equal(first[0], second[0])
    pd.testing.assert_frame_equal(first[1], second[1])


def test_elbow_figure_marks_knee_and_choice(four_groups, settings):
    figure = plot_elbow(select_k(four_groups, settings, 5)[0])
    assert isinstance(figure, Figure)
    labels = [t.get_text() for t in figure.axes[0].get_legend().get_texts()]
    assert labels == ["knee (Kneedle): 4", "chosen k: 5"]


def test_pipeline_runs_on_an_in_memory_catalog(four_groups, settings):
    catalog = DataCatalog(
        {
            "customer_model_input": MemoryDataset(four_groups),
            "params:model_selection": MemoryDataset(settings),
            "params:clustering.n_clusters": MemoryDataset(4),
        }
    )
    SequentialRunner().run(create_pipeline(), catalog)

    figure = catalog.load("elbow_plot")
    assert isinstance(figure, Figure)
    assert list(figure.axes[0].lines[0].get_xdata()) == list(range(2, 9)), "one point per k"
