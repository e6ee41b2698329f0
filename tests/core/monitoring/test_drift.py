"""``monitoring.drift``: PSI and the chi-square test against hand computations, bins of
discrete features, the same data judged stable, a shifted copy of the real table flagged where
it was shifted only, a reference that survives JSON, the moves of returning customers, the
sentence and the HTML fragment.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
import polars as pl
import pytest
from conftest import real_file

from customer_segmentation.core.eda import Distribution
from customer_segmentation.core.monitoring import drift


@dataclass(frozen=True)
class PsiBands:
    moderate: float
    major: float


@dataclass(frozen=True)
class VBands:
    moderate: float
    large: float


@dataclass(frozen=True)
class Thresholds:
    psi: PsiBands
    cramers_v: VBands


# The thresholds proposed for the drift parameters (the usual conventions).
THRESHOLDS = Thresholds(psi=PsiBands(moderate=0.1, major=0.25), cramers_v=VBands(0.1, 0.3))
BINS = 10
SEED = 42
# The model's seven features (conf/base/globals.yml: model_features).
FEATURES = [
    "Age",
    "Income",
    "Total_Spending",
    "NumStorePurchases",
    "NumWebPurchases",
    "NumWebVisitsMonth",
    "Recency",
]
SHIFTED = {"Income", "Age"}
# The real table's customers were taken on up to 2014 (Dt_Customer), as the features do.
YEAR = 2014


@pytest.fixture(scope="module")
def customers() -> pd.DataFrame:
    """The real table's model features, with a segment (spending quartile) per customer."""
    table = pd.read_csv(real_file("customer_segmentation.csv")).dropna(subset=["Income"])
    table["Age"] = YEAR - table["Year_Birth"]
    table["Total_Spending"] = table.filter(like="Mnt").sum(axis=1)
    table["segment"] = pd.qcut(table["Total_Spending"].rank(method="first"), 4, labels=False)
    return table[["ID", *FEATURES, "segment"]].reset_index(drop=True)


