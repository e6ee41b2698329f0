"""The evidence per segment the app shows: stability, campaign outcomes, RFM, as text and
tables (``evidence``), and model versions saved before the pipelines computed it
(``serving.versions``).
"""

from __future__ import annotations

import os
from pathlib import Path

import evidence_projects
import numpy as np
import pandas as pd
import pytest
from conftest import load_catalog
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project
from model_projects import copy_run, model_stamps

from customer_segmentation import schema
from customer_segmentation.core import outcomes
from customer_segmentation.core.modeling.stability import summarise
from customer_segmentation.serving import evidence
from customer_segmentation.serving.versions import (
    EVIDENCE_DATASETS,
    ModelStore,
    ModelVersion,
    VersionMismatchError,
)

Z = 1.959964
THRESHOLDS = {"highly stable": 0.85, "stable": 0.75, "a pattern": 0.6, "weak": 0.5, "dissolved": 0}
DISSOLUTION, RECOVERY = 0.5, 0.75
RESAMPLES, ROWS = 100, 2000
NAMES = {0: "Responders", 1: "Sleepers"}

# Shared project fixtures (session-scoped, built once for all modules).
pre_evidence_project = evidence_projects.pre_evidence_project


def profiles_with_stability(scores: np.ndarray) -> pd.DataFrame:
    """``segment_profiles`` as the pipeline writes them (``modeling.stability.summarise`` of
    the resamples' Jaccard values), names included.
    """
    table = summarise(scores, DISSOLUTION, RECOVERY, THRESHOLDS)
    table["stability_rows"] = ROWS
    table.insert(1, "name", [f"Segment {s}" for s in table["segment"]])
    return table.assign(mean_Income=50_000.0)


@pytest.fixture
def profiles() -> pd.DataFrame:
    """Segment 0 found again in every resample; segment 1 dissolved in 40 of them; segment 2
    absent from 4 resamples.
    """
    rng = np.random.default_rng(3)
    scores = np.empty((RESAMPLES, 3))
    scores[:, 0] = rng.uniform(0.97, 1.0, RESAMPLES)
    scores[:, 1] = np.r_[np.full(40, 0.45), np.full(60, 0.75)]
    scores[:, 2] = rng.uniform(0.77, 0.83, RESAMPLES)
    scores[:4, 2] = np.nan
    return profiles_with_stability(scores)


def outcome_table(absent: list[str]) -> pd.DataFrame:
    """``segment_outcomes`` of 400 customers: segment 0 responded 60% of the time, segment 1
    10%; every other flag is 0. ``absent``: flags the file did not have.
    """
    rng = np.random.default_rng(11)
    customers = pd.DataFrame({schema.ID: range(400), **{c: 0 for c in schema.FLAG_COLUMNS}})
    customers["Response"] = np.r_[rng.random(200) < 0.6, rng.random(200) < 0.1].astype(int)
    customers.loc[:9, "Response"] = 1  # at least a few in each segment
    customers.loc[200:204, "Response"] = 1
    segments = pd.DataFrame({schema.ID: range(400), "segment": np.repeat([0, 1], 200)})
    table, _ = outcomes.segment_outcomes(customers, segments, absent, Z)
    return table


# ------------------------------------------------------------------------ stability


def test_stability_sentence_says_how_stable_a_segment_is(profiles: pd.DataFrame):
    sentence = evidence.stability_sentence(profiles, 0)
    assert sentence is not None
    assert sentence.startswith(
        "Segment 0 is highly stable: refits on 100 resamples found it again with a mean "
        "Jaccard of 0.98"
    ), sentence
    assert sentence.endswith("it dissolved in none of them."), sentence


def test_stability_sentence_of_a_weak_segment_says_how_often_it_dissolved(profiles):
    sentence = evidence.stability_sentence(profiles, 1)
    assert sentence == (
        "Segment 1 is a pattern: refits on 100 resamples matched it with a mean Jaccard of "
        "0.63 ± 0.01; it dissolved in 40% of them."
    ), sentence


def test_stability_sentence_counts_only_the_resamples_that_held_the_segment(profiles):
    sentence = evidence.stability_sentence(profiles, 2)
    assert sentence is not None
    assert "refits on 96 resamples (4 resamples held none of its customers)" in sentence, sentence


def test_stability_table_gives_mean_and_standard_error_with_the_reading(profiles):
    table = evidence.stability_table(profiles)
    assert table is not None
    assert list(table.columns) == [
        "segment",
        "name",
        "mean_jaccard",
        "reading",
        "dissolved",
        "recovered",
    ]
    assert table["reading"].tolist() == ["highly stable", "a pattern", "stable"]
    assert table.loc[1, "mean_jaccard"] == "0.63 ± 0.01", table.loc[1, "mean_jaccard"]
    assert table.loc[1, "dissolved"] == pytest.approx(0.4)
    assert table.loc[0, "recovered"] == pytest.approx(1.0)


