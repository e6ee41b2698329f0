"""What the Streamlit app computes, kept out of its pages so tests can call it.

Two paths, both the pipeline's own code from end to end:

* a form (one customer's fields) -> :func:`form_table` (one row of text in the Kaggle layout)
  -> ``contract.check_rows`` (the same rules and messages as a file row) ->
  ``features.build_features`` -> ``scoring.score_customers`` / ``scoring.explain``:
  :func:`predict_customer`. A row the contract rejects raises :class:`FormRejected` with the
  contract's reason in the form's words.
* an uploaded export (bytes) -> ``contract.prepare_customers`` ->
  ``features.build_features`` -> ``scoring.score_customers``: :func:`score_upload`.

An upload's drift against the model version's training data (``drift_reference``) is
:func:`upload_drift`; two model versions are compared by :func:`compare_versions` (the newer
version's saved ``segment_migration`` when it was made against the older one, else the same
comparison computed now), drawn by :func:`contingency_matrix`, :func:`migration_heatmap_spec`
and :func:`migration_flows`.

A model version's evidence per segment (bootstrap stability in ``segment_profiles``,
``segment_outcomes``, ``rfm_crosstab``) becomes the tables and sentences the Explore and Predict
pages show (:func:`stability_table`, :func:`stability_sentence`, :func:`response_table`,
:func:`campaign_evidence`, :func:`rfm_table`, ...); a version saved before the pipelines computed
it gets :func:`not_available`'s message instead.

Features are always built with the model card's ``reference_date`` and ``partner_statuses``, so a
customer gets the features the model was trained on. Values outside the training range (the
card's ``feature_ranges``) are flagged, never clipped.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.colors import to_hex
from sklearn.decomposition import PCA

from customer_segmentation import engine, figures, maps, outcomes, schema
from customer_segmentation.contract import (
    CustomerDataError,
    RawCustomerFile,
    check_rows,
    prepare_customers,
)
from customer_segmentation.features import feature_frame
from customer_segmentation.model_store import ModelBundle, ModelVersion
from customer_segmentation.modeling.stability import COLUMNS as _STABILITY_TABLE
from customer_segmentation.monitoring import drift, migration
from customer_segmentation.params import DataProcessingParams
from customer_segmentation.scoring import explain, scale_features, score_customers

logger = logging.getLogger(__name__)

# Streamlit's uploader counts megabytes as 1,000,000 bytes (on Linux and macOS): the limit and
# the sizes the page shows agree with what the uploader shows.
_BYTES_PER_MB = 1_000_000
# Form fields that stand in for Kaggle columns.
AGE = "Age"
TOTAL_SPENDING = "Total_Spending"
FORM_ID = 0  # the ID given to the one customer of a form
FORM_SOURCE = "the form"

# What the form calls each field (the pages' labels and the rejection messages).
FIELD_LABELS: dict[str, str] = {
    "Year_Birth": "Birth year",
    AGE: "Age",
    "Income": "Yearly household income",
    "Recency": "Days since the last purchase",
    TOTAL_SPENDING: "Total spending on all products",
    "MntWines": "Wine",
    "MntFruits": "Fruit",
    "MntMeatProducts": "Meat",
    "MntFishProducts": "Fish",
    "MntSweetProducts": "Sweets",
    "MntGoldProds": "Gold",
    "NumDealsPurchases": "Purchases with a discount",
    "NumWebPurchases": "Web purchases",
    "NumCatalogPurchases": "Catalogue purchases",
    "NumStorePurchases": "Store purchases",
    "NumWebVisitsMonth": "Web visits per month",
    "Kidhome": "Children at home",
    "Teenhome": "Teenagers at home",
    "Marital_Status": "Marital status",
    "Education": "Education",
    schema.DATE_COLUMN: "Customer since",
    **{c: f"Campaign {c.removeprefix('AcceptedCmp')}" for c in schema.CAMPAIGN_COLUMNS},
}
# The form's fields in the Kaggle layout: every required column and the campaign flags.
FORM_COLUMNS: tuple[str, ...] = (*schema.REQUIRED_COLUMNS, *schema.CAMPAIGN_COLUMNS)


class UploadTooLargeError(CustomerDataError):
    """An uploaded file is larger than the app accepts."""


class FormRejected(ValueError):
    """The data contract rejects the customer typed into the form; the message says which
    rule, in the form's words.
    """

    def __init__(self, message: str, reason_code: str) -> None:
        super().__init__(message)
        self.reason_code = reason_code


@dataclass(frozen=True)
class Prediction:
    """The segment of one customer and why.

    ``explanation`` is :func:`scoring.explain`'s table; ``out_of_range`` lists the model features
    whose value lies outside the training range (``feature``, ``value``, ``min``, ``max``);
    ``margin_percentile`` is the share of training customers that belong less clearly (``None``
    when the training margins are not given).
    """

    segment: int
    name: str
    description: str
    action: str
    distance: float
    runner_up: int
    runner_up_name: str
    runner_up_distance: float
    margin: float
    margin_percentile: float | None
    explanation: pd.DataFrame
    out_of_range: pd.DataFrame
    features: pd.DataFrame


@dataclass(frozen=True)
class ScoredUpload:
    """An uploaded table after scoring.

    ``scored``: ``ID``, ``segment``, ``name``, ``distance``, ``runner_up``,
    ``runner_up_distance``, ``margin``, ``outside_training_range`` (comma-separated features, empty
    when none) and the model features; ``distribution``: ``segment``, ``name``, ``customers``,
    ``share``; ``rejected`` and ``report`` from ``contract``.
    """

    scored: pd.DataFrame
    distribution: pd.DataFrame
    rejected: pd.DataFrame
    report: dict[str, Any]


# --------------------------------------------------------------------------------------
# Shared steps
# --------------------------------------------------------------------------------------


def model_features_of(clean: pd.DataFrame, bundle: ModelBundle) -> pd.DataFrame:
    """Features of clean customers as the model of ``bundle`` was trained on them
    (the card's reference date and partner statuses).
    """
    return engine.to_pandas(
        feature_frame(engine.lazy(clean), bundle.reference_date, bundle.card["partner_statuses"])
    )


def outside_training_range(features: pd.DataFrame, card: Mapping[str, Any]) -> pd.DataFrame:
    """Values of the model's features outside the range seen in training.

    Args:
        features: needs ``ID`` and the card's ``features``.
        card: the model card (``features``, ``feature_ranges`` with ``min``/``max``).

    Returns:
        One row per flagged value: ``ID``, ``feature``, ``value``, ``min``, ``max``.
    """
    rows = []
    for feature in card["features"]:
        low = float(card["feature_ranges"][feature]["min"])
        high = float(card["feature_ranges"][feature]["max"])
        values = features[feature].astype("float64")
        outside = (values < low) | (values > high)
        rows.append(
            pd.DataFrame(
                {
                    schema.ID: features.loc[outside, schema.ID].to_numpy(),
                    "feature": feature,
                    "value": values[outside].to_numpy(),
                    "min": low,
                    "max": high,
                }
            )
        )
    columns = [schema.ID, "feature", "value", "min", "max"]
    flagged = [r for r in rows if not r.empty]
    return pd.concat(flagged, ignore_index=True) if flagged else pd.DataFrame(columns=columns)


# --------------------------------------------------------------------------------------
# One customer (the form)
# --------------------------------------------------------------------------------------


def _text(value: Any) -> str:
    """A form value as an export would write it (missing: empty)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, int | float | np.integer | np.floating):
        number = float(value)
        return str(int(number)) if number.is_integer() else repr(number)
    if isinstance(value, pd.Timestamp):
        return value.date().isoformat()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def spread_spending(total: int) -> dict[str, int]:
    """A whole total split over the product categories in whole amounts (the total is what
    the features read; the categories' split is unknown, so it is as even as whole numbers
    allow).
    """
    base, extra = divmod(int(total), len(schema.SPEND_COLUMNS))
    return {c: base + (i < extra) for i, c in enumerate(schema.SPEND_COLUMNS)}