def _halves(table: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A seeded random split into training and new customers."""
    first = np.random.default_rng(SEED).random(len(table)) < 0.5
    return table[first].reset_index(drop=True), table[~first].reset_index(drop=True)


def _one_feature(values: list[float], labels: list[int] | None = None) -> pd.DataFrame:
    labels = labels if labels is not None else [i % 2 for i in range(len(values))]
    return pd.DataFrame({"ID": range(len(values)), "x": values, "segment": labels})


def _reference(table: pd.DataFrame, bins: int = BINS, sample_size: int = 5000) -> dict:
    columns = [c for c in table.columns if c not in ("ID", "segment")]
    return drift.drift_reference(table, columns, bins, sample_size, SEED)


def _report(reference: dict, table: pd.DataFrame, **kwargs) -> drift.DriftReport:
    return drift.drift_report(reference, table, THRESHOLDS, **kwargs)


# --- bins and PSI ---------------------------------------------------------------------------


def test_psi_matches_a_hand_computation() -> None:
    training = _one_feature([1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
    new = _one_feature([1, 1, 2, 2, 3, 3, 4, 4, 9, 10])
    reference = _reference(training, bins=2)
    kept = reference["features"]["x"]
    assert kept["edges"] == [5.0], "the median of 1..10 as the one inner edge"
    assert kept["shares"] == [0.5, 0.5]
    row = _report(reference, new).features.iloc[0]
    # shares 0.8 and 0.2 against 0.5 and 0.5
    by_hand = (0.8 - 0.5) * math.log(0.8 / 0.5) + (0.2 - 0.5) * math.log(0.2 / 0.5)
    assert row["psi"] == pytest.approx(by_hand, rel=1e-12), "PSI differs from the hand sum"
    assert row["psi"] == pytest.approx(0.3 * math.log(4), rel=1e-12)
    assert row["verdict"] == "major", "PSI 0.42 is above 0.25"


def test_an_empty_bin_counts_as_epsilon() -> None:
    reference = _reference(_one_feature([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]), bins=2)
    row = _report(reference, _one_feature([1, 2, 3, 4, 5, 1])).features.iloc[0]
    eps = drift.PSI_EPSILON
    by_hand = (1 - 0.5) * math.log(1 / 0.5) + (eps - 0.5) * math.log(eps / 0.5)
    assert row["psi"] == pytest.approx(by_hand, rel=1e-12), "an empty new bin is not eps"
    assert np.isfinite(row["psi"])


def test_a_discrete_feature_gets_one_bin_per_value_and_open_ends() -> None:
    values = np.array([0] * 50 + [1] * 35 + [2] * 15, dtype="float64")
    edges = drift.quantile_edges(Distribution.of(pd.Series(values)), BINS)
    assert edges == [0.0, 1.0], "deduplicated edges, none at the maximum"
    assert drift.bin_counts(values, edges).tolist() == [50, 35, 15], "a training bin is empty"
    outside = np.array([-3.0, 7.0])
    assert drift.bin_counts(outside, edges).tolist() == [1, 0, 1], "the end bins are not open"


@pytest.mark.parametrize("seed", range(6))
def test_quantile_edges_from_counts_are_numpys_inverted_cdf(seed: int) -> None:
    rng = np.random.default_rng(seed)
    values = [
        rng.integers(0, 4, 97),  # few values, many ties
        np.round(rng.gamma(2.0, 300.0, 1000)),  # whole, skewed
        rng.normal(size=10 * (seed + 1)),  # continuous
    ][seed % 3].astype("float64")
    bins = [2, 3, 5, 7, 10, 13][seed]

    edges = drift.quantile_edges(Distribution.of(pd.Series(values)), bins)

    inner = np.unique(np.quantile(values, np.arange(1, bins) / bins, method="inverted_cdf"))
    assert edges == [float(e) for e in inner[inner < values.max()]]


@pytest.mark.spark
def test_the_reference_of_spark_customers_is_the_local_one(customers, spark_session) -> None:
    table = customers[["ID", *FEATURES, "segment"]]
    native = spark_session.createDataFrame(table.sample(frac=1.0, random_state=1)).repartition(3)

    local, on_spark = _reference(table), _reference(native)

    assert json.dumps(on_spark, sort_keys=True) == json.dumps(local, sort_keys=True)


@pytest.mark.spark
def test_the_report_on_spark_customers_is_the_local_one(customers, spark_session) -> None:
    training, new = _halves(customers[["ID", *FEATURES, "segment"]])
    reference = _reference(training, sample_size=300)
    returning = new.iloc[::2]  # half the new customers were scored before, some elsewhere
    previous = returning[["ID"]].assign(
        previous_segment=np.where(returning["ID"] % 3 == 0, 0, returning["segment"])
    )
    native = spark_session.createDataFrame(new.sample(frac=1.0, random_state=2)).repartition(3)

    local = _report(reference, new, previous=previous)
    on_spark = _report(reference, native, previous=spark_session.createDataFrame(previous))

    pd.testing.assert_frame_equal(on_spark.features, local.features)
    pd.testing.assert_frame_equal(on_spark.segments, local.segments)
    assert on_spark.summary == local.summary
    assert local.summary["moves"]["matched"] == len(returning) and local.summary["moves"]["changed"]


def test_every_training_bin_holds_customers(customers: pd.DataFrame) -> None:
    reference = _reference(customers[["ID", *FEATURES, "segment"]])
    empty = {
        name: kept["shares"]
        for name, kept in reference["features"].items()
        if min(kept["shares"]) == 0
    }
    assert empty == {}, f"training bins without customers: {empty}"
    too_many = {
        n: len(k["shares"]) for n, k in reference["features"].items() if len(k["shares"]) > BINS
    }
    assert too_many == {}, f"more bins than asked: {too_many}"


# --- the same data, a shifted copy ----------------------------------------------------------


def test_the_same_data_is_stable(customers: pd.DataFrame) -> None:
    reference = _reference(customers, sample_size=len(customers))
    report = _report(reference, customers)
    table = report.features.set_index("feature")
    assert list(table.index) == FEATURES
    assert table["psi"].abs().max() == pytest.approx(0, abs=1e-12), "PSI of the same data"
    assert table["ks_statistic"].max() == 0, "KS statistic of the same data"
    assert (table["verdict"] == "stable").all(), table["verdict"].to_dict()
    assert table["standardised_mean_shift"].abs().max() == pytest.approx(0, abs=1e-12)
    test = report.summary["segment_test"]
    assert test["cramers_v"] == pytest.approx(0, abs=1e-12), "Cramér's V of the same shares"
    assert test["verdict"] == "negligible"
    assert report.summary["sentence"].startswith("No feature drifted"), report.summary
    assert report.summary["sentence"].endswith("the model still applies.")


def test_a_shifted_copy_flags_the_shifted_features_only(customers: pd.DataFrame) -> None:
    training, new = _halves(customers)
    shifted = new.assign(Income=new["Income"] * 4 / 3, Age=new["Age"] + 8)
    report = _report(_reference(training), shifted)
    verdicts = report.features.set_index("feature")["verdict"].to_dict()
    assert {f for f, v in verdicts.items() if v == "major"} == SHIFTED, verdicts
    assert {f for f, v in verdicts.items() if v == "stable"} == set(FEATURES) - SHIFTED, verdicts
    shift = report.features.set_index("feature")["standardised_mean_shift"]
    assert (shift[list(SHIFTED)] > 0.5).all(), f"shifted upwards by over half an SD: {shift}"
    sentence = report.summary["sentence"]
    assert sentence.startswith("2 of 7 features drifted majorly"), sentence
    assert "Income PSI" in sentence
    assert "Age PSI" in sentence
    assert sentence.endswith("retrain before trusting the segments."), sentence


def test_an_unshifted_half_is_stable(customers: pd.DataFrame) -> None:
    training, new = _halves(customers)
    report = _report(_reference(training), new)
    assert (report.features["verdict"] == "stable").all(), report.features
    assert report.summary["segment_test"]["verdict"] == "negligible", report.summary


def test_polars_frames_give_the_same_report(customers: pd.DataFrame) -> None:
    training, new = _halves(customers)
    reference = _reference(training)
    from_pandas = _report(reference, new)
    polars_new = pl.from_pandas(new)
    from_polars = drift.drift_report(reference, polars_new, THRESHOLDS)
    pd.testing.assert_frame_equal(from_polars.features, from_pandas.features)
    pd.testing.assert_frame_equal(from_polars.segments, from_pandas.segments)
    assert from_polars.summary == from_pandas.summary


# --- segment shares -------------------------------------------------------------------------


def test_chi_square_and_cramers_v_match_a_hand_computation() -> None:
    training = _one_feature(list(range(100)), [0] * 50 + [1] * 30 + [2] * 20)
    new = _one_feature(list(range(100)), [0] * 40 + [1] * 40 + [2] * 20)
    report = _report(_reference(training), new)
    test = report.summary["segment_test"]
    # expected 50, 30, 20: (40-50)^2/50 + (40-30)^2/30 + 0 = 2 + 10/3
    chi2 = 2 + 10 / 3
    assert test["chi2"] == pytest.approx(chi2, rel=1e-12)
    assert test["dof"] == 2
    assert test["pvalue"] == pytest.approx(math.exp(-chi2 / 2), rel=1e-9), "chi2(2) tail"
    assert test["cramers_v"] == pytest.approx(math.sqrt(chi2 / (100 * 2)), rel=1e-12)
    assert test["verdict"] == "moderate", "V 0.16 lies between 0.1 and 0.3"
    shares = report.segments.set_index("segment")
    assert shares["count_new"].tolist() == [40, 40, 20]
    assert shares["expected_new"].tolist() == pytest.approx([50, 30, 20])
    assert shares["share_change"].tolist() == pytest.approx([-0.1, 0.1, 0.0])


def test_a_segment_unknown_to_training_stops() -> None:
    reference = _reference(_one_feature(list(range(10))))
    with pytest.raises(ValueError, match="not among the training segments"):
        _report(reference, _one_feature(list(range(10)), [0, 1, 2] + [0] * 7))


def test_missing_values_stop_with_the_column() -> None:
    reference = _reference(_one_feature(list(range(10))))
    with pytest.raises(ValueError, match="missing value.*'x'"):
        _report(reference, _one_feature([1.0, float("nan"), 3.0, 4.0]))


# --- the reference --------------------------------------------------------------------------


def test_the_reference_survives_json(customers: pd.DataFrame) -> None:
    training, new = _halves(customers)
    reference = _reference(training, sample_size=500)
    text = json.dumps(reference, allow_nan=False)  # strict JSON: no NaN, no infinity
    again = json.loads(text)
    assert again == reference, "the reference changed through JSON"
    before = _report(reference, new)
    after = _report(again, new)
    pd.testing.assert_frame_equal(after.features, before.features)
    pd.testing.assert_frame_equal(after.segments, before.segments)
    assert after.summary == before.summary


def test_the_reference_is_deterministic_for_a_seed(customers: pd.DataFrame) -> None:
    columns = FEATURES
    first = drift.drift_reference(customers, columns, BINS, 300, SEED)
    second = drift.drift_reference(customers, columns, BINS, 300, SEED)
    other = drift.drift_reference(customers, columns, BINS, 300, SEED + 1)
    assert first == second, "the same seed gave another reference"
    assert first["features"]["Income"]["sample"] != other["features"]["Income"]["sample"]
    assert len(first["features"]["Income"]["sample"]) == 300
    assert first["segments"]["labels"] == [0, 1, 2, 3]
    assert sum(first["segments"]["counts"]) == len(customers)


# --- moves ----------------------------------------------------------------------------------


def test_moves_count_matched_changed_and_the_table() -> None:
    previous = pd.DataFrame({"ID": [1, 2, 3, 4, 5, 9], "previous_segment": [0, 0, 1, 1, 2, 2]})
    current = pd.DataFrame({"ID": [1, 2, 3, 4, 5, 7, 8], "segment": [0, 1, 1, 2, 2, 0, 1]})
    moves = drift.segment_moves(previous, current)
    assert moves["matched"] == 5
    assert moves["changed"] == 2, "IDs 2 (0->1) and 4 (1->2) moved"
    assert moves["changed_share"] == pytest.approx(2 / 5)
    assert moves["previous_only"] == 1
    assert moves["new_only"] == 2
    expected = pd.DataFrame(
        [[1, 1, 0], [0, 1, 1], [0, 0, 1]],
        index=pd.Index([0, 1, 2], name="previous_segment"),
        columns=pd.Index([0, 1, 2], name="segment"),
    )
    pd.testing.assert_frame_equal(drift.moves_table(moves), expected)
    assert json.loads(json.dumps(moves)) == moves


def test_the_report_counts_moves_when_previous_segments_are_given(
    customers: pd.DataFrame,
) -> None:
    training, new = _halves(customers)
    first_half = np.arange(len(new)) < len(new) // 2
    moved = np.where(first_half, new["segment"], (new["segment"] + 1) % 4)
    previous = new[["ID"]].assign(previous_segment=moved)
    report = _report(_reference(training), new, previous=previous)
    moves = report.summary["moves"]
    assert moves["matched"] == len(new)
    changed = int((previous["previous_segment"] != new["segment"]).sum())
    assert moves["changed"] == changed
    assert int(np.trace(drift.moves_table(moves).to_numpy())) == len(new) - changed
    assert _report(_reference(training), new).summary["moves"] is None


def test_repeated_ids_stop() -> None:
    previous = pd.DataFrame({"ID": [1, 1], "previous_segment": [0, 1]})
    current = pd.DataFrame({"ID": [1], "segment": [0]})
    with pytest.raises(ValueError, match="more than once"):
        drift.segment_moves(previous, current)


# --- sentence and HTML ----------------------------------------------------------------------


def _table(psi: dict[str, float]) -> pd.DataFrame:
    rows = [(f, v, drift.psi_verdict(v, THRESHOLDS.psi)) for f, v in psi.items()]
    return pd.DataFrame(rows, columns=["feature", "psi", "verdict"])


@pytest.mark.parametrize(
    ("psi", "v", "expected"),
    [
        (
            {"Income": 1.9, "Age": 2.4, "Recency": 0.12, "Kidhome": 0.01},
            0.18,
            "2 of 4 features drifted majorly (Age PSI 2.40, Income PSI 1.90), 1 moderately "
            "(Recency PSI 0.12); segment shares changed moderately (Cramér's V 0.18): "
            "retrain before trusting the segments.",
        ),
        (
            {"Income": 0.15, "Recency": 0.02},
            0.05,
            "1 of 2 features drifted moderately (Income PSI 0.15); segment shares are stable "
            "(Cramér's V 0.05): the model still applies, but watch what moved.",
        ),
        (
            {"Income": 0.01, "Recency": 0.02},
            0.4,
            "No feature drifted (largest PSI 0.02, Recency), but segment shares changed largely "
            "(Cramér's V 0.40): retrain before trusting the segments.",
        ),
        (
            {"Income": 0.01, "Recency": 0.02},
            0.01,
            "No feature drifted (largest PSI 0.02, Recency) and segment shares are stable "
            "(Cramér's V 0.01): the model still applies.",
        ),
    ],
)
def test_the_sentence(psi: dict[str, float], v: float, expected: str) -> None:
    test = {"cramers_v": v, "verdict": drift.cramers_v_verdict(v, THRESHOLDS.cramers_v)}
    assert drift.drift_sentence(_table(psi), test) == expected
