"""Scoring clean customers with a model version: the one path of the app's Score page, its
Predict page and the ``scoring`` pipeline.

:func:`scored_frame` goes from clean customers (the data contract's output) to their
features as the model was trained on them (the model card's reference date and partner
statuses), their score (``scoring.score_frame``), the segment's name and the features that lie
outside the training range (flagged, never clipped), in the engine: Polars for the app, the
run's engine for the pipeline. An uploaded file goes through the same data contract first
(:func:`score_upload`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import narwhals as nw
import pandas as pd

from customer_segmentation import schema
from customer_segmentation.core import engine, scoring, segments
from customer_segmentation.core.contract import (
    CustomerDataError,
    RawCustomerFile,
    prepare_customers,
)
from customer_segmentation.core.features import feature_frame
from customer_segmentation.params import DataProcessingParams
from customer_segmentation.serving.versions import ModelBundle

logger = logging.getLogger(__name__)

NAME = "name"
OUTSIDE = "outside_training_range"
PREVIOUS_SEGMENT = "previous_segment"
# The scored table's columns before the model's features.
SCORED_COLUMNS: tuple[str, ...] = (
    schema.ID,
    "segment",
    NAME,
    "distance",
    "runner_up",
    "runner_up_distance",
    "margin",
    OUTSIDE,
)
# Streamlit's uploader counts megabytes as 1,000,000 bytes (on Linux and macOS): the limit and
# the sizes the page shows agree with what the uploader shows.
_BYTES_PER_MB = 1_000_000


def outside_range(ranges: Mapping[str, Mapping[str, float]]) -> nw.Expr:
    """The features whose value lies outside the training range (the model card's
    ``feature_ranges``), comma-separated; empty when none.
    """
    flagged = [
        nw.when((nw.col(f) < float(r["min"])) | (nw.col(f) > float(r["max"]))).then(nw.lit(f))
        for f, r in ranges.items()
    ]
    return nw.concat_str(flagged, separator=", ", ignore_nulls=True).fill_null("")


def scored_frame(clean: nw.LazyFrame, bundle: ModelBundle, *, detail: bool = False) -> nw.LazyFrame:
    """Every clean customer's segment with a model version, in the engine.

    Args:
        clean: the data contract's clean rows (``schema.KAGGLE_COLUMNS``).
        bundle: the model version.
        detail: keep what the score was computed from (``scoring.score_frame``), for
            ``scoring.explain``.

    Returns:
        :func:`scored_columns` and the model's features (and the detail), in ``clean``'s
        order.
    """
    card = bundle.card
    names = list(card["features"])
    features = feature_frame(clean, bundle.reference_date, card["partner_statuses"])
    scored = scoring.score_frame(
        features,
        bundle.scaler,
        bundle.model,
        keep=names,
        detail=detail,
        gaussians=bundle.membership,
    )
    labelled = scored.with_columns(
        segments.name_of("segment", bundle.segment_names()).alias(NAME),
        outside_range(card["feature_ranges"]).alias(OUTSIDE),
    )
    leading = scored_columns(with_membership=bundle.membership is not None)
    extra = [c for c in labelled.collect_schema().names() if c not in {*leading, *names}]
    return labelled.select(*leading, *names, *(extra if detail else ()))


def scored_columns(*, with_membership: bool) -> list[str]:
    """The scored table's columns before the model's features: :data:`SCORED_COLUMNS`, with
    ``membership`` after ``margin`` for a version that has its ``segment_membership``.
    """
    columns = list(SCORED_COLUMNS)
    if with_membership:
        columns.insert(columns.index("margin") + 1, scoring.MEMBERSHIP)
    return columns


def with_previous_segment(scored: nw.LazyFrame, training_segments: Any) -> nw.LazyFrame:
    """``scored`` with ``previous_segment``: the segment the model version gave the same ``ID``
    in training (its ``customer_segments``; null for a new customer), in ``scored``'s order.
    """
    previous = engine.lazy(training_segments).select(
        schema.ID, nw.col(schema.SEGMENT).alias(PREVIOUS_SEGMENT)
    )
    return engine.left_join(scored, previous, schema.ID)


def returning(scored: Any) -> nw.LazyFrame | None:
    """The customers of a scored table (pandas, native or narwhals) with a
    ``previous_segment`` (:func:`with_previous_segment`) that had one: ``ID`` and
    ``previous_segment``, lazy in the engine; ``None`` when none had.
    """
    table = scored if isinstance(scored, nw.LazyFrame) else engine.lazy(scored)
    known = table.filter(~nw.col(PREVIOUS_SEGMENT).is_null()).select(
        schema.ID, nw.col(PREVIOUS_SEGMENT).cast(nw.Int64)
    )
    return known if engine.row_count(known) else None


def distribution(scored: pd.DataFrame, names: Mapping[int, str]) -> pd.DataFrame:
    """Customers per segment of a scored table: ``segment``, ``name``, ``customers``,
    ``share`` (every segment of the model, 0 where none).
    """
    counts = scored["segment"].value_counts()
    order = sorted(names)
    table = pd.DataFrame(
        {
            "segment": order,
            "name": [names[s] for s in order],
            "customers": [int(counts.get(s, 0)) for s in order],
        }
    )
    table["share"] = table["customers"] / max(int(table["customers"].sum()), 1)
    return table


class UploadTooLargeError(CustomerDataError):
    """An uploaded file is larger than the app accepts."""


def check_upload_size(size: int, max_megabytes: float, source: str) -> None:
    """Refuse a file above ``max_megabytes`` (``server.maxUploadSize``) with a clear message.

    Raises:
        UploadTooLargeError: the file is larger than the limit.
    """
    if size > max_megabytes * _BYTES_PER_MB:
        raise UploadTooLargeError(
            f"{source} is {size / _BYTES_PER_MB:,.1f} MB; the app accepts files up to "
            f"{max_megabytes:,.0f} MB (server.maxUploadSize in .streamlit/config.toml). Score "
            "larger tables with `kedro run --pipeline scoring --params new_customers_path=PATH`."
        )


@dataclass(frozen=True)
class ScoredUpload:
    """An uploaded table after scoring: ``scored`` (:func:`scored_frame`), its segment
    ``distribution`` (:func:`distribution`), and the contract's ``rejected`` rows and
    ``report``.
    """

    scored: pd.DataFrame
    distribution: pd.DataFrame
    rejected: pd.DataFrame
    report: dict[str, Any]


def score_upload(
    content: bytes,
    name: str,
    bundle: ModelBundle,
    data_params: DataProcessingParams,
    max_megabytes: float,
) -> ScoredUpload:
    """Read, check, featurise and score an uploaded customer table.

    Args:
        content: the file's bytes (any form the data contract reads).
        name: the file's name, used in messages.
        bundle: the model version to use.
        data_params: the ``data_processing`` parameters (the pipeline's rules).
        max_megabytes: the largest file accepted.

    Raises:
        UploadTooLargeError: the file is too large.
        CustomerDataError: the file is not a customer table (the message says why).
    """
    check_upload_size(len(content), max_megabytes, name)
    result = prepare_customers(RawCustomerFile(name=name, content=content), data_params)
    scored = engine.to_pandas(scored_frame(engine.lazy(result.clean), bundle))
    rejected = engine.to_pandas_table(result.rejected)
    logger.info(
        "Scored %d rows of %s with model %s (%d rejected)",
        len(scored),
        name,
        bundle.version,
        len(rejected),
    )
    return ScoredUpload(
        scored=scored,
        distribution=distribution(scored, bundle.segment_names()),
        rejected=rejected,
        report=result.report,
    )
