"""Choosing k: the sweep of K-Means over k on a seeded sample, its criteria and knee, which k
each criterion prefers, the one decision on k, and the sentence that says whether the criteria
agree with it.

k is decided once, by :func:`choose_k`, into the ``k_selection`` table (``is_chosen``,
``chosen_by``); the final fit, the model card and the report all read it there.
"""

from __future__ import annotations

import logging
from itertools import compress
from typing import Any, Literal

import numpy as np
import pandas as pd
from kneed import KneeLocator
from sklearn.metrics import (
    adjusted_rand_score,
    calinski_harabasz_score,
    davies_bouldin_score,
)
from tqdm.auto import tqdm

from customer_segmentation import schema
from customer_segmentation.core import engine, sampling, scoring
from customer_segmentation.core.modeling.kmeans import fit_kmeans
from customer_segmentation.core.modeling.metrics import silhouettes
from customer_segmentation.core.modeling.stability import bootstrap
from customer_segmentation.params import ModelSelectionParams

logger = logging.getLogger(__name__)

# criterion -> (column of the sweep, whether its best value is the largest)
CRITERIA: dict[str, tuple[str, bool]] = {
    "silhouette": ("silhouette", True),
    "davies_bouldin": ("davies_bouldin", False),
    "calinski_harabasz": ("calinski_harabasz", True),
    "stability": ("stability_ari_mean", True),
}
ELBOW = "elbow"
BY_PARAMETER = "parameter clustering.n_clusters"
BY_KNEE = "knee of the elbow curve (clustering.n_clusters: auto)"


def find_knee(ks: list[int], inertia: list[float]) -> int | None:
    """The elbow of a decreasing convex inertia curve by the Kneedle algorithm (``kneed``)."""
    if len(ks) < 3:
        return None
    knee = KneeLocator(ks, inertia, curve="convex", direction="decreasing").knee
    return None if knee is None else int(knee)


def stability(
    scaled: np.ndarray, k: int, params: ModelSelectionParams, reference: np.ndarray
) -> tuple[float, float]:
    """Agreement of refits on bootstrap resamples with the reference labelling.

    For each of ``stability_resamples`` seeded bootstrap resamples of ``scaled`` a model is
    fitted (``stability_n_init`` initialisations: each resample's fit is an independent draw,
    as in ``fpc::clusterboot``) and asked to label all of ``scaled``; the adjusted Rand index
    against ``reference`` measures how much the partition depends on the particular rows.

    Returns:
        Mean and minimum adjusted Rand index.
    """
    scores = []
    for rows, seed in bootstrap(len(scaled), params.stability_resamples, params.random_state):
        model = fit_kmeans(
            k, params, scaled[rows], n_init=params.stability_n_init, random_state=seed
        )
        scores.append(adjusted_rand_score(reference, model.predict(scaled)))
    return float(np.mean(scores)), float(np.min(scores))


