"""What the app shows about a model version beyond scoring, kept out of its pages so tests can
call it.

* Evidence per segment (Explore and Predict pages): bootstrap stability in
  ``segment_profiles``, ``segment_outcomes``, ``rfm_crosstab`` become tables and sentences
  (:func:`stability_table`, :func:`stability_sentence`, :func:`response_table`,
  :func:`campaign_evidence`, :func:`rfm_table`, ...); a version saved before the pipelines
  computed them gets :func:`not_available`'s message instead.
* Monitoring (Score and Compare pages): an upload's drift against the model version's training
  data (``drift_reference``) is :func:`upload_drift`; two model versions are compared by
  :func:`compare_versions` (the newer version's saved ``segment_migration`` when it was made
  against the older one, else the same comparison computed now), drawn by
  :func:`contingency_matrix`, :func:`migration_heatmap_spec` and :func:`migration_flows`.

Scoring itself (a form's customer, an uploaded file) is ``app_logic``'s; this module only reads
what a model version saved, or, for a comparison, computes it from two saved versions.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from customer_segmentation import schema
from customer_segmentation.core import outcomes
from customer_segmentation.core.modeling.stability import COLUMNS as _STABILITY_TABLE
from customer_segmentation.core.monitoring import drift, migration
from customer_segmentation.serving.versions import ModelVersion

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
    """One paragraph on how to read :func:`stability_table`: what was resampled (B resamples
    of N customers, from the profiles) and Hennig's reading of a mean Jaccard.

    Args:
        profiles: ``segment_profiles`` with the stability columns.
        thresholds: label -> the lowest mean Jaccard that earns it
            (``clustering.segment_stability.thresholds``).
        dissolution: a resample dissolves a segment at a Jaccard of at most this.
        recovery: a resample recovers it above this.
    """
    resamples = int(profiles["stability_resamples"].max())
    rows = int(profiles["stability_rows"].max())
    bounds = sorted(thresholds.items(), key=lambda item: item[1], reverse=True)
    reading = [f"≥ {bound:g} {label}" for label, bound in bounds[:-1]]
    if len(bounds) > 1:
        reading.append(f"below {bounds[-2][1]:g} {bounds[-1][0]}")
    return (
        f"K-Means was refitted on B = {resamples:,} bootstrap resamples of N = {rows:,} "
        "customers; a segment's score is the Jaccard similarity of its best-matching refit "
        "cluster, averaged over the resamples (± its standard error; Hennig's cluster-wise "
        f"bootstrap). Hennig's reading of the mean: {', '.join(reading)}. *Dissolved* is the "
        f"share of resamples where the best match reached at most {dissolution:g}, *recovered* "
        f"the share where it exceeded {recovery:g}."
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


# --------------------------------------------------------------------------------------
# Monitoring: an upload's drift, two versions compared
# --------------------------------------------------------------------------------------

# The node that writes ``drift_reference`` (for :func:`not_available`).
DRIFT_NODES: tuple[str, ...] = BACKFILL_NODES
PREVIOUS_SEGMENT = "previous_segment"
# The columns of the drift tables the Score page shows, in its order.
DRIFT_FEATURE_COLUMNS: tuple[str, ...] = (
    "feature",
    "verdict",
    "psi",
    "ks_statistic",
    "ks_pvalue",
    "mean_training",
    "mean_new",
    "standardised_mean_shift",
)
DRIFT_SEGMENT_COLUMNS: tuple[str, ...] = (
    "segment",
    "name",
    "share_training",
    "share_new",
    "share_change",
    "count_new",
)


def upload_drift(
    scored: pd.DataFrame,
    reference: Mapping[str, Any] | None,
    thresholds: drift.DriftThresholds,
    training_segments: pd.DataFrame | None = None,
) -> drift.DriftReport | None:
    """An upload's drift against the training data of the model version that scored it.

    Args:
        scored: ``app_logic.ScoredUpload.scored`` (``ID``, ``segment`` and the model's
            features), at least one row.
        reference: the version's ``drift_reference``; ``None`` when the version has none.
        thresholds: the ``monitoring.drift`` parameters (``psi``, ``cramers_v``).
        training_segments: the version's ``customer_segments`` (``ID``, ``segment``); when
            given, uploaded customers with a training ``ID`` are counted as moved or not.

    Returns:
        ``monitoring.drift.drift_report``'s features, segments and summary (its
        ``sentence`` first); ``None`` without a reference.
    """
    if reference is None:
        return None
    features = list(reference["features"])
    previous = None
    if training_segments is not None:
        known = training_segments[[schema.ID, "segment"]].rename(
            columns={"segment": PREVIOUS_SEGMENT}
        )
        known = known[known[schema.ID].isin(scored[schema.ID])]
        previous = known.astype({PREVIOUS_SEGMENT: "int64"}) if len(known) else None
    return drift.drift_report(
        reference,
        scored[[schema.ID, *features]],
        scored["segment"].astype("int64"),
        thresholds,
        previous=previous,
    )


def drift_segment_table(report: drift.DriftReport, names: Mapping[int, str]) -> pd.DataFrame:
    """The segment shares of :func:`upload_drift`'s report with the segments' names
    (:data:`DRIFT_SEGMENT_COLUMNS`).
    """
    table = report.segments.assign(
        name=[names.get(int(s), f"Segment {s}") for s in report.segments["segment"]]
    )
    return table[list(DRIFT_SEGMENT_COLUMNS)]


@dataclass(frozen=True)
class VersionComparison:
    """Two model versions compared: ``older`` and ``newer`` stamps, ``migration``
    (``monitoring.migration.segment_migration``'s result with ``previous_version`` and
    ``sentence``), and ``saved``: read from the newer version's ``segment_migration`` (True) or
    computed now (False).
    """

    older: str
    newer: str
    migration: dict[str, Any]
    saved: bool


def _version_segments(version: ModelVersion) -> migration.VersionSegments:
    """A model version as the migration reads it (its segments, card, scaler and model)."""
    return migration.VersionSegments.from_model(
        version.version,
        version.dataset("customer_segments"),
        version.bundle.card,
        version.bundle.scaler,
        version.bundle.model,
    )


def compare_versions(
    first: ModelVersion, second: ModelVersion, match_distance: float
) -> VersionComparison:
    """How the segments moved from the older of two model versions to the newer.

    The newer version's saved ``segment_migration`` when it was made against the older one
    (its ``previous_version``); otherwise the same comparison computed now
    (``migration.segment_migration`` of both versions' ``customer_segments``, card, scaler and
    model), kept with the newer version for later calls.

    Args:
        first, second: two different model versions, in either order.
        match_distance: ``monitoring.migration.match_distance``.

    Raises:
        ValueError: both are the same version.
    """
    if first.version == second.version:
        raise ValueError(f"pick two different model versions, not {first.version} twice")
    older, newer = sorted((first, second), key=lambda v: v.version)
    saved = newer.optional("segment_migration")
    if saved is not None and saved.get("previous_version") == older.version:
        return VersionComparison(older.version, newer.version, dict(saved), saved=True)

    def compute() -> dict[str, Any]:
        result = migration.segment_migration(
            _version_segments(older), _version_segments(newer), match_distance
        )
        return {
            "previous_version": older.version,
            "sentence": migration.migration_sentence(result),
            **result,
        }

    key = f"migration_from:{older.version}:{match_distance}"
    return VersionComparison(older.version, newer.version, newer.derived(key, compute), False)


def _contingency_cells(result: Mapping[str, Any]) -> pd.DataFrame:
    """The migration's contingency records, old then new segment order, with ``old`` and
    ``new`` labels (``"<number>: <name>"``).
    """
    long = pd.DataFrame(result["contingency"], columns=list(migration.CONTINGENCY_COLUMNS))
    long = long.sort_values(["old_segment", "new_segment"], kind="stable").reset_index(drop=True)
    return long.assign(
        old=[f"{s}: {n}" for s, n in zip(long["old_segment"], long["old_name"], strict=True)],
        new=[f"{s}: {n}" for s, n in zip(long["new_segment"], long["new_name"], strict=True)],
        customers=long["customers"].astype("int64"),
        share_of_old=long["share_of_old"].astype("float64"),
    )


def contingency_matrix(result: Mapping[str, Any], value: str = "customers") -> pd.DataFrame:
    """The migration's contingency table as a matrix: one row per old segment, one column per
    new one (``"<number>: <name>"``, in segment order), cells ``value`` (``customers`` or
    ``share_of_old``).
    """
    cells = _contingency_cells(result)
    rows, columns = list(dict.fromkeys(cells["old"])), list(dict.fromkeys(cells["new"]))
    matrix = cells.pivot(index="old", columns="new", values=value).loc[rows, columns]
    return matrix.rename_axis(
        index=f"model {result['old_version']}", columns=f"model {result['new_version']}"
    )


def migration_heatmap_spec(result: Mapping[str, Any]) -> dict[str, Any]:
    """The contingency table as a Vega-Lite heat map (``st.vega_lite_chart``): old segments
    down, new segments across, coloured by the share of the old segment's customers, each cell
    writing its customers.
    """
    cells = _contingency_cells(result)[["old", "new", "customers", "share_of_old"]]
    cells = cells.fillna({"share_of_old": 0.0})
    x = {
        "field": "new",
        "type": "nominal",
        "sort": list(dict.fromkeys(cells["new"])),
        "title": f"model {result['new_version']}",
    }
    y = {
        "field": "old",
        "type": "nominal",
        "sort": list(dict.fromkeys(cells["old"])),
        "title": f"model {result['old_version']}",
    }
    return {
        "data": {"values": cells.to_dict(orient="records")},
        "layer": [
            {
                "mark": {"type": "rect"},
                "encoding": {
                    "x": x,
                    "y": y,
                    "color": {
                        "field": "share_of_old",
                        "type": "quantitative",
                        "title": "share of the old segment",
                        "scale": {"domain": [0, 1], "scheme": "blues"},
                    },
                    "tooltip": [
                        {"field": "old", "type": "nominal"},
                        {"field": "new", "type": "nominal"},
                        {"field": "customers", "type": "quantitative", "format": ","},
                        {"field": "share_of_old", "type": "quantitative", "format": ".1%"},
                    ],
                },
            },
            {
                "mark": {"type": "text", "baseline": "middle"},
                "encoding": {
                    "x": x,
                    "y": y,
                    "text": {"field": "customers", "type": "quantitative", "format": ","},
                    "color": {
                        "condition": {
                            "test": f"datum.share_of_old > {_MAJORITY}",
                            "value": "white",
                        },
                        "value": "black",
                    },
                },
            },
        ],
    }


def migration_flows(result: Mapping[str, Any]) -> tuple[list[str], pd.DataFrame]:
    """The migration as flows for a Sankey diagram: the node labels (the old version's
    segments ``"<number>: <name>"``, then the new version's) and one row per pair of segments
    with customers: ``source`` and ``target`` (positions in the labels), ``customers``.
    """
    cells = _contingency_cells(result)
    olds = list(dict.fromkeys(cells["old"]))
    news = list(dict.fromkeys(cells["new"]))
    labels = olds + news
    moved = cells[cells["customers"] > 0]
    flows = pd.DataFrame(
        {
            "source": [olds.index(o) for o in moved["old"]],
            "target": [len(olds) + news.index(n) for n in moved["new"]],
            "customers": moved["customers"].to_numpy(),
        }
    )
    return labels, flows