def form_table(values: Mapping[str, Any], ref_date: pd.Timestamp) -> pd.DataFrame:
    """One customer's form fields as one row of text in the Kaggle layout, as a file row
    arrives at the data contract.

    Args:
        values: the Kaggle fields; ``Year_Birth`` may be given as ``Age`` (at ``ref_date``),
            the six ``Mnt*`` as ``Total_Spending`` (a whole number, spread by
            :func:`spread_spending`). ``Dt_Customer`` defaults to ``ref_date``, the campaign
            flags to 0. A field left out is missing, and the contract says so.
        ref_date: the model's reference date (model card).

    Returns:
        ``source_row`` and :data:`FORM_COLUMNS`, every value a string; ``ID`` is
        :data:`FORM_ID`.
    """
    row: dict[str, Any] = {c: values.get(c) for c in FORM_COLUMNS}
    row[schema.ID] = FORM_ID
    if row["Year_Birth"] is None and values.get(AGE) is not None:
        row["Year_Birth"] = ref_date.year - int(values[AGE])
    if all(row[c] is None for c in schema.SPEND_COLUMNS) and values.get(TOTAL_SPENDING) is not None:
        row.update(spread_spending(values[TOTAL_SPENDING]))
    if row[schema.DATE_COLUMN] is None:
        row[schema.DATE_COLUMN] = ref_date
    for column in schema.CAMPAIGN_COLUMNS:
        row[column] = row[column] or 0
    table = pd.DataFrame([{c: _text(v) for c, v in row.items()}], dtype=str)
    table.insert(0, "source_row", np.int64(1))
    return table


