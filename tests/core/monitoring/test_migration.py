"""``monitoring.migration``: two model versions compared on planted groups of customers whose
features have wildly different units, on fitted scalers and K-Means, and the Hungarian matching
against a brute-force search over all assignments.
"""

from __future__ import annotations

import itertools
import json
from functools import cache

import numpy as np
import pandas as pd
import pytest
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score
from sklearn.preprocessing import StandardScaler

from customer_segmentation.core.monitoring.migration import (
    CONTINGENCY_COLUMNS,
    DISSOLVED,
    FAILED,
    KEPT,
    NEW,
    NEW_SEGMENT_COLUMNS,
    NOT_CHECKED,
    NOT_MATCHED,
    OLD_SEGMENT_COLUMNS,
    PASSED,
    SHIFT_COLUMNS,
    VersionSegments,
    centroid_distances,
    compare,
    hungarian_pairs,
    inputs_sentence,
    migration_sentence,
    segment_migration,
    warnings,
)
from customer_segmentation.core.segments import adjusted_rand_index
from customer_segmentation.params import MigrationParams

# The thresholds proposed for conf (monitoring.migration).
MATCH_DISTANCE = 0.25
SETTINGS = MigrationParams(
    match_distance=MATCH_DISTANCE, same_customers_share=0.95, matched_share=0.5
)
SEED = 16

FEATURES = ["Income", "Total_Spending", "NumWebVisitsMonth", "Recency"]
# Six planted groups in the features' own units (Income in thousands, visits in ones)...
CENTRES = np.array(
    [
        [80_000, 1_500, 2, 20],
        [70_000, 1_100, 4, 70],
        [50_000, 500, 6, 30],
        [40_000, 200, 7, 80],
        [30_000, 60, 8, 20],
        [25_000, 40, 8, 60],
    ],
    dtype="float64",
)
# ... each with this spread around its centre, and these sizes (the last group is small).
SPREAD = np.array([2_000, 40, 0.4, 3], dtype="float64")
SIZES = (200, 180, 160, 150, 120, 20)
NAMES = {
    0: "Affluent Spenders",
    1: "Lapsing Spenders",
    2: "Mainstream Customers",
    3: "Low-Activity Customers",
    4: "Budget Web Browsers",
    5: "Budget Lapsing Browsers",
}


@cache
def planted() -> tuple[pd.DataFrame, np.ndarray]:
    """The planted customers (``ID`` from 1000 and ``FEATURES``) and their group."""
    rng = np.random.default_rng(SEED)
    groups = np.repeat(np.arange(len(SIZES)), SIZES)
    values = CENTRES[groups] + rng.normal(size=(len(groups), len(FEATURES))) * SPREAD
    frame = pd.DataFrame(values, columns=FEATURES)
    frame.insert(0, "ID", np.arange(1000, 1000 + len(groups)))
    return frame, groups


def settings(match_distance: float) -> MigrationParams:
    """:data:`SETTINGS` with another ``match_distance``."""
    return MigrationParams.model_validate(
        {**SETTINGS.model_dump(), "match_distance": match_distance}
    )


def version(
    label: str,
    labels: np.ndarray,
    names: dict[int, str] | None = None,
    features: list[str] = FEATURES,
    rows: slice = slice(None),
    data: pd.DataFrame | None = None,
) -> VersionSegments:
    """A version trained on the planted customers with segments ``labels`` (centroids: the
    segments' means in own units; scale: the features' standard deviations), whose
    ``customer_segments`` hold ``rows`` of them.
    """
    frame = planted()[0] if data is None else data
    values = frame[features]
    return VersionSegments(
        label=label,
        segments=pd.DataFrame({"ID": frame["ID"], "segment": labels}).iloc[rows],
        names=dict(NAMES if names is None else names),
        centroids=values.groupby(labels).mean(),
        scale=values.std(ddof=0),
    )


def table(result: dict) -> pd.DataFrame:
    """The contingency table as old segment x new segment counts."""
    long = pd.DataFrame(result["contingency"])
    return long.pivot(index="old_segment", columns="new_segment", values="customers")


