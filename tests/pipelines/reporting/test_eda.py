"""``eda`` and ``explore_customers``: every table and figure is exact on all rows (counted once
per column, linear in rows), equal to what pandas and numpy give on the raw values."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from conftest import changed
from matplotlib.collections import LineCollection

from customer_segmentation.core import eda, engine
from customer_segmentation.params import EdaParams
from customer_segmentation.pipelines.reporting.nodes import explore_customers
from customer_segmentation.report import figures


def _mixed_table(rows: int = 6_000, seed: int = 0) -> pd.DataFrame:
    """Columns that take every path of :class:`eda.Distribution`."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "visits": rng.poisson(3, rows),  # small whole numbers, many ties and zeros
            "balance": rng.integers(-50, 50, rows),  # negative whole numbers
            "recency": rng.integers(0, 100, rows).astype("float64"),  # whole floats
            "income": np.round(rng.normal(50_000, 15_000, rows)),  # whole, wide span
            "share": rng.integers(0, 7, rows) / 6,  # fractions with ties
            "spend": rng.gamma(2.0, 150.0, rows),  # continuous
            "constant": np.full(rows, 7),
        }
    )
    frame.loc[::97, "income"] = np.nan
    frame.loc[::89, "spend"] = np.nan
    return frame


def _pandas_summary(values: pd.Series) -> list[float]:
    """What ``feature_summary`` reported before it counted values once (pandas, row by row)."""
    values = values.astype("float64")
    return [
        values.count(),
        values.mean(),
        values.std(),
        values.min(),
        values.quantile(0.25),
        values.median(),
        values.quantile(0.75),
        values.max(),
        values.skew(),
        float((values == 0).mean()),
    ]


def test_feature_summary_is_exact_on_all_rows():
    frame = _mixed_table()
    raw, engineered = ["visits", "balance", "recency", "income"], ["share", "spend", "constant"]

    summary = eda.feature_summary(frame, raw, engineered).set_index("column")

    statistics = ["count", "mean", "std", "min", "p25", "median", "p75", "max", "skew"]
    for column in [*raw, *engineered]:
        got = summary.loc[column, [*statistics, "zeros_share"]].astype(float).tolist()
        assert got == pytest.approx(_pandas_summary(frame[column]), rel=1e-9, nan_ok=True), column
    assert summary.loc["income", "count"] == len(frame) - len(frame.index[::97])
    assert summary.loc["visits", "count"] == len(frame), "every row is counted, none sampled"
    assert summary.loc[raw, "kind"].eq("raw").all()


def test_columns_counted_in_the_engine_give_the_distribution_of_their_rows():
    import polars as pl  # noqa: PLC0415 - the local engine

    frame = _mixed_table()
    columns = list(frame.columns)
    table = pl.from_pandas(frame).with_columns(pl.col("spend").fill_nan(None))
    table = table.with_columns(  # NaN and null are both missing, on every engine
        pl.when(pl.int_range(pl.len()) % 89 == 1)
        .then(float("nan"))
        .otherwise(pl.col("spend"))
        .alias("spend")
    )

    counted = eda.distributions(engine.lazy(table), columns)

    for column in columns:
        expected = eda.Distribution.of(table[column].to_pandas())
        got = counted[column]
        np.testing.assert_array_equal(got.values, expected.values, err_msg=column)
        np.testing.assert_array_equal(got.counts, expected.counts, err_msg=column)
        assert (got.rows, got.offset) == (expected.rows, expected.offset), column
    assert counted["spend"].count == len(frame) - len(frame.index[::89]) - len(frame.index[1::89])
    assert counted["income"].offset is None and counted["visits"].offset == 0


def test_spearman_correlations_equal_pandas_in_chunks(monkeypatch: pytest.MonkeyPatch):
    frame = _mixed_table()
    complete = ["visits", "balance", "recency", "share", "constant"]
    monkeypatch.setattr(eda, "RANK_CHUNK_ROWS", 1_000)  # several chunks of rows

    got = eda.correlations(frame, complete).set_index("column")
    with_missing = eda.correlations(frame, ["income", "spend", "visits"]).set_index("column")

    expected = frame[complete].astype("float64").corr(method="spearman")
    np.testing.assert_allclose(got.to_numpy(), expected.to_numpy(), atol=1e-12, equal_nan=True)
    assert list(got.index) == complete and list(got.columns) == complete
    pandas = frame[["income", "spend", "visits"]].astype("float64").corr(method="spearman")
    np.testing.assert_allclose(with_missing.to_numpy(), pandas.to_numpy(), atol=1e-12)


