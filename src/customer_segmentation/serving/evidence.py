"""What the app shows about a model version's segments, kept out of its pages so tests can call
them: bootstrap stability (in ``segment_profiles``), campaign outcomes (``segment_outcomes``) and
RFM beside K-Means (``rfm_crosstab``) as tables and sentences (:func:`stability_table`,
:func:`stability_sentence`, :func:`response_table`, :func:`campaign_evidence`, :func:`rfm_table`,
...); a version saved before the pipelines computed them gets :func:`not_available`'s message
instead. Scoring is ``serving.score``'s and ``serving.predict``'s; comparing versions and an
upload's drift are ``serving.monitoring``'s.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any

import pandas as pd

from customer_segmentation import schema
from customer_segmentation.core import outcomes
from customer_segmentation.core.modeling import stability
from customer_segmentation.core.modeling.stability import COLUMNS as _STABILITY_TABLE

# --------------------------------------------------------------------------------------
# Evidence per segment: stability, campaign outcomes, RFM
# --------------------------------------------------------------------------------------

NOT_AVAILABLE = "not available for this version"
# The stability columns of ``segment_profiles`` (``modeling.stability``).
STABILITY_COLUMNS: tuple[str, ...] = tuple(c for c in _STABILITY_TABLE if c != "segment")
# The outcomes the Explore page tabulates, with what a customer with the flag did.
RESPONSE_OUTCOMES: dict[str, str] = {
    outcomes.RESPONSE: "responded to the last campaign",
    outcomes.ANY_CAMPAIGN: "accepted any campaign",
}
# The columns of :func:`rfm_table` before the RFM groups'.
RFM_LEADING: tuple[str, ...] = ("segment", "name", "customers", "largest_group")
# "Found it again": the segment was recovered in a majority of the resamples.
_MAJORITY = 0.5


# Adds the evidence to an existing version: the nodes that compute it and those downstream.
# The report reads every evidence dataset, so all of them are computed again together.
BACKFILL_NODES: tuple[str, ...] = (
    "assess_segment_stability",
    "keep_drift_reference",
    "campaign_outcomes",
    "score_rfm",
    "compare_with_previous_model",
    "compare_methods",
    "fit_segment_membership",
)


def not_available(what: str, version: str, nodes: Sequence[str] = BACKFILL_NODES) -> str:
    """``<what> is not available for this version: ...``, the message for a version saved
    before the pipelines computed ``what``, with the commands that give it (``nodes``: those
    that compute it, default the segment evidence's :data:`BACKFILL_NODES`).
    """
    return (
        f"{what} is {NOT_AVAILABLE}: model version `{version}` was saved before the pipelines "
        "computed it. Train a new version with `kedro run`, or, while the project's customer "
        "tables are still those this version was trained on, add it to this version with "
        f"`kedro run --from-nodes {','.join(nodes)} --params model_version={version}`."
    )


def figure_order(
    available: Sequence[str], first: Sequence[str], elsewhere: Collection[str] = ()
) -> list[str]:
    """The figures a page lists in its gallery: those of ``first`` the version has, in that
    order, then the version's other figures; none of ``elsewhere`` (the page shows them in
    their own sections), none twice.
    """
    held = [n for n in dict.fromkeys(available) if n not in set(elsewhere)]
    return [n for n in first if n in held] + [n for n in held if n not in set(first)]


def has_stability(profiles: pd.DataFrame | None) -> bool:
    """Whether ``segment_profiles`` has the stability columns (versions saved before the
    pipelines computed them have not).
    """
    return profiles is not None and set(STABILITY_COLUMNS) <= set(profiles.columns)


def _plus_minus(mean: float, se: float) -> str:
    """``0.82 ± 0.02``; three decimals when the standard error rounds to 0.00; the mean alone
    when there is no standard error (one resample).
    """
    if pd.isna(se):
        return f"{mean:.2f}"
    decimals = 2 if round(se, 2) > 0 else 3
    return f"{mean:.{decimals}f} ± {se:.{decimals}f}"


def stability_table(profiles: pd.DataFrame | None) -> pd.DataFrame | None:
    """Each segment's bootstrap stability as the Explore page shows it.

    Args:
        profiles: ``segment_profiles`` (``segment``, ``name`` and the stability columns).

    Returns:
        ``segment``, ``name``, ``mean_jaccard`` (``"0.82 ± 0.02"``: the mean and its standard
        error), ``reading`` (the label), ``dissolved`` and ``recovered`` (shares of the
        resamples that held the segment); ``None`` when the profiles have no stability columns.
    """
    if not has_stability(profiles):
        return None
    rows = profiles.sort_values("segment")
    return pd.DataFrame(
        {
            "segment": rows["segment"].astype("int64").to_numpy(),
            "name": rows["name"].astype(str).to_numpy(),
            "mean_jaccard": [
                _plus_minus(float(m), float(e))
                for m, e in zip(
                    rows["stability_jaccard"], rows["stability_jaccard_se"], strict=True
                )
            ],
            "reading": rows["stability_label"].fillna("not resampled").to_numpy(),
            "dissolved": rows["stability_dissolved"].astype("float64").to_numpy(),
            "recovered": rows["stability_recovered"].astype("float64").to_numpy(),
        }
    )


def stability_reading(
    profiles: pd.DataFrame, thresholds: Mapping[str, float], dissolution: float, recovery: float
) -> str:
    """One paragraph on how to read :func:`stability_table`: what was resampled and Hennig's
    reading of a mean Jaccard (``stability.how_to_read``, as the report says it), and what
    *dissolved* and *recovered* count.

    Args:
        profiles: ``segment_profiles`` with the stability columns.
        thresholds: label -> the lowest mean Jaccard that earns it
            (``clustering.segment_stability.thresholds``).
        dissolution: a resample dissolves a segment at a Jaccard of at most this.
        recovery: a resample recovers it above this.
    """
    return (
        f"{stability.how_to_read(profiles, thresholds)} *Dissolved* is the share of resamples "
        f"where the best match reached at most {dissolution:g}, *recovered* the share where it "
        f"exceeded {recovery:g}."
    )


def stability_sentence(profiles: pd.DataFrame | None, segment: int) -> str | None:
    """How stable one segment is, in a sentence, e.g. "Segment 2 is highly stable: refits on
    100 resamples found it again with a mean Jaccard of 0.99 ± 0.01; it dissolved in none of
    them."; ``None`` when the profiles have no stability columns.
    """
    if not has_stability(profiles):
        return None
    row = profiles.set_index("segment").loc[segment]
    label = row["stability_label"]
    skipped = int(row["stability_skipped"])
    counted = int(row["stability_resamples"]) - skipped
    if counted == 0 or pd.isna(label):
        return (
            f"Segment {segment} was in none of the {skipped:,} resamples: its stability is unknown."
        )
    verb = "found it again" if row["stability_recovered"] > _MAJORITY else "matched it"
    dissolved = float(row["stability_dissolved"])
    share = "none" if dissolved == 0 else f"{dissolved:.0%}"
    absent = f" ({skipped:,} resamples held none of its customers)" if skipped else ""
    return (
        f"Segment {segment} is {label}: refits on {counted:,} resamples{absent} {verb} with a "
        f"mean Jaccard of {_plus_minus(float(row['stability_jaccard']), float(row['stability_jaccard_se']))}; "
        f"it dissolved in {share} of them."
    )


def _rate_with_interval(row: Mapping[str, Any]) -> str:
    """``41.2% (36.0–46.7%)``."""
    return f"{row['rate']:.1%} ({row['ci_low']:.1%}–{row['ci_high']:.1%})"


def response_table(table: pd.DataFrame, names: Mapping[int, str]) -> pd.DataFrame:
    """The segments' rates of :data:`RESPONSE_OUTCOMES` with their intervals and lifts, as
    text for the Explore page.

    Args:
        table: ``segment_outcomes`` (``segment``, ``outcome``, ``customers``, ``rate``,
            ``ci_low``, ``ci_high``, ``lift``).
        names: segment -> name.

    Returns:
        ``segment``, ``name``, ``customers`` and, for each of those outcomes the table has,
        ``<outcome> rate`` (``"41.2% (36.0–46.7%)"``: the rate and its interval) and
        ``<outcome> lift`` (``"2.80×"``: the rate over all customers' rate); no rows when the
        table has none of them.
    """
    shown = [o for o in RESPONSE_OUTCOMES if (table["outcome"] == o).any()]
    result = pd.DataFrame(columns=["segment", "name", "customers"])
    for outcome in shown:
        rows = table[table["outcome"] == outcome].sort_values("segment")
        if result.empty:
            result = pd.DataFrame(
                {
                    "segment": rows["segment"].astype("int64").to_numpy(),
                    "name": [names.get(int(s), f"Segment {s}") for s in rows["segment"]],
                    "customers": rows["customers"].astype("int64").to_numpy(),
                }
            )
        cells = rows.set_index("segment")
        result[f"{outcome} rate"] = [_rate_with_interval(cells.loc[s]) for s in result["segment"]]
        result[f"{outcome} lift"] = [
            "–" if pd.isna(cells.loc[s, "lift"]) else f"{cells.loc[s, 'lift']:.2f}×"
            for s in result["segment"]
        ]
    return result


def overall_rates(table: pd.DataFrame, z: float) -> str | None:
    """What the lifts of :func:`response_table` divide by, and the intervals' level, in a
    sentence; ``None`` when the table has none of :data:`RESPONSE_OUTCOMES`.
    """
    parts = [
        f"{table.loc[table['outcome'] == o, 'overall_rate'].iloc[0]:.1%} of all customers {verb}"
        for o, verb in RESPONSE_OUTCOMES.items()
        if (table["outcome"] == o).any()
    ]
    if not parts:
        return None
    return (
        f"{'; '.join(parts)}. Each rate has its {outcomes.confidence_level(z):.0%} Wilson "
        "interval; the lift is the segment's rate over all customers' rate. A segment whose "
        "interval holds all customers' rate is not shown to differ from them."
    )


def outcomes_note(table: pd.DataFrame) -> str | None:
    """Why outcomes are missing from ``segment_outcomes``: the customer table lacked their
    columns (the pipeline leaves out an outcome whose flags were absent rather than count an
    absent flag as 0); ``None`` when :data:`RESPONSE_OUTCOMES` were all measured.
    """
    if table.empty:
        flags = ", ".join(schema.FLAG_COLUMNS)
        return (
            "No campaign outcomes for this version: the customer table it was trained on had "
            f"none of the columns {flags}, so there was nothing to measure (the data contract "
            "fills an absent flag with 0, which would read as a rate of 0)."
        )
    left_out = [o for o in RESPONSE_OUTCOMES if not (table["outcome"] == o).any()]
    if not left_out:
        return None
    flags = sorted(
        {f for o in left_out for f in outcomes.SOURCES[o]}, key=schema.FLAG_COLUMNS.index
    )
    return (
        f"Not measured: {', '.join(left_out)}. The customer table lacked at least one of "
        f"{', '.join(flags)} (an absent flag is filled with 0, which would read as a rate of 0)."
    )


def campaign_evidence(table: pd.DataFrame | None, segment: int, z: float) -> str | None:
    """One segment's response to the last campaign, in a sentence: the outcome's evidence
    phrase (``outcomes.evidence_phrase``) when its interval excludes all customers' rate, its
    rate with the interval against all customers' rate otherwise; ``None`` when the version
    has no ``segment_outcomes``.

    Args:
        table: ``segment_outcomes`` of the version (``None``: the version has none).
        segment: the segment.
        z: the standard normal deviates of the intervals (``reporting.outcomes.z``).
    """
    if table is None:
        return None
    rows = table[(table["outcome"] == outcomes.RESPONSE) & (table["segment"] == segment)]
    if rows.empty:
        return (
            "No campaign evidence: the customer table had no Response column (the last "
            "campaign's result)."
        )
    row = rows.iloc[0]
    level = f"{outcomes.confidence_level(z):.0%}"
    numbers = (
        f"{row['rate']:.0%} of its {int(row['customers']):,} customers responded ({level} "
        f"interval {row['ci_low']:.0%}–{row['ci_high']:.0%}), against "
        f"{row['overall_rate']:.0%} of all customers"
    )
    phrase = outcomes.evidence_phrase(row)
    if phrase is not None:
        return f"Segment {segment} {phrase}: {numbers}."
    return (
        f"Segment {segment} is not shown to respond to campaigns differently from the average "
        f"customer: {numbers}."
    )


def rfm_table(crosstab: pd.DataFrame, names: Mapping[int, str]) -> pd.DataFrame:
    """K-Means segment x RFM group as the Explore page shows it.

    Args:
        crosstab: ``rfm_crosstab`` (``segment``, ``rfm_group``, ``customers``, ``share``).
        names: segment -> name.

    Returns:
        One row per segment: ``segment``, ``name``, ``customers``, ``largest_group``, then one
        column per RFM group (in the crosstab's order) with the share of the segment's
        customers in it.
    """
    groups = list(dict.fromkeys(crosstab["rfm_group"]))
    shares = crosstab.pivot(index="segment", columns="rfm_group", values="share")[groups]
    counts = crosstab.groupby("segment")["customers"].sum()
    table = pd.DataFrame(
        {
            "segment": shares.index.astype("int64"),
            "name": [names.get(int(s), f"Segment {s}") for s in shares.index],
            "customers": counts.reindex(shares.index).astype("int64").to_numpy(),
            "largest_group": shares.idxmax(axis=1).to_numpy(),
        }
    )
    return pd.concat([table, shares.reset_index(drop=True).rename_axis(columns=None)], axis=1)


def rfm_reading(levels: int, features: Sequence[str]) -> str:
    """How to read :func:`rfm_table`, in a paragraph.

    Args:
        levels: the RFM score levels (``reporting.rfm.levels``).
        features: the model's features (the model card's ``features``).
    """
    return (
        "Each row is a K-Means segment; each cell is the share of its customers in an RFM "
        "group (the heat map colours the same shares and writes the counts). RFM scores "
        "recency (days since the last purchase, reversed), frequency (web, catalogue and store "
        f"purchases) and monetary value (total spending) from 1 to {levels} by quantile, and "
        "names groups by rules on the three scores (`reporting.rfm` in "
        "parameters_reporting.yml). A segment concentrated in one group is one RFM finds too; "
        "a segment spread over several groups, or a group shared by several segments, is "
        f"where K-Means, which reads {', '.join(features)}, sees the customers differently."
    )