def statuses(result: dict, side: str) -> dict[int, str]:
    """Segment -> status on one side (``old_segments`` or ``new_segments``)."""
    return {row["segment"]: row["status"] for row in result[side]}


def matched(result: dict) -> dict[int, int | None]:
    """New segment -> its Hungarian partner among the old ones."""
    return {row["segment"]: row["matched_segment"] for row in result["new_segments"]}


def test_identical_versions_keep_every_segment_on_the_diagonal():
    _, groups = planted()
    old, new = version("A", groups), version("B", groups)

    result = segment_migration(old, new, SETTINGS)

    counts = table(result)
    assert result["adjusted_rand_index"] == pytest.approx(1.0)
    assert matched(result) == {s: s for s in NAMES}, "identical centroids match themselves"
    assert set(statuses(result, "old_segments").values()) == {KEPT}
    assert set(statuses(result, "new_segments").values()) == {KEPT}
    assert (result["n_kept"], result["n_dissolved"], result["n_new"]) == (6, 0, 0)
    assert np.diag(counts).tolist() == list(SIZES), "every customer stays in its segment"
    assert int(counts.to_numpy().sum()) == int(np.trace(counts)) == sum(SIZES)
    assert result["customers_compared"] == sum(SIZES)
    assert (result["customers_only_old"], result["customers_only_new"]) == (0, 0)
    assert all(row["distance"] == 0 for row in result["new_segments"])
    assert result["note"] is None
    assert migration_sentence(result) == (
        "Model B keeps all 6 of model A's segments (matched by centroids). Adjusted Rand index "
        f"1.00 on {sum(SIZES):,} customers in both."
    )


def test_the_result_is_json_with_the_documented_columns():
    _, groups = planted()
    merged = np.where(groups == 5, 4, groups)
    names = {s: NAMES[s] for s in range(5)}

    result = segment_migration(version("A", groups), version("B", merged, names), SETTINGS)

    text = json.dumps(result, allow_nan=False)
    assert json.loads(text) == result, "plain JSON types only"
    assert tuple(result["contingency"][0]) == CONTINGENCY_COLUMNS
    assert tuple(result["old_segments"][0]) == OLD_SEGMENT_COLUMNS
    assert tuple(result["new_segments"][0]) == NEW_SEGMENT_COLUMNS
    assert tuple(result["centroid_shift"][0]) == SHIFT_COLUMNS
    assert len(result["contingency"]) == 6 * 5, "every pair of segments, zeros included"


def test_a_relabelling_is_recovered_by_the_matching():
    _, groups = planted()
    perm = np.array([3, 5, 0, 4, 1, 2])  # old segment o is new segment perm[o]
    relabelled = {int(perm[o]): name for o, name in NAMES.items()}

    result = segment_migration(
        version("A", groups), version("B", perm[groups], relabelled), SETTINGS
    )

    counts = table(result)
    assert result["adjusted_rand_index"] == pytest.approx(1.0)
    assert matched(result) == {int(perm[o]): o for o in NAMES}, "new perm[o] matches old o"
    assert result["n_kept"] == 6
    assert (result["n_dissolved"], result["n_new"]) == (0, 0)
    assert [int(counts.loc[o, perm[o]]) for o in NAMES] == list(SIZES)
    assert int(counts.to_numpy().sum()) == sum(SIZES)
    assert "is now called" not in migration_sentence(result), "the names travelled along"


def test_a_small_segment_merged_into_its_neighbour_is_the_one_dissolved():
    _, groups = planted()
    merged = np.where(groups == 5, 4, groups)
    names = {s: NAMES[s] for s in range(5)}

    result = segment_migration(version("A", groups), version("B", merged, names), SETTINGS)

    olds = {row["segment"]: row for row in result["old_segments"]}
    assert statuses(result, "old_segments") == {**dict.fromkeys(range(5), KEPT), 5: DISSOLVED}
    assert statuses(result, "new_segments") == dict.fromkeys(range(5), KEPT)
    assert matched(result) == {s: s for s in range(5)}
    assert (olds[5]["mostly_to_segment"], olds[5]["mostly_to_share"]) == (4, 1.0)
    assert olds[5]["matched_segment"] is None, "k=6 vs k=5: one old segment has no partner"
    assert int(table(result).to_numpy().sum()) == result["customers_compared"] == sum(SIZES)
    assert migration_sentence(result).startswith(
        "Model B keeps 5 of model A's 6 segments (matched by centroids); "
        "'Budget Lapsing Browsers' dissolved, its customers went mostly to "
        "'Budget Web Browsers' (100%). Adjusted Rand index "
    )


