"""2-D maps of the segments: the PCA map (the one the report draws and the app places a new
customer on) and the t-SNE map, both of a seeded sample of segmented customers.

The PCA projection is fitted once per model version (``reporting``) and saved with it
(``segment_map_projection``), together with the sampled points and the centroids
(``segment_map_points``): the report's figure and the app's interactive map show the same
points, and a customer typed into the app lands where the same projection puts it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.decomposition import PCA
from sklearn.manifold import TSNE

from customer_segmentation import schema
from customer_segmentation.core.modeling.threads import sized_threads

CUSTOMER, CENTROID = "customer", "centroid"
POINT_COLUMNS = ("kind", schema.ID, "segment", "x", "y")
# Each segment's colour, the same in every figure of the report and every chart of the app
# (matplotlib's default colour cycle, "tab10"; segment 10 takes segment 0's).
SEGMENT_COLOURS: tuple[str, ...] = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
)


def segment_colour(segment: int) -> str:
    """The colour of a segment (hex), the same in every figure and chart."""
    return SEGMENT_COLOURS[int(segment) % len(SEGMENT_COLOURS)]


def segment_labels(names: Mapping[int, str]) -> dict[int, str]:
    """Segment -> ``"<number>: <name>"`` (legends), in segment order."""
    return {int(s): f"{s}: {names[s]}" for s in sorted(names)}


@dataclass(frozen=True)
class SegmentMap:
    """Points of a 2-D segment map and how to read its axes.

    ``points``: ``kind`` (``customer`` or ``centroid``), ``ID`` (-1 for centroids),
    ``segment``, ``x``, ``y``; ``x_label``, ``y_label``: the axes' titles.
    """

    points: pd.DataFrame
    x_label: str
    y_label: str


@dataclass(frozen=True)
class MapLayers:
    """A segment map ready to draw, the same for the report's figure (matplotlib) and the app's
    chart (Vega-Lite): ``customers`` and ``centroids`` (``x``, ``y``, ``segment``, ``label``,
    and ``ID`` for customers), each segment's ``label`` and ``colour`` in segment order, and
    the axes' titles.
    """

    customers: pd.DataFrame
    centroids: pd.DataFrame
    labels: dict[int, str]
    colours: dict[int, str]
    x_label: str
    y_label: str


def map_layers(points: pd.DataFrame, names: Mapping[int, str], axes: tuple[str, str]) -> MapLayers:
    """:class:`MapLayers` of a map's ``points`` (:data:`POINT_COLUMNS`, e.g.
    ``segment_map_points``), the segments' ``names`` and the axes' titles.
    """
    labels = segment_labels(names)
    labelled = points.assign(label=points["segment"].astype("int64").map(labels))
    return MapLayers(
        customers=labelled.loc[
            labelled["kind"] == CUSTOMER, ["x", "y", "segment", "label", schema.ID]
        ],
        centroids=labelled.loc[labelled["kind"] == CENTROID, ["x", "y", "segment", "label"]],
        labels=labels,
        colours={s: segment_colour(s) for s in labels},
        x_label=axes[0],
        y_label=axes[1],
    )


def _points(
    ids: np.ndarray, labels: np.ndarray, coords: np.ndarray, centres: np.ndarray | None
) -> pd.DataFrame:
    parts = [
        pd.DataFrame(
            {
                "kind": CUSTOMER,
                schema.ID: ids.astype("int64"),
                "segment": labels.astype("int64"),
                "x": coords[:, 0],
                "y": coords[:, 1],
            }
        )
    ]
    if centres is not None:
        parts.append(
            pd.DataFrame(
                {
                    "kind": CENTROID,
                    schema.ID: -1,
                    "segment": np.arange(len(centres), dtype="int64"),
                    "x": centres[:, 0],
                    "y": centres[:, 1],
                }
            )
        )
    return pd.concat(parts, ignore_index=True)[list(POINT_COLUMNS)]


def pca_map(
    ids: np.ndarray, labels: np.ndarray, scaled: np.ndarray, centres: np.ndarray, seed: int
) -> tuple[SegmentMap, PCA]:
    """The first two principal components of the sampled customers, with the centroids.

    Returns:
        The map and the fitted projection (scaled features -> map coordinates).
    """
    with sized_threads(*np.shape(scaled), pool="blas"):
        pca = PCA(n_components=2, random_state=seed).fit(scaled)
    points = _points(ids, labels, pca.transform(scaled), pca.transform(centres))
    return SegmentMap(points, *axis_labels(pca)), pca


def axis_labels(projection: PCA) -> tuple[str, str]:
    """The axes' titles of a PCA map made by ``projection``."""
    ratio = projection.explained_variance_ratio_
    return f"PC1 ({ratio[0]:.0%} of variance)", f"PC2 ({ratio[1]:.0%} of variance)"


def tsne_map(
    ids: np.ndarray,
    labels: np.ndarray,
    scaled: np.ndarray,
    perplexity: float,
    max_iter: int,
    seed: int,
) -> tuple[SegmentMap, float]:
    """A t-SNE map of the sampled customers (no centroids: t-SNE projects no new points).

    Returns:
        The map and the perplexity used (at most a third of the sampled customers).
    """
    used = min(float(perplexity), (len(labels) - 1) / 3)
    # Barnes-Hut t-SNE runs one short OpenMP region per iteration: on a sample of a thousand
    # customers one thread is faster, and on a busy machine much faster (threads.sized_threads).
    with sized_threads(*np.shape(scaled)):
        coords = TSNE(
            n_components=2, perplexity=used, max_iter=max_iter, init="pca", random_state=seed
        ).fit_transform(scaled)
    return SegmentMap(_points(ids, labels, coords, None), "t-SNE 1", "t-SNE 2"), used
