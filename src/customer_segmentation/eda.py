"""Exploratory analysis: tables and figures of the clean customers, their features and what
cleaning removed.

Pure functions (no file I/O); the ``reporting`` pipeline saves their results through the
catalog and the report and the notebook show them.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from customer_segmentation import schema

logger = logging.getLogger(__name__)

GRID_COLUMNS = 4


def feature_summary(
    features: pd.DataFrame, raw_columns: list[str], engineered_columns: list[str]
) -> pd.DataFrame:
    """Distribution of every raw and engineered numeric column.

    Args:
        features: ``customer_features`` (one row per customer) with both column lists.
        raw_columns: columns as exported (``Income``, ``Recency``, ``Mnt*``, ``Num*``...).
        engineered_columns: columns the pipeline derived (``Age``, ``Total_Spending``...).

    Returns:
        One row per column: ``column``, ``kind`` (raw/engineered), ``count``, ``mean``,
        ``std``, ``min``, ``p25``, ``median``, ``p75``, ``max``, ``skew``, ``zeros_share``.
    """
    rows = []
    for kind, columns in (("raw", raw_columns), ("engineered", engineered_columns)):
        for column in columns:
            values = features[column].astype("float64")
            rows.append(
                {
                    "column": column,
                    "kind": kind,
                    "count": int(values.count()),
                    "mean": values.mean(),
                    "std": values.std(),
                    "min": values.min(),
                    "p25": values.quantile(0.25),
                    "median": values.median(),
                    "p75": values.quantile(0.75),
                    "max": values.max(),
                    "skew": values.skew(),
                    "zeros_share": float((values == 0).mean()),
                }
            )
    return pd.DataFrame(rows)


def missing_values(customers: pd.DataFrame, rejected: pd.DataFrame) -> pd.DataFrame:
    """Missing values per column in the raw export (clean and rejected rows together) and in
    the clean table.

    Args:
        customers: the clean ``customers`` table (missing = NaN/NaT).
        rejected: ``rejected_customers`` (original text; missing = empty string).

    Returns:
        One row per column of the export present in either table: ``column``,
        ``missing_raw``, ``missing_raw_share``, ``missing_clean``; sorted by ``missing_raw``
        (descending), then column.
    """
    columns = [c for c in schema.KAGGLE_COLUMNS if c in customers.columns or c in rejected]
    total = len(customers) + len(rejected)
    rows = []
    for column in columns:
        clean_missing = int(customers[column].isna().sum()) if column in customers else 0
        rejected_missing = (
            int(rejected[column].fillna("").astype(str).str.strip().eq("").sum())
            if column in rejected
            else 0
        )
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


def category_counts(customers: pd.DataFrame) -> pd.DataFrame:
    """Counts of each value of ``Education`` and ``Marital_Status`` in the clean table.

    Returns:
        ``column``, ``value``, ``count``, ``share`` (within the column), most common first.
    """
    parts = []
    for column in schema.CATEGORY_COLUMNS:
        counts = customers[column].astype(str).value_counts()
        parts.append(
            pd.DataFrame(
                {
                    "column": column,
                    "value": counts.index,
                    "count": counts.to_numpy(),
                    "share": (counts / counts.sum()).to_numpy(),
                }
            )
        )
    return pd.concat(parts, ignore_index=True)


def correlations(features: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """Spearman rank correlation between ``columns`` (robust to the skewed spending columns).

    Returns:
        A square table, ``column`` first, then one column per feature.
    """
    matrix = features[columns].astype("float64").corr(method="spearman")
    matrix.index.name = "column"
    return matrix.reset_index()


def removed_outliers(rejected: pd.DataFrame, report: dict[str, Any]) -> pd.DataFrame:
    """What cleaning removed and why: one row per reason with the values that triggered it.

    Args:
        rejected: ``rejected_customers`` (``reason_code``, ``reason``, original columns).
        report: ``data_quality_report`` (``rows_in``, ``rejected_by_reason``).

    Returns:
        ``reason_code``, ``rows``, ``share_of_rows``, ``reason`` (the first message), and
        ``examples``: up to five ``ID`` with their ``Income``/``Year_Birth`` values.
    """
    rows_in = int(report.get("rows_in", len(rejected))) or 1
    rows = []
    for code, count in sorted(report.get("rejected_by_reason", {}).items()):
        mine = rejected[rejected["reason_code"] == code] if len(rejected) else rejected
        examples = "; ".join(
            f"ID {r[schema.ID]}: Income={r.get('Income', '') or 'missing'}, "
            f"Year_Birth={r.get('Year_Birth', '')}"
            for _, r in mine.head(5).iterrows()
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


def plot_distributions(
    features: pd.DataFrame, raw_columns: list[str], engineered_columns: list[str], bins: int
) -> Figure:
    """Histogram of every raw (blue) and engineered (orange) column."""
    columns = [*raw_columns, *engineered_columns]
    rows = int(np.ceil(len(columns) / GRID_COLUMNS))
    fig = Figure(figsize=(3.2 * GRID_COLUMNS, 2.2 * rows), layout="constrained")
    axes = np.atleast_1d(fig.subplots(rows, GRID_COLUMNS)).ravel()
    for ax, column in zip(axes, columns, strict=False):
        color = "tab:blue" if column in raw_columns else "tab:orange"
        ax.hist(features[column].astype("float64").dropna(), bins=bins, color=color)
        ax.set_title(column, fontsize=9)
        ax.tick_params(labelsize=7)
    for ax in axes[len(columns) :]:
        ax.set_visible(False)
    fig.suptitle("Distributions: raw columns (blue) and engineered features (orange)")
    return fig


def plot_correlations(matrix: pd.DataFrame) -> Figure:
    """Heat map of a correlation table from :func:`correlations`."""
    values = matrix.set_index("column")
    fig = Figure(figsize=(9, 7.5), layout="constrained")
    ax = fig.subplots()
    image = ax.imshow(values.to_numpy(), cmap="RdBu_r", vmin=-1, vmax=1)
    ax.set_xticks(np.arange(len(values.columns)), values.columns, rotation=90, fontsize=7)
    ax.set_yticks(np.arange(len(values.index)), values.index, fontsize=7)
    fig.colorbar(image, ax=ax, label="Spearman correlation")
    ax.set_title("Correlations between features")
    return fig


def plot_removed(
    customers: pd.DataFrame, rejected: pd.DataFrame, reasons: dict[str, str], bins: int
) -> Figure:
    """For each ``column -> reason_code`` of ``reasons``: a histogram of the column among the
    kept customers, with the values rejected for that reason marked in red.

    Args:
        customers: clean ``customers`` (needs the columns of ``reasons``).
        rejected: ``rejected_customers`` (``reason_code`` and the same columns, as text).
        reasons: e.g. ``{"Income": "income_outlier", "Year_Birth": "birth_year_out_of_range"}``.
        bins: histogram bins.
    """
    fig = Figure(figsize=(5.5 * len(reasons), 3.8), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, len(reasons)))
    for ax, (column, code) in zip(axes, reasons.items(), strict=True):
        mine = rejected[rejected["reason_code"] == code] if len(rejected) else rejected
        flagged = pd.to_numeric(mine.get(column, pd.Series(dtype=str)), errors="coerce").dropna()
        ax.hist(customers[column].astype("float64").dropna(), bins=bins, color="tab:blue")
        for value in flagged:
            ax.axvline(value, color="tab:red", linewidth=1.5)
        shown = ", ".join(f"{v:,.0f}" for v in flagged)
        ax.set(
            xlabel=column,
            ylabel="customers kept",
            title=f"{column}: {len(flagged)} removed ({code})" + (f": {shown}" if shown else ""),
        )
        ax.title.set_fontsize(9)
    return fig


__all__ = [
    "category_counts",
    "correlations",
    "feature_summary",
    "missing_values",
    "plot_correlations",
    "plot_distributions",
    "plot_removed",
    "removed_outliers",
]