def test_two_equal_segments_merged_are_both_dissolved_and_the_merger_is_new():
    _, groups = planted()
    # Groups 2 and 3 (160 and 150 customers) become new segment 2; 4 and 5 move up one.
    merged = np.array([0, 1, 2, 2, 3, 4])[groups]
    names = {0: NAMES[0], 1: NAMES[1], 2: "Mainstream Mixed", 3: NAMES[4], 4: NAMES[5]}

    result = segment_migration(version("A", groups), version("B", merged, names), SETTINGS)

    news = {row["segment"]: row for row in result["new_segments"]}
    assert statuses(result, "old_segments") == {
        0: KEPT,
        1: KEPT,
        2: DISSOLVED,
        3: DISSOLVED,
        4: KEPT,
        5: KEPT,
    }
    assert statuses(result, "new_segments") == {0: KEPT, 1: KEPT, 2: NEW, 3: KEPT, 4: KEPT}
    assert news[2]["distance"] > MATCH_DISTANCE, "its Hungarian partner is too far to be it"
    assert news[2]["mostly_from_segment"] == 2
    assert news[2]["mostly_from_share"] == pytest.approx(160 / 310)
    assert (result["n_kept"], result["n_dissolved"], result["n_new"]) == (4, 2, 1)
    assert "'Mainstream Mixed' is new (52% of its customers came from 'Mainstream Customers')" in (
        migration_sentence(result)
    )


def test_fitted_models_with_six_and_five_segments():
    data, groups = planted()
    values = data[FEATURES]

    def fitted(label: str, k: int) -> VersionSegments:
        scaler = StandardScaler().fit(values)
        model = KMeans(n_clusters=k, n_init=10, random_state=SEED).fit(scaler.transform(values))
        # Each segment named after the planted group most of its customers come from.
        majority = pd.crosstab(model.labels_, groups).idxmax(axis=1)
        card = {
            "features": FEATURES,
            "segments": [{"segment": s, "name": NAMES[int(g)]} for s, g in majority.items()],
        }
        segments = pd.DataFrame({"ID": data["ID"], "segment": model.labels_})
        return VersionSegments.from_model(label, segments, card, scaler, model)

    old, new = fitted("A", 6), fitted("B", 5)
    result = segment_migration(old, new, SETTINGS)

    dissolved = [r for r in result["old_segments"] if r["status"] == DISSOLVED]
    assert (result["n_kept"], result["n_dissolved"], result["n_new"]) == (5, 1, 0)
    assert [r["name"] for r in dissolved] == [NAMES[5]], "the small group merges into another"
    # Its customers are closest, in standard deviations, to the low-activity group's.
    assert dissolved[0]["mostly_to_name"] == NAMES[3]
    assert dissolved[0]["mostly_to_share"] == 1.0
    assert all(r["name"] == r["matched_name"] for r in result["new_segments"])
    assert int(table(result).to_numpy().sum()) == result["customers_compared"] == len(data)
    assert 0 < result["adjusted_rand_index"] < 1


def test_from_model_unscales_the_centres_to_the_features_units():
    data, groups = planted()
    scaler = StandardScaler().fit(data[FEATURES])
    model = KMeans(n_clusters=6, n_init=10, random_state=SEED).fit(scaler.transform(data[FEATURES]))
    card = {"features": FEATURES, "segments": [{"segment": s, "name": f"S{s}"} for s in range(6)]}
    segments = pd.DataFrame({"ID": data["ID"], "segment": model.labels_})

    built = VersionSegments.from_model("A", segments, card, scaler, model)

    means = data[FEATURES].groupby(model.labels_).mean()
    np.testing.assert_allclose(built.centroids.to_numpy(), means.to_numpy(), rtol=1e-9)
    np.testing.assert_allclose(built.scale.to_numpy(), data[FEATURES].std(ddof=0).to_numpy())
    assert built.features == FEATURES
    assert built.names == {s: f"S{s}" for s in range(6)}


