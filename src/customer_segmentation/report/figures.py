"""Every figure of the project, drawn once from data the domain modules computed.

Pure functions: data in, a matplotlib ``Figure`` out (no pyplot state, no file I/O). The
``reporting`` and ``clustering`` nodes save them through the catalog (``FigureDataset``: one
draw, PNG bytes), the report embeds those bytes and the app shows them. Statistical figures
(distributions by segment, box and violin plots, the correlation and profile heatmaps) are
seaborn's. Segment ``s`` is drawn in matplotlib's colour ``C<s>`` in every figure.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure
from matplotlib.ticker import StrMethodFormatter
from sklearn.decomposition import PCA

from customer_segmentation.core.eda import Distribution
from customer_segmentation.core.maps import MapLayers, segment_colour, segment_labels
from customer_segmentation.core.modeling.dbscan import NOISE, Comparison
from customer_segmentation.core.modeling.methods import CRITERIA

GRID_COLUMNS = 4
# Distinct rejected values listed in a title of the removed-values figure (all are drawn).
LISTED_VALUES = 8
DIVERGING = "RdBu_r"


@contextmanager
def _seaborn() -> Iterator[None]:
    """Seaborn 0.13 calls matplotlib 3.11 APIs that warn of their deprecation (``vert`` in box
    plots, ``set_bad`` in heat maps); the figures are right, so those two warnings are muted.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="vert: bool was deprecated")
        warnings.filterwarnings("ignore", message="The set_bad function will be deprecated")
        yield


def palette(segments: Sequence[int]) -> dict[int, str]:
    """Segment -> colour, for seaborn's ``palette``."""
    return {int(s): segment_colour(s) for s in segments}


# ----------------------------------------------------------------------- choosing k


def elbow(k_selection: pd.DataFrame) -> Figure:
    """Inertia and silhouette against k, with the knee and the chosen k marked."""
    fig = Figure(figsize=(9, 4), layout="constrained")
    ax_inertia, ax_sil = fig.subplots(1, 2)
    swept = k_selection.dropna(subset=["inertia"])
    ax_inertia.plot(swept["k"], swept["inertia"], "o-", color="tab:blue")
    ax_inertia.set(xlabel="k (segments)", ylabel="inertia", title="Elbow method")
    for column, style, colour, label in (
        ("is_knee", "--", "tab:red", "knee (Kneedle)"),
        ("is_chosen", ":", "k", "chosen k"),
    ):
        for k in k_selection.loc[k_selection[column].astype(bool), "k"]:
            ax_inertia.axvline(k, linestyle=style, color=colour, label=f"{label}: {k}")
    ax_inertia.legend()
    ax_sil.plot(swept["k"], swept["silhouette"], "o-", color="tab:green", label="silhouette")
    ax_sil.set(xlabel="k (segments)", ylabel="silhouette", title="Silhouette (sampled)")
    stab = ax_sil.twinx()
    stab.plot(
        swept["k"],
        swept["stability_ari_mean"],
        "s--",
        color="tab:orange",
        label="stability (ARI)",
    )
    stab.set_ylabel("bootstrap stability (ARI)")
    ax_sil.legend(loc="upper left")
    stab.legend(loc="upper right")
    ax_inertia.set_xticks(np.asarray(k_selection["k"]))
    ax_sil.set_xticks(np.asarray(swept["k"]))
    return fig


# -------------------------------------------------------------------------- DBSCAN


def k_distance(comparison: Comparison) -> Figure:
    """The k-distance curve with the chosen eps, and DBSCAN's clusters and noise across eps."""
    scan, eps, min_samples = comparison.scan, comparison.eps, comparison.min_samples
    fig = Figure(figsize=(11, 4), layout="constrained")
    ax, scan_ax = fig.subplots(1, 2)
    ax.plot(comparison.distances, color="tab:blue")
    ax.axhline(eps, color="tab:red", linestyle="--", label=f"eps = {eps:.2f} (knee)")
    ax.set(
        xlabel="points sorted by distance",
        ylabel=f"distance to {min_samples}-th neighbour",
        title="k-distance curve for DBSCAN",
    )
    ax.legend()
    scan_ax.plot(scan["eps"], scan["clusters"], "o-", color="tab:blue", label="clusters")
    scan_ax.axvline(eps, color="tab:red", linestyle="--", label="chosen eps")
    scan_ax.set(
        xlabel="eps",
        ylabel=f"clusters with {min_samples}+ customers",
        title="DBSCAN across eps (k-distance quantiles)",
    )
    share_ax = scan_ax.twinx()
    share_ax.plot(scan["eps"], scan["noise_share"], "s--", color="grey", label="noise share")
    share_ax.plot(
        scan["eps"], scan["largest_share"], "^:", color="tab:green", label="largest cluster share"
    )
    share_ax.set(ylabel="share of customers", ylim=(0, 1))
    scan_ax.legend(loc="upper left", fontsize=8)
    share_ax.legend(loc="center right", fontsize=8)
    return fig


