"""Monitoring in the app: an upload's drift against the training data of the model version
that scored it (:func:`upload_drift`), and two model versions compared (:func:`compare_versions`:
the newer version's saved ``segment_migration`` when it was made against the older one, else
the same comparison, ``migration.compare``, computed now).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from customer_segmentation import schema
from customer_segmentation.core import engine
from customer_segmentation.core.monitoring import drift, migration
from customer_segmentation.params import MigrationParams
from customer_segmentation.serving.evidence import BACKFILL_NODES
from customer_segmentation.serving.score import returning, with_previous_segment
from customer_segmentation.serving.versions import ModelVersion

# The node that writes ``drift_reference`` (for :func:`not_available`).
DRIFT_NODES: tuple[str, ...] = BACKFILL_NODES
# The columns of the drift tables the Score page shows, in its order.
DRIFT_FEATURE_COLUMNS: tuple[str, ...] = (
    "feature",
    "verdict",
    "psi",
    "ks_statistic",
    "ks_pvalue",
    "mean_training",
    "mean_new",
    "standardised_mean_shift",
)
DRIFT_SEGMENT_COLUMNS: tuple[str, ...] = (
    "segment",
    "name",
    "share_training",
    "share_new",
    "share_change",
    "count_new",
)


def upload_drift(
    scored: pd.DataFrame,
    reference: Mapping[str, Any] | None,
    thresholds: drift.DriftThresholds,
    training_segments: pd.DataFrame | None = None,
) -> drift.DriftReport | None:
    """An upload's drift against the training data of the model version that scored it.

    Args:
        scored: ``serving.score.ScoredUpload.scored`` (``ID``, ``segment`` and the model's
            features), at least one row.
        reference: the version's ``drift_reference``; ``None`` when the version has none.
        thresholds: the ``monitoring.drift`` parameters (``psi``, ``cramers_v``).
        training_segments: the version's ``customer_segments`` (``ID``, ``segment``); when
            given, uploaded customers with a training ``ID`` are counted as moved or not.

    Returns:
        ``monitoring.drift.drift_report``'s features, segments and summary (its
        ``sentence`` first); ``None`` without a reference.
    """
    if reference is None:
        return None
    features = list(reference["features"])
    previous = None
    if training_segments is not None:
        ids = engine.lazy(scored[[schema.ID]])
        previous = returning(with_previous_segment(ids, training_segments))
    return drift.drift_report(
        reference,
        scored[[schema.ID, *features]].assign(segment=scored["segment"].astype("int64")),
        thresholds,
        previous=previous,
    )


def drift_segment_table(report: drift.DriftReport, names: Mapping[int, str]) -> pd.DataFrame:
    """The segment shares of :func:`upload_drift`'s report with the segments' names
    (:data:`DRIFT_SEGMENT_COLUMNS`).
    """
    table = report.segments.assign(
        name=[names.get(int(s), f"Segment {s}") for s in report.segments["segment"]]
    )
    return table[list(DRIFT_SEGMENT_COLUMNS)]


@dataclass(frozen=True)
class VersionComparison:
    """Two model versions compared: ``older`` and ``newer`` stamps, ``migration``
    (``monitoring.migration.segment_migration``'s result with ``previous_version`` and
    ``sentence``), and ``saved``: read from the newer version's ``segment_migration`` (True) or
    computed now (False).
    """

    older: str
    newer: str
    migration: dict[str, Any]
    saved: bool


def _version_segments(version: ModelVersion) -> migration.VersionSegments:
    """A model version as the migration reads it (its segments, card, scaler and model)."""
    return migration.VersionSegments.from_model(
        version.version,
        version.dataset("customer_segments"),
        version.bundle.card,
        version.bundle.scaler,
        version.bundle.model,
    )


def _made_with(saved: dict[str, Any] | None, older: str, settings: MigrationParams) -> bool:
    """Whether a saved ``segment_migration`` is the comparison asked for: against ``older``,
    with the customer checks, under ``settings``.
    """
    if saved is None or saved.get("previous_version") != older or "matching" not in saved:
        return False
    return all(saved.get(name) == value for name, value in settings.model_dump().items())


def compare_versions(
    first: ModelVersion, second: ModelVersion, settings: MigrationParams
) -> VersionComparison:
    """How the segments moved from the older of two model versions to the newer.

    The newer version's saved ``segment_migration`` when it was made against the older one
    (its ``previous_version``) with today's checks and settings; otherwise the same comparison
    computed now (``migration.segment_migration`` of both versions' ``customer_segments``,
    card, scaler and model), kept with the newer version for later calls.

    Args:
        first: one of two different model versions, in either order.
        second: the other.
        settings: ``monitoring.migration``.

    Raises:
        ValueError: both are the same version.
    """
    if first.version == second.version:
        raise ValueError(f"pick two different model versions, not {first.version} twice")
    older, newer = sorted((first, second), key=lambda v: v.version)
    saved = newer.optional("segment_migration")
    if _made_with(saved, older.version, settings):
        return VersionComparison(older.version, newer.version, dict(saved), saved=True)

    def compute() -> dict[str, Any]:
        return migration.compare(_version_segments(older), _version_segments(newer), settings)

    key = f"migration_from:{older.version}:{settings.model_dump_json()}"
    return VersionComparison(older.version, newer.version, newer.derived(key, compute), False)