def random_version(label: str, k: int, rng: np.random.Generator) -> VersionSegments:
    """``k`` random centroids in units of very different size, one customer each."""
    units = np.array([10_000.0, 100.0, 1.0, 10.0])
    return VersionSegments(
        label=label,
        segments=pd.DataFrame({"ID": np.arange(k), "segment": np.arange(k)}),
        names={s: f"{label}{s}" for s in range(k)},
        centroids=pd.DataFrame(rng.normal(size=(k, len(FEATURES))) * units, columns=FEATURES),
        scale=pd.Series(units * rng.uniform(0.5, 2, size=len(FEATURES)), index=FEATURES),
    )


def brute_force(distances: np.ndarray) -> set[tuple[int, int]]:
    """The assignment of smallest total distance, by trying every one."""
    k_old, k_new = distances.shape
    if k_new <= k_old:
        candidates = [
            list(zip(olds, range(k_new), strict=True))
            for olds in itertools.permutations(range(k_old), k_new)
        ]
    else:
        candidates = [
            list(zip(range(k_old), news, strict=True))
            for news in itertools.permutations(range(k_new), k_old)
        ]
    best = min(candidates, key=lambda pairs: sum(distances[o, n] for o, n in pairs))
    return set(best)


@pytest.mark.parametrize(
    ("k_old", "k_new", "seed"),
    [(3, 3, 0), (4, 4, 1), (5, 5, 2), (3, 5, 3), (5, 3, 4), (4, 5, 5), (5, 4, 6), (5, 5, 7)],
)
def test_the_hungarian_matching_is_the_best_of_all_assignments(k_old, k_new, seed):
    rng = np.random.default_rng(seed)
    old, new = random_version("A", k_old, rng), random_version("B", k_new, rng)

    distances = centroid_distances(old, new, FEATURES)
    result = segment_migration(old, new, settings(1e9))  # every pair kept

    sd = old.scale.to_numpy()
    by_hand = np.array(
        [
            [np.sqrt(np.mean(((n - o) / sd) ** 2)) for n in new.centroids.to_numpy()]
            for o in old.centroids.to_numpy()
        ]
    )
    np.testing.assert_allclose(distances.to_numpy(), by_hand)
    assert set(hungarian_pairs(distances)) == brute_force(by_hand)
    assert {
        (r["matched_segment"], r["segment"])
        for r in result["new_segments"]
        if r["matched_segment"] is not None
    } == brute_force(by_hand)
    assert result["n_kept"] == min(k_old, k_new)
    assert result["n_new"] == max(0, k_new - k_old)
    assert result["n_dissolved"] == max(0, k_old - k_new)


def test_the_distance_is_in_the_old_versions_standard_deviations_and_the_threshold_decides():
    _, groups = planted()
    old = version("A", groups)
    shifted = old.centroids.copy()
    # Segment 0's centre moves 0.3 old standard deviations of Income: a distance of
    # sqrt(0.3 ** 2 / 4) = 0.15 over the four features.
    shifted.loc[0, "Income"] += 0.3 * old.scale["Income"]
    new = VersionSegments("B", old.segments, old.names, shifted, old.scale * 10)

    near = segment_migration(old, new, settings(0.2))
    far = segment_migration(old, new, settings(0.1))

    assert near["new_segments"][0]["distance"] == pytest.approx(0.15), "the new scale is unused"
    assert near["new_segments"][0]["status"] == KEPT
    assert (far["new_segments"][0]["status"], far["old_segments"][0]["status"]) == (NEW, DISSOLVED)
    assert far["new_segments"][0]["matched_segment"] == 0, "the partner is still reported"
    shift = pd.DataFrame(near["centroid_shift"]).set_index(["new_segment", "feature"])
    assert shift.loc[(0, "Income"), "shift"] == pytest.approx(0.3 * old.scale["Income"])
    assert shift.loc[(0, "Income"), "shift_sd"] == pytest.approx(0.3)
    assert shift.loc[(0, "Recency"), "shift"] == 0


