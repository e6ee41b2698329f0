"""Exploratory analysis: tables of the clean customers, their features and what
cleaning removed.

Pure functions (no file I/O); the ``reporting`` pipeline saves their results through the
catalog, ``figures`` draws them, and the report and the notebook show them.

Every table and figure here but the correlations is exact on all rows and linear in rows: a
numeric column is reduced once, in the engine, to its distinct values and their counts
(:class:`Distribution`), and counts, moments, quantiles and histograms are read from that; no
figure of them draws one mark per customer. Only those counts come to this process, never the
customers' rows. The Spearman correlations need each customer's ranks in every column at once:
they are read from a seeded sample whose size is a parameter (all customers when fewer).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import narwhals as nw
import numpy as np
import pandas as pd

from customer_segmentation import schema
from customer_segmentation.core import engine
from customer_segmentation.core.contract import values
from customer_segmentation.core.contract.reading import SOURCE_ROW
from customer_segmentation.core.contract.rules import REASON_CODE

logger = logging.getLogger(__name__)

# Whole-number columns spanning at most this many values (or twice their rows) are counted
# with ``np.bincount``; others go through a hash table.
DENSE_SPAN = 1 << 16
# Rejected rows shown per reason in ``removed_outliers``.
EXAMPLES = 5
# Rows ranked at a time for the Spearman correlations (bounds the extra memory).
RANK_CHUNK_ROWS = 1 << 17


def _dense_offset(low: float, high: float, present: int) -> float | None:
    """For a whole-number column from ``low`` to ``high`` with ``present`` values: the offset
    its values are counted densely from (0 when they need no shift), or ``None`` when its span
    is too wide for a ``bincount`` (:data:`DENSE_SPAN`, or twice its values).
    """
    limit = max(2 * present, DENSE_SPAN)
    span = high - low  # as float: no int64 overflow
    if not (np.isfinite(span) and span < limit):
        return None
    return 0 if 0 <= low and high < limit else low


@dataclass(frozen=True)
class Distribution:
    """A numeric column reduced to its distinct non-missing values (ascending) and how many
    rows hold each: exact counts, moments, quantiles, histograms and ranks follow from it.

    ``offset`` is set for whole-number columns counted densely (``values`` are
    ``offset + k``), so a value's position is one subtraction away.
    """

    values: np.ndarray
    counts: np.ndarray
    rows: int
    offset: float | None = None

    @classmethod
    def of(cls, column: pd.Series) -> Distribution:
        """Count the distinct values of ``column`` (missing values are left out)."""
        rows = len(column)
        if isinstance(column.dtype, np.dtype) and column.dtype.kind in "iub":
            present = column.to_numpy().astype(np.int64, copy=False)
            whole = True
        else:
            present = column.to_numpy(dtype="float64", na_value=np.nan)
            missing = np.isnan(present)
            if missing.any():
                present = present[~missing]
            whole = bool(present.size) and bool(np.array_equal(present, np.round(present)))
        if present.size and whole:
            low, high = present.min(), present.max()
            offset = _dense_offset(float(low), float(high), present.size)
            if offset is not None:
                shifted = present - offset if offset else present
                dense = np.bincount(shifted.astype(np.intp, copy=False))
                kept = np.flatnonzero(dense)
                return cls((kept + offset).astype("float64"), dense[kept], rows, float(offset))
        counts = pd.Series(present, copy=False).value_counts(sort=False)
        return cls.from_counts(counts.index.to_numpy(dtype="float64"), counts.to_numpy(), rows)

    @classmethod
    def from_counts(cls, values: np.ndarray, counts: np.ndarray, rows: int) -> Distribution:
        """The distribution of a column of ``rows`` rows whose distinct non-missing ``values``
        (any order) are held by ``counts`` rows each: what :meth:`of` gives for that column.
        """
        order = np.argsort(values, kind="stable")
        values, counts = values[order].astype("float64"), counts[order].astype(np.int64)
        offset = None
        if values.size and np.array_equal(values, np.round(values)):
            offset = _dense_offset(values[0], values[-1], int(counts.sum()))
        return cls(values, counts, rows, None if offset is None else float(offset))

    @property
    def count(self) -> int:
        """Non-missing rows."""
        return int(self.counts.sum())

    def quantiles(self, probabilities: Sequence[float]) -> np.ndarray:
        """Quantiles with linear interpolation, as ``numpy.quantile`` (and pandas) give."""
        q = np.asarray(probabilities, dtype="float64")
        n = self.count
        if n == 0:
            return np.full(q.shape, np.nan)
        position = n * q + (1 - q) - 1  # numpy's virtual index for method="linear"
        below = np.clip(np.floor(position), 0, n - 1)
        above = np.clip(below + 1, 0, n - 1)
        ends = np.cumsum(self.counts)  # rows holding a value <= values[i]
        low = self.values[np.searchsorted(ends, below, side="right")]
        high = self.values[np.searchsorted(ends, above, side="right")]
        weight = position - np.floor(position)
        step = high - low
        return np.where(weight >= 0.5, high - step * (1 - weight), low + step * weight)

    def moments(self) -> tuple[float, float, float]:
        """Mean, sample standard deviation and skewness (bias-corrected, as pandas)."""
        n = self.count
        if n == 0:
            return np.nan, np.nan, np.nan
        weights = self.counts.astype("float64")
        mean = float((self.values * weights).sum() / n)
        deviation = self.values - mean
        m2 = float((weights * deviation**2).sum())
        m3 = float((weights * deviation**3).sum())
        std = float(np.sqrt(m2 / (n - 1))) if n > 1 else np.nan
        if n < 3 or m2 == 0:  # pandas: undefined for fewer than 3 values or no spread
            skew = np.nan
        else:
            skew = float(n * (n - 1) ** 0.5 / (n - 2) * (m3 / m2**1.5))
        return mean, std, skew

    def histogram(self, bins: int) -> tuple[np.ndarray, np.ndarray]:
        """Counts and edges of ``bins`` equal bins from min to max, as ``numpy.histogram``."""
        if self.count == 0:
            return np.zeros(bins, dtype=np.int64), np.linspace(0.0, 1.0, bins + 1)
        return np.histogram(self.values, bins=bins, weights=self.counts)

    def ranker(self) -> Callable[[np.ndarray], np.ndarray]:
        """A function from values of the column to their average ranks (1-based, ties share
        their mean rank, as ``rank(method="average")``).
        """
        ends = np.cumsum(self.counts)
        average = ends - (self.counts - 1) / 2.0
        if self.offset is not None:
            offset = self.offset
            table = np.zeros(int(self.values[-1] - offset) + 1)
            table[(self.values - offset).astype(np.intp)] = average
            if offset == 0:
                return lambda values: table[values.astype(np.intp, copy=False)]
            return lambda values: table[(values - offset).astype(np.intp)]
        positions = pd.Index(self.values)  # a hash table: O(1) per value
        return lambda values: average[positions.get_indexer(values)]


def distributions(
    features: Any, columns: Sequence[str], rows: int | None = None
) -> dict[str, Distribution]:
    """:class:`Distribution` of each of ``columns`` (once, for the summary and the figures).

    ``features`` is a pandas frame, or a table of the engine (a native frame or a narwhals
    LazyFrame): then each column's distinct values are counted in the engine
    (:func:`value_counts`) and only those counts come to this process, never the rows.
    ``rows``: the table's rows, when the caller has counted them already.
    """
    columns = list(dict.fromkeys(columns))
    if not columns:
        return {}
    if isinstance(features, pd.DataFrame):
        return {column: Distribution.of(features[column]) for column in columns}
    frame = features if isinstance(features, nw.LazyFrame) else engine.lazy(features)
    rows = engine.row_count(frame) if rows is None else rows
    return {
        column: Distribution.from_counts(*value_counts(frame, column), rows) for column in columns
    }


def value_counts(frame: nw.LazyFrame, column: str) -> tuple[np.ndarray, np.ndarray]:
    """The distinct non-missing values of a numeric ``column`` (null and NaN are missing) and
    how many rows hold each, counted in the engine: as many rows as distinct values (a
    whole-number column: at most its span), whatever the rows of ``frame``. One column per
    result, so that what comes to this process is bounded by one column's values.
    """
    value = nw.col(column).cast(nw.Float64)
    counts = engine.to_pandas(
        frame.select(value.alias("value"))
        .filter(~nw.col("value").is_null() & ~nw.col("value").is_nan())
        .group_by("value")
        .agg(count=nw.len())
    )
    return counts["value"].to_numpy(dtype="float64"), counts["count"].to_numpy(dtype=np.int64)


def feature_summary(
    features: Any,
    raw_columns: list[str],
    engineered_columns: list[str],
    counted: Mapping[str, Distribution] | None = None,
) -> pd.DataFrame:
    """Distribution of every raw and engineered numeric column, on all rows.

    Args:
        features: ``customer_features`` (one row per customer) with both column lists: pandas
            or the engine's table (see :func:`distributions`).
        raw_columns: columns as exported (``Income``, ``Recency``, ``Mnt*``, ``Num*``...).
        engineered_columns: columns the pipeline derived (``Age``, ``Total_Spending``...).
        counted: :func:`distributions` of these columns, if already computed.

    Returns:
        One row per column: ``column``, ``kind`` (raw/engineered), ``count``, ``mean``,
        ``std``, ``min``, ``p25``, ``median``, ``p75``, ``max``, ``skew``, ``zeros_share``
        (share of all rows, missing included).
    """
    counted = counted or {}
    uncounted = [c for c in [*raw_columns, *engineered_columns] if c not in counted]
    counted = {**distributions(features, uncounted), **counted}
    rows = []
    for kind, columns in (("raw", raw_columns), ("engineered", engineered_columns)):
        for column in columns:
            found = counted[column]
            mean, std, skew = found.moments()
            p25, median, p75 = found.quantiles([0.25, 0.5, 0.75])
            rows.append(
                {
                    "column": column,
                    "kind": kind,
                    "count": found.count,
                    "mean": mean,
                    "std": std,
                    "min": found.values[0] if found.count else np.nan,
                    "p25": p25,
                    "median": median,
                    "p75": p75,
                    "max": found.values[-1] if found.count else np.nan,
                    "skew": skew,
                    "zeros_share": (
                        float(found.counts[found.values == 0].sum() / found.rows)
                        if found.rows
                        else np.nan
                    ),
                }
            )
    return pd.DataFrame(rows)


def missing_values(customers: Any, rejected: Any) -> pd.DataFrame:
    """Missing values per column in the raw export (clean and rejected rows together) and in
    the clean table, counted in the engine.

    Args:
        customers: the clean ``customers`` table, a native frame of the engine (missing =
            null).
        rejected: ``rejected_customers`` (original text; missing = empty or blank), a native
            frame of the engine or pandas.

    Returns:
        One row per column of the export present in either table: ``column``,
        ``missing_raw``, ``missing_raw_share``, ``missing_clean``; sorted by ``missing_raw``
        (descending), then column.
    """
    frame = engine.lazy(customers)
    present = frame.collect_schema().names()
    counts = engine.first_row(
        frame.select(
            _rows=nw.len(),
            **{c: nw.col(c).is_null().cast(nw.Int64).sum() for c in present},
        )
    )
    bad = engine.lazy(rejected)
    written = bad.collect_schema().names()
    blank = engine.first_row(
        bad.select(
            _rows=nw.len(),
            **{c: (_text(c) == "").cast(nw.Int64).sum() for c in written},
        )
    )
    columns = [c for c in schema.KAGGLE_COLUMNS if c in present or c in written]
    total = int(counts["_rows"]) + int(blank["_rows"])
    rows = []
    for column in columns:
        clean_missing = int(counts[column] or 0) if column in present else 0
        rejected_missing = int(blank[column] or 0) if column in written else 0
        rows.append(
            {
                "column": column,
                "missing_raw": clean_missing + rejected_missing,
                "missing_raw_share": (clean_missing + rejected_missing) / total if total else 0.0,
                "missing_clean": clean_missing,
            }
        )
    table = pd.DataFrame(rows)
    return table.sort_values(["missing_raw", "column"], ascending=[False, True]).reset_index(
        drop=True
    )


def _text(column: str) -> nw.Expr:
    """A column of the rejected rows as trimmed text (a missing field is empty)."""
    return nw.col(column).cast(nw.String).fill_null("").str.strip_chars()


def _file_order() -> nw.Expr:
    """The rejected rows' line in the file (``source_row``, text in a CSV), as a number."""
    return nw.col(SOURCE_ROW).cast(nw.String).cast(nw.Int64)


