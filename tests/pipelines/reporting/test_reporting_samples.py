"""``reporting``: figures and tables read only the customers that have a segment, join them by
``ID`` whatever the row order, and draw customers from the seeded sample.
"""

from __future__ import annotations

import pickle
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from conftest import changed
from matplotlib.figure import Figure
from sklearn.decomposition import PCA

from customer_segmentation.core import engine, maps
from customer_segmentation.core.modeling.selection import choose_k
from customer_segmentation.core.segments import profile_segments, segment_table
from customer_segmentation.pipelines.clustering.nodes import fit_segmentation
from customer_segmentation.pipelines.reporting.nodes import (
    build_segment_profiles,
    plot_segment_distributions,
    plot_segment_map,
    plot_tsne_map,
    spending_mix,
)
from customer_segmentation.schema import SPEND_COLUMNS


def _stability(card) -> pd.DataFrame:
    """A segment_stability table for the card's segments (values distinct per segment)."""
    numbers = segment_table(card)["segment"].sort_values().to_numpy()
    return pd.DataFrame(
        {
            "segment": numbers,
            "stability_jaccard": 0.5 + numbers / 100,
            "stability_label": "weak",
        }
    )


@pytest.fixture(scope="module")
def fitted(demo_features, params):
    k_selection = choose_k(pd.DataFrame({"k": [6], "is_knee": [True], "preferred_by": [""]}), 6)
    settings = changed(params["clustering"], init="k-means++")
    scaler, model, segments = fit_segmentation(
        demo_features, k_selection, settings, pd.DataFrame(columns=["k", "centre"])
    )
    segments = engine.to_pandas_table(segments)
    # Features in another order, with customers that have no segment, and segments for
    # fewer customers than the table holds: the nodes join by ID as an inner merge does.
    extra = demo_features.head(5).assign(ID=lambda f: -f["ID"] - 1)
    features = pd.concat([demo_features.sample(frac=1.0, random_state=5), extra])
    segments = segments.iloc[10:].reset_index(drop=True)
    card = {
        "features": list(settings.features),
        "segments": [
            {"segment": s, "name": f"S{s}", "behaviour": "b", "description": "d", "action": "a"}
            for s in range(6)
        ],
    }
    merged = features.merge(segments[["ID", "segment"]], on="ID", how="inner", validate="1:1")
    return features, segments, scaler, model, card, merged


def test_profiles_are_those_of_the_merged_table(fitted, params):
    features, segments, _, _, card, merged = fitted
    columns = list(params["reporting"].profile_columns)

    stability = _stability(card)
    table, heatmap = build_segment_profiles(
        features, segments, card, stability, params["reporting"]
    )

    profile = profile_segments(merged, columns)
    names = segment_table(card)[["segment", "name", "behaviour", "description", "action"]]
    expected = names.merge(profile, on="segment").sort_values("segment")
    # The same aggregates over the rows in another order: equal up to the order of the sums.
    pd.testing.assert_frame_equal(
        table.drop(columns=["stability_jaccard", "stability_label"]),
        expected,
        check_exact=False,
        rtol=1e-12,
    )
    assert table["stability_jaccard"].tolist() == stability["stability_jaccard"].tolist()
    assert table["size"].sum() == len(segments)
    z_columns = [c for c in table if c.startswith("z_")]
    shown = np.asarray(heatmap.axes[0].collections[0].get_array()).reshape(6, len(z_columns))
    np.testing.assert_allclose(shown, table[z_columns].to_numpy(), err_msg="heatmap = z-scores")


def test_spending_mix_sums_the_merged_table(fitted):
    features, segments, _, _, card, merged = fitted

    table, figure = spending_mix(features, segments, card)

    spend = merged.groupby("segment")[list(SPEND_COLUMNS)].sum()
    wines = (spend["MntWines"] / spend.sum(axis=1)).to_numpy()
    np.testing.assert_allclose(table["spend_Wines"].to_numpy(), wines, rtol=1e-12)
    means = merged.groupby("segment")["Total_Spending"].mean().to_numpy()
    np.testing.assert_allclose(table["mean_spending"].to_numpy(), means, rtol=1e-12)
    assert isinstance(figure, Figure)


def _sample(merged: pd.DataFrame, size: int, seed: int) -> pd.DataFrame:
    """The seeded sample every engine draws (``engine.sample``), in ID order."""
    return engine.to_pandas(engine.sample(engine.lazy(merged), size, seed, "ID"))