def test_different_features_are_noted_and_only_the_common_ones_matched():
    data, groups = planted()
    rng = np.random.default_rng(SEED)
    # Age knows nothing of the groups: matching on it would scramble the pairs.
    data = data.assign(Age=rng.uniform(18, 90, size=len(data)))
    new_features = ["Age", "Income", "Total_Spending", "NumWebVisitsMonth"]
    old = version("A", groups, data=data)
    new = version("B", groups, features=new_features, data=data)

    result = segment_migration(old, new, SETTINGS)

    assert result["features_compared"] == ["Income", "Total_Spending", "NumWebVisitsMonth"]
    assert result["note"] == (
        "The models use different features: only model A uses Recency; only model B uses Age; "
        "centroids are matched on the 3 feature(s) both use (Income, Total_Spending, "
        "NumWebVisitsMonth)."
    )
    assert matched(result) == {s: s for s in NAMES}
    assert {r["feature"] for r in result["centroid_shift"]} == set(result["features_compared"])
    assert all(r["distance"] == 0 for r in result["new_segments"])
    assert result["adjusted_rand_index"] == pytest.approx(1.0)
    assert migration_sentence(result).endswith(result["note"])


def test_without_a_common_feature_only_the_customers_segments_are_compared():
    data, groups = planted()
    data = data.assign(Age=np.arange(len(data)) % 70 + 18)
    old = version("A", groups, features=["Income", "Recency"], data=data)
    new = version("B", groups, features=["Age", "Total_Spending"], data=data)

    result = segment_migration(old, new, SETTINGS)

    assert result["centroid_matching"] is False
    assert result["features_compared"] == []
    assert result["centroid_shift"] == []
    assert set(statuses(result, "old_segments").values()) == {NOT_MATCHED}
    assert set(statuses(result, "new_segments").values()) == {NOT_MATCHED}
    assert (result["n_kept"], result["n_dissolved"], result["n_new"]) == (0, 0, 0)
    assert result["adjusted_rand_index"] == pytest.approx(1.0)
    assert np.diag(table(result)).tolist() == list(SIZES)
    assert "no segment is matched by centroids" in result["note"]
    assert migration_sentence(result).startswith(
        "Model B (6 segments) and model A (6 segments) share no feature"
    )


def test_customers_in_one_version_only_are_counted_and_left_out_of_the_table():
    _, groups = planted()
    n = sum(SIZES)
    old = version("A", groups, rows=slice(0, n - 30))  # the last 30 customers are not in A
    new = version("B", groups, rows=slice(10, n))  # the first 10 are not in B

    result = segment_migration(old, new, SETTINGS)

    assert result["customers_compared"] == n - 40
    assert (result["customers_only_old"], result["customers_only_new"]) == (10, 30)
    assert int(table(result).to_numpy().sum()) == n - 40
    assert sum(r["customers"] for r in result["old_segments"]) == n - 40
    assert result["adjusted_rand_index"] == pytest.approx(1.0)
    assert migration_sentence(result).endswith(
        "Left out: 10 customers only in model A's segments and 30 customers only in model B's "
        "segments."
    )


def test_no_customer_in_both_versions():
    _, groups = planted()
    n = sum(SIZES)
    old, new = version("A", groups, rows=slice(0, 400)), version("B", groups, rows=slice(400, n))

    result = segment_migration(old, new, SETTINGS)

    assert result["customers_compared"] == 0
    assert result["adjusted_rand_index"] is None
    assert {r["share_of_old"] for r in result["contingency"]} == {None}
    assert "No customer is in both versions" in migration_sentence(result)
    json.dumps(result, allow_nan=False)


def test_tables_of_different_models_and_a_bad_threshold_are_refused():
    _, groups = planted()
    good = version("A", groups)
    twice = pd.concat([good.segments, good.segments.head(1)], ignore_index=True)
    unnamed = {s: n for s, n in NAMES.items() if s != 5}

    with pytest.raises(ValueError, match="version A: customer_segments: 1 row.s. repeat an ID"):
        VersionSegments("A", twice, good.names, good.centroids, good.scale)
    with pytest.raises(ValueError, match=r"segment\(s\) \[5\] have no name"):
        VersionSegments("A", good.segments, unnamed, good.centroids, good.scale)
    with pytest.raises(ValueError, match="not a positive number"):
        VersionSegments("A", good.segments, good.names, good.centroids, good.scale * 0)
    with pytest.raises(ValueError, match="match_distance"):
        settings(0)