def in_form_words(reason: str, values: Mapping[str, Any]) -> str:
    """A rejection reason of the data contract with the form's labels for its column names
    (``Year_Birth '1890' is before 1901`` -> ``Birth year 1890 is before 1901``); a birth year
    that came from an age says so.
    """
    parts = []
    for part in reason.split("; "):
        column = part.split(" ", 1)[0]
        label = FIELD_LABELS.get(column, column)
        rest = part[len(column) :]
        rest = re.sub(r"^ '([^']*)'", r" \1", rest)
        if column == "Year_Birth" and values.get("Year_Birth") is None and AGE in values:
            label = f"Birth year (from age {values[AGE]})"
        parts.append(label + rest)
    return "; ".join(parts)


def check_form(
    values: Mapping[str, Any], bundle: ModelBundle, data_params: DataProcessingParams
) -> pd.DataFrame:
    """The form's customer through the data contract: its clean row, or a refusal.

    Raises:
        FormRejected: a rule of the contract rejects the row (message in the form's words).
    """
    table = form_table(values, bundle.reference_date)
    checked = check_rows(table, FORM_SOURCE, data_params)
    clean, rejected = (
        engine.to_pandas_table(checked.clean),
        engine.to_pandas_table(checked.rejected),
    )
    if len(rejected):
        reason = str(rejected["reason"].iloc[0])
        code = str(rejected["reason_code"].iloc[0])
        raise FormRejected(f"{in_form_words(reason, values)} (data contract rule {code})", code)
    return clean


def predict_customer(
    values: Mapping[str, Any],
    bundle: ModelBundle,
    data_params: DataProcessingParams,
    training_margins: np.ndarray | None = None,
) -> Prediction:
    """Segment, name, action and explanation for one customer typed into the form.

    Args:
        values: see :func:`form_table`.
        bundle: the model version to use.
        data_params: the ``data_processing`` parameters (the contract's rules).
        training_margins: the training customers' margins, sorted ascending (the model
            version's ``customer_segments``), to say how clearly this customer belongs
            compared with them; optional.

    Raises:
        FormRejected: the data contract rejects the customer.
    """
    clean = check_form(values, bundle, data_params)
    features = model_features_of(clean, bundle)
    scored = score_customers(features, bundle.scaler, bundle.model).iloc[0]
    segments = bundle.segment_table().set_index("segment")
    own, runner = int(scored["segment"]), int(scored["runner_up"])
    percentile = None
    if training_margins is not None and len(training_margins):
        below = np.searchsorted(training_margins, scored["margin"], side="left")
        percentile = float(below / len(training_margins))
    return Prediction(
        segment=own,
        name=str(segments.loc[own, "name"]),
        description=str(segments.loc[own, "description"]),
        action=str(segments.loc[own, "action"]),
        distance=float(scored["distance"]),
        runner_up=runner,
        runner_up_name=str(segments.loc[runner, "name"]),
        runner_up_distance=float(scored["runner_up_distance"]),
        margin=float(scored["margin"]),
        margin_percentile=percentile,
        explanation=explain(features, bundle.scaler, bundle.model),
        out_of_range=outside_training_range(features, bundle.card),
        features=features,
    )


