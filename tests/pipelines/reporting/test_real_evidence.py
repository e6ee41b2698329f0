"""Issue 15's evidence on the real table, through the catalog of a full run: each segment's
bootstrap stability, campaign outcomes per segment, RFM beside K-Means.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import load_catalog

from customer_segmentation.core.outcomes import OUTCOMES, SOURCES

Z = 1.959964


@pytest.fixture(scope="module")
def real(real_project) -> dict:
    catalog = load_catalog(real_project)
    names = (
        "customers",
        "customer_segments",
        "segment_profiles",
        "segment_outcomes",
        "rfm_segments",
        "rfm_crosstab",
    )
    return {name: catalog.load(name) for name in names}


def test_every_segment_has_its_bootstrap_jaccard_and_reading(real):
    profiles = real["segment_profiles"]
    assert profiles["stability_jaccard"].between(0, 1).all(), profiles["stability_jaccard"]
    labels = {"highly stable", "stable", "a pattern", "weak", "dissolved"}
    assert set(profiles["stability_label"]) <= labels, profiles["stability_label"]
    assert (profiles["stability_rows"] == len(real["customer_segments"])).all()
    assert (profiles["stability_resamples"] == 100).all()


def test_outcome_rates_are_the_plain_group_means_with_wilson_intervals(real):
    joined = real["customers"].merge(real["customer_segments"][["ID", "segment"]], on="ID")
    joined["AnyCampaign"] = (joined[list(SOURCES["AnyCampaign"])].sum(axis=1) > 0).astype(int)
    outcomes = real["segment_outcomes"]
    assert set(outcomes["outcome"]) == set(OUTCOMES)
    for outcome in OUTCOMES:
        rows = outcomes[outcomes["outcome"] == outcome].set_index("segment").sort_index()
        means = joined.groupby("segment")[outcome].mean().sort_index()
        np.testing.assert_allclose(rows["rate"], means, err_msg=outcome)
        n, p = joined.groupby("segment").size().sort_index(), means
        centre = (p + Z**2 / (2 * n)) / (1 + Z**2 / n)
        half = Z * np.sqrt(p * (1 - p) / n + Z**2 / (4 * n**2)) / (1 + Z**2 / n)
        np.testing.assert_allclose(rows["ci_low"], centre - half, err_msg=outcome)
        np.testing.assert_allclose(rows["ci_high"], centre + half, err_msg=outcome)
        np.testing.assert_allclose(rows["lift"], means / joined[outcome].mean(), err_msg=outcome)


def test_rfm_covers_every_clean_customer_and_the_crosstab_counts_them(real):
    rfm, segments = real["rfm_segments"], real["customer_segments"]
    assert sorted(rfm["ID"]) == sorted(real["customers"]["ID"])
    assert rfm[["r_score", "f_score", "m_score"]].isin(range(1, 6)).all().all()
    crosstab = real["rfm_crosstab"]
    assert crosstab["customers"].sum() == len(segments)
    counts = segments.merge(rfm, on="ID").groupby(["segment", "rfm_group"]).size()
    expected = crosstab.set_index(["segment", "rfm_group"])["customers"]
    pd.testing.assert_series_equal(
        expected[expected > 0].sort_index(), counts.sort_index(), check_names=False
    )