def test_stability_reading_gives_b_n_and_hennigs_thresholds(profiles):
    reading = evidence.stability_reading(profiles, THRESHOLDS, DISSOLUTION, RECOVERY)
    assert "refits on 100 bootstrap resamples of 2,000 customers" in reading, reading
    assert (
        "0.85 and above highly stable, 0.75 stable, 0.6 a pattern, 0.5 weak, below that dissolved"
        in reading
    ), reading
    assert "at most 0.5" in reading and "exceeded 0.75" in reading, reading


def test_profiles_without_stability_columns_are_not_available(profiles):
    older = profiles.drop(columns=list(evidence.STABILITY_COLUMNS))
    assert not evidence.has_stability(older)
    assert evidence.stability_table(older) is None
    assert evidence.stability_sentence(older, 0) is None
    assert evidence.stability_sentence(None, 0) is None
    message = evidence.not_available("Segment stability", "2025-01-01T00.00.00.000Z")
    assert message.startswith("Segment stability is not available for this version"), message
    assert "2025-01-01T00.00.00.000Z" in message and "kedro run" in message, message


# ------------------------------------------------------------------------- outcomes


def test_campaign_evidence_cites_the_phrase_when_the_interval_excludes_the_average():
    table = outcome_table([])
    row = table[(table["outcome"] == "Response") & (table["segment"] == 0)].iloc[0]
    phrase = outcomes.evidence_phrase(row)
    assert phrase is not None, "segment 0 responds far above the average"
    sentence = evidence.campaign_evidence(table, 0, Z)
    assert sentence is not None
    assert sentence.startswith(f"Segment 0 {phrase}: "), sentence
    assert f"{row['rate']:.0%} of its 200 customers responded (95% interval" in sentence, sentence
    assert f"against {row['overall_rate']:.0%} of all customers" in sentence, sentence


def test_campaign_evidence_gives_rate_and_interval_when_no_difference_is_shown():
    table = outcome_table([])
    response = table["outcome"] == "Response"
    # Segment 1's interval widened to hold the average: no phrase applies.
    table.loc[response & (table["segment"] == 1), ["ci_low", "ci_high"]] = [0.05, 0.6]
    row = table[response & (table["segment"] == 1)].iloc[0]
    assert outcomes.evidence_phrase(row) is None
    sentence = evidence.campaign_evidence(table, 1, Z)
    assert sentence is not None
    assert sentence.startswith(
        "Segment 1 is not shown to respond to campaigns differently from the average customer: "
    ), sentence
    assert "(95% interval 5%–60%)" in sentence, sentence


def test_campaign_evidence_without_a_response_column_or_a_table():
    without_response = outcome_table(["Response"])
    assert "Response" not in set(without_response["outcome"])
    sentence = evidence.campaign_evidence(without_response, 0, Z)
    assert sentence is not None
    assert "no Response column" in sentence, sentence
    assert evidence.campaign_evidence(None, 0, Z) is None, "a version without the table"


def test_response_table_gives_rates_intervals_and_lifts_per_segment():
    table = outcome_table([])
    shown = evidence.response_table(table, NAMES)
    assert list(shown.columns) == [
        "segment",
        "name",
        "customers",
        "Response rate",
        "Response lift",
        "AnyCampaign rate",
        "AnyCampaign lift",
    ]
    assert shown["name"].tolist() == ["Responders", "Sleepers"]
    row = table[(table["outcome"] == "Response") & (table["segment"] == 0)].iloc[0]
    assert shown.loc[0, "Response rate"] == (
        f"{row['rate']:.1%} ({row['ci_low']:.1%}–{row['ci_high']:.1%})"
    )
    assert shown.loc[0, "Response lift"] == f"{row['lift']:.2f}×"
    overall = evidence.overall_rates(table, Z)
    assert overall is not None
    assert f"{row['overall_rate']:.1%} of all customers responded to the last campaign" in overall
    assert "95% Wilson interval" in overall, overall
    assert evidence.outcomes_note(table) is None, "everything was measured"


def test_an_empty_outcome_table_says_the_campaign_columns_were_absent():
    table = outcome_table(list(schema.FLAG_COLUMNS))
    assert table.empty
    note = evidence.outcomes_note(table)
    assert note is not None
    assert note.startswith("No campaign outcomes for this version"), note
    assert all(c in note for c in schema.FLAG_COLUMNS), note
    assert evidence.response_table(table, NAMES).empty
    assert evidence.overall_rates(table, Z) is None


