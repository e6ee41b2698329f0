"""Migration between two model versions: where the same customers' segments went.

After a run trains a model, :func:`segment_migration` compares it with the previous complete
version on the customers both versions segmented:

- the contingency table (old segment x new segment: customers, and their share of the old
  segment's customers) and the adjusted Rand index of the two partitions;
- each new segment's match among the old ones, by the Hungarian algorithm
  (``scipy.optimize.linear_sum_assignment``) on the distances between the segments' centroids:
  the pairs with the smallest total distance, each segment in one pair at most. When k differs
  the assignment is rectangular: a new segment left without an old one is *new*, an old one left
  without a new one *dissolved*. A pair whose centroids lie more than ``match_distance`` apart
  is not the same segment either: its new segment is new and its old segment dissolved.

The distance. The features' own units differ by orders of magnitude (Income in currency, web
visits in counts), so centroids are compared in the OLD version's standard deviations (its
``StandardScaler``'s ``scale_``: each feature's standard deviation over the customers the old
model was trained on), as the root mean square over the compared features::

    d(old, new) = sqrt(mean_f(((new_f - old_f) / sd_f) ** 2))

One yardstick for both sides: the old one, so that the new scaler, which moved with the new
customers, neither stretches nor shrinks the comparison. The root MEAN square (the Euclidean
distance divided by the square root of the number of features) means the same whether two or
seven features are compared, and reads in the units of the naming thresholds
(``clustering.naming.high_z``: a segment mean half a standard deviation from everyone's is
"high"). Every pair's difference is also reported per feature in the features' own units and
in standard deviations (``centroid_shift``).

Before anything is compared, the customers are checked (:func:`customer_checks`). Customers
are matched by ``ID``, and an ``ID`` names the same person in both versions only when the
``customer_key`` both versions keep (``Year_Birth`` and ``Dt_Customer``, which do not change)
agrees: rows of one ``ID`` whose keys differ are different people and are not compared. When
fewer than ``same_customers_share`` of the IDs in both agree (the versions were trained on
unrelated tables), or the customers compared are fewer than ``matched_share`` of either
version's, the comparison says so first, in words, before any figure; a version made before
segments kept the key is "not checked". Each version's input (the model card's ``input``: path,
rows, SHA-256) is reported beside.

When the versions use different features, a note says so and the centroids are compared on the
features both use; with none in common nothing is matched by centroids (status ``not matched``):
only the contingency table and the adjusted Rand index compare the versions. Either way the
segments are compared on the customers present in both versions; those in one only are counted.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import narwhals as nw
import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment

from customer_segmentation import schema
from customer_segmentation.core import engine, scoring
from customer_segmentation.core.sampling import check_one_row_per_id
from customer_segmentation.core.segments import (
    SAME_CUSTOMER,
    adjusted_rand_index,
    matched_segments,
    segment_names,
    segment_pair_counts,
)
from customer_segmentation.params import MigrationParams

logger = logging.getLogger(__name__)

KEPT = "kept"
FIRST_MODEL = "No earlier complete model version to compare with: this is the first model."
NEW = "new"
DISSOLVED = "dissolved"
NOT_MATCHED = "not matched"
# What a customer check (customer_checks) found: passed, failed, or could not be made.
PASSED, FAILED, NOT_CHECKED = "passed", "failed", "not checked"
DISTANCE_UNIT = (
    "root mean square, over the compared features, of the centroids' difference in the old "
    "version's standard deviations (its scaler's scale_)"
)

CONTINGENCY_COLUMNS = (
    "old_segment",
    "old_name",
    "new_segment",
    "new_name",
    "customers",
    "share_of_old",
)
# A segment of either version: its match across versions, then where most of its customers
# went (old) or came from (new).
_SEGMENT_MATCH_COLUMNS = (
    "segment",
    "name",
    "status",
    "matched_segment",
    "matched_name",
    "distance",
    "customers",
)
OLD_SEGMENT_COLUMNS = (
    *_SEGMENT_MATCH_COLUMNS,
    "mostly_to_segment",
    "mostly_to_name",
    "mostly_to_share",
)
NEW_SEGMENT_COLUMNS = (
    *_SEGMENT_MATCH_COLUMNS,
    "mostly_from_segment",
    "mostly_from_name",
    "mostly_from_share",
)
SHIFT_COLUMNS = (
    "old_segment",
    "old_name",
    "new_segment",
    "new_name",
    "kept",
    "feature",
    "old_centre",
    "new_centre",
    "shift",
    "shift_sd",
)

_OLD, _NEW = "old_segment", "new_segment"


@dataclass(frozen=True, eq=False)
class VersionSegments:
    """One model version as the migration reads it.

    Attributes:
        label: how sentences name the version (its stamp, or a short name).
        segments: ``customer_segments`` of the version: ``ID`` (unique) and ``segment``; other
            columns are ignored. A pandas table or a native table of the engine (a Spark
            DataFrame stays on the cluster: only counts of it are gathered).
        names: segment number -> name (``segments.segment_names(card)``), every segment of the
            model.
        centroids: one row per segment (index: the segment numbers of ``names``), one column
            per feature of the model (the model card's ``features``), in the features' own units.
        scale: feature -> the version's standard deviation of it (``scaler.scale_``), for the
            columns of ``centroids``; only the old version's is used.
        source: what the version was trained on (its model card's ``input``: ``source``,
            ``rows_in``, ``sha256``...); None for a version made before cards kept it.

    Raises:
        ValueError: the tables do not describe one model (columns missing, an ``ID`` twice, a
            segment without a name, centroids of other segments, scales of other features or
            not positive).
    """

    label: str
    segments: Any
    names: Mapping[int, str]
    centroids: pd.DataFrame
    scale: pd.Series
    source: Mapping[str, Any] | None = None

    def __post_init__(self) -> None:
        """Refuse tables that do not belong to one model."""
        problems = []
        missing = [c for c in (schema.ID, schema.SEGMENT) if c not in self.columns]
        if missing:
            problems.append(f"customer_segments lacks {', '.join(missing)}")
        else:
            check_one_row_per_id(self.segments, f"version {self.label}: customer_segments")
            found = engine.rows(self.frame.select(nw.col(schema.SEGMENT).cast(nw.Int64)).unique())
            unnamed = sorted({int(row[schema.SEGMENT]) for row in found} - set(self.names))
            if unnamed:
                problems.append(f"segment(s) {unnamed} have no name")
        if sorted(int(s) for s in self.centroids.index) != sorted(self.names):
            problems.append(
                f"centroids of segments {sorted(self.centroids.index)}, names of "
                f"{sorted(self.names)}"
            )
        if sorted(self.scale.index) != sorted(self.centroids.columns):
            problems.append(
                f"scales of {list(self.scale.index)}, centroids of {list(self.centroids.columns)}"
            )
        elif not (
            np.isfinite(self.scale.to_numpy(dtype="float64")).all() and (self.scale > 0).all()
        ):
            problems.append("a scale is not a positive number")
        if problems:
            raise ValueError(f"version {self.label}: " + "; ".join(problems))

    @property
    def features(self) -> list[str]:
        """The model's features, in its order."""
        return [str(c) for c in self.centroids.columns]

    @property
    def frame(self) -> nw.LazyFrame:
        """``segments`` as a lazy frame of its engine."""
        return engine.lazy(self.segments)

    @cached_property
    def columns(self) -> list[str]:
        """The columns of ``segments``."""
        return list(self.frame.collect_schema().names())

    @cached_property
    def customers(self) -> int:
        """The customers the version segmented (rows of ``segments``)."""
        return engine.row_count(self.frame)

    @classmethod
    def from_model(
        cls,
        label: str,
        segments: Any,
        card: Mapping[str, Any],
        scaler: Any,
        model: Any,
    ) -> VersionSegments:
        """A version from its saved artifacts: the centroids are the model's
        ``cluster_centers_`` (scaled units) unscaled by its scaler, row ``i`` segment ``i``.

        Args:
            label: how sentences name the version.
            segments: its ``customer_segments`` (``ID``, ``segment``, ``customer_key``), pandas
                or the engine's.
            card: its model card (``features``, ``segments`` with their names, ``input``).
            scaler: its fitted ``StandardScaler``.
            model: its fitted K-Means.

        Raises:
            ValueError: the model, the scaler and the card list other features.
        """
        features = [str(f) for f in card["features"]]
        centres = np.asarray(model.cluster_centers_, dtype="float64")
        fitted = getattr(scaler, "feature_names_in_", None)
        if centres.shape[1] != len(features) or (
            fitted is not None and [str(f) for f in fitted] != features
        ):
            raise ValueError(
                f"version {label}: the card lists {features}, the model has "
                f"{centres.shape[1]} features and the scaler "
                f"{'no names' if fitted is None else list(fitted)}"
            )
        centroids = pd.DataFrame(
            scoring.unscaled(centres, scaler), columns=features, index=range(len(centres))
        )
        scale = pd.Series(np.asarray(scaler.scale_, dtype="float64"), index=features)
        return cls(label, segments, segment_names(card), centroids, scale, card.get("input"))


def common_customers(old: VersionSegments, new: VersionSegments) -> pd.DataFrame:
    """The IDs in both versions, counted (``segments.matched_segments``, in the engine) per
    ``old_segment``, ``new_segment`` and ``same_customer`` (whether the ``customer_key``
    agrees; missing when a version has none): those columns and ``customers``.
    """
    return matched_segments(
        old.frame.rename({schema.SEGMENT: _OLD}),
        new.frame.rename({schema.SEGMENT: _NEW}),
        (_OLD, _NEW),
        ("the older version's segments", "the newer version's segments"),
    )


def customer_checks(
    matched: pd.DataFrame, old: VersionSegments, new: VersionSegments, settings: MigrationParams
) -> dict[str, Any]:
    """Whether the customers two versions share may be compared, checked before any figure.

    Args:
        matched: :func:`common_customers` of the two versions.
        settings: ``monitoring.migration`` (``same_customers_share``, ``matched_share``).

    Returns:
        ``ids_in_both``; ``same_customers`` and ``different_customers`` (of those IDs, whose
        ``customer_key`` agrees or not; None when not checked); ``compared`` (the customers the
        comparison uses: the same customers, or every ID in both when not checked);
        ``share_of_old`` and ``share_of_new`` (``compared`` over each version's customers);
        ``same_input`` (both cards name a table with the same SHA-256; None when a card has
        none), ``input_old``, ``input_new``; and ``checks``: records of ``check``
        (``same_customers``, ``matched_share``), ``status`` (:data:`PASSED`, :data:`FAILED`,
        :data:`NOT_CHECKED`) and ``text``, a sentence for the reader.
    """
    ids = int(matched["customers"].sum())
    keyed = all(schema.CUSTOMER_KEY in v.columns for v in (old, new))
    same = (
        int(matched.loc[matched[SAME_CUSTOMER].fillna(False), "customers"].sum()) if keyed else None
    )
    compared = same if same is not None else ids
    sizes = old.customers, new.customers
    shares = [compared / n if n else None for n in sizes]
    hashes = [(v.source or {}).get("sha256") for v in (old, new)]
    return {
        "ids_in_both": ids,
        "same_customers": same,
        "different_customers": None if same is None else ids - same,
        "compared": compared,
        "share_of_old": shares[0],
        "share_of_new": shares[1],
        "same_input": None if None in hashes else hashes[0] == hashes[1],
        "input_old": None if old.source is None else dict(old.source),
        "input_new": None if new.source is None else dict(new.source),
        "checks": [
            _same_customers_check(old, new, ids, same, settings.same_customers_share),
            _share_check(old, new, compared, sizes, shares, settings.matched_share),
        ],
    }


def _described(source: Mapping[str, Any]) -> str:
    """A model card's ``input`` in words: the table, its rows and the start of its SHA-256."""
    return f"{source['source']} ({source['rows_in']:,} rows, SHA-256 {str(source['sha256'])[:12]}…)"


def _inputs(labels: Sequence[str], sources: Sequence[Mapping[str, Any] | None]) -> str:
    """Where each version's customers came from, in words."""
    parts = []
    for label, source in zip(labels, sources, strict=True):
        what = (
            "a table it did not record (made before model cards kept their input)"
            if source is None
            else _described(source)
        )
        parts.append(f"model {label} was trained on {what}")
    return f"{parts[0][0].upper()}{parts[0][1:]}; {parts[1]}."


def inputs_sentence(result: Mapping[str, Any]) -> str:
    """What each version of a comparison was trained on (its card's ``input``), in words;
    empty for a comparison saved before the checks existed.
    """
    matching = result.get("matching")
    if matching is None:
        return ""
    labels = (result["old_version"], result["new_version"])
    if matching["same_input"]:
        return f"Both versions were trained on the same table: {_described(matching['input_new'])}."
    return _inputs(labels, (matching["input_old"], matching["input_new"]))


def _same_customers_check(
    old: VersionSegments, new: VersionSegments, ids: int, same: int | None, least: float
) -> dict[str, Any]:
    """Whether the IDs in both versions are the same people (their keys agree)."""
    check = {"check": "same_customers"}
    if same is None:
        unkept = [v.label for v in (old, new) if schema.CUSTOMER_KEY not in v.columns]
        return {
            **check,
            "status": NOT_CHECKED,
            "text": f"Not checked whether the IDs in both versions are the same customers: the "
            f"segments of model {' and '.join(unkept)} do not keep the customers' Year_Birth and "
            "Dt_Customer (made before segments kept them). Retrain to check.",
        }
    if not ids or same / ids >= least:
        return {
            **check,
            "status": PASSED,
            "text": f"The same customers: {same:,} of the {ids:,} IDs in both versions have the "
            "same Year_Birth and Dt_Customer in both.",
        }
    return {
        **check,
        "status": FAILED,
        "text": f"Not the same customers: {ids - same:,} of the {ids:,} IDs in both versions "
        f"({(ids - same) / ids:.0%}) have another Year_Birth or Dt_Customer in each, so they "
        f"name different people; the versions were trained on different customer tables. "
        f"{_inputs((old.label, new.label), (old.source, new.source))} Only the {same:,} customers whose ID, Year_Birth and Dt_Customer "
        "agree are compared below.",
    }


def _share_check(
    old: VersionSegments,
    new: VersionSegments,
    compared: int,
    sizes: tuple[int, int],
    shares: list[float | None],
    least: float,
) -> dict[str, Any]:
    """Whether the customers compared are a large enough part of both versions."""
    parts = (
        f"{share:.0%} of model {v.label}'s {n:,}"
        for v, n, share in zip((old, new), sizes, shares, strict=True)
    )
    described = " and ".join(parts)
    low = [share for share in shares if share is not None and share < least]
    if not low:
        return {
            "check": "matched_share",
            "status": PASSED,
            "text": f"The {compared:,} customers compared are {described}.",
        }
    return {
        "check": "matched_share",
        "status": FAILED,
        "text": f"Few customers in common: the {compared:,} customers compared are {described}; "
        "every figure below describes those customers only, not the models' segments as a whole.",
    }


def contingency_table(
    common: pd.DataFrame, old_names: Mapping[int, str], new_names: Mapping[int, str]
) -> pd.DataFrame:
    """Old segment x new segment over the common customers, as a long table.

    Args:
        common: :func:`common_customers`' counts (``old_segment``, ``new_segment``,
            ``customers``) of the customers compared.
        old_names: every segment of the old version, by number.
        new_names: every segment of the new version, by number.

    Returns:
        One row per pair of segments (every pair, 0 customers included; old then new number):
        ``old_segment``, ``old_name``, ``new_segment``, ``new_name``, ``customers`` and
        ``share_of_old`` (of the old segment's common customers; missing when it has none).
    """
    counts = segment_pair_counts(common, (_OLD, _NEW), (sorted(old_names), sorted(new_names)))
    table = counts.stack().rename("customers").astype("int64").reset_index()
    totals = table.groupby(_OLD)["customers"].transform("sum")
    table["share_of_old"] = (table["customers"] / totals).where(totals > 0)
    table.insert(1, "old_name", table[_OLD].map(old_names))
    table.insert(3, "new_name", table[_NEW].map(new_names))
    return table[list(CONTINGENCY_COLUMNS)]


def centroid_distances(
    old: VersionSegments, new: VersionSegments, features: Sequence[str]
) -> pd.DataFrame:
    """Distance of every old centroid to every new one over ``features``: the root mean square
    of their difference in the old version's standard deviations (``old.scale``).

    Returns:
        Index: old segment numbers; columns: new segment numbers.
    """
    columns = list(features)
    sd = old.scale[columns].to_numpy(dtype="float64")
    before = old.centroids[columns].to_numpy(dtype="float64") / sd
    after = new.centroids[columns].to_numpy(dtype="float64") / sd
    squared = (after[np.newaxis, :, :] - before[:, np.newaxis, :]) ** 2
    return pd.DataFrame(
        np.sqrt(squared.mean(axis=2)),
        index=pd.Index([int(s) for s in old.centroids.index], name=_OLD),
        columns=pd.Index([int(s) for s in new.centroids.index], name=_NEW),
    )


def hungarian_pairs(distances: pd.DataFrame) -> list[tuple[int, int]]:
    """The (old, new) segment pairs with the smallest total distance, each segment in one pair
    at most: min(k_old, k_new) pairs, in new segment order.

    Args:
        distances: :func:`centroid_distances` (index old segments, columns new segments).
    """
    rows, cols = linear_sum_assignment(distances.to_numpy(dtype="float64"))
    pairs = [
        (int(distances.index[r]), int(distances.columns[c]))
        for r, c in zip(rows, cols, strict=True)
    ]
    return sorted(pairs, key=lambda pair: pair[1])


def _share(part: float, whole: float) -> float | None:
    """``part / whole``, or None when ``whole`` is 0."""
    return float(part / whole) if whole else None


def _largest(
    counts: pd.Series, names: Mapping[int, str]
) -> tuple[int | None, str | None, float | None]:
    """The segment with most customers in ``counts`` (the lowest number among equals), its
    name and its share; Nones when there are no customers.
    """
    total = int(counts.sum())
    if not total:
        return None, None, None
    segment = int(counts.idxmax())
    return segment, names[segment], _share(int(counts[segment]), total)


def _feature_note(old: VersionSegments, new: VersionSegments, compared: list[str]) -> str | None:
    """What a reader must know when the versions used different features; None when the same."""
    if set(old.features) == set(new.features):
        return None
    only_old = [f for f in old.features if f not in new.features]
    only_new = [f for f in new.features if f not in old.features]
    sides = []
    if only_old:
        sides.append(f"only model {old.label} uses {', '.join(only_old)}")
    if only_new:
        sides.append(f"only model {new.label} uses {', '.join(only_new)}")
    reach = (
        f"centroids are matched on the {len(compared)} feature(s) both use ({', '.join(compared)})"
        if compared
        else "they share no feature, so no segment is matched by centroids; only the customers' "
        "segments are compared"
    )
    return f"The models use different features: {'; '.join(sides)}; {reach}."


def segment_migration(
    old: VersionSegments, new: VersionSegments, settings: MigrationParams
) -> dict:
    """Compare two model versions on the customers both segmented (JSON-serialisable).

    Args:
        old: the previous complete version.
        new: the version of this run.
        settings: ``monitoring.migration``: ``match_distance``, the largest centroid distance
            (:data:`DISTANCE_UNIT`) at which a Hungarian pair is the same segment, and the
            shares :func:`customer_checks` holds the customers to.

    Returns:
        ``old_version``, ``new_version`` (labels); ``matching`` (:func:`customer_checks`);
        ``customers_compared`` (in both, the same people), ``customers_only_old``,
        ``customers_only_new`` (IDs in one version only); ``adjusted_rand_index`` (on the
        common customers; None without any); ``features_old``, ``features_new``,
        ``features_compared`` (both use them; the centroids are compared on these), ``note``
        (None when the features are the same); ``centroid_matching`` (False without a common
        feature), ``match_distance``, ``same_customers_share``, ``matched_share`` (the
        settings), ``distance_unit``; ``n_kept``, ``n_dissolved``,
        ``n_new``; and lists of records: ``contingency`` (:data:`CONTINGENCY_COLUMNS`),
        ``old_segments`` (:data:`OLD_SEGMENT_COLUMNS`: status ``kept``/``dissolved``, or
        ``not matched``; the new segment that took most of its customers),
        ``new_segments`` (:data:`NEW_SEGMENT_COLUMNS`: status ``kept``/``new``, or
        ``not matched``; the old segment most of its customers came from); in both,
        ``matched_*`` and ``distance`` name the Hungarian partner even when it lies farther
        than ``match_distance`` (then the status is ``new``/``dissolved``); and
        ``centroid_shift`` (:data:`SHIFT_COLUMNS`: per Hungarian pair and compared feature,
        both centres in the feature's unit, the shift in it and in old standard deviations).

    """
    match_distance = settings.match_distance
    matched = common_customers(old, new)
    matching = customer_checks(matched, old, new, settings)
    common = matched[matched[SAME_CUSTOMER].fillna(True)]
    table = contingency_table(common, old.names, new.names)
    compared = [f for f in old.features if f in new.features]
    old_rows, new_rows = _segment_rows(old, compared), _segment_rows(new, compared, side=NEW)
    shifts = _match_centroids(old, new, compared, match_distance, old_rows, new_rows)
    _where_customers_went(table, old, new, old_rows, new_rows)
    statuses = [r["status"] for r in (*old_rows.values(), *new_rows.values())]
    result = {
        "old_version": old.label,
        "new_version": new.label,
        "matching": matching,
        **_customers(matched, common, old, new),
        "features_old": old.features,
        "features_new": new.features,
        "features_compared": compared,
        "note": _feature_note(old, new, compared),
        "centroid_matching": bool(compared),
        "match_distance": float(match_distance),
        "same_customers_share": float(settings.same_customers_share),
        "matched_share": float(settings.matched_share),
        "distance_unit": DISTANCE_UNIT,
        "n_kept": sum(r["status"] == KEPT for r in new_rows.values()),
        "n_dissolved": statuses.count(DISSOLVED),
        "n_new": statuses.count(NEW),
        "contingency": _contingency_records(table),
        "old_segments": [{c: row[c] for c in OLD_SEGMENT_COLUMNS} for row in old_rows.values()],
        "new_segments": [{c: row[c] for c in NEW_SEGMENT_COLUMNS} for row in new_rows.values()],
        "centroid_shift": shifts,
    }
    _log(result)
    return result


def _customers(
    matched: pd.DataFrame, common: pd.DataFrame, old: VersionSegments, new: VersionSegments
) -> dict[str, Any]:
    """How many customers both versions segmented (``matched``: :func:`common_customers`), how
    many only one, and the adjusted Rand index of the two partitions on the ones compared
    (``common``; None without any).
    """
    compared, in_both = int(common["customers"].sum()), int(matched["customers"].sum())
    return {
        "customers_compared": compared,
        "customers_only_old": old.customers - in_both,
        "customers_only_new": new.customers - in_both,
        "adjusted_rand_index": (
            adjusted_rand_index(segment_pair_counts(common, (_OLD, _NEW)).to_numpy())
            if compared
            else None
        ),
    }


def _segment_rows(
    version: VersionSegments, compared: list[str], side: str = DISSOLVED
) -> dict[int, dict[str, Any]]:
    """One row per segment of a version, unmatched: ``dissolved`` (old side) or ``new`` (new
    side) until a centroid match keeps it; ``not matched`` without a common feature.
    """
    status = side if compared else NOT_MATCHED
    return {
        s: {
            "segment": s,
            "name": version.names[s],
            "status": status,
            "matched_segment": None,
            "matched_name": None,
            "distance": None,
        }
        for s in sorted(version.names)
    }


def _match_centroids(
    old: VersionSegments,
    new: VersionSegments,
    compared: list[str],
    match_distance: float,
    old_rows: dict[int, dict[str, Any]],
    new_rows: dict[int, dict[str, Any]],
) -> list[dict[str, Any]]:
    """Pair the segments by the Hungarian algorithm on their centroids' distances, mark the
    pairs within ``match_distance`` kept (in ``old_rows`` and ``new_rows``), and return every
    pair's shift per compared feature (:data:`SHIFT_COLUMNS`).
    """
    if not compared:
        return []
    distances = centroid_distances(old, new, compared)
    shifts = []
    for o, n in hungarian_pairs(distances):
        distance = float(distances.loc[o, n])
        kept = distance <= match_distance
        old_rows[o].update(matched_segment=n, matched_name=new.names[n], distance=distance)
        new_rows[n].update(matched_segment=o, matched_name=old.names[o], distance=distance)
        if kept:
            old_rows[o]["status"] = new_rows[n]["status"] = KEPT
        for feature in compared:
            before = float(old.centroids.loc[o, feature])
            after = float(new.centroids.loc[n, feature])
            shifts.append(
                {
                    "old_segment": o,
                    "old_name": old.names[o],
                    "new_segment": n,
                    "new_name": new.names[n],
                    "kept": kept,
                    "feature": feature,
                    "old_centre": before,
                    "new_centre": after,
                    "shift": after - before,
                    "shift_sd": (after - before) / float(old.scale[feature]),
                }
            )
    return shifts


def _where_customers_went(
    table: pd.DataFrame,
    old: VersionSegments,
    new: VersionSegments,
    old_rows: dict[int, dict[str, Any]],
    new_rows: dict[int, dict[str, Any]],
) -> None:
    """Each old segment's customers and the new segment most of them went to; each new
    segment's customers and the old segment most of them came from (set in the rows).
    """
    grid = table.pivot(index=_OLD, columns=_NEW, values="customers")
    for s, row in old_rows.items():
        to_segment, to_name, to_share = _largest(grid.loc[s], new.names)
        row.update(
            customers=int(grid.loc[s].sum()),
            mostly_to_segment=to_segment,
            mostly_to_name=to_name,
            mostly_to_share=to_share,
        )
    for s, row in new_rows.items():
        from_segment, from_name, from_share = _largest(grid[s], old.names)
        row.update(
            customers=int(grid[s].sum()),
            mostly_from_segment=from_segment,
            mostly_from_name=from_name,
            mostly_from_share=from_share,
        )


def _contingency_records(table: pd.DataFrame) -> list[dict[str, Any]]:
    """The contingency table as JSON records (an empty share as None)."""
    return [
        {
            "old_segment": int(r.old_segment),
            "old_name": str(r.old_name),
            "new_segment": int(r.new_segment),
            "new_name": str(r.new_name),
            "customers": int(r.customers),
            "share_of_old": None if pd.isna(r.share_of_old) else float(r.share_of_old),
        }
        for r in table.itertuples(index=False)
    ]


def _log(result: dict[str, Any]) -> None:
    logger.info(
        "Segment migration %s -> %s: %d kept, %d dissolved, %d new; ARI %s on %d customers in "
        "both (%d only in the old version, %d only in the new)",
        result["old_version"],
        result["new_version"],
        result["n_kept"],
        result["n_dissolved"],
        result["n_new"],
        result["adjusted_rand_index"],
        result["customers_compared"],
        result["customers_only_old"],
        result["customers_only_new"],
    )


def _quoted(names: Sequence[str]) -> str:
    """``'a'``, ``'a' and 'b'``, ``'a', 'b' and 'c'``."""
    quoted = [f"'{n}'" for n in names]
    return quoted[0] if len(quoted) == 1 else f"{', '.join(quoted[:-1])} and {quoted[-1]}"


def migration_sentence(result: Mapping[str, Any]) -> str:
    """A plain account of :func:`segment_migration`'s result.

    For example: "Model B keeps 5 of model A's 6 segments (matched by centroids); 'Senior Low
    Spenders' dissolved, its customers went mostly to 'Budget Low-Activity Customers' (71%);
    'X' is new (64% of its customers came from 'Y'). Adjusted Rand index 0.83 on 2,212
    customers in both." Customers in one version only and a note on different features follow
    when there are any.
    What the customer checks found is not in it: :func:`warnings` says it, first.
    """
    old, new = result["old_version"], result["new_version"]
    olds, news = result["old_segments"], result["new_segments"]
    text = ""
    if result["centroid_matching"]:
        text += "; ".join(_matching_clauses(result)) + "."
    else:
        text += (
            f"Model {new} ({len(news)} segments) and model {old} ({len(olds)} segments) share no "
            "feature, so their segments are not matched by centroids."
        )
    compared = result["customers_compared"]
    if compared:
        text += (
            f" Adjusted Rand index {result['adjusted_rand_index']:.2f} on {compared:,} customers "
            "in both."
        )
    else:
        text += " No customer is in both versions, so their segments cannot be compared."
    left_out = [
        f"{count:,} customers only in model {label}'s segments"
        for count, label in (
            (result["customers_only_old"], old),
            (result["customers_only_new"], new),
        )
        if count
    ]
    if left_out:
        text += f" Left out: {' and '.join(left_out)}."
    if result["note"] and result["centroid_matching"]:
        text += f" {result['note']}"
    return text


def _matching_clauses(result: Mapping[str, Any]) -> list[str]:
    """What the centroid matching found, clause by clause: segments kept, dissolved (and where
    their customers went), new (and where they came from), renamed.
    """
    old, new = result["old_version"], result["new_version"]
    olds, news = result["old_segments"], result["new_segments"]
    kept = result["n_kept"]
    counted = (
        f"all {kept} of model {old}'s segments"
        if kept == len(olds)
        else f"{kept} of model {old}'s {len(olds)} segments"
    )
    clauses = [f"Model {new} keeps {counted} (matched by centroids)"]
    for row in (r for r in olds if r["status"] == DISSOLVED):
        went = (
            ""
            if row["mostly_to_name"] is None
            else f", its customers went mostly to '{row['mostly_to_name']}' "
            f"({row['mostly_to_share']:.0%})"
        )
        clauses.append(f"'{row['name']}' dissolved{went}")
    for row in (r for r in news if r["status"] == NEW):
        origin = (
            ""
            if row["mostly_from_name"] is None
            else f" ({row['mostly_from_share']:.0%} of its customers came from "
            f"'{row['mostly_from_name']}')"
        )
        clauses.append(f"'{row['name']}' is new{origin}")
    clauses.extend(
        f"'{row['matched_name']}' is now called '{row['name']}'"
        for row in news
        if row["status"] == KEPT and row["matched_name"] != row["name"]
    )
    return clauses


def warnings(result: Mapping[str, Any]) -> list[str]:
    """What a reader must know before any figure of a comparison: the texts of its customer
    checks that failed (:func:`customer_checks`), or that could not be made; none when both
    passed. A comparison saved before the checks existed: one text saying so.
    """
    matching = result.get("matching")
    if matching is None:
        return [
            "Not checked whether the IDs in both versions are the same customers, nor how many "
            "are shared: this comparison was saved before the checks existed."
        ]
    return [c["text"] for c in matching["checks"] if c["status"] != PASSED]


def compare(
    old: VersionSegments, new: VersionSegments, settings: MigrationParams
) -> dict[str, Any]:
    """The saved form of a comparison (``segment_migration``): :func:`segment_migration` with
    the older version's label as ``previous_version``, its :func:`warnings` and ``sentence``:
    the warnings, then :func:`migration_sentence`.
    """
    result = segment_migration(old, new, settings)
    told = warnings(result)
    return {
        "previous_version": old.label,
        "warnings": told,
        "sentence": " ".join([*told, migration_sentence(result)]),
        **result,
    }


def contingency_cells(result: Mapping[str, Any]) -> pd.DataFrame:
    """The contingency records of a comparison, old then new segment order, with ``old`` and
    ``new`` labels (``"<number>: <name>"``).
    """
    long = pd.DataFrame(result["contingency"], columns=list(CONTINGENCY_COLUMNS))
    long = long.sort_values([_OLD, _NEW], kind="stable").reset_index(drop=True)
    return long.assign(
        old=[f"{s}: {n}" for s, n in zip(long[_OLD], long["old_name"], strict=True)],
        new=[f"{s}: {n}" for s, n in zip(long[_NEW], long["new_name"], strict=True)],
        customers=long["customers"].astype("int64"),
        share_of_old=long["share_of_old"].astype("float64"),
    )


def contingency_matrix(result: Mapping[str, Any], value: str = "customers") -> pd.DataFrame:
    """A comparison's contingency table as a matrix: one row per old segment, one column per
    new one (``"<number>: <name>"``, in segment order), cells ``value`` (``customers`` or
    ``share_of_old``); the axes named after the versions.
    """
    cells = contingency_cells(result)
    rows, columns = list(dict.fromkeys(cells["old"])), list(dict.fromkeys(cells["new"]))
    matrix = cells.pivot(index="old", columns="new", values=value).loc[rows, columns]
    return matrix.rename_axis(
        index=f"model {result['old_version']}", columns=f"model {result['new_version']}"
    )


def migration_flows(result: Mapping[str, Any]) -> tuple[list[str], pd.DataFrame]:
    """A comparison as flows for a Sankey diagram: the node labels (the old version's segments
    ``"<number>: <name>"``, then the new version's) and one row per pair of segments with
    customers: ``source`` and ``target`` (positions in the labels), ``customers``.
    """
    cells = contingency_cells(result)
    olds = list(dict.fromkeys(cells["old"]))
    news = list(dict.fromkeys(cells["new"]))
    moved = cells[cells["customers"] > 0]
    flows = pd.DataFrame(
        {
            "source": [olds.index(o) for o in moved["old"]],
            "target": [len(olds) + news.index(n) for n in moved["new"]],
            "customers": moved["customers"].to_numpy(),
        }
    )
    return olds + news, flows