def category_counts(customers: Any) -> pd.DataFrame:
    """Counts of each value of ``Education`` and ``Marital_Status`` in the clean table,
    counted in the engine (``customers``: a native frame, pandas included).

    Returns:
        ``column``, ``value``, ``count``, ``share`` (within the column), most common first
        (ties: by value).
    """
    frame = engine.lazy(customers)
    parts = []
    for column in schema.CATEGORY_COLUMNS:
        counts = engine.to_pandas(
            frame.group_by(nw.col(column).cast(nw.String).alias("value"))
            .agg(count=nw.len())
            .sort(["count", "value"], descending=[True, False])
        )
        parts.append(
            pd.DataFrame(
                {
                    "column": column,
                    "value": counts["value"].to_numpy(dtype=object),
                    "count": counts["count"].to_numpy(dtype=np.int64),
                    "share": (counts["count"] / counts["count"].sum()).to_numpy(),
                }
            )
        )
    return pd.concat(parts, ignore_index=True)


def correlations(
    features: pd.DataFrame,
    columns: list[str],
    counted: Mapping[str, Distribution] | None = None,
) -> pd.DataFrame:
    """Spearman rank correlation between ``columns`` (robust to the skewed spending columns),
    on all rows.

    Without missing values this is the Pearson correlation of average ranks, computed in
    chunks of :data:`RANK_CHUNK_ROWS` rows from each column's :class:`Distribution` (linear in
    rows); with missing values, pandas (pairwise complete rows).

    Returns:
        A square table, ``column`` first, then one column per feature.
    """
    counted = counted or {}
    found = [counted.get(c) or Distribution.of(features[c]) for c in columns]
    if any(d.count < d.rows for d in found):
        matrix = features[columns].astype("float64").corr(method="spearman")
    else:
        arrays = [features[c].to_numpy() for c in columns]
        matrix = pd.DataFrame(_spearman(arrays, found), index=pd.Index(columns), columns=columns)
    matrix.index.name = "column"
    return matrix.reset_index()


