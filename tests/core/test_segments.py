"""``segments``: naming rules on constructed profiles, read against the parameters."""

from __future__ import annotations

import numpy as np
import pandas as pd
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from customer_segmentation.core import engine
from customer_segmentation.core.sampling import segmented_frame
from customer_segmentation.core.segments import name_segments, profile_segments
from customer_segmentation.params import ClusteringParams, ParameterError
from customer_segmentation.schema import BEHAVIOURS, NAMING_COLUMNS


@pytest.fixture
def naming(params):
    return params["clustering"].naming


def _profile(**z: float) -> dict:
    """One segment's profile row: z-scores given, others 0, plausible medians/means."""
    row = {"segment": 0, "size": 100, "share": 0.1}
    for column in NAMING_COLUMNS:
        row[f"z_{column}"] = z.get(column, 0.0)
        row[f"mean_{column}"] = 1.0
        row[f"median_{column}"] = 1.0
    return row


def _names(rows: list[dict], naming) -> list[str]:
    for number, row in enumerate(rows):
        row["segment"] = number
    return name_segments(pd.DataFrame(rows), naming)["name"].tolist()


def test_constructed_profiles_get_the_names_a_marketer_expects(naming):
    rows = [
        _profile(Income=1.2, Total_Spending=1.1, NumWebPurchases=0.3, NumStorePurchases=0.8),
        _profile(Age=1.0, Total_Spending=-0.8, Recency=0.9),
        _profile(Age=-0.7, Income=-0.9, Total_Spending=-0.8, NumWebVisitsMonth=0.7),
        _profile(NumWebPurchases=1.3, NumStorePurchases=0.4, NumDealsPurchases=0.8),
        _profile(Total_Spending=0.9, NumStorePurchases=1.0, NumWebPurchases=-0.4),
        _profile(),
    ]

    assert _names(rows, naming) == [
        "Affluent Multi-Channel Spenders",
        "Senior Low-Activity Customers",
        "Younger Budget Web Browsers",
        "Deal-Seeking Online Shoppers",
        "Store-Loyal Spenders",
        "Mainstream Customers",
    ]


def test_thresholds_come_from_parameters(naming):
    row = _profile(Total_Spending=0.6, NumWebPurchases=0.1, NumStorePurchases=0.1)
    assert _names([dict(row)], naming) == ["Multi-Channel Spenders"]

    stricter = naming.model_copy(update={"high_z": 0.7, "low_z": -0.7})
    assert _names([dict(row)], stricter) == ["Mainstream Customers"], (
        "raising high_z above the segment's spending z should drop the spender label"
    )


def test_shared_names_are_told_apart_by_their_most_different_trait(naming):
    rows = [
        _profile(Total_Spending=-0.8, Recency=-0.2),
        _profile(Total_Spending=-0.8, Recency=0.2, Children=1.5),
    ]

    names = _names(rows, naming)

    assert len(set(names)) == 2, f"names must be unique: {names}"
    assert names[1] == "Low Spenders (with children)", names


def test_every_behaviour_has_a_label_and_an_action(naming):
    assert set(naming.behaviours) == set(BEHAVIOURS), "every rule's behaviour, and only those"
    for key, text in naming.behaviours.items():
        assert text.label and text.action, f"behaviour {key} lacks label or action"
    for column in NAMING_COLUMNS:
        assert naming.qualifiers[column].high and naming.qualifiers[column].low, column


def test_naming_words_are_checked_before_the_run(params):
    raw = params["clustering"].model_dump()
    raw["naming"]["behaviours"].pop("lapsing")
    with pytest.raises(ParameterError, match="clustering.naming: behaviours lacks lapsing"):
        ClusteringParams.model_validate(raw)
    raw = params["clustering"].model_dump()
    raw["naming"]["qualifiers"]["Age"] = {"high": "older"}
    with pytest.raises(ParameterError, match="a high and a low word for Age"):
        ClusteringParams.model_validate(raw)


def test_profile_z_scores_and_shares():
    features = pd.DataFrame({"x": [0.0, 0.0, 2.0, 2.0]})
    profile = profile_segments(features.assign(segment=[0, 0, 1, 1]), ["x"])

    assert profile["share"].tolist() == [0.5, 0.5]
    # mean 1, population std 1: the segment means 0 and 2 are at z -1 and +1.
    assert profile["z_x"].tolist() == pytest.approx([-1.0, 1.0]), profile["z_x"].tolist()
    assert profile["median_x"].tolist() == [0.0, 2.0]


def _profile_by_pandas(features: pd.DataFrame, segments: pd.Series, columns: list[str]):
    """The profile by pandas' own group medians and frame statistics, for comparison."""
    values = features[columns].astype("float64")
    grouped = values.groupby(segments.to_numpy())
    spread = values.std(ddof=0).replace(0, np.nan)
    return grouped.mean(), grouped.median(), values.mean(), spread


