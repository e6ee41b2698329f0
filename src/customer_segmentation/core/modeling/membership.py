"""A probability of belonging to each segment: a Gaussian mixture on the model's segments.

K-Means gives each customer one segment and a margin (how much nearer its own centre is than
the runner-up's). A Gaussian mixture gives a probability instead. Here the mixture has one
component per segment, fitted on the model's own partition in the scaled space (one M-step of
EM from the K-Means labels: each component's weight is its segment's share, its mean and full
covariance those of its customers), so component ``s`` *is* segment ``s`` and a customer's
probability of belonging to its segment reads directly. Fitted in the engine (one aggregation
over every customer); scored in the engine (narwhals expressions), the same on Polars, Spark
and the app's one customer.

Fitted here (:func:`fit_gaussians`); scored by ``scoring.membership``. The fitted mixture is a
plain mapping saved as JSON with the model
version (``segment_membership``): ``features``, ``weights``, ``means`` and
``precisions_cholesky`` (scikit-learn's parametrisation: the log density of component ``c``
is ``log w_c + sum(log diag L_c) - d/2 log(2 pi) - |(x - m_c) L_c|^2 / 2``).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import narwhals as nw
import numpy as np

from customer_segmentation.core import engine
from customer_segmentation.core.scoring import scaled_name

# Added to each covariance's diagonal, as scikit-learn's GaussianMixture(reg_covar=1e-6) does.
REG_COVAR = 1e-6


def fit_gaussians(scaled: nw.LazyFrame, names: Sequence[str], segment: str) -> dict[str, Any]:
    """One Gaussian per segment of ``scaled`` (the ``_scaled_<feature>`` columns of ``names``
    and ``segment``): weights, means and the Cholesky factors of the precisions, from one
    aggregation per segment (means of the features and of their pairwise products).
    """
    columns = [nw.col(scaled_name(n)) for n in names]
    pairs = list(itertools.combinations_with_replacement(range(len(names)), 2))
    stats = engine.rows(
        scaled.group_by(segment)
        .agg(
            nw.len().alias("_n"),
            *(c.mean().alias(f"_m{i}") for i, c in enumerate(columns)),
            *((columns[i] * columns[j]).mean().alias(f"_p{i}_{j}") for i, j in pairs),
        )
        .sort(segment)
    )
    total = sum(row["_n"] for row in stats)
    weights, means, factors = [], [], []
    for row in stats:
        mean = np.array([row[f"_m{i}"] for i in range(len(names))])
        second = np.empty((len(names), len(names)))
        for i, j in pairs:
            second[i, j] = second[j, i] = row[f"_p{i}_{j}"]
        covariance = second - np.outer(mean, mean) + REG_COVAR * np.eye(len(names))
        # The precision's Cholesky factor, as scikit-learn computes it (upper triangular).
        lower = np.linalg.cholesky(covariance)
        factors.append(np.linalg.solve(lower, np.eye(len(names))).T.tolist())
        weights.append(row["_n"] / total)
        means.append(mean.tolist())
    return {
        "features": list(names),
        "segments": [int(row[segment]) for row in stats],
        "weights": weights,
        "means": means,
        "precisions_cholesky": factors,
    }
