"""Nodes of ``reporting``: segment profiles and the figures a marketer reads."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from sklearn.decomposition import PCA
from sklearn.preprocessing import StandardScaler

from customer_segmentation import schema
from customer_segmentation.modeling import sample_positions
from customer_segmentation.segments import profile_segments


def segment_names(model_card: dict[str, Any]) -> pd.DataFrame:
    """The model card's segment table: ``segment``, ``name``, ``description``, ``action``."""
    return pd.DataFrame(model_card["segments"])[
        ["segment", "name", "behaviour", "description", "action"]
    ]


def _with_segments(features: pd.DataFrame, segments: pd.DataFrame) -> pd.DataFrame:
    return features.merge(
        segments[[schema.ID, "segment"]], on=schema.ID, how="inner", validate="1:1"
    )


def build_segment_profiles(
    customer_features: pd.DataFrame,
    customer_segments: pd.DataFrame,
    model_card: dict[str, Any],
    params: dict[str, Any],
) -> pd.DataFrame:
    """One row per segment: name, description, action, size, share, and the mean, median and
    z-score (against all customers) of every column in ``params["profile_columns"]``.
    """
    data = _with_segments(customer_features, customer_segments)
    profile = profile_segments(data, data["segment"], list(params["profile_columns"]))
    return segment_names(model_card).merge(profile, on="segment").sort_values("segment")


def _labelled(model_card: dict[str, Any]) -> dict[int, str]:
    return {int(s["segment"]): f"{s['segment']}: {s['name']}" for s in model_card["segments"]}


def plot_segment_map(
    customer_features: pd.DataFrame,
    customer_segments: pd.DataFrame,
    scaler: StandardScaler,
    model_card: dict[str, Any],
    params: dict[str, Any],
) -> Figure:
    """PCA map of the scaled model features, coloured by segment, on a seeded sample."""
    data = _with_segments(customer_features, customer_segments)
    keep = sample_positions(len(data), params["map_sample_size"], int(params["random_state"]))
    data = data.iloc[keep]
    scaled = scaler.transform(data[model_card["features"]].astype("float64"))
    pca = PCA(n_components=2, random_state=int(params["random_state"])).fit(scaled)
    coords = pca.transform(scaled)
    fig = Figure(figsize=(8, 6), layout="constrained")
    ax = fig.subplots()
    names = _labelled(model_card)
    for segment in sorted(names):
        mine = data["segment"].to_numpy() == segment
        ax.scatter(
            coords[mine, 0],
            coords[mine, 1],
            s=8,
            alpha=0.7,
            color=f"C{segment}",
            label=names[segment],
        )
    ratio = pca.explained_variance_ratio_
    ax.set(
        xlabel=f"PC1 ({ratio[0]:.0%} of variance)",
        ylabel=f"PC2 ({ratio[1]:.0%} of variance)",
        title=f"Segments on the first two principal components ({len(data):,} customers)",
    )
    ax.legend(fontsize=8, markerscale=2, loc="best")
    return fig


def plot_income_spending(
    customer_features: pd.DataFrame,
    customer_segments: pd.DataFrame,
    model_card: dict[str, Any],
    params: dict[str, Any],
) -> Figure:
    """Income against total spending coloured by segment, and box plots of both per segment."""
    data = _with_segments(customer_features, customer_segments)
    sample = data.iloc[
        sample_positions(len(data), params["map_sample_size"], int(params["random_state"]))
    ]
    names = _labelled(model_card)
    fig = Figure(figsize=(14, 5), layout="constrained")
    scatter, income_box, spend_box = fig.subplots(1, 3)
    for segment in sorted(names):
        mine = sample["segment"] == segment
        scatter.scatter(
            sample.loc[mine, "Income"],
            sample.loc[mine, "Total_Spending"],
            s=8,
            alpha=0.7,
            color=f"C{segment}",
            label=names[segment],
        )
    scatter.set(xlabel="Income", ylabel="Total spending", title="Income vs spending")
    scatter.legend(fontsize=7, markerscale=2)
    order = sorted(names)
    for ax, column in ((income_box, "Income"), (spend_box, "Total_Spending")):
        groups = [data.loc[data["segment"] == s, column].to_numpy() for s in order]
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