@pytest.mark.parametrize("labels", ["int", "float"])
def test_profile_statistics_are_pandas_own(labels):
    rng = np.random.default_rng(3)
    n = 2001
    features = pd.DataFrame(
        {
            "count": rng.integers(0, 30, n),  # counted medians
            "signed": rng.integers(-500, 500, n),
            "wide": rng.integers(0, 2**40, n),  # too wide to count: sorted medians
            "money": rng.gamma(2.0, 1000.0, n),
            "gappy": np.where(rng.random(n) < 0.2, np.nan, rng.normal(size=n)),
        }
    )
    segments = pd.Series(rng.integers(0, 5, n))  # odd and even segment sizes
    if labels == "float":
        segments = segments.astype(float)
    columns = list(features.columns)

    profile = profile_segments(features.assign(segment=segments.to_numpy()), columns).set_index(
        "segment"
    )

    means, medians, mean, spread = _profile_by_pandas(features, segments, columns)
    for column in columns:
        np.testing.assert_array_equal(profile[f"median_{column}"], medians[column].to_numpy())
        np.testing.assert_array_equal(profile[f"mean_{column}"], means[column].to_numpy())
        z = ((means[column] - mean[column]) / spread[column]).to_numpy()
        np.testing.assert_allclose(profile[f"z_{column}"], z, rtol=1e-12)
    assert profile["size"].sum() == n


def test_labels_set_beside_the_rows_are_the_inner_join():
    """``engine.labelled``: the local engine joins on ID once and sets the labels beside the
    rows; the result is the join's, rows without a label dropped, labels of other IDs ignored.
    """
    rng = np.random.default_rng(7)
    frame = pl.DataFrame({"ID": rng.permutation(500), "x": rng.normal(size=500)})
    labels = pl.DataFrame({"ID": np.arange(100, 700), "segment": rng.integers(0, 4, 600)})

    got = engine.labelled(engine.lazy(frame), engine.lazy(labels), "ID", "segment")

    expected = frame.join(labels, on="ID").sort("ID")
    assert_frame_equal(got.collect(backend="polars").to_native().sort("ID"), expected)
    assert got.collect(backend="polars").to_native()["ID"].to_list() == [
        i for i in frame["ID"].to_list() if i >= 100
    ], "in the frame's row order"


def test_tables_in_id_order_are_labelled_without_a_join():
    """The pipeline's tables come in ID order: ``segmented_frame`` sets the segments beside the
    rows without hashing the IDs, with the inner join's result; any other pair takes the join.
    """
    rng = np.random.default_rng(11)
    ids = np.sort(rng.choice(10_000, size=400, replace=False))
    frame = pl.DataFrame({"ID": ids, "x": rng.normal(size=400)})
    labels = pl.DataFrame({"ID": ids, "segment": rng.integers(0, 5, 400)})
    joined = frame.join(labels, on="ID")

    assert engine.same_keys_in_order(engine.lazy(frame), engine.lazy(labels), "ID")
    got = segmented_frame(frame, labels).collect(backend="polars").to_native()
    assert_frame_equal(got, joined.sort("ID"))

    for other, why in (
        (labels.reverse(), "reversed"),
        (labels.head(399), "a label short"),
        (labels.with_columns(pl.col("ID") + 1), "other IDs"),
    ):
        assert not engine.same_keys_in_order(engine.lazy(frame), engine.lazy(other), "ID"), why
        assert_frame_equal(
            segmented_frame(frame, other).collect(backend="polars").to_native().sort("ID"),
            frame.join(other, on="ID").sort("ID"),
        )


def test_a_repeated_id_is_refused_even_in_order():
    frame = pl.DataFrame({"ID": [1, 2, 2, 3], "x": [0.1, 0.2, 0.3, 0.4]})
    labels = pl.DataFrame({"ID": [1, 2, 2, 3], "segment": [0, 1, 1, 0]})

    assert not engine.same_keys_in_order(engine.lazy(frame), engine.lazy(labels), "ID")
    with pytest.raises(ValueError, match=r"the segments: 1 row.s. repeat an ID .e.g. 2 appear"):
        segmented_frame(frame, labels)


def test_profiles_in_column_batches_equal_one_pass(monkeypatch):
    rng = np.random.default_rng(3)
    columns = [f"c{i}" for i in range(5)]
    table = pd.DataFrame(rng.normal(size=(300, 5)), columns=columns)
    table["segment"] = rng.integers(0, 3, 300)
    one_pass = profile_segments(table, columns)

    monkeypatch.setattr(engine, "COLUMN_BATCH", 2)
    assert engine.column_batches(engine.lazy(table), columns) == [
        ["c0", "c1"],
        ["c2", "c3"],
        ["c4"],
    ]
    pd.testing.assert_frame_equal(profile_segments(table, columns), one_pass)