def test_an_outcome_left_out_is_named_with_its_columns():
    table = outcome_table(["AcceptedCmp3"])
    note = evidence.outcomes_note(table)
    assert note is not None
    assert note.startswith("Not measured: AnyCampaign."), note
    assert "AcceptedCmp3" in note, note
    shown = evidence.response_table(table, NAMES)
    assert "Response rate" in shown.columns and "AnyCampaign rate" not in shown.columns


# ------------------------------------------------------------------------------ RFM


def test_rfm_table_gives_each_segments_shares_and_largest_group():
    crosstab = pd.DataFrame(
        {
            "segment": [0, 0, 0, 1, 1, 1],
            "rfm_group": ["Champions", "Lost", "Others"] * 2,
            "customers": [30, 10, 0, 5, 45, 0],
            "share": [0.75, 0.25, 0.0, 0.1, 0.9, 0.0],
        }
    )
    table = evidence.rfm_table(crosstab, NAMES)
    assert list(table.columns) == [*evidence.RFM_LEADING, "Champions", "Lost", "Others"]
    assert table["customers"].tolist() == [40, 50]
    assert table["largest_group"].tolist() == ["Champions", "Lost"]
    assert table[["Champions", "Lost", "Others"]].sum(axis=1).tolist() == pytest.approx([1, 1])
    reading = evidence.rfm_reading(5, ["Income", "Recency"])
    assert "from 1 to 5 by quantile" in reading and "reads Income, Recency" in reading, reading


# -------------------------------------------------------------------------- figures


def test_figure_order_puts_the_named_first_skips_section_figures_and_repeats_none():
    available = ["elbow_plot", "rfm_crosstab_plot", "segment_map", "eda_removed", "segment_map"]
    order = evidence.figure_order(
        available, ["segment_map", "income_vs_spending", "elbow_plot"], {"rfm_crosstab_plot"}
    )
    assert order == ["segment_map", "elbow_plot", "eda_removed"]


# ----------------------------------------------------------------- model versions


def test_a_version_saved_before_the_evidence_is_complete_and_lacks_it(pre_evidence_project):
    store = ModelStore(pre_evidence_project)
    (info,) = store.versions()
    assert info.complete, f"an older version must still open: missing {info.missing}"
    assert set(info.lacking_evidence) == set(EVIDENCE_DATASETS), info.lacking_evidence
    version = ModelVersion(store, info.stamp)
    assert not version.holds("segment_outcomes")
    assert version.optional("segment_outcomes") is None
    assert version.optional("rfm_crosstab") is None
    assert not evidence.has_stability(version.dataset("segment_profiles"))
    with pytest.raises(VersionMismatchError, match="not a dataset of a model version"):
        version.optional("customer_features")


def test_a_version_of_todays_pipelines_holds_every_evidence_dataset(real_project: Path):
    store = ModelStore(real_project)
    (stamp,) = model_stamps(real_project)
    (info,) = store.versions()
    assert info.stamp == stamp and info.complete and not info.lacking_evidence
    version = ModelVersion(store, stamp)
    k = version.bundle.k
    assert evidence.has_stability(version.dataset("segment_profiles"))
    table = version.optional("segment_outcomes")
    assert table is not None and set(table["segment"]) == set(range(k))
    crosstab = version.optional("rfm_crosstab")
    assert crosstab is not None and set(crosstab["segment"]) == set(range(k))


@pytest.mark.slow
def test_the_command_the_message_gives_adds_the_evidence_to_that_version(
    pre_evidence_project: Path, real_project: Path, tmp_path: Path
):
    """``not_available`` tells how to add the evidence to an older version: ``kedro run
    --from-nodes ... --params model_version=STAMP``. Run as it says, the version gets the same
    evidence as a run of today's pipelines, under its own stamp.
    """
    project = copy_run(pre_evidence_project, tmp_path / "project")
    (stamp,) = model_stamps(project)
    message = evidence.not_available("Segment stability", stamp)
    assert f"--from-nodes {','.join(evidence.BACKFILL_NODES)}" in message, message
    assert f"--params model_version={stamp}" in message, message
    bootstrap_project(project)
    cwd = Path.cwd()
    os.chdir(project)
    try:
        with KedroSession.create(
            project_path=project, runtime_params={"model_version": stamp}
        ) as session:
            session.run(from_nodes=list(evidence.BACKFILL_NODES))
    finally:
        os.chdir(cwd)

    (info,) = ModelStore(project).versions()
    assert info.stamp == stamp and info.complete and not info.lacking_evidence
    added, expected = load_catalog(project), load_catalog(real_project)
    for name in ("segment_profiles", "segment_outcomes", "rfm_crosstab"):
        pd.testing.assert_frame_equal(
            added.load(name, version=stamp), expected.load(name, version=stamp), obj=name
        )
