"""Segment profiles and the names, descriptions and actions derived from them.

One deterministic module, used by the pipeline (model card, ``segment_profiles``) and the app.
Names come from the profile (z-scores of the segment means against the whole population) and
the thresholds and texts in ``parameters_clustering.yml`` (``clustering.naming``); nothing is
keyed by cluster number, so a retrain that moves a segment to another number keeps its name.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import narwhals as nw
import numpy as np
import pandas as pd

from customer_segmentation import schema
from customer_segmentation.core import engine
from customer_segmentation.core.features import deal_share, row_sum, share
from customer_segmentation.core.sampling import check_one_row_per_id, segmented_frame

if TYPE_CHECKING:
    from customer_segmentation.params import NamingParams, Words


SAME_CUSTOMER = "same_customer"


def matched_segments(
    before: Any,
    after: Any,
    columns: tuple[str, str],
    what: tuple[str, str] = ("previous segments", "new segments"),
) -> pd.DataFrame:
    """The customers in both tables (pandas or native frames of the engine), matched by ``ID``
    and counted in the engine per pair of segments: the two segment ``columns`` (``before``'s,
    ``after``'s), :data:`SAME_CUSTOMER` and ``customers``, one row per combination seen, in
    that order. Only these counts come to this process, never the customers' rows. The one
    home of "who is the same customer in two segmentations" (scoring's moves, the migration
    between model versions).

    :data:`SAME_CUSTOMER` is whether the row's ``customer_key`` (``Year_Birth`` and
    ``Dt_Customer``, which do not change) agrees in both tables, when both have one: False is
    a different person under the same ``ID``. Missing (``pd.NA``) when either table has no key:
    not checked.

    Raises:
        ValueError: an ID appears more than once in a table (named by ``what``).
    """
    first, second = columns
    frames = [t if isinstance(t, nw.LazyFrame) else engine.lazy(t) for t in (before, after)]
    for frame, name in zip(frames, what, strict=True):
        check_one_row_per_id(frame.select(schema.ID), name)
    key = schema.CUSTOMER_KEY
    keyed = all(key in frame.collect_schema().names() for frame in frames)
    keys = [key] if keyed else []
    left = frames[0].select(schema.ID, nw.col(first).cast(nw.Int64), *keys)
    right = frames[1].select(
        schema.ID, nw.col(second).cast(nw.Int64), *(nw.col(k).alias(f"{k}:after") for k in keys)
    )
    same = (nw.col(key) == nw.col(f"{key}:after")).fill_null(False) if keyed else nw.lit(True)
    counts = engine.to_pandas(
        left.join(right, on=schema.ID)
        .with_columns(same.alias(SAME_CUSTOMER))
        .group_by(first, second, SAME_CUSTOMER)
        .agg(customers=nw.len())
        .sort(first, second, SAME_CUSTOMER)
    )
    if not keyed:
        counts[SAME_CUSTOMER] = pd.NA
    counts[SAME_CUSTOMER] = counts[SAME_CUSTOMER].astype("boolean")
    return counts.astype({first: "int64", second: "int64", "customers": "int64"})[
        [first, second, SAME_CUSTOMER, "customers"]
    ].reset_index(drop=True)


def segment_pair_counts(
    pairs: pd.DataFrame,
    columns: tuple[str, str],
    labels: tuple[Any, Any] = (None, None),
) -> pd.DataFrame:
    """Customers per (before, after) segment pair of :func:`matched_segments`, as a matrix:
    rows the first column's segments, columns the second's. ``labels``: the segments to show
    on each axis (0 where no customer), by default those seen, sorted.
    """
    first, second = columns
    counts = pairs.groupby([first, second])["customers"].sum().unstack(fill_value=0)
    rows, cols = labels
    counts = counts.reindex(
        index=counts.index if rows is None else list(rows),
        columns=counts.columns if cols is None else list(cols),
        fill_value=0,
    )
    return counts.rename_axis(index=first, columns=second).astype("int64")


def adjusted_rand_index(counts: np.ndarray) -> float:
    """The adjusted Rand index of two partitions from their contingency table (customers per
    pair of segments): what ``sklearn.metrics.adjusted_rand_score`` gives for the labels,
    computed from the pair counts (exact integers) instead of one label per customer.
    """
    table = np.asarray(counts, dtype=np.int64)
    n = int(table.sum())
    squares = int((table.astype(object) ** 2).sum())
    rows, cols = table.sum(axis=1).astype(object), table.sum(axis=0).astype(object)
    tp = squares - n
    fp = int((table.astype(object) @ cols).sum()) - squares
    fn = int((table.T.astype(object) @ rows).sum()) - squares
    tn = n * n - fp - fn - squares
    if fn == 0 and fp == 0:
        return 1.0
    return 2.0 * (tp * tn - fn * fp) / ((tp + fn) * (fn + tn) + (tp + fp) * (fp + tn))


def order_segments(labels: np.ndarray, spending: np.ndarray, income: np.ndarray) -> np.ndarray:
    """The permutation that numbers segments by mean total spending, highest first.

    Ties (equal mean spending) are broken by mean income, highest first. Returns ``perm`` such
    that old label ``perm[i]`` becomes new label ``i``.
    """
    frame = pd.DataFrame({"label": labels, "spend": spending, "income": income})
    means = frame.groupby("label")[["spend", "income"]].mean()
    return means.sort_values(["spend", "income"], ascending=False).index.to_numpy()


def profile_segments(segmented: Any, columns: list[str] | tuple[str, ...]) -> pd.DataFrame:
    """Size, share, mean, median and z-score of every column, per segment: aggregates in the
    engine (one pass per segment and one over all rows), gathered as a small table.

    Args:
        segmented: a native frame (or narwhals LazyFrame) with ``columns`` and ``segment``.
        columns: the numeric columns to describe.

    Returns:
        One row per segment (sorted by number): ``segment``, ``size``, ``share`` and for each
        column ``mean_<c>``, ``median_<c>``, ``z_<c>`` (segment mean minus population mean,
        in population standard deviations; 0 for a constant column).
    """
    frame = segmented if isinstance(segmented, nw.LazyFrame) else engine.lazy(segmented)
    columns = list(columns)
    per_segment, population = None, {}
    # A few columns at a time (engine.column_batches): exact medians hold every value of the
    # columns they read.
    for batch in engine.column_batches(frame, columns):
        values = {c: nw.col(c).cast(nw.Float64) for c in batch}
        part = engine.to_pandas(
            frame.group_by(schema.SEGMENT)
            .agg(
                size=nw.len(),
                **{f"mean_{c}": v.mean() for c, v in values.items()},
                **{f"median_{c}": v.median() for c, v in values.items()},
            )
            .sort(schema.SEGMENT)
        )
        per_segment = (
            part if per_segment is None else per_segment.merge(part, on=[schema.SEGMENT, "size"])
        )
        population |= engine.first_row(
            frame.select(
                **{f"mean_{c}": v.mean() for c, v in values.items()},
                **{f"std_{c}": v.std(ddof=0) for c, v in values.items()},
            )
        )
    profile = per_segment[[schema.SEGMENT, "size"]].astype(
        {schema.SEGMENT: "int64", "size": "int64"}
    )
    profile["share"] = profile["size"] / profile["size"].sum()
    means = per_segment[[f"mean_{c}" for c in columns]].astype("float64")
    medians = per_segment[[f"median_{c}" for c in columns]].astype("float64")
    z = pd.DataFrame(
        {
            f"z_{c}": (means[f"mean_{c}"] - population[f"mean_{c}"]) / population[f"std_{c}"]
            if population[f"std_{c}"]
            else 0.0
            for c in columns
        },
        index=per_segment.index,
    ).fillna(0.0)
    return pd.concat([profile, means, medians, z], axis=1).reset_index(drop=True)


def behaviour(z: pd.Series, high: float, low: float) -> str:
    """The behaviour a segment's z-scores show (one of ``schema.BEHAVIOURS``), by rules in
    order: spending first, then recency, web visits and channels.
    """
    spend, recency = z["z_Total_Spending"], z["z_Recency"]
    web, store, visits = z["z_NumWebPurchases"], z["z_NumStorePurchases"], z["z_NumWebVisitsMonth"]
    if spend >= high:
        if web >= 0 and store >= 0:
            return "multi_channel_spenders"
        return "store_loyal_spenders" if store > web else "online_spenders"
    if spend <= low and recency >= high:
        return "low_activity"
    if recency >= high:
        return "lapsing"
    if spend <= low and visits >= high:
        return "web_browsers"
    if web >= high and web > store:
        return "online_shoppers"
    if store >= high:
        return "store_shoppers"
    if spend <= low:
        return "low_spenders"
    return "mainstream"


def _prefixes(z: pd.Series, high: float, low: float, prefixes: Mapping[str, Words]) -> list[str]:
    """Words put before the behaviour label, in the order of ``prefixes`` (column ->
    ``high``/``low`` word; a missing side adds no word).
    """
    words = []
    for column, word in prefixes.items():
        value = z[f"z_{column}"]
        if value >= high and word.high:
            words.append(word.high)
        elif value <= low and word.low:
            words.append(word.low)
    return words


def name_segments(profile: pd.DataFrame, naming: NamingParams) -> pd.DataFrame:
    """Name, describe and suggest an action for every segment of a profile.

    Args:
        profile: from :func:`profile_segments`, with the ``z_``/``median_`` columns of
            ``schema.NAMING_COLUMNS``.
        naming: ``high_z`` and ``low_z`` thresholds; ``behaviours``: for each behaviour key
            a ``label`` and an ``action``; ``prefixes``: per column (of ``schema.NAMING_COLUMNS``) the
            word put before the label when the segment is high or low on it (e.g. Age ->
            Senior); ``qualifiers``: words that tell apart segments that would otherwise
            share a name.

    Returns:
        ``segment``, ``name``, ``behaviour``, ``description``, ``action``; names are unique.
    """
    high, low = naming.high_z, naming.low_z
    behaviours = naming.behaviours
    rows = []
    for _, seg in profile.iterrows():
        key = behaviour(seg, high, low)
        words = _prefixes(seg, high, low, naming.prefixes)
        name = " ".join([*words, behaviours[key].label])
        rows.append(
            {
                schema.SEGMENT: int(seg[schema.SEGMENT]),
                "name": name,
                "behaviour": key,
                "description": describe(seg),
                "action": behaviours[key].action,
            }
        )
    named = pd.DataFrame(rows)
    named["name"] = _disambiguate(named, profile, naming.qualifiers)
    return named


def _disambiguate(
    named: pd.DataFrame, profile: pd.DataFrame, qualifiers: Mapping[str, Words]
) -> pd.Series:
    """Add a qualifier to names shared by several segments, from their most distinct trait."""
    names = named["name"].copy()
    z = profile.set_index(schema.SEGMENT)[[f"z_{c}" for c in schema.NAMING_COLUMNS]]
    for name, group in named.groupby("name"):
        if len(group) < 2:
            continue
        ids = group[schema.SEGMENT].to_numpy()
        diff = z.loc[ids] - z.loc[ids].mean()
        for row_index, seg in zip(group.index, ids, strict=True):
            column = diff.loc[seg].abs().idxmax()
            sign = "high" if diff.loc[seg, column] >= 0 else "low"
            names[row_index] = f"{name} ({getattr(qualifiers[column.removeprefix('z_')], sign)})"
    counts = names.groupby(names).cumcount()
    return names.where(counts == 0, names + " #" + (counts + 1).astype(str))


def describe(seg: pd.Series) -> str:
    """One line a marketer reads: who is in the segment, in the data's own units."""
    return (
        f"{int(seg['size']):,} customers ({seg['share']:.0%}): median income "
        f"{seg['median_Income']:,.0f}, median total spending {seg['median_Total_Spending']:,.0f}; "
        f"{seg['mean_NumStorePurchases']:.1f} store and {seg['mean_NumWebPurchases']:.1f} web "
        f"purchases ({seg['mean_NumDealsPurchases']:.1f} with a discount), "
        f"{seg['mean_NumWebVisitsMonth']:.1f} web visits a month; last purchase "
        f"{seg['median_Recency']:.0f} days ago; median age {seg['median_Age']:.0f}, "
        f"{seg['mean_Children']:.1f} children at home."
    )


