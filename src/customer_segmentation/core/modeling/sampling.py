"""Seeded samples and lining tables up by ``ID`` without copying them.

Every quadratic computation (silhouette, stability, DBSCAN, maps) runs on a seeded sample whose
size is a parameter; everything linear runs on all rows.
"""

from __future__ import annotations

from typing import Any

import narwhals as nw
import numpy as np
import pandas as pd

from customer_segmentation import schema
from customer_segmentation.core import engine


def sample_positions(n_rows: int, size: int | None, seed: int) -> np.ndarray:
    """Sorted positions of a seeded sample of ``size`` rows (all rows when ``size`` is
    ``None`` or not smaller than ``n_rows``).
    """
    if size is None or size >= n_rows:
        return np.arange(n_rows)
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(n_rows, size=int(size), replace=False))


def _ascending(values: np.ndarray, *, strictly: bool) -> bool:
    """Whether numeric ``values`` ascend (``strictly``: without repeats); NaN never does."""
    if values.dtype.kind not in "iuf":
        return False
    later, earlier = values[1:], values[:-1]
    return bool(np.all(later > earlier) if strictly else np.all(later >= earlier))


def positions_of(ids: pd.Series | np.ndarray, wanted: pd.Series | np.ndarray) -> np.ndarray:
    """Positions in ``ids`` (unique) of every value of ``wanted``, in ``wanted``'s order: the rows
    ``table.set_index(ID).loc[wanted]`` selects, found without copying the table.

    Raises:
        KeyError: some of ``wanted`` are not in ``ids``.
    """
    ids, wanted = np.asarray(ids), np.asarray(wanted)
    if len(ids) == len(wanted) and np.array_equal(ids, wanted):
        return np.arange(len(ids))
    positions = pd.Index(ids).get_indexer(wanted)
    missing = positions < 0
    if missing.any():
        raise KeyError(
            f"{int(missing.sum())} IDs not found, e.g. {', '.join(map(str, wanted[missing][:5]))}"
        )
    return positions


def matched_positions(
    ids: pd.Series | np.ndarray, other: pd.Series | np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The rows an inner one-to-one merge on the ID keeps, without copying either table.

    Returns:
        Positions in ``ids`` of the values also in ``other`` (in ``ids``' order, as
        ``merge(how="inner")`` keeps them) and, for each, its position in ``other``.

    Raises:
        ValueError: an ID is repeated (the merge's ``validate="1:1"``).
    """
    ids, other = np.asarray(ids), np.asarray(other)
    if len(ids) == len(other) and _ascending(other, strictly=True) and np.array_equal(ids, other):
        return np.arange(len(ids)), np.arange(len(ids))  # both in ID order, IDs unique
    index = pd.Index(other)
    if not index.is_unique:
        raise ValueError("the segments repeat an ID: a customer must have one segment")
    where = index.get_indexer(ids)
    rows = np.flatnonzero(where >= 0)
    if len(rows) and np.bincount(where[rows]).max() > 1:
        raise ValueError("the features repeat an ID: a customer must have one row")
    return rows, where[rows]


def segmented_rows(
    features: pd.DataFrame, segments: pd.DataFrame, id_column: str
) -> tuple[np.ndarray | None, np.ndarray]:
    """The customers of ``features`` that have a segment, as an inner one-to-one merge on the
    ID keeps them (in ``features``' order), found without copying the table.

    Returns:
        Their positions in ``features`` (``None`` when that is every row, in order) and
        their segments.
    """
    rows, where = matched_positions(features[id_column], segments[id_column])
    labels = segments["segment"].to_numpy()[where]
    return (None if len(rows) == len(features) else rows), labels


def segmented_sample(
    features: pd.DataFrame,
    segmented: tuple[np.ndarray | None, np.ndarray],
    size: int | None,
    seed: int,
) -> tuple[pd.DataFrame, np.ndarray]:
    """A seeded sample of ``size`` customers that have a segment (the same rows a sample of
    the merged table draws) and their segments; only the sampled rows are copied.

    Args:
        features: the customer features.
        segmented: what :func:`segmented_rows` returns for ``features``.
        size: rows to draw (all when ``None`` or not smaller).
        seed: the sample's seed.
    """
    rows, labels = segmented
    keep = sample_positions(len(labels), size, seed)
    return features.iloc[keep if rows is None else rows[keep]], labels[keep]


def segmented_frame(features: Any, segments: Any) -> nw.LazyFrame:
    """The rows of ``features`` (native) of every customer with a segment, with its
    ``segment`` (an inner join on ``ID`` in the engine; no join when both tables hold the same
    IDs in ID order, :func:`engine.same_keys_in_order`).

    Raises:
        ValueError: either table repeats an ID.
    """
    labels = engine.lazy(segments).select(schema.ID, "segment")
    table = engine.lazy(features)
    if engine.same_keys_in_order(table, labels, schema.ID):  # the pipeline's own tables
        return engine.labelled(table, labels, schema.ID, "segment", in_order=True)
    for frame, what in (
        (labels, "the segments repeat an ID: a customer must have one segment"),
        (table, "the features repeat an ID: a customer must have one row"),
    ):
        counts = engine.first_row(frame.select(rows=nw.len(), ids=nw.col(schema.ID).n_unique()))
        if counts["rows"] != counts["ids"]:
            raise ValueError(what)
    return engine.labelled(table, labels, schema.ID, "segment")


def gathered_segmented(
    features: Any, segments: Any, size: int | None, seed: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A seeded sample (``engine.sample``) of ``size`` segmented customers gathered from the
    engine, in ``ID`` order: their features and their ``ID``/``segment`` rows.
    """
    sample = engine.gather(segmented_frame(features, segments), size, seed, schema.ID)
    return sample.drop(columns="segment"), sample[[schema.ID, "segment"]]