def _scattered(figure: Figure) -> np.ndarray:
    return np.vstack([c.get_offsets() for c in figure.axes[0].collections])


def test_income_spending_scatter_draws_the_seeded_sample(fitted, params):
    features, segments, _, _, card, merged = fitted
    settings = changed(params["reporting"], map_sample_size=300)

    scatter, violins = plot_segment_distributions(features, segments, card, settings)

    drawn = _scattered(scatter)
    sample = _sample(merged, 300, settings.random_state)
    expected = np.vstack(
        [
            sample.loc[sample["segment"] == s, ["Income", "Total_Spending"]].to_numpy(float)
            for s in range(6)
        ]
    )
    np.testing.assert_array_equal(drawn, expected)
    again = _scattered(plot_segment_distributions(features, segments, card, settings)[0])
    other = _scattered(
        plot_segment_distributions(features, segments, card, changed(settings, random_state=7))[0]
    )
    np.testing.assert_array_equal(drawn, again)
    assert drawn.shape == other.shape and not np.array_equal(drawn, other)
    titles = [ax.get_title() for ax in violins.axes if ax.get_visible()]
    assert titles == card["features"], "one violin panel per model feature"


def test_distribution_figures_unpickle_with_matplotlib_alone(fitted, params):
    """The figure worker (``figure_workers``) unpickles figures with matplotlib only; a seaborn
    object left in a figure would make it import seaborn, pandas and SciPy (120 MB more).
    """
    features, segments, _, _, card, _ = fitted
    settings = changed(params["reporting"], map_sample_size=300)
    pickled = pickle.dumps(plot_segment_distributions(features, segments, card, settings))
    script = (
        "import pickle, sys; import matplotlib.figure; pickle.loads(sys.stdin.buffer.read()); "
        "print(sorted({m.split('.')[0] for m in sys.modules} & "
        "{'seaborn', 'pandas', 'scipy', 'sklearn', 'customer_segmentation'}))"
    )

    done = subprocess.run(
        [sys.executable, "-c", script], input=pickled, capture_output=True, check=True
    )

    assert done.stdout.decode().strip() == "[]", f"unpickling imported {done.stdout.decode()}"


def test_segment_map_projects_the_seeded_sample(fitted, params):
    features, segments, scaler, model, card, merged = fitted
    settings = changed(params["reporting"], map_sample_size=300)

    figure, points, projection = plot_segment_map(features, segments, scaler, model, card, settings)

    sample = _sample(merged, 300, settings.random_state)
    scaled = scaler.transform(sample[card["features"]].astype("float64"))
    pca = PCA(n_components=2, random_state=settings.random_state).fit(scaled)
    customers = points[points["kind"] == maps.CUSTOMER]
    np.testing.assert_array_equal(customers["ID"], sample["ID"])
    np.testing.assert_allclose(customers[["x", "y"]], pca.transform(scaled), atol=1e-12)
    centroids = points[points["kind"] == maps.CENTROID]
    np.testing.assert_allclose(
        centroids[["x", "y"]], pca.transform(model.cluster_centers_), atol=1e-12
    )
    np.testing.assert_allclose(projection.components_, pca.components_)
    labels = sample["segment"].to_numpy()
    coords = pca.transform(scaled)
    expected = np.vstack([*(coords[labels == s] for s in range(6)), centroids[["x", "y"]]])
    np.testing.assert_allclose(_scattered(figure), expected, atol=1e-12)


def test_tsne_map_draws_the_seeded_sample(fitted, params):
    features, segments, scaler, _, card, _ = fitted
    settings = changed(
        params["reporting"], tsne={"sample_size": 120, "perplexity": 30, "max_iter": 250}
    )

    first = _scattered(plot_tsne_map(features, segments, scaler, card, settings))
    again = _scattered(plot_tsne_map(features, segments, scaler, card, settings))

    assert first.shape == (120, 2)
    np.testing.assert_array_equal(first, again)


def test_a_customer_with_two_segments_is_an_error(fitted, params):
    features, segments, _, _, card, _ = fitted
    twice = pd.concat([segments, segments.head(1)])

    with pytest.raises(ValueError, match="repeat an ID"):
        build_segment_profiles(features, twice, card, _stability(card), params["reporting"])
