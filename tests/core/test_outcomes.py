"""``outcomes``: campaign rates per segment against plain pandas, the Wilson interval against
the textbook formula, the empty table when the flags were absent, and the words drawn from it.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from customer_segmentation.core import outcomes
from customer_segmentation.core.outcomes import (
    OUTCOME_COLUMNS,
    OUTCOMES,
    evidence_phrase,
    next_campaign_sentence,
    segment_outcomes,
    wilson_interval,
)
from customer_segmentation.schema import CAMPAIGN_COLUMNS, FLAG_COLUMNS

Z = 1.959964


def _textbook_wilson(k: float, n: float, z: float) -> tuple[float, float]:
    """Wilson score interval written out from its definition."""
    p = k / n
    centre = (p + z**2 / (2 * n)) / (1 + z**2 / n)
    half = z * math.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / (1 + z**2 / n)
    return centre - half, centre + half


@pytest.fixture(scope="module")
def tables() -> tuple[pd.DataFrame, pd.DataFrame]:
    """400 customers with random flags (rarer for complaints), 4 segments; a few customers
    have no segment and one segment row names a customer not in the table.
    """
    rng = np.random.default_rng(7)
    n = 400
    ids = rng.permutation(np.arange(1000, 1000 + n))
    customers = pd.DataFrame({"ID": ids})
    for column, rate in zip(FLAG_COLUMNS, (0.07, 0.02, 0.08, 0.08, 0.07, 0.01, 0.15), strict=True):
        customers[column] = (rng.random(n) < rate).astype("int64")
    customers["Income"] = rng.normal(50_000, 10_000, n)  # a column the outcomes do not read
    labelled = ids[: n - 5]
    segments = pd.DataFrame({"ID": labelled, "segment": rng.integers(0, 4, len(labelled))})
    segments = pd.concat(
        [segments, pd.DataFrame({"ID": [99_999], "segment": [2]})], ignore_index=True
    )
    return customers, segments


def _expected_rates(customers: pd.DataFrame, segments: pd.DataFrame) -> pd.DataFrame:
    """Rates per (segment, outcome) with pandas alone: merge, group, mean."""
    merged = customers.merge(segments, on="ID", how="inner")
    merged["AnyCampaign"] = (merged[[*CAMPAIGN_COLUMNS, "Response"]] == 1).any(axis=1)
    means = merged.groupby("segment")[list(OUTCOMES)].mean()
    return means.reset_index().melt(id_vars="segment", var_name="outcome", value_name="rate")


def test_rates_are_the_group_means_of_the_joined_tables(tables):
    customers, segments = tables

    table, note = segment_outcomes(customers, segments, [], Z)

    expected = _expected_rates(customers, segments)
    both = table.merge(expected, on=["segment", "outcome"], suffixes=("", "_pandas"))
    assert list(table.columns) == list(OUTCOME_COLUMNS)
    assert len(both) == len(table) == 4 * len(OUTCOMES), "one row per (segment, outcome)"
    np.testing.assert_allclose(both["rate"], both["rate_pandas"], rtol=1e-12)
    assert (table.groupby("outcome")["customers"].sum() == 395).all(), (
        "only the customers with a segment are counted"
    )
    assert "395 customers in 4 segments" in note


def test_overall_rate_and_lift_are_over_the_segmented_customers(tables):
    customers, segments = tables

    table, _ = segment_outcomes(customers, segments, [], Z)

    merged = customers.merge(segments, on="ID")
    response = table.loc[table["outcome"] == "Response"]
    overall = merged["Response"].mean()
    np.testing.assert_allclose(response["overall_rate"], overall, rtol=1e-12)
    np.testing.assert_allclose(response["lift"], response["rate"] / overall, rtol=1e-12)


def test_lift_is_null_when_nobody_had_the_outcome(tables):
    customers, segments = tables
    no_complaints = customers.assign(Complain=0)

    table, _ = segment_outcomes(no_complaints, segments, [], Z)

    complain = table.loc[table["outcome"] == "Complain"]
    assert (complain["overall_rate"] == 0).all()
    assert complain["lift"].isna().all(), "a lift over an overall rate of 0 is undefined"
    assert complain["ci_low"].eq(0).all(), "the interval of 0 positives starts at 0"


def test_wilson_interval_is_the_textbook_formula(tables):
    customers, segments = tables

    table, _ = segment_outcomes(customers, segments, [], Z)

    expected = [
        _textbook_wilson(k, n, Z)
        for k, n in zip(table["positives"], table["customers"], strict=True)
    ]
    np.testing.assert_allclose(table["ci_low"], [e[0] for e in expected], rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(table["ci_high"], [e[1] for e in expected], rtol=1e-12)


def test_wilson_interval_by_hand_and_on_every_input_type():
    assert wilson_interval(5, 10, 1.96) == pytest.approx((0.2366, 0.7634), abs=5e-5)

    low, high = wilson_interval(np.array([5, 0, 10]), np.array([10, 10, 10]), 1.96)
    series_low, series_high = wilson_interval(pd.Series([5, 0]), pd.Series([10, 10]), 1.96)

    np.testing.assert_allclose(low, [0.2366, 0.0, 0.7225], atol=5e-5)
    np.testing.assert_allclose(high, [0.7634, 0.2775, 1.0], atol=5e-5)
    assert isinstance(series_low, pd.Series), "a Series in gives a Series out"
    np.testing.assert_allclose(series_high, [0.7634, 0.2775], atol=5e-5)
    assert all(math.isnan(v) for v in wilson_interval(0, 0, 1.96)), "no trials: no interval"


def test_absent_flags_give_an_empty_table_and_a_note(tables):
    customers, segments = tables
    filled = customers.assign(**dict.fromkeys(FLAG_COLUMNS, 0))  # as the contract fills them
    absent = [*FLAG_COLUMNS, "Z_CostContact", "Z_Revenue"]

    table, note = segment_outcomes(filled, segments, absent, Z)

    assert table.empty
    assert list(table.columns) == list(OUTCOME_COLUMNS)
    assert note.startswith("No campaign outcomes"), note
    assert "Response" in note
    assert next_campaign_sentence(table, Z).startswith("No ranking for the next campaign")


def test_one_absent_flag_leaves_out_only_the_outcomes_reading_it(tables):
    customers, segments = tables

    table, note = segment_outcomes(customers, segments, ["AcceptedCmp2"], Z)

    assert set(table["outcome"]) == set(OUTCOMES) - {"AcceptedCmp2", "AnyCampaign"}
    assert "Not measured: AcceptedCmp2, AnyCampaign" in note, note


def _response_table(responders: dict[int, tuple[int, int]]) -> pd.DataFrame:
    """An outcome table from ``segment -> (responders, customers)``, through the module."""
    ids, labels, response = [], [], []
    for segment, (positives, size) in responders.items():
        start = len(ids)
        ids += range(start, start + size)
        labels += [segment] * size
        response += [1] * positives + [0] * (size - positives)
    customers = pd.DataFrame({"ID": ids, "Response": response})
    for column in (*CAMPAIGN_COLUMNS, "Complain"):
        customers[column] = 0
    segments = pd.DataFrame({"ID": ids, "segment": labels})
    table, _ = segment_outcomes(customers, segments, [], Z)
    return table


def test_sentence_names_the_top_segment_and_says_it_is_clear():
    table = _response_table({0: (10, 100), 1: (50, 100), 2: (5, 100)})

    sentence = next_campaign_sentence(table, Z, {1: "Affluent Spenders"})

    assert "Affluent Spenders responded 2.3× as often as the average customer" in sentence
    assert "95% interval" in sentence
    assert "overlaps no other segment's" in sentence, sentence
    assert (
        sentence.index("Affluent Spenders")
        < sentence.index("Segment 0")
        < (sentence.index("Segment 2"))
    ), "segments are ranked by lift"


def test_sentence_says_when_the_top_intervals_overlap():
    table = _response_table({0: (30, 100), 1: (25, 100), 2: (2, 100)})

    sentence = next_campaign_sentence(table, Z)

    assert "Segment 0 responded" in sentence
    assert "its interval overlaps Segment 1's" in sentence, sentence
    assert "do not tell which of the two" in sentence


def test_sentence_says_when_no_segment_beats_the_average():
    table = _response_table({0: (16, 100), 1: (15, 100), 2: (14, 100)})

    sentence = next_campaign_sentence(table, Z)

    assert "Segment 0 responded 1.1× as often" in sentence, sentence
    assert "overlaps those of Segment 1 and Segment 2" in sentence
    assert sentence.endswith(
        "the interval holds the average too, so no segment is shown to respond more."
    )
    assert "holds the average" not in next_campaign_sentence(
        _response_table({0: (30, 100), 1: (25, 100), 2: (2, 100)}), Z
    )


def test_evidence_phrase_only_when_the_interval_excludes_the_overall_rate():
    table = _response_table({0: (30, 100), 1: (25, 100), 2: (2, 100)}).set_index("segment")
    response = table.loc[table["outcome"] == "Response"]

    assert evidence_phrase(response.loc[0]) == (
        "responded to the last campaign 1.6× as often as the average customer"
    )
    assert response.loc[1, "ci_low"] <= response.loc[1, "overall_rate"]
    assert evidence_phrase(response.loc[1]) is None, "the interval holds the overall rate"
    assert evidence_phrase(response.loc[2]) == (
        "responded to the last campaign 0.1× as often as the average customer"
    )
    nobody = {**response.loc[2].to_dict(), "positives": 0, "rate": 0.0, "lift": 0.0}
    assert (
        evidence_phrase(nobody) == "did not respond to the last campaign (19% of all customers did)"
    )


def test_every_outcome_has_words():
    assert set(outcomes.VERBS) == set(OUTCOMES) == set(outcomes.NEVER)


@pytest.mark.slow
@pytest.mark.spark
def test_spark_gives_the_same_table(tables, spark_session):
    customers, segments = tables
    on_polars, _ = segment_outcomes(customers, segments, [], Z)

    on_spark, _ = segment_outcomes(
        spark_session.createDataFrame(customers), spark_session.createDataFrame(segments), [], Z
    )

    pd.testing.assert_frame_equal(on_spark, on_polars)
