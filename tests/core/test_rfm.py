"""``rfm``: quantile scores against a direct computation, ties the same in any row order,
groups by the rules in order, and the cross-table with K-Means segments.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest

from customer_segmentation.core import engine
from customer_segmentation.core.rfm import (
    CROSSTAB_COLUMNS,
    RFM_COLUMNS,
    group_names,
    rfm_crosstab,
    rfm_segments,
)
from customer_segmentation.schema import CHANNEL_COLUMNS, SPEND_COLUMNS


@dataclass(frozen=True)
class Rule:
    name: str
    r: tuple[int, int]
    f: tuple[int, int]
    m: tuple[int, int]


@dataclass(frozen=True)
class Settings:
    levels: int
    groups: tuple[Rule, ...]
    otherwise: str


# The groups proposed for conf/base/parameters_reporting.yml (rfm).
RULES = (
    Rule("Champions", (4, 5), (4, 5), (4, 5)),
    Rule("Loyal", (3, 5), (3, 5), (3, 5)),
    Rule("Potential loyalists", (4, 5), (1, 5), (1, 5)),
    Rule("Need attention", (3, 3), (1, 5), (1, 5)),
    Rule("At risk", (1, 2), (3, 5), (3, 5)),
    Rule("Hibernating", (2, 2), (1, 5), (1, 5)),
    Rule("Lost", (1, 1), (1, 5), (1, 5)),
)
SETTINGS = Settings(levels=5, groups=RULES, otherwise="Others")
N = 237  # not a multiple of 5: the score bins differ in size


def _customers(seed: int = 3) -> pd.DataFrame:
    """Customers with few distinct values, so most values are tied."""
    rng = np.random.default_rng(seed)
    table = pd.DataFrame({"ID": rng.permutation(np.arange(5000, 5000 + N) * 7)})
    table["Recency"] = rng.integers(0, 20, N)
    for column in SPEND_COLUMNS:
        table[column] = rng.integers(0, 40, N)
    for column in CHANNEL_COLUMNS:
        table[column] = rng.integers(0, 6, N)
    table["NumDealsPurchases"] = rng.integers(0, 6, N)  # not part of frequency
    return table


def _direct_scores(values: pd.Series, ids: pd.Series, levels: int) -> pd.Series:
    """Quantile scores by hand: rank in (value, ID) order, ``(rank - 1) * levels // n + 1``."""
    order = np.lexsort((ids.to_numpy(), values.to_numpy()))  # last key sorts first
    rank = np.empty(len(values), dtype="int64")
    rank[order] = np.arange(1, len(values) + 1)
    return pd.Series((rank - 1) * levels // len(values) + 1, index=values.index)


def _rfm(customers: pd.DataFrame, settings: Settings = SETTINGS) -> pd.DataFrame:
    return engine.to_pandas_table(rfm_segments(customers, settings))


@pytest.fixture(scope="module")
def customers() -> pd.DataFrame:
    return _customers()


@pytest.fixture(scope="module")
def rfm(customers) -> pd.DataFrame:
    return _rfm(customers)


def test_every_customer_once_with_one_group(customers, rfm):
    assert list(rfm.columns) == list(RFM_COLUMNS)
    assert len(rfm) == len(customers)
    assert sorted(rfm["ID"]) == sorted(customers["ID"]), "every customer exactly once"
    assert rfm["rfm_group"].isin(group_names(SETTINGS)).all()
    assert rfm["rfm_group"].notna().all()


def test_measures_are_recency_channel_purchases_and_total_spending(customers, rfm):
    by_id = customers.set_index("ID").loc[rfm["ID"]]

    np.testing.assert_array_equal(rfm["recency"], by_id["Recency"])
    np.testing.assert_array_equal(rfm["frequency"], by_id[list(CHANNEL_COLUMNS)].sum(axis=1))
    np.testing.assert_array_equal(rfm["monetary"], by_id[list(SPEND_COLUMNS)].sum(axis=1))


def test_scores_equal_a_direct_computation(rfm):
    direct = {
        "r_score": 6 - _direct_scores(rfm["recency"], rfm["ID"], 5),
        "f_score": _direct_scores(rfm["frequency"], rfm["ID"], 5),
        "m_score": _direct_scores(rfm["monetary"], rfm["ID"], 5),
    }

    for score, expected in direct.items():
        np.testing.assert_array_equal(rfm[score], expected, err_msg=score)
    assert rfm["r_score"].value_counts().sort_index().tolist() == [47, 47, 48, 47, 48]
    digits = rfm["r_score"].astype(str) + rfm["f_score"].astype(str) + rfm["m_score"].astype(str)
    assert (rfm["rfm_score"] == digits).all()


def test_recency_is_reversed(rfm):
    most_recent = rfm.loc[rfm["recency"] == rfm["recency"].min()]
    least_recent = rfm.loc[rfm["recency"] == rfm["recency"].max()]

    assert (most_recent["r_score"] == 5).all(), "the most recent customers get 5"
    assert (least_recent["r_score"] == 1).all(), "the least recent get 1"
    assert rfm.groupby("r_score")["recency"].max().is_monotonic_decreasing


def test_ties_are_broken_the_same_in_any_row_order(customers, rfm):
    shuffled = customers.sample(frac=1.0, random_state=11).reset_index(drop=True)

    again = _rfm(shuffled)

    pd.testing.assert_frame_equal(again, rfm)
    tied = rfm.loc[rfm["recency"] == rfm["recency"].mode()[0]]
    assert tied["recency"].nunique() == 1 and len(tied) > 5, "the data has ties to break"


def _first_match(scores: pd.Series, rules: tuple[Rule, ...], otherwise: str) -> str:
    for rule in rules:
        if all(
            low <= scores[score] <= high
            for score, (low, high) in (
                ("r_score", rule.r),
                ("f_score", rule.f),
                ("m_score", rule.m),
            )
        ):
            return rule.name
    return otherwise


def test_groups_follow_the_rules_in_order(rfm, customers):
    expected = rfm.apply(_first_match, axis=1, args=(RULES, "Others"))

    assert (rfm["rfm_group"] == expected).all()
    both = rfm.loc[(rfm[["r_score", "f_score", "m_score"]] >= 4).all(axis=1)]
    assert len(both) > 0
    assert (both["rfm_group"] == "Champions").all(), (
        "scores 4-5 match Champions and Loyal: the first rule wins"
    )

    loyal_first = Settings(5, (RULES[1], RULES[0], *RULES[2:]), "Others")
    reordered = _rfm(customers, loyal_first)
    assert "Champions" not in set(reordered["rfm_group"]), "Loyal now takes every 4-5 customer"


def test_customers_no_rule_matches_get_otherwise(customers):
    only_champions = Settings(5, (RULES[0],), "Everyone else")

    grouped = _rfm(customers, only_champions)

    is_champion = (grouped[["r_score", "f_score", "m_score"]] >= 4).all(axis=1)
    assert (grouped.loc[is_champion, "rfm_group"] == "Champions").all()
    assert (grouped.loc[~is_champion, "rfm_group"] == "Everyone else").all()


def test_crosstab_counts_every_segmented_customer(rfm):
    rng = np.random.default_rng(5)
    segments = pd.DataFrame({"ID": rfm["ID"], "segment": rng.integers(0, 4, len(rfm))})
    segments = segments.iloc[3:]  # three customers without a segment

    table = rfm_crosstab(segments, rfm, group_names(SETTINGS))

    assert list(table.columns) == list(CROSSTAB_COLUMNS)
    assert table["customers"].sum() == len(segments)
    expected = segments.merge(rfm, on="ID").groupby(["segment", "rfm_group"]).size()
    counts = table.set_index(["segment", "rfm_group"])["customers"]
    pd.testing.assert_series_equal(
        counts[counts > 0].sort_index(), expected.sort_index().astype("int64"), check_names=False
    )
    assert len(table) == 4 * len(group_names(SETTINGS)), "every pair, zero counts included"
    assert table["rfm_group"].iloc[: len(RULES) + 1].tolist() == group_names(SETTINGS)
    np.testing.assert_allclose(table.groupby("segment")["share"].sum(), 1.0)


@pytest.mark.slow
@pytest.mark.spark
def test_spark_gives_the_same_scores_and_groups(customers, rfm, spark_session):
    shuffled = customers.sample(frac=1.0, random_state=2).reset_index(drop=True)
    native = spark_session.createDataFrame(shuffled).repartition(3)

    on_spark = engine.to_pandas(engine.lazy(rfm_segments(native, SETTINGS)))

    pd.testing.assert_frame_equal(on_spark, rfm, check_dtype=False)