def form_defaults(card: Mapping[str, Any]) -> dict[str, Any]:
    """Starting values for the form: the model version's typical training customer (the median
    of each field, the most common categories), plus ``Age`` and ``Total_Spending``.
    """
    ref_date = pd.Timestamp(card["reference_date"])
    defaults = dict(card["typical_customer"])
    defaults[schema.DATE_COLUMN] = pd.Timestamp(defaults[schema.DATE_COLUMN]).date()
    defaults[AGE] = int(ref_date.year - defaults["Year_Birth"])
    defaults[TOTAL_SPENDING] = int(sum(defaults[c] for c in schema.SPEND_COLUMNS))
    return defaults


def map_position(
    projection: PCA, bundle: ModelBundle, features: pd.DataFrame
) -> tuple[float, float]:
    """Where a customer lands on the model version's PCA segment map."""
    point = projection.transform(scale_features(features, bundle.scaler, bundle.model))
    return float(point[0, 0]), float(point[0, 1])


# --------------------------------------------------------------------------------------
# A file (the upload)
# --------------------------------------------------------------------------------------


def check_upload_size(size: int, max_megabytes: float, source: str) -> None:
    """Refuse a file above ``max_megabytes`` (``server.maxUploadSize``) with a clear message.

    Raises:
        UploadTooLargeError: the file is larger than the limit.
    """
    if size > max_megabytes * _BYTES_PER_MB:
        raise UploadTooLargeError(
            f"{source} is {size / _BYTES_PER_MB:,.1f} MB; the app accepts files up to "
            f"{max_megabytes:,.0f} MB (server.maxUploadSize in .streamlit/config.toml). Score "
            "larger tables with `kedro run --params raw_customers_path=PATH`."
        )


def score_upload(
    content: bytes,
    name: str,
    bundle: ModelBundle,
    data_params: DataProcessingParams,
    max_megabytes: float,
) -> ScoredUpload:
    """Parse, validate, featurise and score an uploaded customer table.

    Args:
        content: the file's bytes (a text table: CSV/TSV in the Kaggle layout).
        name: the file's name, used in messages.
        bundle: the model version to use.
        data_params: the ``data_processing`` parameters (the pipeline's validation rules).
        max_megabytes: the largest file accepted.

    Returns:
        A :class:`ScoredUpload`; rejected rows carry ``reason_code`` and ``reason``.

    Raises:
        UploadTooLargeError: the file is too large.
        CustomerDataError: the file is not a customer table (the message says why).
    """
    check_upload_size(len(content), max_megabytes, name)
    result = prepare_customers(RawCustomerFile(name=name, content=content), data_params)
    clean, rejected = engine.to_pandas_table(result.clean), engine.to_pandas_table(result.rejected)
    scored, distribution = score_clean(clean, bundle)
    logger.info(
        "Scored %d rows of %s with model %s (%d rejected)",
        len(scored),
        name,
        bundle.version,
        len(rejected),
    )
    return ScoredUpload(
        scored=scored, distribution=distribution, rejected=rejected, report=result.report
    )