def profile_and_name(
    segmented: Any,
    columns: list[str] | tuple[str, ...],
    naming: NamingParams,
) -> pd.DataFrame:
    """:func:`profile_segments` joined with :func:`name_segments` (names first)."""
    wanted = list(dict.fromkeys([*schema.NAMING_COLUMNS, *columns]))
    profile = profile_segments(segmented, wanted)
    named = name_segments(profile, naming)
    return (
        named.merge(profile, on=schema.SEGMENT).sort_values(schema.SEGMENT).reset_index(drop=True)
    )


def segment_names(card: Mapping[str, Any]) -> dict[int, str]:
    """Each segment's name, by number, from the model card."""
    return {int(s[schema.SEGMENT]): str(s["name"]) for s in card["segments"]}


def name_of(column: str, names: Mapping[int, str]) -> nw.Expr:
    """The name of the segment numbered in ``column`` (an expression: no join, any engine)."""
    named = nw.lit(None, dtype=nw.String)
    for number, name in names.items():
        named = nw.when(nw.col(column) == number).then(nw.lit(name)).otherwise(named)
    return named


def named_segments(segments: Any, card: Mapping[str, Any]) -> nw.LazyFrame:
    """Every customer's segment with its name, for systems outside the project (a CRM).

    Args:
        segments: ``customer_segments`` (``ID``, ``segment``, ``distance``, ``runner_up``,
            ``runner_up_distance``, ``margin``), a native frame.
        card: the model card of the same model (the names).

    Returns:
        ``ID``, ``segment``, ``segment_name``, ``distance``, ``runner_up``,
        ``runner_up_name``, ``runner_up_distance``, ``margin``, in ``ID`` order.
    """
    names = segment_names(card)
    return (
        engine.lazy(segments)
        .select(
            nw.col(schema.ID),
            nw.col(schema.SEGMENT),
            name_of(schema.SEGMENT, names).alias("segment_name"),
            nw.col("distance"),
            nw.col("runner_up"),
            name_of("runner_up", names).alias("runner_up_name"),
            nw.col("runner_up_distance"),
            nw.col("margin"),
        )
        .sort(schema.ID)
    )