def sweep(
    scaled: np.ndarray,
    params: ModelSelectionParams,
    stable_rows: np.ndarray,
    silhouette_rows: np.ndarray,
) -> tuple[pd.DataFrame, dict[int, np.ndarray]]:
    """Fit K-Means for every k in ``k_min..k_max`` and compute the criteria.

    Args:
        scaled: the scaled features of the sweep sample.
        params: the ``model_selection`` parameters.
        stable_rows: the rows of ``scaled`` the bootstrap stability refits resample (the
            seeded sample of ``stability_sample_size``).
        silhouette_rows: the rows the silhouette is measured on (``silhouette_sample_size``).

    Returns:
        One row per k: ``inertia`` (on the sweep sample), ``silhouette``,
        ``davies_bouldin``, ``calinski_harabasz``, ``stability_ari_mean``,
        ``stability_ari_min``; and each k's fitted centres (in the units of ``scaled``).
    """
    rows, labellings, centres = [], [], {}
    ks = range(params.k_min, params.k_max + 1)
    # A progress bar on a terminal (stderr); the log line per k below says the same in logs.
    for k in tqdm(ks, desc="k sweep", unit="k", disable=None, leave=False):
        model = fit_kmeans(k, params, scaled)
        labels = model.labels_
        mean_ari, min_ari = stability(scaled[stable_rows], k, params, labels[stable_rows])
        labellings.append(labels[silhouette_rows])
        centres[k] = model.cluster_centers_
        rows.append(
            {
                "k": k,
                "inertia": float(model.inertia_),
                "silhouette": float("nan"),  # below, for every k at once
                "davies_bouldin": float(davies_bouldin_score(scaled, labels)),
                "calinski_harabasz": float(calinski_harabasz_score(scaled, labels)),
                "stability_ari_mean": mean_ari,
                "stability_ari_min": min_ari,
            }
        )
        logger.info("k=%d: inertia %.0f, stability %.3f", k, model.inertia_, mean_ari)
    # One pass over the sampled rows' distances serves every k (NaN below two clusters).
    measurable = [len(np.unique(labels)) >= 2 for labels in labellings]
    scores = iter(silhouettes(scaled[silhouette_rows], list(compress(labellings, measurable))))
    for row, ok in zip(rows, measurable, strict=True):
        if ok:
            row["silhouette"] = next(scores)
    logger.info(
        "Silhouette on %d sampled rows: %s",
        len(silhouette_rows),
        ", ".join(f"k={row['k']} {row['silhouette']:.3f}" for row in rows),
    )
    return pd.DataFrame(rows), centres


def preferred_k(table: pd.DataFrame) -> dict[str, int | None]:
    """The k each criterion prefers: the knee of the elbow, the best value of the others."""
    knee = find_knee(table["k"].tolist(), table["inertia"].tolist())
    preferred: dict[str, int | None] = {ELBOW: knee}
    for criterion, (column, largest) in CRITERIA.items():
        scores = table[column]
        if scores.isna().all():
            preferred[criterion] = None
            continue
        preferred[criterion] = int(table.loc[scores.idxmax() if largest else scores.idxmin(), "k"])
    return preferred


