"""Nodes of ``reporting``: segment profiles, exploratory analysis, the figures a marketer reads
and the self-contained HTML report.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from sklearn.decomposition import PCA
from sklearn.manifold import TSNE
from sklearn.preprocessing import StandardScaler

from customer_segmentation import eda, schema
from customer_segmentation.modeling import matched_positions, sample_positions
from customer_segmentation.report_html import render_report
from customer_segmentation.segments import profile_segments

logger = logging.getLogger(__name__)


def segment_names(model_card: dict[str, Any]) -> pd.DataFrame:
    """The model card's segment table: ``segment``, ``name``, ``description``, ``action``."""
    return pd.DataFrame(model_card["segments"])[
        ["segment", "name", "behaviour", "description", "action"]
    ]


def _segmented_rows(
    features: pd.DataFrame, segments: pd.DataFrame
) -> tuple[np.ndarray | None, np.ndarray]:
    """The customers that have a segment, as an inner one-to-one merge on ``ID`` keeps them
    (in ``features``' order), found without copying the table.

    Returns:
        Their positions in ``features`` (``None`` when that is every row, in order) and
        their segments.
    """
    rows, where = matched_positions(features[schema.ID], segments[schema.ID])
    labels = segments["segment"].to_numpy()[where]
    return (None if len(rows) == len(features) else rows), labels


def _segmented_columns(
    features: pd.DataFrame, rows: np.ndarray | None, columns: list[str]
) -> pd.DataFrame:
    """Only ``columns`` of the customers at ``rows`` (all when ``None``)."""
    frame = features[list(columns)]
    return frame if rows is None else frame.iloc[rows].reset_index(drop=True)


def _segmented_sample(
    features: pd.DataFrame,
    segmented: tuple[np.ndarray | None, np.ndarray],
    size: int | None,
    seed: int,
) -> tuple[pd.DataFrame, np.ndarray]:
    """A seeded sample of ``size`` customers that have a segment (the same rows a sample of
    the merged table draws) and their segments; only the sampled rows are copied.

    Args:
        features: the customer features.
        segmented: what :func:`_segmented_rows` returns for ``features``.
        size: rows to draw (all when ``None`` or not smaller).
        seed: the sample's seed.
    """
    rows, labels = segmented
    keep = sample_positions(len(labels), size, seed)
    return features.iloc[keep if rows is None else rows[keep]], labels[keep]


