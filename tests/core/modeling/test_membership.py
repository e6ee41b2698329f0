"""``modeling.membership`` and ``scoring.membership``: one Gaussian per segment, fitted and
scored in the engine, gives scikit-learn's GaussianMixture probabilities, on both engines.
"""

from __future__ import annotations

import narwhals as nw
import numpy as np
import polars as pl
import pytest
from sklearn.cluster import KMeans
from sklearn.mixture import GaussianMixture
from sklearn.preprocessing import StandardScaler

from customer_segmentation.core import engine, scoring
from customer_segmentation.core.modeling.membership import REG_COVAR, fit_gaussians

NAMES = ["a", "b", "c"]


@pytest.fixture(scope="module")
def customers() -> pl.DataFrame:
    rng = np.random.default_rng(3)
    cov = np.diag([1.0, 2.0, 0.5])
    blobs = [rng.multivariate_normal([m, m, m], cov, 300) for m in (0.0, 3.0, 6.0)]
    points = np.vstack(blobs)
    return pl.DataFrame(
        {
            "ID": np.arange(len(points)),
            **{n: points[:, i] for i, n in enumerate(NAMES)},
            "segment": np.repeat([0, 1, 2], 300),
        }
    )


def _scored(frame) -> tuple[dict, np.ndarray, StandardScaler]:
    table = engine.to_pandas(engine.lazy(frame)).sort_values("ID")
    scaler = StandardScaler().fit(table[NAMES])
    scaled = scoring.scale(engine.lazy(frame), scaler, NAMES)
    gaussians = fit_gaussians(scaled, NAMES, "segment")
    found = engine.to_pandas(scoring.membership(scaled, gaussians, "segment")).sort_values("ID")
    return gaussians, found[scoring.MEMBERSHIP].to_numpy(), scaler


def test_the_segments_gaussians_give_scikit_learns_probabilities(customers):
    gaussians, membership, scaler = _scored(customers)

    points = scaler.transform(customers.select(NAMES).to_pandas())
    labels = customers["segment"].to_numpy()
    mixture = GaussianMixture(3, reg_covar=REG_COVAR, max_iter=1, init_params="random")
    resp = np.eye(3)[labels]  # one M-step from the hard segments: what the fit does
    mixture._initialize(points, resp)
    assert np.allclose(mixture.weights_, gaussians["weights"])
    assert np.allclose(mixture.means_, gaussians["means"])
    assert np.allclose(mixture.precisions_cholesky_, gaussians["precisions_cholesky"])
    expected = mixture.predict_proba(points)[np.arange(len(points)), labels]
    np.testing.assert_allclose(membership, expected, rtol=1e-9, atol=1e-12)
    assert np.median(membership) > 0.99, "separated blobs: most customers clearly in their own"


@pytest.mark.spark
def test_spark_gives_the_same_probabilities(customers, spark_session):
    on_polars, polars_membership, _ = _scored(customers)
    on_spark, spark_membership, _ = _scored(spark_session.createDataFrame(customers.to_pandas()))

    assert on_spark["segments"] == on_polars["segments"]
    np.testing.assert_allclose(on_spark["precisions_cholesky"], on_polars["precisions_cholesky"])
    np.testing.assert_allclose(spark_membership, polars_membership, rtol=1e-9)


def test_a_frame_without_gaussians_has_no_membership(customers):
    table = customers.select(NAMES).to_pandas()
    scaler = StandardScaler().fit(table)
    model = KMeans(3, n_init=1, random_state=0).fit(table)

    scored = scoring.score_frame(nw.from_native(customers.lazy()), scaler, model)

    assert scoring.MEMBERSHIP not in scored.collect_schema().names()