def sweep_table(features: Any, params: ModelSelectionParams) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The k sweep on a seeded sample of ``params.sample_size`` customers (``engine.sample``:
    the same rows on every engine), gathered to this process.

    Args:
        features: a native frame with ``ID`` and ``params.features``.
        params: the ``model_selection`` parameters.

    Returns:
        ``k_sweep``: one row per k with the criteria (:func:`sweep`), ``is_knee``,
        ``preferred_by`` (the criteria whose best value is at this k) and the sample sizes;
        ``sweep_centres``: each k's fitted centres in the features' own units (``k``,
        ``centre``, the features), where the final fit can start.
    """
    columns = list(params.features)
    drawn = engine.cache(
        engine.sample(
            engine.lazy(features).select(schema.ID, *columns),
            params.sample_size,
            params.random_state,
            schema.ID,
        )
    )
    scaler = scoring.fit_scaler(drawn, columns)
    values = scoring.scaled_matrix(drawn, scaler, columns)
    stable_rows, silhouette_rows = (
        sampling.rows_of_sample(drawn, size, params.random_state)
        for size in (params.stability_sample_size, params.silhouette_sample_size)
    )
    table, centres = sweep(values, params, stable_rows, silhouette_rows)
    preferred = preferred_k(table)
    table["is_knee"] = table["k"] == preferred[ELBOW]
    table["preferred_by"] = [
        ", ".join(c for c, k in preferred.items() if k == row_k) for row_k in table["k"]
    ]
    table["sweep_rows"] = len(values)
    table["silhouette_rows"] = min(len(values), params.silhouette_sample_size)
    table["stability_rows"] = min(len(values), params.stability_sample_size)
    logger.info("Knee at k=%s; preferred: %s", preferred[ELBOW], preferred)
    parts = [
        pd.DataFrame(scoring.unscaled(found, scaler), columns=columns).assign(
            k=k, centre=np.arange(len(found))
        )
        for k, found in centres.items()
    ]
    return table, pd.concat(parts, ignore_index=True)[["k", "centre", *columns]]


def choose_k(k_sweep: pd.DataFrame, n_clusters: int | Literal["auto"]) -> pd.DataFrame:
    """Decide k, once: ``n_clusters`` when it is a number, the elbow's knee when ``auto``.

    A k outside the sweep's range is allowed (the final fit then starts with k-means++); it gets
    a row of its own without criteria.

    Returns:
        ``k_selection``: the sweep with ``is_chosen`` (one row true) and ``chosen_by``.

    Raises:
        ValueError: ``auto`` but the elbow curve has no knee.
    """
    table = k_sweep.copy()
    if n_clusters == "auto":
        knee = table.loc[table["is_knee"], "k"]
        if knee.empty:
            raise ValueError(
                "clustering.n_clusters is 'auto' but the elbow curve has no knee; set a number"
            )
        k, by = int(knee.iloc[0]), BY_KNEE
    else:
        k, by = int(n_clusters), BY_PARAMETER
    if k not in set(table["k"]):
        extra = pd.DataFrame({"k": [k], "is_knee": [False], "preferred_by": [""]})
        table = pd.concat([table, extra], ignore_index=True).sort_values("k", ignore_index=True)
    table["is_chosen"] = table["k"] == k
    table["chosen_by"] = np.where(table["is_chosen"], by, "")
    logger.info("k=%d (%s)", k, by)
    return table


def chosen_k(k_selection: pd.DataFrame) -> int:
    """The k that :func:`choose_k` decided.

    Raises:
        ValueError: the table does not mark exactly one k as chosen.
    """
    chosen = k_selection.loc[k_selection["is_chosen"].astype(bool), "k"]
    if len(chosen) != 1:
        raise ValueError(f"k_selection marks {len(chosen)} k as chosen; expected one")
    return int(chosen.iloc[0])


def verdict(k_selection: pd.DataFrame) -> tuple[bool, str]:
    """Whether the criteria agree with the chosen k, in one plain paragraph.

    Args:
        k_selection: ``k``, ``is_chosen``, ``chosen_by``, ``preferred_by``
            (comma-separated criteria whose best value is at that k).

    Returns:
        ``(agree, sentence)``; ``agree`` is true when every criterion prefers the chosen k.
    """
    picks: dict[str, int] = {}
    for _, row in k_selection.iterrows():
        for criterion in str(row["preferred_by"]).split(","):
            if criterion.strip() and criterion.strip() != "nan":
                picks[criterion.strip()] = int(row["k"])
    k = chosen_k(k_selection)
    by = str(k_selection.loc[k_selection["is_chosen"].astype(bool), "chosen_by"].iloc[0])
    by_k: dict[int, list[str]] = {}
    for criterion, picked in picks.items():
        by_k.setdefault(picked, []).append(criterion)
    listing = "; ".join(f"k={picked}: {', '.join(names)}" for picked, names in sorted(by_k.items()))
    if set(by_k) == {k}:
        return True, f"All criteria ({', '.join(picks)}) prefer the chosen k={k}."
    supporting = by_k.get(k, [])
    support = (
        f"only {', '.join(supporting)} prefer{'s' if len(supporting) == 1 else ''} it"
        if supporting
        else "no criterion prefers it"
    )
    return False, (
        f"The criteria disagree: {listing}. The segmentation uses k={k} (chosen by the {by}), "
        f"and {support}. Silhouette, Davies-Bouldin and Calinski-Harabasz tend to favour few, "
        f"coarse groups on data without clear gaps; here k is a business choice ({k} "
        "actionable segments), not a property the data proves."
    )
