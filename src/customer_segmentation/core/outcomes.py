"""Campaign outcomes per segment: how often each segment accepted the campaigns, responded to
the last one and complained, with a Wilson score interval, against the whole population.

The counts are engine aggregates (narwhals, on the join of ``customers`` and
``customer_segments`` by ``ID``); the rates, intervals and lifts are arithmetic on the small
gathered table. :func:`evidence_phrase` and :func:`next_campaign_sentence` turn the table into
words a segment description or a report may quote, by rules: a difference is only claimed
when the interval shows it.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from typing import Any

import narwhals as nw
import numpy as np
import pandas as pd

from customer_segmentation import schema
from customer_segmentation.core import engine
from customer_segmentation.core.features import row_sum
from customer_segmentation.core.sampling import segmented_frame

logger = logging.getLogger(__name__)

RESPONSE = "Response"
ANY_CAMPAIGN = "AnyCampaign"
COMPLAIN = "Complain"

# Each outcome and the flags of ``customers`` it reads (AnyCampaign: any of them is 1).
SOURCES: dict[str, tuple[str, ...]] = {
    **{c: (c,) for c in schema.CAMPAIGN_COLUMNS},
    RESPONSE: (RESPONSE,),
    ANY_CAMPAIGN: (*schema.CAMPAIGN_COLUMNS, RESPONSE),
    COMPLAIN: (COMPLAIN,),
}
OUTCOMES: tuple[str, ...] = tuple(SOURCES)

OUTCOME_COLUMNS: tuple[str, ...] = (
    schema.SEGMENT,
    "outcome",
    "customers",
    "positives",
    "rate",
    "ci_low",
    "ci_high",
    "overall_rate",
    "lift",
)
_DTYPES = {
    schema.SEGMENT: "int64",
    "outcome": "str",
    "customers": "int64",
    "positives": "int64",
    **{c: "float64" for c in ("rate", "ci_low", "ci_high", "overall_rate", "lift")},
}

# What a customer with the flag did, as a phrase continues "Segment X ...".
VERBS: dict[str, str] = {
    **{c: f"accepted campaign {c.removeprefix('AcceptedCmp')}" for c in schema.CAMPAIGN_COLUMNS},
    RESPONSE: "responded to the last campaign",
    ANY_CAMPAIGN: "accepted at least one campaign",
    COMPLAIN: "complained in the last two years",
}
# The same, for a segment where no customer had the flag.
NEVER: dict[str, str] = {
    **{
        c: f"never accepted campaign {c.removeprefix('AcceptedCmp')}"
        for c in schema.CAMPAIGN_COLUMNS
    },
    RESPONSE: "did not respond to the last campaign",
    ANY_CAMPAIGN: "accepted none of the campaigns",
    COMPLAIN: "did not complain in the last two years",
}

Numbers = float | np.ndarray | pd.Series


def wilson_interval(positives: Numbers, trials: Numbers, z: float) -> tuple[Numbers, Numbers]:
    """The Wilson score interval of a proportion ``positives / trials`` at ``z`` standard
    normal deviates (1.959964 for 95 %).

    ``centre = (p + z²/2n) / (1 + z²/n)``, ``half = z·√(p(1-p)/n + z²/4n²) / (1 + z²/n)``;
    the interval is ``centre ± half``, clipped to [0, 1] against rounding. Elementwise on
    numbers, NumPy arrays and pandas Series (a Series in gives Series with its index out,
    numbers give floats); NaN where ``trials`` is 0.

    Returns:
        The lower and upper bounds.
    """
    k = np.asarray(positives, dtype="float64")
    n = np.asarray(trials, dtype="float64")
    with np.errstate(divide="ignore", invalid="ignore"):
        n = np.where(n > 0, n, np.nan)
        p = k / n
        z2 = z * z
        denominator = 1 + z2 / n
        centre = (p + z2 / (2 * n)) / denominator
        half = z * np.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / denominator
    low, high = np.clip(centre - half, 0.0, 1.0), np.clip(centre + half, 0.0, 1.0)
    series = [x for x in (positives, trials) if isinstance(x, pd.Series)]
    if series:
        return pd.Series(low, index=series[0].index), pd.Series(high, index=series[0].index)
    if low.ndim == 0:
        return float(low), float(high)
    return low, high


def confidence_level(z: float) -> float:
    """The two-sided confidence level of ``z`` standard normal deviates (0.95 for 1.959964)."""
    return math.erf(z / math.sqrt(2))


def empty_outcomes() -> pd.DataFrame:
    """An outcome table without rows (every column, typed)."""
    return pd.DataFrame({c: pd.Series(dtype=t) for c, t in _DTYPES.items()})


def measured_outcomes(absent: Sequence[str]) -> tuple[list[str], list[str]]:
    """The outcomes whose flags were all in the file, and those left out because one was
    absent (the contract fills an absent flag with 0: a rate of it would be a made-up 0).
    """
    missing = set(absent)
    measured = [o for o, flags in SOURCES.items() if not missing.intersection(flags)]
    return measured, [o for o in OUTCOMES if o not in measured]


def _note(left_out: list[str], absent: Sequence[str], customers: int, segments: int) -> str:
    """What the outcome table holds, in a sentence or two."""
    measured = f"Campaign outcomes of {customers:,} customers in {segments} segments."
    if not left_out:
        return measured
    flags = [c for c in schema.FLAG_COLUMNS if c in set(absent)]
    plural = len(flags) > 1
    why = (
        f"the customer table had no {', '.join(flags)} column{'s' if plural else ''} (the data "
        f"contract fills {'them' if plural else 'it'} with 0, which would read as a rate of 0)"
    )
    if len(left_out) == len(OUTCOMES):
        return f"No campaign outcomes: {why}."
    return f"{measured} Not measured: {', '.join(left_out)}; {why}."


def note_of(table: pd.DataFrame, absent: Sequence[str]) -> str:
    """The note :func:`segment_outcomes` gave with ``table``, for a saved table (the report and
    the app), from the data-quality report's ``absent_optional_columns``.
    """
    _, left_out = measured_outcomes(absent)
    first = table[table["outcome"] == table["outcome"].iloc[0]] if len(table) else table
    return _note(left_out, absent, int(first["customers"].sum()), len(first))


def segment_outcomes(
    customers: Any, segments: Any, absent: Sequence[str], z: float
) -> tuple[pd.DataFrame, str]:
    """Acceptance, response and complaint rates per segment, with Wilson intervals and the
    lift over all customers.

    Outcomes: ``AcceptedCmp1`` .. ``AcceptedCmp5``, ``Response`` (the last campaign),
    ``AnyCampaign`` (1 when at least one of ``AcceptedCmp1`` .. ``AcceptedCmp5`` and
    ``Response`` is 1: the customer accepted any of the six campaigns) and ``Complain``. Counts
    are engine aggregates over the customers that have a segment (an inner join by ``ID``);
    the overall rate is over those same customers.

    Args:
        customers: the clean ``customers`` table (native frame): ``ID`` and the flags.
        segments: ``customer_segments`` (native frame): ``ID``, ``segment``.
        absent: the optional columns absent from the file (the data-quality report's
            ``absent_optional_columns``). An outcome that reads an absent flag is not measured;
            when none can be, the table is empty.
        z: standard normal deviates of the interval (``outcomes.z``, 1.959964 for 95 %).

    Returns:
        The table, one row per (segment, outcome) in the order of ``OUTCOMES`` then segment:
        ``segment``, ``outcome``, ``customers``, ``positives``, ``rate``, ``ci_low``,
        ``ci_high`` (:func:`wilson_interval`), ``overall_rate``, ``lift`` (``rate /
        overall_rate``; NaN when the overall rate is 0); and a note saying what it holds and
        which outcomes were left out, and why.
    """
    measured, left_out = measured_outcomes(absent)
    if not measured:
        note = _note(left_out, absent, 0, 0)
        logger.info("%s", note)
        return empty_outcomes(), note
    flags = list(dict.fromkeys(f for o in measured for f in SOURCES[o]))
    table = engine.lazy(customers).select(schema.ID, *flags)
    joined = segmented_frame(table, segments)
    positive = {
        o: (row_sum(SOURCES[o]) > 0) if len(SOURCES[o]) > 1 else (nw.col(o) > 0) for o in measured
    }
    counts = engine.to_pandas(
        joined.group_by(schema.SEGMENT)
        .agg(_customers=nw.len(), **{o: p.cast(nw.Int64).sum() for o, p in positive.items()})
        .sort(schema.SEGMENT)
    )
    long = counts.melt(
        id_vars=[schema.SEGMENT, "_customers"], value_vars=measured, var_name="outcome"
    ).rename(columns={"_customers": "customers", "value": "positives"})
    long["outcome"] = pd.Categorical(long["outcome"], categories=list(OUTCOMES), ordered=True)
    long = long.sort_values(["outcome", schema.SEGMENT]).reset_index(drop=True)
    long["outcome"] = long["outcome"].astype("str")
    result = _rates(long, z)
    note = _note(left_out, absent, int(counts["_customers"].sum()), len(counts))
    logger.info("%s", note)
    return result, note


def _rates(counts: pd.DataFrame, z: float) -> pd.DataFrame:
    """``counts`` (``segment``, ``outcome``, ``customers``, ``positives``) with the rates,
    intervals, overall rates and lifts.
    """
    table = counts.astype({schema.SEGMENT: "int64", "customers": "int64", "positives": "int64"})
    table["rate"] = table["positives"] / table["customers"]
    table["ci_low"], table["ci_high"] = wilson_interval(table["positives"], table["customers"], z)
    totals = table.groupby("outcome")[["positives", "customers"]].transform("sum")
    table["overall_rate"] = totals["positives"] / totals["customers"]
    table["lift"] = table["rate"] / table["overall_rate"].where(table["overall_rate"] > 0)
    return table[list(OUTCOME_COLUMNS)].astype(_DTYPES)


def _times(lift: float) -> str:
    """``2.1×``; two decimals when one would round to ``1.0×``, one significant digit when
    it would round to ``0.0×``.
    """
    text = f"{lift:.1f}"
    if text == "1.0":
        text = f"{lift:.2f}"
    elif text == "0.0":
        text = f"{lift:.1g}"
    return f"{text}×"


def shows_difference(row: Mapping[str, Any]) -> bool:
    """Whether a row's interval excludes the overall rate (and the lift is defined)."""
    lift = row["lift"]
    if lift is None or pd.isna(lift):
        return False
    return not row["ci_low"] <= row["overall_rate"] <= row["ci_high"]