def segment_table(card: Mapping[str, Any]) -> pd.DataFrame:
    """The model card's segments: ``segment``, ``name``, ``behaviour``, ``description``,
    ``action``, ``size``, ``share``.
    """
    return pd.DataFrame(card["segments"])


def segment_profiles(
    features: Any,
    segments: Any,
    card: Mapping[str, Any],
    columns: list[str],
) -> pd.DataFrame:
    """One row per segment: name, behaviour, description, action (from the model card), size,
    share, and the mean, median and z-score (against all customers) of every ``columns``.

    Args:
        features: ``customer_features`` (``ID`` and ``columns``), a native frame.
        segments: ``customer_segments`` (``ID``, ``segment``), a native frame.
        card: the model card of the same model.
        columns: the columns to describe (``reporting.profile_columns``).
    """
    profile = profile_segments(segmented_frame(features, segments), columns)
    names = segment_table(card)[[schema.SEGMENT, "name", "behaviour", "description", "action"]]
    return (
        names.merge(profile, on=schema.SEGMENT).sort_values(schema.SEGMENT).reset_index(drop=True)
    )


def with_stability(profiles: pd.DataFrame, stability: pd.DataFrame) -> pd.DataFrame:
    """``profiles`` with each segment's bootstrap stability (``modeling.stability``'s
    ``stability_*`` columns) after its name, behaviour, description and action.

    Raises:
        ValueError: the two tables do not describe the same segments.
    """
    if sorted(profiles[schema.SEGMENT]) != sorted(stability[schema.SEGMENT]):
        raise ValueError(
            f"segment_stability has segments {sorted(stability[schema.SEGMENT])}, the profiles "
            f"{sorted(profiles[schema.SEGMENT])}: not the same model"
        )
    columns = [c for c in stability.columns if c.startswith("stability_")]
    merged = profiles.merge(stability[[schema.SEGMENT, *columns]], on=schema.SEGMENT)
    first = [schema.SEGMENT, "name", "behaviour", "description", "action", *columns]
    return merged[first + [c for c in merged.columns if c not in first]]


