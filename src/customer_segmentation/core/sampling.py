"""Seeded samples of segmented customers, and the one check that a customer has one segment.

Every quadratic computation (silhouette, stability, DBSCAN, maps) runs on a seeded sample whose
size is a parameter; everything linear runs on all rows. There is one sample:
``engine.sample`` (the rows with the smallest hash of ``ID`` and the seed, the same on every
engine). Samples of one seed are nested: the sample of 1,000 rows is part of the sample of
5,000, so a smaller sample is found inside a larger one (:func:`rows_of_sample`).
"""

from __future__ import annotations

from typing import Any

import narwhals as nw
import numpy as np
import pandas as pd
from sklearn.base import TransformerMixin

from customer_segmentation import schema
from customer_segmentation.core import engine, scoring

_SHOWN = 5  # repeated IDs named in a message


def check_one_row_per_id(frame: Any, what: str) -> None:
    """Refuse a table (native, narwhals or pandas) that holds an ``ID`` more than once: a
    customer has one row, one segment.

    Raises:
        ValueError: naming ``what`` and a few of the repeated IDs.
    """
    table = frame if isinstance(frame, nw.LazyFrame) else engine.lazy(frame)
    ids = table.select(schema.ID)
    counts = engine.first_row(ids.select(rows=nw.len(), ids=nw.col(schema.ID).n_unique()))
    if counts["rows"] == counts["ids"]:
        return
    repeated = engine.rows(
        ids.group_by(schema.ID)
        .agg(_n=nw.len())
        .filter(nw.col("_n") > 1)
        .sort(schema.ID)
        .head(_SHOWN)
    )
    shown = ", ".join(str(row[schema.ID]) for row in repeated)
    raise ValueError(
        f"{what}: {counts['rows'] - counts['ids']:,} row(s) repeat an ID (e.g. {shown} appear "
        "more than once); a customer must have one row and one segment"
    )


def segmented_frame(features: Any, segments: Any) -> nw.LazyFrame:
    """The rows of ``features`` (native) of every customer with a segment, with its
    ``segment`` (an inner join on ``ID`` in the engine; no join when both tables hold the same
    IDs in ID order, :func:`engine.same_keys_in_order`).

    Raises:
        ValueError: either table repeats an ID (:func:`check_one_row_per_id`).
    """
    labels = engine.lazy(segments).select(schema.ID, "segment")
    table = engine.lazy(features)
    if engine.same_keys_in_order(table, labels, schema.ID):  # the pipeline's own tables
        return engine.labelled(table, labels, schema.ID, "segment", in_order=True)
    check_one_row_per_id(labels, "the segments")
    check_one_row_per_id(table, "the customers' features")
    return engine.labelled(table, labels, schema.ID, "segment")


def gathered_segmented(
    features: Any, segments: Any, size: int, seed: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A seeded sample (``engine.sample``) of ``size`` segmented customers gathered from the
    engine, in ``ID`` order: their features and their ``ID``/``segment`` rows.
    """
    sample = engine.gather(segmented_frame(features, segments), size, seed, schema.ID)
    return sample.drop(columns="segment"), sample[[schema.ID, "segment"]]


def scaled_sample(
    segmented: nw.LazyFrame,
    scaler: TransformerMixin,
    columns: list[str],
    size: int,
    seed: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """IDs, segments and scaled ``columns`` (``scoring.scale``, in the engine) of a seeded
    sample of ``size`` customers of ``segmented`` (:func:`segmented_frame`), in ``ID`` order:
    what the maps, DBSCAN, the stability bootstrap and the silhouette read.
    """
    drawn = engine.sample(segmented.select(schema.ID, "segment", *columns), size, seed, schema.ID)
    names = [scoring.scaled_name(c) for c in columns]
    table = engine.to_pandas(
        scoring.scale(drawn, scaler, columns).select(schema.ID, "segment", *names)
    )
    return (
        table[schema.ID].to_numpy(dtype="int64"),
        table["segment"].to_numpy(dtype="int64"),
        np.ascontiguousarray(table[names].to_numpy(dtype="float64")),
    )


def scaled_customers(
    features: Any,
    segments: Any,
    scaler: TransformerMixin,
    columns: list[str],
    size: int,
    seed: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`scaled_sample` of the customers of ``features`` that have a segment in
    ``segments`` (:func:`segmented_frame`).
    """
    return scaled_sample(segmented_frame(features, segments), scaler, columns, size, seed)


def rows_of_sample(frame: nw.LazyFrame, size: int, seed: int) -> np.ndarray:
    """The positions, in ``frame`` (a sample of the same ``seed``, in ``ID`` order), of its
    seeded sample of ``size`` rows: the rows of the smaller sample of one seed.
    """
    ids = engine.to_pandas(frame.select(schema.ID))[schema.ID].to_numpy()
    inner = engine.to_pandas(engine.sample(frame.select(schema.ID), size, seed, schema.ID))
    return np.searchsorted(ids, inner[schema.ID].to_numpy())
