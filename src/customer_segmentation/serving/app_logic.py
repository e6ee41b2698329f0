"""What the Streamlit app computes to score customers, kept out of its pages so tests can call it.

Two paths, both the pipeline's own code from end to end:

* a form (one customer's fields) -> :func:`form_table` (one row of text in the Kaggle layout)
  -> ``contract.check_rows`` (the same rules and messages as a file row) ->
  ``features.build_features`` -> ``scoring.score_customers`` / ``scoring.explain``:
  :func:`predict_customer`. A row the contract rejects raises :class:`FormRejected` with the
  contract's reason in the form's words.
* an uploaded export (bytes) -> ``contract.prepare_customers`` ->
  ``features.build_features`` -> ``scoring.score_customers``: :func:`score_upload`.

The Predict page draws the segment map and the features' pulls with :func:`map_spec`,
:func:`with_customer` and :func:`pull_spec`. What the app shows about a model version beyond
scoring (its segments' evidence, an upload's drift, two versions compared) is
``app_evidence``'s.

Features are always built with the model card's ``reference_date`` and ``partner_statuses``, so a
customer gets the features the model was trained on. Values outside the training range (the
card's ``feature_ranges``) are flagged, never clipped.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.colors import to_hex
from sklearn.decomposition import PCA

from customer_segmentation import schema
from customer_segmentation.core import engine, maps
from customer_segmentation.core.contract import (
    CustomerDataError,
    RawCustomerFile,
    check_rows,
    prepare_customers,
)
from customer_segmentation.core.features import feature_frame
from customer_segmentation.core.scoring import explain, scale_features, score_customers
from customer_segmentation.params import DataProcessingParams
from customer_segmentation.report import figures
from customer_segmentation.serving.versions import ModelBundle

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