def test_from_model_refuses_a_card_of_other_features():
    data, _ = planted()
    scaler = StandardScaler().fit(data[FEATURES])
    model = KMeans(n_clusters=2, n_init=1, random_state=SEED).fit(scaler.transform(data[FEATURES]))
    card = {"features": FEATURES[::-1], "segments": [{"segment": s, "name": "x"} for s in (0, 1)]}

    with pytest.raises(ValueError, match="the card lists"):
        VersionSegments.from_model("A", data[["ID"]].assign(segment=0), card, scaler, model)


# ------------------------------------------------------------ the customers checked first

INPUT_A = {"source": "exports/2014-05.csv", "rows_in": 830, "sha256": "a" * 64}
INPUT_B = {"source": "exports/2014-06.csv", "rows_in": 830, "sha256": "b" * 64}


def keyed(base: VersionSegments, keys: np.ndarray, source: dict | None) -> VersionSegments:
    """``base`` whose segments keep each customer's ``customer_key``, trained on ``source``."""
    segments = base.segments.assign(customer_key=keys[: len(base.segments)])
    return VersionSegments(base.label, segments, base.names, base.centroids, base.scale, source)


def checks(result: dict) -> dict[str, str]:
    """Check -> status."""
    return {c["check"]: c["status"] for c in result["matching"]["checks"]}


def test_the_same_customers_in_both_versions_pass_both_checks():
    _, groups = planted()
    keys = np.arange(len(groups)) * 7
    old, new = (
        keyed(version("A", groups), keys, INPUT_A),
        keyed(version("B", groups), keys, INPUT_B),
    )

    result = compare(old, new, SETTINGS)

    assert checks(result) == {"same_customers": PASSED, "matched_share": PASSED}
    assert result["warnings"] == [] and warnings(result) == []
    assert result["sentence"].startswith("Model B keeps all 6"), "no warning before it"
    matching = result["matching"]
    assert (matching["ids_in_both"], matching["same_customers"]) == (sum(SIZES), sum(SIZES))
    assert matching["share_of_old"] == matching["share_of_new"] == 1.0
    assert matching["same_input"] is False, "two monthly exports: different tables, not a warning"
    assert "exports/2014-05.csv (830 rows, SHA-256 aaaaaaaaaaaa…)" in inputs_sentence(result)
    json.dumps(result, allow_nan=False)


def test_ids_of_different_people_are_not_compared_and_the_warning_comes_first():
    """Another table sharing the IDs: 90 % of the IDs in both name other people (their
    Year_Birth or Dt_Customer differ). Only the agreeing tenth is compared, and the sentence
    says so before any figure.
    """
    _, groups = planted()
    keys = np.arange(len(groups)) * 7
    other = np.where(np.arange(len(groups)) % 10 == 0, keys, keys + 1)
    old = keyed(version("A", groups), keys, INPUT_A)
    new = keyed(version("B", groups), other, INPUT_B)

    result = compare(old, new, SETTINGS)

    same = int(np.sum(np.arange(len(groups)) % 10 == 0))
    assert checks(result) == {"same_customers": FAILED, "matched_share": FAILED}
    matching = result["matching"]
    assert (matching["ids_in_both"], matching["same_customers"]) == (sum(SIZES), same)
    assert matching["different_customers"] == sum(SIZES) - same
    assert result["customers_compared"] == int(table(result).to_numpy().sum()) == same
    first, second = result["warnings"]
    assert first.startswith(f"Not the same customers: {sum(SIZES) - same:,} of the {sum(SIZES):,}")
    assert "exports/2014-05.csv" in first and "exports/2014-06.csv" in first
    assert second.startswith(f"Few customers in common: the {same} customers compared are 10%")
    assert result["sentence"].startswith(first), "the warnings lead the sentence"
    assert result["sentence"].index("Adjusted Rand index") > result["sentence"].index(second)