def spending_mix(features: Any, segments: Any, card: Mapping[str, Any]) -> pd.DataFrame:
    """Share of each product category in the segment's spending and of each channel in its
    purchases: sums per segment in the engine.

    Args:
        features: needs the ``Mnt*`` columns, the four ``Num*Purchases``, ``Total_Purchases``
            and ``Total_Spending`` (a native frame).
        segments: ``customer_segments`` (a native frame).
        card: the model card (segment names).

    Returns:
        ``segment``, ``name``, ``spend_<category>`` (shares summing to 1),
        ``channel_<channel>`` (shares of web/catalogue/store purchases summing to 1),
        ``deal_share`` (``features.deal_share`` of the segment's sums) and ``mean_spending``.
    """
    summed = list(
        dict.fromkeys([*schema.SPEND_COLUMNS, *schema.PURCHASE_COLUMNS, "Total_Purchases"])
    )
    sums = (
        segmented_frame(features, segments)
        .group_by(schema.SEGMENT)
        .agg(
            *(nw.col(c).cast(nw.Float64).sum() for c in summed),
            mean_spending=nw.col("Total_Spending").cast(nw.Float64).mean(),
        )
    )
    spend_total = row_sum(schema.SPEND_COLUMNS)
    channel_total = row_sum(schema.CHANNEL_COLUMNS)
    table = engine.to_pandas(
        sums.select(
            schema.SEGMENT,
            **{
                f"spend_{c.removeprefix('Mnt')}": share(nw.col(c), spend_total)
                for c in schema.SPEND_COLUMNS
            },
            **{
                f"channel_{c.removeprefix('Num').removesuffix('Purchases')}": share(
                    nw.col(c), channel_total
                )
                for c in schema.CHANNEL_COLUMNS
            },
            deal_share=deal_share(nw.col("NumDealsPurchases"), nw.col("Total_Purchases")),
            mean_spending=nw.col("mean_spending"),
        ).sort(schema.SEGMENT)
    ).astype({schema.SEGMENT: "int64"})
    table.insert(1, "name", table[schema.SEGMENT].map(segment_names(card)))
    return table