def score_clean(clean: pd.DataFrame, bundle: ModelBundle) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Segments of clean customers with a model version: the Score page's and the ``scoring``
    pipeline's one path.

    Returns:
        ``scored`` (``ID``, ``segment``, ``name``, ``distance``, ``runner_up``,
        ``runner_up_distance``, ``margin``, ``outside_training_range`` (the features outside
        the training range, comma-separated) and the model's features) and the segment
        ``distribution`` (``segment``, ``name``, ``customers``, ``share``).
    """
    names = bundle.segment_names()
    feature_names = list(bundle.card["features"])
    if clean.empty:
        scored = pd.DataFrame(
            columns=[
                schema.ID,
                "segment",
                "name",
                "distance",
                "runner_up",
                "runner_up_distance",
                "margin",
                "outside_training_range",
                *feature_names,
            ]
        )
    else:
        features = model_features_of(clean, bundle)
        scored = score_customers(features, bundle.scaler, bundle.model)
        scored.insert(2, "name", scored["segment"].map(names))
        flagged = outside_training_range(features, bundle.card)
        per_row = flagged.groupby(schema.ID)["feature"].agg(", ".join)
        scored["outside_training_range"] = scored[schema.ID].map(per_row).astype(object).fillna("")
        scored = pd.concat([scored, features[feature_names].reset_index(drop=True)], axis=1)
    counts = scored["segment"].value_counts()
    distribution = pd.DataFrame(
        {
            "segment": sorted(names),
            "name": [names[s] for s in sorted(names)],
            "customers": [int(counts.get(s, 0)) for s in sorted(names)],
        }
    )
    total = max(int(distribution["customers"].sum()), 1)
    distribution["share"] = distribution["customers"] / total
    return scored, distribution


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
        scored: :attr:`ScoredUpload.scored` (``ID``, ``segment`` and the model's features), at
            least one row.
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


# --------------------------------------------------------------------------------------
# The segment map, drawn in the browser
# --------------------------------------------------------------------------------------


def map_spec(
    points: pd.DataFrame, names: Mapping[int, str], axis_titles: tuple[str, str]
) -> dict[str, Any]:
    """The model version's PCA map as a Vega-Lite spec (``st.vega_lite_chart``; hover, zoom): the
    sampled training customers and the centroids (``segment_map_points``) in the colours of the
    report's figures. The same for every session of a version: build it once
    (``ModelVersion.derived``) and add each customer with :func:`with_customer`.
    """
    labels = {int(s): f"{s}: {name}" for s, name in names.items()}
    order = sorted(labels)
    labelled = points.assign(label=points["segment"].map(labels))
    colour = {
        "field": "label",
        "type": "nominal",
        "title": "segment",
        "scale": {
            "domain": [labels[s] for s in order],
            "range": [to_hex(figures.segment_colour(s)) for s in order],
        },
    }
    x = {"field": "x", "type": "quantitative", "title": axis_titles[0]}
    y = {"field": "y", "type": "quantitative", "title": axis_titles[1]}
    return {
        "datasets": {
            "customers": labelled[labelled["kind"] == maps.CUSTOMER][["x", "y", "label", "ID"]],
            "centroids": labelled[labelled["kind"] == maps.CENTROID][["x", "y", "label"]],
        },
        "params": [{"name": "zoom", "select": "interval", "bind": "scales"}],
        "layer": [
            {
                "data": {"name": "customers"},
                "mark": {"type": "circle", "opacity": 0.45, "size": 14},
                "encoding": {"x": x, "y": y, "color": colour, "tooltip": _tooltip("label", "ID")},
            },
            {
                "data": {"name": "centroids"},
                "mark": {
                    "type": "point",
                    "shape": "cross",
                    "filled": True,
                    "stroke": "black",
                    "strokeWidth": 1,
                    "size": 260,
                },
                "encoding": {"x": x, "y": y, "color": colour, "tooltip": _tooltip("label")},
            },
        ],
    }


def with_customer(spec: dict[str, Any], position: tuple[float, float]) -> dict[str, Any]:
    """``spec`` (:func:`map_spec`) with one more layer: the customer, a gold diamond."""
    base = spec["layer"][0]["encoding"]
    here = pd.DataFrame({"x": [position[0]], "y": [position[1]], "label": ["this customer"]})
    return {
        **spec,
        "datasets": {**spec["datasets"], "customer": here},
        "layer": [
            *spec["layer"],
            {
                "data": {"name": "customer"},
                "mark": {
                    "type": "point",
                    "shape": "diamond",
                    "filled": True,
                    "color": "gold",
                    "stroke": "black",
                    "size": 420,
                },
                "encoding": {"x": base["x"], "y": base["y"], "tooltip": _tooltip("label")},
            },
        ],
    }


def pull_spec(explanation: pd.DataFrame) -> dict[str, Any]:
    """The features' pulls (``scoring.explain``) as a horizontal Vega-Lite bar chart."""
    return {
        "data": {"values": explanation[["feature", "pull"]].to_dict(orient="records")},
        "mark": {"type": "bar"},
        "encoding": {
            "y": {"field": "feature", "type": "nominal", "sort": None, "title": None},
            "x": {"field": "pull", "type": "quantitative", "title": "pull towards the own segment"},
            "color": {
                "condition": {"test": "datum.pull < 0", "value": "#d62728"},
                "value": "#1f77b4",
            },
            "tooltip": _tooltip("feature", "pull"),
        },
    }


def _tooltip(*fields: str) -> list[dict[str, str]]:
    return [{"field": f, "type": "nominal"} for f in fields]