def correlations_measured_on(sampled: int, customers: int) -> str:
    """Which customers :func:`correlations` read, for the figure: all of them, or a seeded
    sample with the largest standard error of a correlation on it (``1/sqrt(n - 3)``).
    """
    if sampled >= customers:
        return f"all {customers:,} customers"
    error = 1 / np.sqrt(max(sampled - 3, 1))
    return (
        f"a seeded sample of {sampled:,} of {customers:,} customers, standard error at most "
        f"{error:.3f}"
    )


def _spearman(arrays: list[np.ndarray], found: list[Distribution]) -> np.ndarray:
    """Spearman matrix of columns without missing values: the Gram matrix of centred average
    ranks, accumulated over chunks of rows.
    """
    n, k = (len(arrays[0]) if arrays else 0), len(arrays)
    rankers = [d.ranker() for d in found]
    centre = (n + 1) / 2.0  # the mean of average ranks
    gram = np.zeros((k, k))
    block = np.empty((min(n, RANK_CHUNK_ROWS), k), order="F")  # one column at a time
    for start in range(0, n, RANK_CHUNK_ROWS):
        stop = min(start + RANK_CHUNK_ROWS, n)
        ranks = block[: stop - start]
        for j, (ranker, column) in enumerate(zip(rankers, arrays, strict=True)):
            ranks[:, j] = ranker(column[start:stop])
        ranks -= centre
        gram += ranks.T @ ranks
    scale = np.sqrt(np.diag(gram))
    with np.errstate(divide="ignore", invalid="ignore"):
        matrix = np.clip(gram / np.outer(scale, scale), -1.0, 1.0)
    np.fill_diagonal(matrix, np.where(scale > 0, 1.0, np.nan))
    return matrix