def _scaled_sample(  # noqa: PLR0913
    features: pd.DataFrame,
    segments: pd.DataFrame,
    scaler: StandardScaler,
    model_card: dict[str, Any],
    size: int | None,
    seed: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Segments and scaled model features of a seeded sample of ``size`` segmented customers
    (what the 2-D maps draw).
    """
    data, labels = _segmented_sample(features, _segmented_rows(features, segments), size, seed)
    return labels, scaler.transform(data[model_card["features"]].astype("float64"))


def build_segment_profiles(
    customer_features: pd.DataFrame,
    customer_segments: pd.DataFrame,
    model_card: dict[str, Any],
    params: dict[str, Any],
) -> pd.DataFrame:
    """One row per segment: name, description, action, size, share, and the mean, median and
    z-score (against all customers) of every column in ``params["profile_columns"]``.
    """
    columns = list(params["profile_columns"])
    rows, labels = _segmented_rows(customer_features, customer_segments)
    data = (
        customer_features if rows is None else _segmented_columns(customer_features, rows, columns)
    )
    profile = profile_segments(data, pd.Series(labels), columns)
    return segment_names(model_card).merge(profile, on="segment").sort_values("segment")


def _labelled(model_card: dict[str, Any]) -> dict[int, str]:
    return {int(s["segment"]): f"{s['segment']}: {s['name']}" for s in model_card["segments"]}


def _scatter_segments(
    ax: Any, coords: np.ndarray, labels: np.ndarray, names: dict[int, str]
) -> None:
    """One colour per segment (``C<segment>``, as in every figure), labelled by name."""
    for segment in sorted(names):
        mine = labels == segment
        ax.scatter(
            coords[mine, 0],
            coords[mine, 1],
            s=8,
            alpha=0.7,
            color=f"C{segment}",
            label=names[segment],
        )


def _segment_map_figure(
    coords: np.ndarray, labels: np.ndarray, model_card: dict[str, Any], **axes: str
) -> Figure:
    """A 2-D map of customers coloured by segment; ``axes`` are ``xlabel``, ``ylabel``, ``title``."""
    fig = Figure(figsize=(8, 6), layout="constrained")
    ax = fig.subplots()
    _scatter_segments(ax, coords, labels, _labelled(model_card))
    ax.set(**axes)
    ax.legend(fontsize=8, markerscale=2, loc="best")
    return fig


def plot_segment_map(
    customer_features: pd.DataFrame,
    customer_segments: pd.DataFrame,
    scaler: StandardScaler,
    model_card: dict[str, Any],
    params: dict[str, Any],
) -> Figure:
    """PCA map of the scaled model features, coloured by segment, on a seeded sample."""
    seed = int(params["random_state"])
    labels, scaled = _scaled_sample(
        customer_features, customer_segments, scaler, model_card, params["map_sample_size"], seed
    )
    pca = PCA(n_components=2, random_state=seed).fit(scaled)
    coords = pca.transform(scaled)
    ratio = pca.explained_variance_ratio_
    return _segment_map_figure(
        coords,
        labels,
        model_card,
        xlabel=f"PC1 ({ratio[0]:.0%} of variance)",
        ylabel=f"PC2 ({ratio[1]:.0%} of variance)",
        title=f"Segments on the first two principal components ({len(labels):,} customers)",
    )


def plot_income_spending(
    customer_features: pd.DataFrame,
    customer_segments: pd.DataFrame,
    model_card: dict[str, Any],
    params: dict[str, Any],
) -> Figure:
    """Income against total spending coloured by segment, and box plots of both per segment."""
    segmented = _segmented_rows(customer_features, customer_segments)
    sample, sample_labels = _segmented_sample(
        customer_features, segmented, params["map_sample_size"], int(params["random_state"])
    )
    names = _labelled(model_card)
    fig = Figure(figsize=(14, 5), layout="constrained")
    scatter, income_box, spend_box = fig.subplots(1, 3)
    _scatter_segments(
        scatter,
        sample[["Income", "Total_Spending"]].to_numpy(dtype="float64"),
        sample_labels,
        names,
    )
    scatter.set(xlabel="Income", ylabel="Total spending", title="Income vs spending")
    scatter.legend(fontsize=7, markerscale=2)
    order = sorted(names)
    # The box plots describe every customer with a segment.
    rows, labels = segmented
    members = [labels == s for s in order]
    for ax, column in ((income_box, "Income"), (spend_box, "Total_Spending")):
        values = customer_features[column].to_numpy()
        values = values if rows is None else values[rows]
        groups = [values[mine] for mine in members]
        box = ax.boxplot(groups, patch_artist=True, showfliers=False)
        for patch, segment in zip(box["boxes"], order, strict=True):
            patch.set_facecolor(f"C{segment}")
        ax.set_xticks(np.arange(1, len(order) + 1), [str(s) for s in order])
        ax.set(
            xlabel="segment",
            ylabel=column.replace("_", " "),
            title=f"{column.replace('_', ' ')} by segment",
        )
    return fig


def explore_customers(
    customers: pd.DataFrame,
    customer_features: pd.DataFrame,
    rejected_customers: pd.DataFrame,
    data_quality_report: dict[str, Any],
    params: dict[str, Any],
) -> tuple[
    pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame, Figure, Figure, Figure
]:
    """Exploratory analysis of the clean table, its features and what cleaning removed.

    Args:
        customers: clean ``customers`` (``Education``, ``Marital_Status``, ``Year_Birth``...).
        customer_features: needs ``params["eda"]["raw_columns"]`` and
            ``["engineered_columns"]``.
        rejected_customers: rejected rows (``reason_code``, ``reason``, original columns).
        data_quality_report: ``rows_in``, ``rejected_by_reason``.
        params: ``reporting`` parameters (``eda`` block, ``histogram_bins``).

    Returns:
        ``feature_summary``, ``missing_values``, ``category_counts``,
        ``feature_correlations``, ``removed_outliers`` and the figures
        ``eda_distributions``, ``eda_correlations``, ``eda_removed``.
    """
    settings = params["eda"]
    raw, engineered = list(settings["raw_columns"]), list(settings["engineered_columns"])
    correlated = list(settings["correlation_columns"])
    bins = int(params["histogram_bins"])
    # Each column is counted once (linear in rows); every table and figure below is exact on
    # all rows.
    counted = eda.distributions(customer_features, [*raw, *engineered, *correlated])
    summary = eda.feature_summary(customer_features, raw, engineered, counted)
    missing = eda.missing_values(customers, rejected_customers)
    categories = eda.category_counts(customers)
    matrix = eda.correlations(customer_features, correlated, counted)
    removed = eda.removed_outliers(rejected_customers, data_quality_report)
    logger.info(
        "EDA of %d customers: %d columns described, %d rejected rows in %d reasons",
        len(customer_features),
        len(summary),
        len(rejected_customers),
        len(removed),
    )
    return (
        summary,
        missing,
        categories,
        matrix,
        removed,
        eda.plot_distributions(customer_features, raw, engineered, bins, counted),
        eda.plot_correlations(matrix),
        eda.plot_removed(customers, rejected_customers, dict(settings["removed_reasons"]), bins),
    )


def plot_tsne_map(
    customer_features: pd.DataFrame,
    customer_segments: pd.DataFrame,
    scaler: StandardScaler,
    model_card: dict[str, Any],
    params: dict[str, Any],
) -> Figure:
    """t-SNE map of the scaled model features on a seeded sample of ``tsne.sample_size``
    customers, coloured by segment (``perplexity``, ``max_iter`` and seed from parameters).
    """
    settings = params["tsne"]
    seed = int(params["random_state"])
    labels, scaled = _scaled_sample(
        customer_features, customer_segments, scaler, model_card, settings["sample_size"], seed
    )
    perplexity = min(float(settings["perplexity"]), (len(labels) - 1) / 3)
    coords = TSNE(
        n_components=2,
        perplexity=perplexity,
        max_iter=int(settings["max_iter"]),
        init="pca",
        random_state=seed,
    ).fit_transform(scaled)
    return _segment_map_figure(
        coords,
        labels,
        model_card,
        xlabel="t-SNE 1",
        ylabel="t-SNE 2",
        title=f"Segments on a t-SNE map ({len(labels):,} customers, perplexity {perplexity:.0f})",
    )


def spending_mix(
    customer_features: pd.DataFrame,
    customer_segments: pd.DataFrame,
    model_card: dict[str, Any],
) -> tuple[pd.DataFrame, Figure]:
    """Share of each product category in the segment's spending and of each channel in its
    purchases.

    Args:
        customer_features: needs the ``Mnt*`` columns, ``NumWebPurchases``,
            ``NumCatalogPurchases``, ``NumStorePurchases``, ``NumDealsPurchases``.

    Returns:
        ``spending_mix``: ``segment``, ``name``, ``spend_<category>`` (shares summing to 1),
        ``channel_<channel>`` (shares of web/catalogue/store purchases summing to 1),
        ``deal_share`` (deal purchases / all purchases) and ``mean_spending``; and the
        figure with both mixes as stacked bars.
    """
    summed = list(dict.fromkeys([*schema.SPEND_COLUMNS, *schema.PURCHASE_COLUMNS]))
    rows, labels = _segmented_rows(customer_features, customer_segments)
    data = _segmented_columns(customer_features, rows, [*summed, "Total_Spending"])
    grouped = data.groupby(pd.Index(labels, name="segment"))
    sums = grouped[summed].sum()  # one pass over the rows for every summed column
    spend = sums[list(schema.SPEND_COLUMNS)]
    channels = sums[list(schema.CHANNEL_COLUMNS)]
    spend_share = spend.div(spend.sum(axis=1).replace(0, np.nan), axis=0).fillna(0.0)
    channel_share = channels.div(channels.sum(axis=1).replace(0, np.nan), axis=0).fillna(0.0)
    all_purchases = sums[list(schema.PURCHASE_COLUMNS)].sum(axis=1).replace(0, np.nan)
    deals = (sums["NumDealsPurchases"] / all_purchases).fillna(0.0)
    spend_share.columns = [f"spend_{c.removeprefix('Mnt')}" for c in spend_share.columns]
    channel_share.columns = [
        f"channel_{c.removeprefix('Num').removesuffix('Purchases')}" for c in channel_share.columns
    ]
    names = {int(s["segment"]): s["name"] for s in model_card["segments"]}
    table = pd.concat([spend_share, channel_share], axis=1)
    table["deal_share"] = deals
    table["mean_spending"] = grouped["Total_Spending"].mean()
    table = table.reset_index()
    table.insert(1, "name", table["segment"].map(names))

    labels = [f"{s}: {names.get(int(s), '')}" for s in table["segment"]]
    fig = Figure(figsize=(13, 0.6 * len(table) + 2.5), layout="constrained")
    for ax, columns, title in zip(
        fig.subplots(1, 2),
        (list(spend_share.columns), list(channel_share.columns)),
        ("Spending by product category", "Purchases by channel"),
        strict=True,
    ):
        left = np.zeros(len(table))
        for i, column in enumerate(columns):
            values = table[column].to_numpy()
            ax.barh(labels, values, left=left, color=f"C{i}", label=column.split("_", 1)[1])
            left += values
        ax.set(xlim=(0, 1), xlabel="share", title=title)
        ax.invert_yaxis()
        ax.legend(fontsize=7, ncols=3, loc="lower center", bbox_to_anchor=(0.5, 1.06))
        ax.tick_params(axis="y", labelsize=8)
    return table, fig


def build_report(**inputs: Any) -> str:
    """The self-contained HTML report (figures embedded as base64 PNG).

    Every figure arrives as the PNG bytes its node saved (``FigureDataset``), so nothing is
    drawn twice.

    Args:
        inputs: the catalog entries named in ``pipeline.py`` (``model_card``,
            ``data_quality_report``, the EDA tables and figures, ``k_selection``,
            ``segment_profiles``, ``spending_mix``, ``clustering_comparison``, features,
            segments, scaler) and the ``params_*`` dictionaries.

    Returns:
        HTML text; ``HtmlReportDataset`` fills in the run stamp when saving.
    """
    card = inputs["model_card"]
    profiles = inputs["segment_profiles"]
    segment_table = profiles[
        [
            "segment",
            "name",
            "size",
            "share",
            "mean_Income",
            "mean_Total_Spending",
            "mean_Age",
            "description",
            "action",
        ]
    ]
    figures = {
        "distributions": inputs["eda_distributions"],
        "correlations": inputs["eda_correlations"],
        "removed": inputs["eda_removed"],
        "elbow": inputs["elbow_plot"],
        "pca_map": inputs["segment_map"],
        "tsne_map": inputs["segment_map_tsne"],
        "income_spending": inputs["income_vs_spending"],
        "spending_mix": inputs["spending_mix_plot"],
        "k_distance": inputs["k_distance_plot"],
        "dbscan_map": inputs["kmeans_vs_dbscan_map"],
    }
    parameters = {
        name.removeprefix("params_"): value
        for name, value in inputs.items()
        if name.startswith("params_")
    }
    text = render_report(
        {
            "model_card": card,
            "data_quality_report": inputs["data_quality_report"],
            "removed_outliers": inputs["removed_outliers"],
            "missing_values": inputs["missing_values"],
            "category_counts": inputs["category_counts"],
            "feature_summary": inputs["feature_summary"],
            "k_selection": inputs["k_selection"],
            "segment_table": segment_table,
            "spending_mix": inputs["spending_mix"],
            "clustering_comparison": inputs["clustering_comparison"],
            "parameters": parameters,
            "figures": figures,
        }
    )
    logger.info("Report: %d characters, %d figures", len(text), len(figures))
    return text