def test_distribution_figure_bins_every_row_as_numpy_does():
    frame = _mixed_table()
    raw, engineered = ["visits", "income"], ["share", "spend"]

    counted = eda.distributions(frame, [*raw, *engineered])
    fig = figures.distributions(counted, raw, engineered, bins=30)

    for ax, column in zip(fig.axes, [*raw, *engineered], strict=False):
        heights, edges, _ = ax.patches[0].get_data()
        values = frame[column].dropna()
        expected, expected_edges = np.histogram(values, bins=30)
        assert ax.get_title() == column
        np.testing.assert_array_equal(heights, expected)
        np.testing.assert_allclose(edges, expected_edges)
        assert heights.sum() == len(values), f"{column}: every non-missing row is binned"


def _removed_inputs(repeats: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    customers = pd.DataFrame(
        {"Income": np.linspace(10_000, 90_000, 500), "Year_Birth": np.arange(1940, 1990).repeat(10)}
    )
    incomes = ["666666"] * repeats
    births = ["1900", "1893", "1899"] * repeats
    rejected = pd.DataFrame(
        {
            "source_row": [str(row) for row in range(2, 2 + len(incomes) + len(births))],
            "reason_code": ["income_outlier"] * len(incomes)
            + ["birth_year_out_of_range"] * len(births),
            "Income": incomes + ["50000"] * len(births),
            "Year_Birth": ["1970"] * len(incomes) + births,
        }
    )
    return customers, rejected


def test_removed_figure_marks_each_distinct_value_once_with_its_count():
    reasons = {"Income": "income_outlier", "Year_Birth": "birth_year_out_of_range"}
    customers, rejected = _removed_inputs(repeats=446)

    fig = figures.removed(
        eda.distributions(customers, reasons),
        eda.rejected_values(rejected, reasons),
        reasons,
        bins=30,
    )

    income, birth = fig.axes
    assert income.get_title() == "Income: 446 removed (income_outlier):\n666,666 (x446)"
    assert birth.get_title() == (
        "Year_Birth: 1,338 removed (birth_year_out_of_range):\n"
        "1,900 (x446), 1,893 (x446), 1,899 (x446)"
    )
    marks = [c for c in birth.collections if isinstance(c, LineCollection)]
    assert len(marks) == 1 and len(marks[0].get_segments()) == 3, "one red line per value"
    heights = income.patches[0].get_data()[0]
    assert heights.sum() == len(customers), "the kept customers are all binned"


def test_removed_figure_titles_of_a_small_table_are_unchanged():
    reasons = {"Income": "income_outlier", "Year_Birth": "birth_year_out_of_range"}
    customers, rejected = _removed_inputs(repeats=1)

    income, birth = figures.removed(
        eda.distributions(customers, reasons),
        eda.rejected_values(rejected, reasons),
        reasons,
        bins=30,
    ).axes

    assert income.get_title() == "Income: 1 removed (income_outlier): 666,666"
    assert (
        birth.get_title() == "Year_Birth: 3 removed (birth_year_out_of_range): 1,900, 1,893, 1,899"
    )


def test_removed_figure_title_stops_listing_after_a_few_values():
    rejected = pd.DataFrame(
        {
            "source_row": [str(row) for row in range(2, 14)],
            "reason_code": ["income_outlier"] * 12,
            "Income": [str(300_000 + i) for i in range(12)],
        }
    )
    kept = eda.distributions(pd.DataFrame({"Income": [1.0, 2.0, 3.0]}), ["Income"])

    reasons = {"Income": "income_outlier"}
    flagged = eda.rejected_values(rejected, reasons)

    (ax,) = figures.removed(kept, flagged, reasons, bins=5).axes

    assert ax.get_title().endswith(f"and {12 - figures.LISTED_VALUES} more values"), ax.get_title()
    assert len(ax.collections[0].get_segments()) == 12, "every rejected value is still drawn"


def _node_inputs(
    settings: EdaParams, rows: int, seed: int = 1
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, dict[str, Any]]:
    """Synthetic ``customers``, ``customer_features``, ``rejected_customers`` and report."""
    rng = np.random.default_rng(seed)
    columns = [
        *settings.raw_columns,
        *settings.engineered_columns,
        *settings.correlation_columns,
    ]
    features = pd.DataFrame({c: rng.integers(0, 40, rows) for c in dict.fromkeys(columns)})
    features["Income"] = np.round(rng.normal(50_000, 15_000, rows))
    features.insert(0, "ID", np.arange(rows))
    customers = pd.DataFrame(
        {
            "ID": np.arange(rows),
            "Year_Birth": rng.integers(1940, 2000, rows),
            "Education": rng.choice(["Graduation", "PhD", "Master"], rows),
            "Marital_Status": rng.choice(["Married", "Single"], rows),
            "Income": features["Income"],
        }
    )
    rejected = pd.DataFrame(
        {
            "ID": [str(rows + i) for i in range(40)],
            "source_row": [str(rows + 2 + i) for i in range(40)],
            "reason_code": ["income_outlier"] * 30 + ["birth_year_out_of_range"] * 10,
            "reason": ["Income above 200,000"] * 30 + ["Year_Birth before 1901"] * 10,
            "Income": ["666666"] * 30 + ["40000"] * 10,
            "Year_Birth": ["1970"] * 30 + ["1893", "1899"] * 5,
        }
    )
    report = {
        "rows_in": rows + len(rejected),
        "rejected_by_reason": {"income_outlier": 30, "birth_year_out_of_range": 10},
    }
    return customers, features, rejected, report


def test_explore_customers_correlations_read_the_seeded_sample_and_say_so(params: dict[str, Any]):
    settings = params["reporting"]
    eda_settings = changed(settings.eda, correlation_sample_size=2_000)
    inputs = _node_inputs(settings.eda, 30_000)

    outputs = explore_customers(*inputs, changed(settings, eda=eda_settings.model_dump()))

    summary, matrix, correlation_figure = outputs[0], outputs[3], outputs[6]
    assert summary["count"].eq(30_000).all(), "the summary still counts every customer"
    columns = list(settings.eda.correlation_columns)
    drawn = engine.gather(engine.lazy(inputs[1]), 2_000, settings.random_state, "ID")
    expected = drawn[columns].corr(method="spearman")
    np.testing.assert_allclose(matrix.set_index("column").to_numpy(), expected, atol=1e-12)
    assert correlation_figure.axes[0].get_title() == (
        "Correlations between features (a seeded sample of 2,000 of 30,000 customers, "
        "standard error at most 0.022)"
    )


def test_explore_customers_counts_every_row_and_repeats_exactly(params: dict[str, Any]):
    settings = params["reporting"]
    rows = 30_000
    inputs = _node_inputs(settings.eda, rows)

    first = explore_customers(*inputs, settings)
    second = explore_customers(*inputs, settings)

    summary, missing, categories, matrix, removed, distributions, _, removed_figure = first
    assert summary["count"].eq(rows).all(), "the summary counts every customer"
    assert categories.groupby("column")["count"].sum().eq(rows).all()
    assert removed.set_index("reason_code").loc["income_outlier", "rows"] == 30
    assert missing["missing_raw"].eq(0).all()
    panels = [ax for ax in distributions.axes if ax.get_visible()]
    assert len(panels) == len(settings.eda.raw_columns) + len(settings.eda.engineered_columns)
    for ax in panels:
        assert ax.patches[0].get_data()[0].sum() == rows, ax.get_title()
    assert removed_figure.axes[0].get_title().startswith("Income: 30 removed (income_outlier)")
    expected = inputs[1][list(settings.eda.correlation_columns)].corr(method="spearman")
    np.testing.assert_allclose(matrix.set_index("column").to_numpy(), expected, atol=1e-12)
    assert first[6].axes[0].get_title().endswith(f"(all {rows:,} customers)")
    for table, again in zip(first[:5], second[:5], strict=True):
        pd.testing.assert_frame_equal(table, again)
    for fig, again in zip(first[5:], second[5:], strict=True):
        assert [ax.get_title() for ax in fig.axes] == [ax.get_title() for ax in again.axes]
