"""What the Streamlit app computes, kept out of its pages so tests can call it.

Two paths, both ending in the pipeline's own code:

* a form (one customer's raw fields) -> :func:`raw_customer` (a clean one-row table in the Kaggle
  layout) -> ``features.build_features`` -> ``scoring.score_customers`` / ``scoring.explain``:
  :func:`predict_customer`;
* an uploaded export (bytes) -> ``data_contract.prepare_customers`` (the pipeline's parsing and
  validation) -> ``features.build_features`` -> ``scoring.score_customers``: :func:`score_upload`.

Features are always built with the model card's ``reference_date`` and ``partner_statuses``, so a
customer gets the features the model was trained on. Values outside the training range (the
card's ``feature_ranges``) are flagged, never clipped.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from sklearn.decomposition import PCA

from customer_segmentation import schema
from customer_segmentation.data_contract import (
    CleanResult,
    CustomerDataError,
    RawCustomerFile,
    prepare_customers,
)
from customer_segmentation.features import build_features
from customer_segmentation.model_store import ModelBundle
from customer_segmentation.modeling import sample_positions
from customer_segmentation.scoring import explain, score_customers

logger = logging.getLogger(__name__)

_BYTES_PER_MB = 1024 * 1024
# Form fields that stand in for Kaggle columns.
AGE = "Age"
TOTAL_SPENDING = "Total_Spending"
FORM_ID = 0  # the ID given to the one customer of a form
LEGEND_MARKER_SIZE = 30  # points² of every marker in the map's legend

# Raw fields of a customer that the form asks for, beyond age and spending.
FORM_COUNT_FIELDS: tuple[str, ...] = (
    "Recency",
    "NumWebVisitsMonth",
    *schema.PURCHASE_COLUMNS,
    "Kidhome",
    "Teenhome",
)


class UploadTooLargeError(CustomerDataError):
    """An uploaded file is larger than the app accepts."""


@dataclass(frozen=True)
class Prediction:
    """The segment of one customer and why.

    ``explanation`` is :func:`scoring.explain`'s table; ``out_of_range`` lists the model features
    whose value lies outside the training range (``feature``, ``value``, ``min``, ``max``);
    ``margin_percentile`` is the share of training customers that belong less clearly (``None``
    when the training segments are not available).
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
    ``share``; ``rejected`` and ``report`` from ``data_contract``.
    """

    scored: pd.DataFrame
    distribution: pd.DataFrame
    rejected: pd.DataFrame
    report: dict[str, Any]


# --------------------------------------------------------------------------------------
# Shared steps
# --------------------------------------------------------------------------------------


def model_features_of(clean: pd.DataFrame, bundle: ModelBundle) -> pd.DataFrame:
    """Features of clean customers as the model of ``bundle`` was trained on them.

    Args:
        clean: a clean customer table (see ``features.build_features`` for its columns).
        bundle: gives the reference date and the partner statuses (model card).

    Returns:
        ``features.build_features``' table (``ID`` and every feature).
    """
    return build_features(
        clean, bundle.reference_date, {"partner_statuses": list(bundle.card["partner_statuses"])}
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
    ranges = card.get("feature_ranges", {})
    for feature in card["features"]:
        if feature not in ranges:
            continue
        low, high = float(ranges[feature]["min"]), float(ranges[feature]["max"])
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


def raw_customer(values: Mapping[str, Any], ref_date: pd.Timestamp) -> pd.DataFrame:
    """One customer's raw fields as a one-row clean table in the Kaggle layout.

    Args:
        values: ``Income``, ``Recency``, ``NumWebVisitsMonth``, the four ``Num*Purchases``;
            ``Year_Birth`` or ``Age`` (at ``ref_date``); the six ``Mnt*`` or ``Total_Spending``
            (then spread evenly over the categories, as only their sum is known);
            optional: ``Kidhome``, ``Teenhome`` (0), ``Education`` (``Graduation``),
            ``Marital_Status`` (``Single``), ``Dt_Customer`` (``ref_date``), the campaign
            flags, ``Complain`` and ``Response`` (0).
        ref_date: the model's reference date (model card).

    Returns:
        ``schema.KAGGLE_COLUMNS`` for one customer with ``ID`` 0.

    Raises:
        ValueError: a required field is missing, or a count or amount is negative.
    """
    row: dict[str, Any] = {schema.ID: FORM_ID}
    if values.get("Year_Birth") is not None:
        row["Year_Birth"] = int(values["Year_Birth"])
    elif values.get(AGE) is not None:
        row["Year_Birth"] = int(ref_date.year - int(values[AGE]))
    if all(values.get(c) is not None for c in schema.SPEND_COLUMNS):
        row.update({c: float(values[c]) for c in schema.SPEND_COLUMNS})
    elif values.get(TOTAL_SPENDING) is not None:
        share = float(values[TOTAL_SPENDING]) / len(schema.SPEND_COLUMNS)
        row.update(dict.fromkeys(schema.SPEND_COLUMNS, share))
    for column in ("Income", "Recency", "NumWebVisitsMonth", *schema.PURCHASE_COLUMNS):
        if values.get(column) is not None:
            row[column] = float(values[column])
    missing = [
        c
        for c in ("Year_Birth", "Income", *schema.SPEND_COLUMNS, "Recency", "NumWebVisitsMonth")
        + schema.PURCHASE_COLUMNS
        if c not in row
    ]
    if missing:
        raise ValueError(f"missing field(s) for a prediction: {', '.join(missing)}")
    row["Kidhome"] = int(values.get("Kidhome") or 0)
    row["Teenhome"] = int(values.get("Teenhome") or 0)
    row["Education"] = str(values.get("Education") or "Graduation")
    row["Marital_Status"] = str(values.get("Marital_Status") or "Single")
    since = values.get(schema.DATE_COLUMN)
    row[schema.DATE_COLUMN] = pd.Timestamp(since) if since is not None else ref_date
    for column in (*schema.FLAG_COLUMNS, *schema.CONSTANT_COLUMNS):
        row[column] = int(values.get(column) or 0)
    negative = [
        c
        for c in row
        if c not in (schema.DATE_COLUMN, *schema.CATEGORY_COLUMNS) and float(row[c]) < 0
    ]
    if negative:
        raise ValueError(f"field(s) cannot be negative: {', '.join(negative)}")
    return pd.DataFrame([row])[list(schema.KAGGLE_COLUMNS)]


def predict_customer(
    values: Mapping[str, Any],
    bundle: ModelBundle,
    training_segments: pd.DataFrame | None = None,
) -> Prediction:
    """Segment, name, action and explanation for one customer typed into the form.

    Args:
        values: see :func:`raw_customer`.
        bundle: the model version to use.
        training_segments: ``customer_segments`` of the training run (needs ``margin``), to
            say how the customer's margin compares; optional.

    Returns:
        A :class:`Prediction`.
    """
    clean = raw_customer(values, bundle.reference_date)
    features = model_features_of(clean, bundle)
    scored = score_customers(features, bundle.scaler, bundle.model).iloc[0]
    segments = bundle.segment_table().set_index("segment")
    own, runner = int(scored["segment"]), int(scored["runner_up"])
    percentile = None
    if training_segments is not None and len(training_segments):
        percentile = float((training_segments["margin"] < scored["margin"]).mean())
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


def form_defaults(customers: pd.DataFrame | None, ref_date: pd.Timestamp) -> dict[str, Any]:
    """Starting values for the form: the medians (and most common categories) of the clean
    training customers, or zeros when they are not available.

    Args:
        customers: the clean table (``customers``) or ``None``.
        ref_date: the model's reference date, for ``Age`` and ``Dt_Customer``.

    Returns:
        Every field :func:`raw_customer` reads, plus ``Age`` and ``Total_Spending``.
    """
    numeric = ("Year_Birth", "Income", *schema.SPEND_COLUMNS, *FORM_COUNT_FIELDS)
    if customers is None or customers.empty:
        defaults: dict[str, Any] = dict.fromkeys(numeric, 0)
        defaults.update(
            {
                "Year_Birth": int(ref_date.year),
                "Education": schema.EDUCATION_LEVELS[0],
                "Marital_Status": schema.MARITAL_STATUSES[0],
                schema.DATE_COLUMN: ref_date.date(),
            }
        )
    else:
        medians = customers[list(numeric)].median()
        defaults = {c: round(float(medians[c])) for c in numeric}
        defaults["Education"] = str(customers["Education"].mode().iloc[0])
        defaults["Marital_Status"] = str(customers["Marital_Status"].mode().iloc[0])
        middle = customers[schema.DATE_COLUMN].quantile(0.5)
        defaults[schema.DATE_COLUMN] = pd.Timestamp(middle).date()
    defaults[AGE] = int(ref_date.year - defaults["Year_Birth"])
    defaults[TOTAL_SPENDING] = int(sum(defaults[c] for c in schema.SPEND_COLUMNS))
    return defaults


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
    data_params: dict[str, Any],
    max_megabytes: float,
) -> ScoredUpload:
    """Parse, validate, featurise and score an uploaded customer table.

    Args:
        content: the file's bytes (a text table: CSV/TSV in the Kaggle layout).
        name: the file's name, used in messages.
        bundle: the model version to use.
        data_params: ``params:data_processing`` (the pipeline's validation rules).
        max_megabytes: the largest file accepted.

    Returns:
        A :class:`ScoredUpload`; rejected rows carry ``reason_code`` and ``reason``.

    Raises:
        UploadTooLargeError: the file is too large.
        CustomerDataError: the file is not a customer table (the message says why).
    """
    check_upload_size(len(content), max_megabytes, name)
    result: CleanResult = prepare_customers(
        RawCustomerFile(name=name, content=content), data_params
    )
    names = bundle.segment_names()
    feature_names = list(bundle.card["features"])
    if result.clean.empty:
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
        features = model_features_of(result.clean, bundle)
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
    logger.info(
        "Scored %d rows of %s with model %s (%d rejected)",
        len(scored),
        name,
        bundle.version,
        len(result.rejected),
    )
    return ScoredUpload(
        scored=scored, distribution=distribution, rejected=result.rejected, report=result.report
    )


# --------------------------------------------------------------------------------------
# The segment map
# --------------------------------------------------------------------------------------


def segment_map(
    population: pd.DataFrame,
    bundle: ModelBundle,
    sample_size: int,
    seed: int,
    customer: pd.DataFrame | None = None,
) -> Figure:
    """PCA map of the scaled model features, coloured by the bundle's segments, with the
    centroids and (optionally) one customer marked.

    Args:
        population: features of the training customers (``customer_features``); labelled here
            with the bundle's model, so colours match the selected version.
        bundle: the model version.
        sample_size: customers drawn (seeded) for the background.
        seed: the sample's and PCA's seed.
        customer: features of the customer to mark (``ID`` and the model features).

    Returns:
        A matplotlib figure.
    """
    keep = sample_positions(len(population), sample_size, seed)
    sample = population.iloc[keep]
    names = list(bundle.card["features"])
    scaled = np.asarray(bundle.scaler.transform(sample[names].astype("float64")))
    labels = score_customers(sample, bundle.scaler, bundle.model)["segment"].to_numpy()
    pca = PCA(n_components=2, random_state=seed).fit(scaled)
    coords = pca.transform(scaled)
    centres = pca.transform(bundle.model.cluster_centers_)
    fig = Figure(figsize=(8, 5.5), layout="constrained")
    ax = fig.subplots()
    for segment, label in sorted(bundle.segment_names().items()):
        mine = labels == segment
        ax.scatter(
            coords[mine, 0],
            coords[mine, 1],
            s=6,
            alpha=0.35,
            color=f"C{segment}",
            label=f"{segment}: {label}",
        )
        ax.scatter(*centres[segment], s=120, marker="X", color=f"C{segment}", edgecolor="black")
    if customer is not None:
        point = pca.transform(
            np.asarray(bundle.scaler.transform(customer[names].astype("float64")))
        )
        ax.scatter(
            point[:, 0],
            point[:, 1],
            s=320,
            marker="*",
            color="gold",
            edgecolor="black",
            linewidth=1.2,
            label="this customer",
            zorder=5,
        )
    ratio = pca.explained_variance_ratio_
    ax.set(
        xlabel=f"PC1 ({ratio[0]:.0%} of variance)",
        ylabel=f"PC2 ({ratio[1]:.0%} of variance)",
        title=f"Segments of model {bundle.version} ({len(sample):,} customers; X = centroid)",
    )
    legend = ax.legend(fontsize=7, loc="best")
    for handle in legend.legend_handles:
        handle.set_sizes([LEGEND_MARKER_SIZE])
    return fig