def evidence_phrase(row: Mapping[str, Any]) -> str | None:
    """A phrase a segment's description may cite, e.g. "responded to the last campaign 2.1×
    as often as the average customer", from one row of :func:`segment_outcomes`.

    Only when the row's interval excludes the overall rate (:func:`shows_difference`): a
    segment whose interval contains it is not shown to differ, and gets ``None``; so does an
    outcome nobody had (no lift). A segment without a single positive gets e.g. "never
    accepted campaign 1 (6% of all customers did)".
    """
    if not shows_difference(row):
        return None
    outcome = row["outcome"]
    if row["positives"] == 0:
        return f"{NEVER[outcome]} ({row['overall_rate']:.0%} of all customers did)"
    return f"{VERBS[outcome]} {_times(float(row['lift']))} as often as the average customer"


def _label(segment: int, names: Mapping[int, str] | None) -> str:
    """A segment's name, or ``Segment <n>``."""
    if names and segment in names:
        return str(names[segment])
    return f"Segment {segment}"


def _overlaps(a: pd.Series, b: pd.Series) -> bool:
    """Whether two rows' intervals share a point."""
    return bool(a["ci_low"] <= b["ci_high"] and b["ci_low"] <= a["ci_high"])


def next_campaign_sentence(
    outcomes: pd.DataFrame, z: float, names: Mapping[int, str] | None = None
) -> str:
    """Segments ranked by their ``Response`` lift for the next campaign, in plain words.

    Names the top segment with its lift and the lift's interval (the segment's Wilson
    interval over the overall rate, which is taken as known), and says whether its interval
    overlaps another segment's (when it does, the ranking of those segments is not clear) and
    whether it holds the overall rate (then no segment is shown to respond more).

    Args:
        outcomes: from :func:`segment_outcomes`.
        z: the ``z`` the table was computed with (for the interval's level).
        names: segment number -> name (``Segment <n>`` for a number without one).
    """
    response = outcomes.loc[outcomes["outcome"] == RESPONSE]
    if response.empty:
        return (
            "No ranking for the next campaign: the customer table has no Response column "
            "(the last campaign's result)."
        )
    if not (response["overall_rate"] > 0).any():
        return "No ranking for the next campaign: no customer responded to the last campaign."
    ranked = response.sort_values(["lift", schema.SEGMENT], ascending=[False, True])
    top, others = ranked.iloc[0], ranked.iloc[1:]
    label = {int(s): _label(int(s), names) for s in ranked[schema.SEGMENT]}
    top_name = label[int(top[schema.SEGMENT])]
    overall = float(top["overall_rate"])
    order = ", ".join(
        f"{label[int(r[schema.SEGMENT])]} ({_times(r['lift'])})" for _, r in ranked.iterrows()
    )
    lead = (
        f"By response to the last campaign: {order}. {top_name} responded "
        f"{_times(top['lift'])} as often as the average customer ({confidence_level(z):.0%} "
        f"interval {top['ci_low'] / overall:.1f}–{top['ci_high'] / overall:.1f}×: "
        f"{top['rate']:.0%} of its {int(top['customers']):,} customers against "
        f"{overall:.0%} overall)"
    )
    if others.empty:
        ranking = "it is the only segment"
    else:
        close = [label[int(r[schema.SEGMENT])] for _, r in others.iterrows() if _overlaps(top, r)]
        if not close:
            ranking = (
                "its interval overlaps no other segment's, so it comes first for the next campaign"
            )
        elif len(close) == 1:
            ranking = (
                f"its interval overlaps {close[0]}'s, so the data do not tell which of the two "
                "responds better"
            )
        else:
            ranking = (
                f"its interval overlaps those of {', '.join(close[:-1])} and {close[-1]}, so "
                "the data do not tell which of these responds best"
            )
    if not shows_difference(top):
        ranking += "; the interval holds the average too, so no segment is shown to respond more"
    return f"{lead}; {ranking}."