def kmeans_vs_dbscan(comparison: Comparison, seed: int) -> Figure:
    """Both partitions of the compared customers side by side on their first two principal
    components; DBSCAN's noise in grey.
    """
    coords = PCA(n_components=2, random_state=seed).fit_transform(comparison.scaled)
    row = comparison.table.set_index("method").loc["dbscan"]
    fig = Figure(figsize=(11, 4.5), layout="constrained")
    for ax, labels, title in zip(
        fig.subplots(1, 2),
        (comparison.kmeans_labels, comparison.dbscan_labels),
        (
            f"K-Means (k={len(np.unique(comparison.kmeans_labels))})",
            f"DBSCAN (eps={comparison.eps:.2f}, min_samples={comparison.min_samples}): "
            f"{int(row['clusters'])} cluster(s), {row['noise_share']:.0%} noise",
        ),
        strict=True,
    ):
        noise = labels == NOISE
        ax.scatter(coords[noise, 0], coords[noise, 1], s=6, c="lightgrey", label="noise")
        ax.scatter(
            coords[~noise, 0],
            coords[~noise, 1],
            s=6,
            c=labels[~noise],
            cmap="tab10",
            vmin=0,
            vmax=9,
        )
        ax.set(title=title, xlabel="PC1", ylabel="PC2")
    return fig


