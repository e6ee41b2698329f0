"""Nodes of ``model_selection``: criteria for every k, the knee, the elbow figure."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from sklearn.preprocessing import StandardScaler

from customer_segmentation.modeling import find_knee, sample_positions, sweep

logger = logging.getLogger(__name__)

# criterion -> (column, best is the largest?)
CRITERIA: dict[str, tuple[str, bool]] = {
    "silhouette": ("silhouette", True),
    "davies_bouldin": ("davies_bouldin", False),
    "calinski_harabasz": ("calinski_harabasz", True),
    "stability": ("stability_ari_mean", True),
}


def resolve_k(n_clusters: int | str, knee: int | None) -> int:
    """The configured number of segments: an integer, or ``auto`` for the elbow's knee."""
    if str(n_clusters) == "auto":
        if knee is None:
            raise ValueError("n_clusters is 'auto' but the elbow curve has no knee")
        return knee
    return int(n_clusters)


def select_k(
    customer_features: pd.DataFrame, params: dict[str, Any], n_clusters: int | str
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Sweep k and record every criterion, the knee, each criterion's pick and the chosen k.

    Args:
        customer_features: needs the columns in ``params["features"]``.
        params: ``model_selection`` parameters; ``sample_size`` rows (seeded) are used.
        n_clusters: ``clustering.n_clusters`` (an integer or ``auto``).

    Returns:
        ``k_selection``: one row per k with the criteria, ``is_knee``, ``is_chosen``,
        ``preferred_by`` (the criteria whose best value is at this k) and the sample sizes;
        ``sweep_centres``: each k's fitted centres in the features' own units (``k``,
        ``centre``, the features), where ``fit_segmentation`` can start.
    """
    seed = int(params["random_state"])
    keep = sample_positions(len(customer_features), params["sample_size"], seed)
    # Only the sampled rows are converted.
    columns = list(params["features"])
    values = customer_features[columns].iloc[keep].to_numpy(dtype="float64")
    scaler = StandardScaler().fit(values)
    table, centres = sweep(scaler.transform(values), params)

    knee = find_knee(table["k"].tolist(), table["inertia"].tolist())
    chosen = resolve_k(n_clusters, knee)
    preferred = {"elbow": knee}
    for criterion, (column, largest) in CRITERIA.items():
        scores = table[column]
        preferred[criterion] = int(table.loc[scores.idxmax() if largest else scores.idxmin(), "k"])
    table["is_knee"] = table["k"] == knee
    table["is_chosen"] = table["k"] == chosen
    table["preferred_by"] = [
        ", ".join(c for c, k in preferred.items() if k == row_k) for row_k in table["k"]
    ]
    table["sweep_rows"] = len(keep)
    table["silhouette_rows"] = min(len(keep), int(params["silhouette_sample_size"]))
    table["stability_rows"] = min(len(keep), int(params["stability_sample_size"]))
    logger.info("Knee at k=%s; chosen k=%d; preferred: %s", knee, chosen, preferred)
    return table, _centre_table(centres, scaler, columns)


def _centre_table(
    centres: dict[int, np.ndarray], scaler: StandardScaler, columns: list[str]
) -> pd.DataFrame:
    """The sweep's centres per k, unscaled to the features' units (``k``, ``centre``, ...)."""
    parts = [
        pd.DataFrame(scaler.inverse_transform(found), columns=columns).assign(
            k=k, centre=np.arange(len(found))
        )
        for k, found in centres.items()
    ]
    return pd.concat(parts, ignore_index=True)[["k", "centre", *columns]]


def plot_elbow(k_selection: pd.DataFrame) -> Figure:
    """Inertia and silhouette against k, with the knee and the chosen k marked."""
    fig = Figure(figsize=(9, 4), layout="constrained")
    ax_inertia, ax_sil = fig.subplots(1, 2)
    ax_inertia.plot(k_selection["k"], k_selection["inertia"], "o-", color="tab:blue")
    ax_inertia.set(xlabel="k (segments)", ylabel="inertia", title="Elbow method")
    for column, style, label in (
        ("is_knee", "--", "knee (Kneedle)"),
        ("is_chosen", ":", "chosen k"),
    ):
        picked = k_selection.loc[k_selection[column], "k"]
        for k in picked:
            ax_inertia.axvline(
                k,
                linestyle=style,
                color="tab:red" if column == "is_knee" else "k",
                label=f"{label}: {k}",
            )
    ax_inertia.legend()
    ax_sil.plot(
        k_selection["k"], k_selection["silhouette"], "o-", color="tab:green", label="silhouette"
    )
    ax_sil.set(xlabel="k (segments)", ylabel="silhouette", title="Silhouette (sampled)")
    stab = ax_sil.twinx()
    stab.plot(
        k_selection["k"],
        k_selection["stability_ari_mean"],
        "s--",
        color="tab:orange",
        label="stability (ARI)",
    )
    stab.set_ylabel("bootstrap stability (ARI)")
    ax_sil.legend(loc="upper left")
    stab.legend(loc="upper right")
    ax_inertia.set_xticks(np.asarray(k_selection["k"]))
    ax_sil.set_xticks(np.asarray(k_selection["k"]))
    return fig
