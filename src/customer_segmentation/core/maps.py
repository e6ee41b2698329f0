"""2-D maps of the segments: the PCA map (the one the report draws and the app places a new
customer on) and the t-SNE map, both of a seeded sample of segmented customers.

The PCA projection is fitted once per model version (``reporting``) and saved with it
(``segment_map_projection``), together with the sampled points and the centroids
(``segment_map_points``): the report's figure and the app's interactive map show the same
points, and a customer typed into the app lands where the same projection puts it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.decomposition import PCA
from sklearn.manifold import TSNE
from sklearn.preprocessing import StandardScaler

from customer_segmentation import schema
from customer_segmentation.core.modeling.sampling import segmented_rows, segmented_sample
from customer_segmentation.core.modeling.threads import sized_threads

CUSTOMER, CENTROID = "customer", "centroid"
POINT_COLUMNS = ("kind", schema.ID, "segment", "x", "y")


@dataclass(frozen=True)
class SegmentMap:
    """Points of a 2-D segment map and how to read its axes.

    ``points``: ``kind`` (``customer`` or ``centroid``), ``ID`` (-1 for centroids),
    ``segment``, ``x``, ``y``; ``x_label``, ``y_label``: the axes' titles.
    """

    points: pd.DataFrame
    x_label: str
    y_label: str

    @property
    def customers(self) -> pd.DataFrame:
        """The sampled customers' points."""
        return self.points[self.points["kind"] == CUSTOMER]

    @property
    def centroids(self) -> pd.DataFrame:
        """The segments' centroids (empty for a t-SNE map: it has no projection of them)."""
        return self.points[self.points["kind"] == CENTROID]


def scaled_sample(
    features: pd.DataFrame,
    segments: pd.DataFrame,
    scaler: StandardScaler,
    columns: list[str],
    size: int,
    seed: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """IDs, segments and scaled model features of a seeded sample of ``size`` segmented
    customers (what the 2-D maps draw).
    """
    sample, labels = segmented_sample(
        features, segmented_rows(features, segments, schema.ID), size, seed
    )
    scaled = scaler.transform(sample[columns].astype("float64"))
    return sample[schema.ID].to_numpy(), labels, np.asarray(scaled, dtype="float64")


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