def removed_outliers(rejected: Any, report: dict[str, Any]) -> pd.DataFrame:
    """What cleaning removed and why: one row per reason with the values that triggered it.

    Args:
        rejected: ``rejected_customers`` (``source_row``, ``reason_code``, ``reason``, original
            columns), a native frame of the engine or pandas: only each reason's first five
            rows (in file order) come to this process.
        report: ``data_quality_report`` (``rows_in``, ``rejected_by_reason``).

    Returns:
        ``reason_code``, ``rows``, ``share_of_rows``, ``reason`` (the first message), and
        ``examples``: up to five ``ID`` with their ``Income``/``Year_Birth`` values.
    """
    frame = engine.lazy(rejected)
    written = frame.collect_schema().names()
    rows_in = int(report["rows_in"]) or 1
    rows = []
    for code, count in sorted(report["rejected_by_reason"].items()):
        mine = pd.DataFrame()
        if REASON_CODE in written:
            mine = engine.to_pandas(
                frame.filter(nw.col(REASON_CODE) == code)
                .with_columns(_file_order().alias("_line"))
                .sort("_line")
                .head(EXAMPLES)
                .drop("_line")
            )
        examples = "; ".join(
            f"ID {r[schema.ID]}: Income={r.get('Income', '') or 'missing'}, "
            f"Year_Birth={r.get('Year_Birth', '')}"
            for _, r in mine.iterrows()
        )
        rows.append(
            {
                "reason_code": code,
                "rows": int(count),
                "share_of_rows": int(count) / rows_in,
                "reason": str(mine["reason"].iloc[0]) if len(mine) else "",
                "examples": examples,
            }
        )
    return pd.DataFrame(
        rows, columns=["reason_code", "rows", "share_of_rows", "reason", "examples"]
    )


def rejected_values(rejected: Any, reasons: Mapping[str, str]) -> dict[str, pd.Series]:
    """For each ``column -> reason_code`` of ``reasons``: the numbers of ``column`` in the rows
    rejected for that reason (``rejected_customers``, native or pandas; text that is not a
    plain number left out), counted in the engine: how many rows hold each distinct value, in
    the order the values first appear in the file. Only those counts come to this process.
    """
    frame = engine.lazy(rejected)
    written = frame.collect_schema().names()
    found = {}
    for column, code in reasons.items():
        counts = pd.DataFrame({"value": [], "rows": [], "first": []})
        if column in written and REASON_CODE in written:
            value = values.number(column, _text(column), form=values.PLAIN).value
            counts = engine.to_pandas(
                frame.filter(nw.col(REASON_CODE) == code)
                .select(value.alias("value"), _file_order().alias("first"))
                .filter(~nw.col("value").is_null())
                .group_by("value")
                .agg(rows=nw.len(), first=nw.col("first").min())
                .sort("first")
            )
        found[column] = pd.Series(
            counts["rows"].to_numpy(dtype=np.int64),
            index=pd.Index(counts["value"].to_numpy(dtype="float64"), name=column),
            name="rows",
        )
    return found
