"""Segment profiles and the names, descriptions and actions derived from them.

One deterministic module, used by the pipeline (model card, ``segment_profiles``) and the app.
Names come from the profile (z-scores of the segment means against the whole population) and
the thresholds and texts in ``parameters_clustering.yml`` (``clustering.naming``); nothing is
keyed by cluster number, so a retrain that moves a segment to another number keeps its name.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from customer_segmentation import schema
from customer_segmentation.features import deal_share
from customer_segmentation.modeling.sampling import segmented_rows

if TYPE_CHECKING:
    from customer_segmentation.params import NamingParams, Words

SEGMENT = "segment"


def order_segments(labels: np.ndarray, spending: np.ndarray, income: np.ndarray) -> np.ndarray:
    """The permutation that numbers segments by mean total spending, highest first.

    Ties (equal mean spending) are broken by mean income, highest first. Returns ``perm`` such
    that old label ``perm[i]`` becomes new label ``i``.
    """
    frame = pd.DataFrame({"label": labels, "spend": spending, "income": income})
    means = frame.groupby("label")[["spend", "income"]].mean()
    return means.sort_values(["spend", "income"], ascending=False).index.to_numpy()


# Integer columns whose values span at most this many counts (over all segments) get their
# medians by counting values rather than by sorting them.
_COUNTING_CELLS = 1 << 22


def _group_medians(
    features: pd.DataFrame, columns: list[str], labels: np.ndarray, grouped: Any
) -> pd.DataFrame:
    """``grouped.median()`` of ``columns``; integer columns are counted instead of sorted.

    The median of integers is one of them (or the mean of the two middle ones), so it is read
    off the per-segment value counts: the same numbers, in one pass over the rows.
    """
    counted: dict[str, np.ndarray] = {}
    if labels.dtype.kind in "iu" and len(labels):
        groups, codes = np.unique(labels, return_inverse=True)
        sizes = np.bincount(codes, minlength=len(groups))
        # 0-based ranks of the middle value(s): equal when the segment size is odd.
        lower, upper = (sizes - 1) // 2, sizes // 2
        for column in columns:
            values = features[column].to_numpy()
            if values.dtype.kind != "i":
                continue
            low = int(values.min())
            span = int(values.max()) - low + 1
            if span * len(groups) > _COUNTING_CELLS:
                continue
            counts = np.bincount(
                codes * span + (values - low), minlength=len(groups) * span
            ).reshape(len(groups), span)
            below = counts.cumsum(axis=1)
            middle = [
                (
                    float(np.searchsorted(below[g], lower[g], side="right") + low)
                    + float(np.searchsorted(below[g], upper[g], side="right") + low)
                )
                / 2
                for g in range(len(groups))
            ]
            counted[column] = np.array(middle)
    rest = [c for c in columns if c not in counted]
    sorted_medians = grouped[rest].median() if rest else None
    index = sorted_medians.index if sorted_medians is not None else grouped.size().index
    return pd.DataFrame(
        {c: counted[c] if c in counted else sorted_medians[c] for c in columns}, index=index
    )


def _mean_and_std(values: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """``values.mean()`` and ``values.std(ddof=0)`` (missing values skipped), one column at a
    time: the same two-pass sums without copying the whole table.
    """
    means, stds = {}, {}
    for column in values.columns:
        data = values[column].to_numpy(dtype="float64")
        missing = np.isnan(data)
        count = float(len(data) - missing.sum())
        if missing.any():
            data = np.where(missing, 0.0, data)
        if count == 0:
            means[column] = stds[column] = np.nan
            continue
        mean = data.sum() / count
        squares = (mean - data) ** 2
        if missing.any():
            squares[missing] = 0.0
        means[column], stds[column] = mean, np.sqrt(squares.sum() / count)
    return pd.Series(means, dtype="float64"), pd.Series(stds, dtype="float64")


def profile_segments(
    features: pd.DataFrame, segments: pd.Series, columns: list[str] | tuple[str, ...]
) -> pd.DataFrame:
    """Size, share, mean, median and z-score of every column, per segment.

    Args:
        features: one row per customer with ``columns``.
        segments: the segment of each row (same index as ``features``).
        columns: the numeric columns to describe.

    Returns:
        One row per segment (sorted by number): ``segment``, ``size``, ``share`` and for each
        column ``mean_<c>``, ``median_<c>``, ``z_<c>`` (segment mean minus population mean,
        in population standard deviations).
    """
    values = features[list(columns)].astype("float64")
    labels = segments.to_numpy()
    grouped = values.groupby(labels)
    means = grouped.mean()
    medians = _group_medians(features, list(columns), labels, grouped)
    population_mean, spread = _mean_and_std(values)
    z = ((means - population_mean) / spread.replace(0, np.nan)).fillna(0.0)
    size = grouped.size()
    profile = pd.concat(
        [
            size.rename("size"),
            (size / size.sum()).rename("share"),
            means.add_prefix("mean_"),
            medians.add_prefix("median_"),
            z.add_prefix("z_"),
        ],
        axis=1,
    )
    profile.index.name = SEGMENT
    return profile.reset_index().sort_values(SEGMENT).reset_index(drop=True)


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
                SEGMENT: int(seg[SEGMENT]),
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
    z = profile.set_index(SEGMENT)[[f"z_{c}" for c in schema.NAMING_COLUMNS]]
    for name, group in named.groupby("name"):
        if len(group) < 2:
            continue
        ids = group[SEGMENT].to_numpy()
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
    features: pd.DataFrame,
    segments: pd.Series,
    columns: list[str] | tuple[str, ...],
    naming: NamingParams,
) -> pd.DataFrame:
    """:func:`profile_segments` joined with :func:`name_segments` (names first)."""
    wanted = list(dict.fromkeys([*schema.NAMING_COLUMNS, *columns]))
    profile = profile_segments(features, segments, wanted)
    named = name_segments(profile, naming)
    return named.merge(profile, on=SEGMENT).sort_values(SEGMENT).reset_index(drop=True)


def segment_table(card: Mapping[str, Any]) -> pd.DataFrame:
    """The model card's segments: ``segment``, ``name``, ``behaviour``, ``description``,
    ``action``, ``size``, ``share``.
    """
    return pd.DataFrame(card["segments"])


def segment_profiles(
    features: pd.DataFrame,
    segments: pd.DataFrame,
    card: Mapping[str, Any],
    columns: list[str],
) -> pd.DataFrame:
    """One row per segment: name, behaviour, description, action (from the model card), size,
    share, and the mean, median and z-score (against all customers) of every ``columns``.

    Args:
        features: ``customer_features`` (``ID`` and ``columns``).
        segments: ``customer_segments`` (``ID``, ``segment``).
        card: the model card of the same model.
        columns: the columns to describe (``reporting.profile_columns``).
    """
    rows, labels = segmented_rows(features, segments, schema.ID)
    data = features[columns] if rows is None else features[columns].iloc[rows]
    profile = profile_segments(data.reset_index(drop=True), pd.Series(labels), columns)
    names = segment_table(card)[[SEGMENT, "name", "behaviour", "description", "action"]]
    return names.merge(profile, on=SEGMENT).sort_values(SEGMENT).reset_index(drop=True)


def spending_mix(
    features: pd.DataFrame, segments: pd.DataFrame, card: Mapping[str, Any]
) -> pd.DataFrame:
    """Share of each product category in the segment's spending and of each channel in its
    purchases.

    Args:
        features: needs the ``Mnt*`` columns, the four ``Num*Purchases``, ``Total_Purchases``
            and ``Total_Spending``.
        segments: ``customer_segments``.
        card: the model card (segment names).

    Returns:
        ``segment``, ``name``, ``spend_<category>`` (shares summing to 1),
        ``channel_<channel>`` (shares of web/catalogue/store purchases summing to 1),
        ``deal_share`` (``features.deal_share`` of the segment's sums) and ``mean_spending``.
    """
    summed = list(
        dict.fromkeys([*schema.SPEND_COLUMNS, *schema.PURCHASE_COLUMNS, "Total_Purchases"])
    )
    rows, labels = segmented_rows(features, segments, schema.ID)
    data = features[[*summed, "Total_Spending"]]
    data = data if rows is None else data.iloc[rows].reset_index(drop=True)
    grouped = data.groupby(pd.Index(labels, name=SEGMENT))
    sums = grouped[summed].sum()  # one pass over the rows for every summed column
    spend = sums[list(schema.SPEND_COLUMNS)]
    channels = sums[list(schema.CHANNEL_COLUMNS)]
    spend_share = spend.div(spend.sum(axis=1).replace(0, np.nan), axis=0).fillna(0.0)
    channel_share = channels.div(channels.sum(axis=1).replace(0, np.nan), axis=0).fillna(0.0)
    spend_share.columns = [f"spend_{c.removeprefix('Mnt')}" for c in spend_share.columns]
    channel_share.columns = [
        f"channel_{c.removeprefix('Num').removesuffix('Purchases')}" for c in channel_share.columns
    ]
    table = pd.concat([spend_share, channel_share], axis=1)
    table["deal_share"] = deal_share(sums["NumDealsPurchases"], sums["Total_Purchases"])
    table["mean_spending"] = grouped["Total_Spending"].mean()
    table = table.reset_index()
    names = {int(s["segment"]): str(s["name"]) for s in card["segments"]}
    table.insert(1, "name", table[SEGMENT].map(names))
    return table