def method_comparison(
    table: pd.DataFrame, labels: Mapping[str, np.ndarray], points: np.ndarray, seed: int
) -> Figure:
    """The methods comparison (``modeling.methods``): each criterion side by side (one bar per
    method; a method with fewer than two segments has none), then the sample on its first two
    principal components coloured by each method's segments (unassigned customers in grey).
    """
    coords = PCA(n_components=2, random_state=seed).fit_transform(points)
    shown = {**CRITERIA, "noise_share": False}
    maps = len(table)
    columns = 3
    fig = Figure(figsize=(13, 3.2 + 3.4 * -(-maps // columns)), layout="constrained")
    top, bottom = fig.subfigures(2, 1, height_ratios=[3.2, 3.4 * -(-maps // columns)])
    positions = np.arange(len(table))
    for ax, (column, higher) in zip(top.subplots(1, len(shown)), shown.items(), strict=True):
        ax.barh(positions, table[column].fillna(0), color="tab:blue")
        ax.set_yticks(positions, table["method"] if ax is top.axes[0] else [""] * len(table))
        ax.invert_yaxis()
        ax.set_title(f"{column} ({'higher' if higher else 'lower'} is better)", fontsize=9)
    for ax, row in zip(
        bottom.subplots(-(-maps // columns), columns).flat, table.itertuples(), strict=False
    ):
        mine = labels[row.method]
        noise = mine == NOISE
        ax.scatter(coords[noise, 0], coords[noise, 1], s=4, c="lightgrey")
        ax.scatter(
            coords[~noise, 0],
            coords[~noise, 1],
            s=4,
            c=mine[~noise] % 10,
            cmap="tab10",
            vmin=0,
            vmax=9,
        )
        ax.set_title(f"{row.title}: {row.segments} segment(s)", fontsize=9)
        ax.set(xticks=[], yticks=[])
    for ax in bottom.axes[maps:]:
        ax.set_visible(False)
    return fig


# ---------------------------------------------------------------------- segment maps


def _scatter_segments(
    ax: Any, points: pd.DataFrame, labels: Mapping[int, str], size: float, alpha: float
) -> None:
    """One colour per segment, labelled (``maps.segment_labels``)."""
    for segment, label in labels.items():
        mine = points[points["segment"] == segment]
        ax.scatter(
            mine["x"], mine["y"], s=size, alpha=alpha, color=segment_colour(segment), label=label
        )


def segment_map(layers: MapLayers, title: str) -> Figure:
    """A 2-D map of customers coloured by segment (:func:`maps.map_layers`, as the app draws
    it), with the centroids (X) when it has them.
    """
    fig = Figure(figsize=(8, 6), layout="constrained")
    ax = fig.subplots()
    _scatter_segments(ax, layers.customers, layers.labels, size=8, alpha=0.7)
    for centre in layers.centroids.itertuples():
        ax.scatter(
            centre.x,
            centre.y,
            s=140,
            marker="X",
            color=layers.colours[centre.segment],
            edgecolor="black",
        )
    ax.set(xlabel=layers.x_label, ylabel=layers.y_label, title=title)
    ax.legend(fontsize=8, markerscale=2, loc="best")
    return fig


# ------------------------------------------------------------ distributions by segment


def _by_segment(
    plot: Any, data: pd.DataFrame, column: str, order: list[int], ax: Any, **style: Any
) -> None:
    """A seaborn categorical plot of ``column`` per segment, in the segments' colours."""
    with _seaborn():
        plot(
            data=data,
            x="segment",
            y=column,
            hue="segment",
            order=order,
            hue_order=order,
            palette=palette(order),
            legend=False,
            ax=ax,
            **style,
        )
    # seaborn groups a box plot's artists in its own container class, which nothing draws: drop
    # it, so that the pickled figure unpickles with matplotlib alone and the figure worker does
    # not import seaborn, pandas and SciPy for it (120 MB more in that process).
    ax.containers[:] = [c for c in ax.containers if type(c).__module__.startswith("matplotlib")]


def income_vs_spending(sample: pd.DataFrame, names: Mapping[int, str]) -> Figure:
    """Income against total spending, and box plots of both per segment, for a seeded sample
    of customers (a box plot's quartiles from thousands of customers are those of all of them,
    to the width of a line).

    Args:
        sample: ``Income``, ``Total_Spending``, ``segment`` of the sampled customers.
        names: segment -> name.
    """
    order = sorted(names)
    fig = Figure(figsize=(14, 5), layout="constrained")
    scatter, income_box, spend_box = fig.subplots(1, 3)
    points = sample.rename(columns={"Income": "x", "Total_Spending": "y"})
    _scatter_segments(scatter, points, segment_labels(names), size=8, alpha=0.7)
    scatter.set(
        xlabel="Income",
        ylabel="Total spending",
        title=f"Income vs spending ({len(sample):,} sampled customers)",
    )
    scatter.legend(fontsize=7, markerscale=2)
    for ax, column in ((income_box, "Income"), (spend_box, "Total_Spending")):
        _by_segment(sns.boxplot, sample, column, order, ax, showfliers=False)
        title = column.replace("_", " ")
        ax.set(xlabel="segment", ylabel=title, title=f"{title} by segment")
    return fig


def segment_distributions(
    sample: pd.DataFrame, columns: Sequence[str], names: Mapping[int, str]
) -> Figure:
    """Violin plot of each model feature per segment (a seeded sample of customers).

    Args:
        sample: ``segment`` and ``columns`` of the sampled customers.
        columns: the features to show.
        names: segment -> name.
    """
    order = sorted(names)
    rows = int(np.ceil(len(columns) / GRID_COLUMNS))
    fig = Figure(figsize=(3.6 * GRID_COLUMNS, 2.8 * rows), layout="constrained")
    axes = np.atleast_1d(fig.subplots(rows, GRID_COLUMNS)).ravel()
    for ax, column in zip(axes, columns, strict=False):
        _by_segment(sns.violinplot, sample, column, order, ax, cut=0, inner="quart", linewidth=0.6)
        ax.set_title(column, fontsize=9)
        ax.set(xlabel="segment", ylabel="")
        ax.tick_params(labelsize=7)
    for ax in axes[len(columns) :]:
        ax.set_visible(False)
    fig.suptitle(f"The model's features by segment ({len(sample):,} sampled customers)")
    return fig


def profile_heatmap(profiles: pd.DataFrame) -> Figure:
    """Heat map of the segments' z-scores (segment mean against all customers, in standard
    deviations): what sets each segment apart, at a glance.
    """
    z = profiles.set_index(profiles["segment"].astype(str) + ": " + profiles["name"])
    z = z[[c for c in profiles.columns if c.startswith("z_")]]
    z.columns = [c.removeprefix("z_") for c in z.columns]
    fig = Figure(
        figsize=(max(8.0, 0.55 * len(z.columns) + 4), 0.6 * len(z) + 2.5), layout="constrained"
    )
    ax = fig.subplots()
    with _seaborn():
        sns.heatmap(
            z,
            cmap=DIVERGING,
            center=0,
            vmin=-2,
            vmax=2,
            annot=True,
            fmt=".1f",
            annot_kws={"fontsize": 7},
            cbar_kws={"label": "z-score (standard deviations from the average customer)"},
            ax=ax,
        )
    ax.set(
        xlabel="", ylabel="", title="Segment profiles: how each segment differs from the average"
    )
    ax.tick_params(labelsize=8)
    return fig


def spending_mix(table: pd.DataFrame) -> Figure:
    """The segments' spending by product category and purchases by channel as stacked bars.

    Args:
        table: ``segments.spending_mix`` (``segment``, ``name``, ``spend_*``, ``channel_*``).
    """
    spend = [c for c in table.columns if c.startswith("spend_")]
    channels = [c for c in table.columns if c.startswith("channel_")]
    labels = [f"{s}: {name}" for s, name in zip(table["segment"], table["name"], strict=True)]
    fig = Figure(figsize=(13, 0.6 * len(table) + 2.5), layout="constrained")
    for ax, columns, title in zip(
        fig.subplots(1, 2),
        (spend, channels),
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
    return fig


# ------------------------------------------------------------------- data and EDA


def _draw_histogram(ax: Any, counts: np.ndarray, edges: np.ndarray, color: str) -> None:
    """Precomputed bin counts as one filled outline: looks as ``ax.hist`` of the raw values
    (adjacent bars, no edges) without one bar object per bin.
    """
    ax.stairs(counts, edges, fill=True, color=color)


def distributions(
    counted: Mapping[str, Distribution],
    raw_columns: list[str],
    engineered_columns: list[str],
    bins: int,
) -> Figure:
    """Histogram of every raw (blue) and engineered (orange) column, on all rows.

    Args:
        counted: ``eda.distributions`` of the columns (every row counted once).
        raw_columns, engineered_columns: the columns, in panel order.
        bins: bins per histogram.
    """
    columns = [*raw_columns, *engineered_columns]
    rows = int(np.ceil(len(columns) / GRID_COLUMNS))
    height = 2.2 * rows
    fig = Figure(figsize=(3.2 * GRID_COLUMNS, height))
    # A fixed grid: constrained layout on this many panels costs more than the figure is worth.
    fig.subplots_adjust(
        left=0.06, right=0.99, bottom=0.35 / height, top=1 - 0.7 / height, wspace=0.45, hspace=0.6
    )
    axes = np.atleast_1d(fig.subplots(rows, GRID_COLUMNS)).ravel()
    for ax, column in zip(axes, columns, strict=False):
        color = "tab:blue" if column in raw_columns else "tab:orange"
        _draw_histogram(ax, *counted[column].histogram(bins), color)
        ax.set_title(column, fontsize=9)
        ax.tick_params(labelsize=7)
    for ax in axes[len(columns) :]:
        ax.set_visible(False)
    fig.suptitle("Distributions: raw columns (blue) and engineered features (orange)")
    return fig


def correlations(matrix: pd.DataFrame, measured_on: str) -> Figure:
    """Heat map of a correlation table from ``eda.correlations``, measured on the customers
    ``measured_on`` names (``eda.correlations_measured_on``).
    """
    values = matrix.set_index("column")
    fig = Figure(figsize=(9, 7.5), layout="constrained")
    ax = fig.subplots()
    with _seaborn():
        sns.heatmap(
            values,
            cmap=DIVERGING,
            vmin=-1,
            vmax=1,
            center=0,
            square=True,
            cbar_kws={"label": "Spearman correlation"},
            ax=ax,
        )
    ax.tick_params(labelsize=7)
    ax.set(xlabel="", ylabel="", title=f"Correlations between features ({measured_on})")
    return fig


def _listed(counts: pd.Series) -> str:
    """The rejected values for a title (``counts``: rows per distinct value, in the order they
    first appear): ``": 1,893, 1,899"`` when each value is distinct and there are at most
    :data:`LISTED_VALUES`; otherwise, on a new line, the most common distinct values with their
    counts (``"666,666 (x446)"``) and how many more there are.
    """
    if counts.empty:
        return ""
    if (counts == 1).all() and len(counts) <= LISTED_VALUES:
        return ": " + ", ".join(f"{value:,.0f}" for value in counts.index)
    common = counts.iloc[np.argsort(-counts.to_numpy(), kind="stable")]
    shown = [f"{value:,.0f} (x{count:,})" for value, count in common.head(LISTED_VALUES).items()]
    if len(common) > LISTED_VALUES:
        shown.append(f"and {len(common) - LISTED_VALUES:,} more values")
    return ":\n" + ", ".join(shown)


def removed(
    kept: Mapping[str, Distribution],
    rejected: Mapping[str, pd.Series],
    reasons: Mapping[str, str],
    bins: int,
) -> Figure:
    """For each ``column -> reason_code`` of ``reasons``: a histogram of the column among the
    kept customers (all rows), with the values rejected for that reason marked in red: one
    line per distinct value, however many rows hold it; the title gives the number of rows
    removed and lists the values (see :func:`_listed`).

    Args:
        kept: ``eda.distributions`` of the clean ``customers``' columns of ``reasons``.
        rejected: ``eda.rejected_values`` of ``reasons`` (rows per rejected value).
        reasons: e.g. ``{"Income": "income_outlier", "Year_Birth": "birth_year_out_of_range"}``.
        bins: histogram bins.
    """
    fig = Figure(figsize=(5.5 * len(reasons), 3.8), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, len(reasons)))
    for ax, (column, code) in zip(axes, reasons.items(), strict=True):
        flagged = rejected[column]
        _draw_histogram(ax, *kept[column].histogram(bins), "tab:blue")
        if len(flagged):
            ax.vlines(
                flagged.index.to_numpy(),
                0,
                1,
                transform=ax.get_xaxis_transform(),
                color="tab:red",
                linewidth=1.5,
            )
        ax.set(
            xlabel=column,
            ylabel="customers kept",
            title=f"{column}: {int(flagged.sum()):,} removed ({code})" + _listed(flagged),
        )
        ax.title.set_fontsize(9)
    return fig


def segment_outcomes(
    table: pd.DataFrame, names: Mapping[int, str], outcome: str, note: str
) -> Figure:
    """Each segment's rate of one campaign outcome with its Wilson interval, beside the rate
    of all customers (a dashed line); ``note`` written instead when the outcome was not
    measured.

    Args:
        table: ``outcomes.segment_outcomes`` (``segment``, ``outcome``, ``rate``,
            ``ci_low``, ``ci_high``, ``overall_rate``).
        names: segment -> name.
        outcome: the outcome to draw (``Response``: the last campaign).
        note: what the table holds (``outcomes.segment_outcomes``' note).
    """
    rows = table[table["outcome"] == outcome].sort_values("segment")
    labels = [segment_labels(names)[int(s)] for s in rows["segment"]]
    fig = Figure(figsize=(8, 0.5 * len(rows) + 2), layout="constrained")
    ax = fig.subplots()
    if rows.empty:
        ax.axis("off")
        ax.text(0.5, 0.5, note, ha="center", va="center", wrap=True)
        return fig
    with _seaborn():
        colours = [segment_colour(int(s)) for s in rows["segment"]]
        ax.barh(labels, rows["rate"], color=colours, alpha=0.8)
        ax.errorbar(
            rows["rate"],
            labels,
            xerr=[rows["rate"] - rows["ci_low"], rows["ci_high"] - rows["rate"]],
            fmt="none",
            ecolor="black",
            capsize=3,
        )
        overall = float(rows["overall_rate"].iloc[0])
        ax.axvline(overall, color="grey", linestyle="--", label=f"all customers {overall:.1%}")
    ax.invert_yaxis()
    ax.xaxis.set_major_formatter(StrMethodFormatter("{x:.0%}"))  # picklable: figure_workers
    ax.set(xlabel=f"{outcome} rate (95% Wilson interval)", ylabel="", title=f"{outcome} by segment")
    ax.legend(loc="lower right", fontsize=8)
    return fig


def rfm_crosstab(crosstab: pd.DataFrame, names: Mapping[int, str]) -> Figure:
    """K-Means segment x RFM group: each segment's customers spread over the RFM groups (row
    shares, counts in the cells).

    Args:
        crosstab: ``rfm.rfm_crosstab`` (``segment``, ``rfm_group``, ``customers``, ``share``).
        names: segment -> name.
    """
    groups = list(dict.fromkeys(crosstab["rfm_group"]))
    shares = crosstab.pivot(index="segment", columns="rfm_group", values="share")[groups]
    counts = crosstab.pivot(index="segment", columns="rfm_group", values="customers")[groups]
    shares.index = [segment_labels(names)[int(s)] for s in shares.index]
    fig = Figure(figsize=(max(8.0, 1.1 * len(groups) + 4), 0.6 * len(shares) + 2.5))
    fig.set_layout_engine("constrained")
    ax = fig.subplots()
    with _seaborn():
        sns.heatmap(
            shares,
            cmap="Blues",
            vmin=0,
            vmax=1,
            annot=counts.to_numpy(),
            fmt="d",
            annot_kws={"fontsize": 8},
            cbar_kws={"label": "share of the segment's customers"},
            ax=ax,
        )
    ax.set(xlabel="RFM group", ylabel="", title="K-Means segments and RFM groups")
    ax.tick_params(labelsize=8)
    return fig