def test_a_small_overlap_of_the_same_customers_is_said_first():
    _, groups = planted()
    keys = np.arange(len(groups)) * 7
    old = keyed(version("A", groups), keys, INPUT_A)
    new = keyed(version("B", groups, rows=slice(0, 300)), keys, INPUT_A)  # 300 of 830 kept

    result = compare(old, new, SETTINGS)

    assert checks(result) == {"same_customers": PASSED, "matched_share": FAILED}
    assert result["matching"]["share_of_old"] == pytest.approx(300 / sum(SIZES))
    assert result["matching"]["share_of_new"] == 1.0
    assert result["matching"]["same_input"] is True
    assert result["warnings"] == [
        "Few customers in common: the 300 customers compared are 36% of model A's 830 and 100% "
        "of model B's 300; every figure below describes those customers only, not the models' "
        "segments as a whole."
    ]
    assert inputs_sentence(result).startswith("Both versions were trained on the same table")


def test_a_version_without_keys_is_not_checked_and_says_so():
    _, groups = planted()
    keys = np.arange(len(groups)) * 7
    old = version("A", groups)  # made before segments kept the key, and cards their input
    new = keyed(version("B", groups), keys, INPUT_B)

    result = compare(old, new, SETTINGS)

    assert checks(result) == {"same_customers": NOT_CHECKED, "matched_share": PASSED}
    assert result["matching"]["same_customers"] is None
    assert result["customers_compared"] == sum(SIZES), "every ID in both, as before"
    (warning,) = result["warnings"]
    assert warning.startswith("Not checked whether the IDs in both versions are the same")
    assert "model A do not keep" in warning
    assert result["matching"]["same_input"] is None
    assert "a table it did not record" in inputs_sentence(result)


def test_a_comparison_saved_before_the_checks_says_it_was_not_checked():
    _, groups = planted()
    saved = compare(version("A", groups), version("B", groups), SETTINGS)
    saved.pop("matching")

    assert warnings(saved) == [
        "Not checked whether the IDs in both versions are the same customers, nor how many are "
        "shared: this comparison was saved before the checks existed."
    ]
    assert inputs_sentence(saved) == ""


@pytest.mark.parametrize("seed", range(4))
def test_the_adjusted_rand_index_from_counts_is_sklearns(seed: int):
    rng = np.random.default_rng(seed)
    before = rng.integers(0, 1 + seed * 2, 700)
    after = np.where(rng.random(700) < 0.7, before, rng.integers(0, 5, 700))
    counts = pd.crosstab(before, after).to_numpy()

    assert adjusted_rand_index(counts) == pytest.approx(
        adjusted_rand_score(before, after), rel=1e-12, abs=1e-15
    )
    assert adjusted_rand_index(np.diag([5, 3, 0])) == 1.0, "the same partition"
    assert adjusted_rand_index(np.ones((1, 1), dtype=int)) == adjusted_rand_score([0], [0])


@pytest.mark.spark
def test_versions_on_spark_compare_as_on_pandas_counting_in_the_engine(spark_session):
    _, groups = planted()
    keys = np.arange(len(groups)) * 7
    other = np.where(np.arange(len(groups)) % 3 == 0, keys + 1, keys)
    merged = np.where(groups == 5, 4, groups)
    old = keyed(version("A", groups, rows=slice(30, None)), keys[30:], INPUT_A)
    new = keyed(version("B", merged, {s: NAMES[s] for s in range(5)}), other, INPUT_B)

    def on_spark(local: VersionSegments) -> VersionSegments:
        shuffled = local.segments.sample(frac=1.0, random_state=0)
        native = spark_session.createDataFrame(shuffled).repartition(3)
        return VersionSegments(
            local.label, native, local.names, local.centroids, local.scale, local.source
        )

    expected = compare(old, new, SETTINGS)
    got = compare(on_spark(old), on_spark(new), SETTINGS)

    assert got == expected
    assert got["customers_only_old"] == 0 and got["customers_only_new"] == 30
    assert got["matching"]["different_customers"] == int(
        np.sum(np.arange(30, len(groups)) % 3 == 0)
    )
