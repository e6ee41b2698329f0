"""Nodes of ``reporting``: segment profiles, exploratory analysis, the figures a marketer reads
and the self-contained HTML report. Each adapts catalog data to a domain module (``segments``,
``eda``, ``maps``, ``figures``, ``report``); everything written here belongs to the model
version.

Domain modules are imported inside the nodes (scikit-learn, SciPy, matplotlib and seaborn load
when a node runs, not when Kedro lists the pipelines; see ``customer_segmentation.kedro_io.lazy_types``).
"""

from __future__ import annotations

import logging
from typing import Any

from customer_segmentation import schema
from customer_segmentation.kedro_io.lazy_types import (
    PCA,
    DataFrame,
    Figure,
    KMeans,
    StandardScaler,
)
from customer_segmentation.params import MonitoringParams, ReportingParams, as_model

logger = logging.getLogger(__name__)


def build_segment_profiles(
    customer_features: Any,
    customer_segments: Any,
    model_card: dict[str, Any],
    segment_stability: DataFrame,
    params: ReportingParams,
) -> tuple[DataFrame, Figure]:
    """``segment_profiles`` (``segments.segment_profiles`` of ``profile_columns``, with each
    segment's bootstrap stability) and their z-score heat map.
    """
    from customer_segmentation.core import segments
    from customer_segmentation.report import figures

    profiles = segments.segment_profiles(
        customer_features, customer_segments, model_card, list(params.profile_columns)
    )
    profiles = segments.with_stability(profiles, segment_stability)
    return profiles, figures.profile_heatmap(profiles)


def campaign_outcomes(
    customers: Any,
    customer_segments: Any,
    data_quality_report: dict[str, Any],
    model_card: dict[str, Any],
    params: ReportingParams,
) -> tuple[DataFrame, Figure]:
    """``segment_outcomes`` (``outcomes.segment_outcomes``: rates with Wilson intervals and
    lift per segment) and the response-rate chart (a blank figure saying why when the file had
    no ``Response``).
    """
    from customer_segmentation.core import outcomes, segments
    from customer_segmentation.report import figures

    table, note = outcomes.segment_outcomes(
        customers,
        customer_segments,
        data_quality_report["absent_optional_columns"],
        params.outcomes.z,
    )
    figure = figures.segment_outcomes(
        table, segments.segment_names(model_card), outcomes.RESPONSE, note
    )
    return table, figure


def score_rfm(customers: Any, params: ReportingParams) -> Any:
    """``rfm_segments``: every clean customer's RFM scores and group (``rfm.rfm_segments``)."""
    from customer_segmentation.core import rfm

    return rfm.rfm_segments(customers, params.rfm)


def compare_with_rfm(
    customer_segments: Any,
    rfm_segments: Any,
    model_card: dict[str, Any],
    params: ReportingParams,
) -> tuple[DataFrame, Figure]:
    """``rfm_crosstab``: K-Means segment x RFM group (counts and row shares) and its heat map."""
    from customer_segmentation.core import rfm, segments
    from customer_segmentation.report import figures

    table = rfm.rfm_crosstab(customer_segments, rfm_segments, rfm.group_names(params.rfm))
    return table, figures.rfm_crosstab(table, segments.segment_names(model_card))


def plot_elbow(k_selection: DataFrame) -> Figure:
    """The elbow and silhouette against k, with the knee and the chosen k."""
    from customer_segmentation.report import figures

    return figures.elbow(k_selection)


def _drawn_map(found: Any, model_card: dict[str, Any], title: str) -> Figure:
    """A map's figure: its points drawn as the app draws them (``maps.map_layers``)."""
    from customer_segmentation.core import maps, segments
    from customer_segmentation.report import figures

    names = segments.segment_names(model_card)
    return figures.segment_map(
        maps.map_layers(found.points, names, (found.x_label, found.y_label)), title
    )


def plot_segment_map(
    customer_model_input: Any,
    customer_segments: Any,
    scaler: StandardScaler,
    kmeans_model: KMeans,
    model_card: dict[str, Any],
    params: ReportingParams,
) -> tuple[Figure, DataFrame, PCA]:
    """The PCA map of a seeded sample of ``map_sample_size`` customers and the centroids.

    Returns:
        The figure, ``segment_map_points`` (``maps.SegmentMap.points``) and the projection
        (``segment_map_projection``), with which the app places a new customer on the map.
    """
    from customer_segmentation.core import maps, sampling

    ids, labels, scaled = sampling.scaled_customers(
        customer_model_input,
        customer_segments,
        scaler,
        list(model_card["features"]),
        params.map_sample_size,
        params.random_state,
    )
    found, projection = maps.pca_map(
        ids, labels, scaled, kmeans_model.cluster_centers_, params.random_state
    )
    title = f"Segments on the first two principal components ({len(ids):,} customers; X = centroid)"
    return _drawn_map(found, model_card, title), found.points, projection


def plot_tsne_map(
    customer_model_input: Any,
    customer_segments: Any,
    scaler: StandardScaler,
    model_card: dict[str, Any],
    params: ReportingParams,
) -> Figure:
    """The t-SNE map of a seeded sample of ``tsne.sample_size`` customers."""
    from customer_segmentation.core import maps, sampling

    settings = params.tsne
    ids, labels, scaled = sampling.scaled_customers(
        customer_model_input,
        customer_segments,
        scaler,
        list(model_card["features"]),
        settings.sample_size,
        params.random_state,
    )
    found, perplexity = maps.tsne_map(
        ids, labels, scaled, settings.perplexity, settings.max_iter, params.random_state
    )
    title = f"Segments on a t-SNE map ({len(ids):,} customers, perplexity {perplexity:.0f})"
    return _drawn_map(found, model_card, title)


def plot_segment_distributions(
    customer_model_input: Any,
    customer_segments: Any,
    model_card: dict[str, Any],
    params: ReportingParams,
) -> tuple[Figure, Figure]:
    """Income against spending and each model feature's distribution per segment (box and
    violin plots), for a seeded sample of ``map_sample_size`` customers.
    """
    from customer_segmentation.core import engine, segments
    from customer_segmentation.core.sampling import gathered_segmented
    from customer_segmentation.report import figures

    columns = list(dict.fromkeys(["Income", "Total_Spending", *model_card["features"]]))
    drawn, labels = gathered_segmented(
        engine.lazy(customer_model_input).select(schema.ID, *columns),
        customer_segments,
        params.map_sample_size,
        params.random_state,
    )
    sample = drawn[columns].assign(segment=labels["segment"].to_numpy())
    names = segments.segment_names(model_card)
    return (
        figures.income_vs_spending(sample, names),
        figures.segment_distributions(sample, list(model_card["features"]), names),
    )


def explore_customers(
    customers: Any,
    customer_features: Any,
    rejected_customers: Any,
    data_quality_report: dict[str, Any],
    params: ReportingParams,
) -> tuple[DataFrame, DataFrame, DataFrame, DataFrame, DataFrame, Figure, Figure, Figure]:
    """Exploratory analysis of the clean table, its features and what cleaning removed
    (``eda``): every column's values counted on all rows in the engine, the correlations on a
    seeded sample of ``eda.correlation_sample_size`` customers.

    Returns:
        ``feature_summary``, ``missing_values``, ``category_counts``,
        ``feature_correlations``, ``removed_outliers`` and the figures
        ``eda_distributions``, ``eda_correlations``, ``eda_removed``.
    """
    from customer_segmentation.core import eda, engine
    from customer_segmentation.report import figures

    settings = params.eda
    raw, engineered = list(settings.raw_columns), list(settings.engineered_columns)
    correlated = list(settings.correlation_columns)
    features = engine.lazy(customer_features)
    counted = eda.distributions(features, [*raw, *engineered, *correlated])
    kept = eda.distributions(engine.lazy(customers), list(settings.removed_reasons))
    sample = engine.gather(
        features.select(schema.ID, *correlated),
        settings.correlation_sample_size,
        params.random_state,
        schema.ID,
    )
    summary = eda.feature_summary(features, raw, engineered, counted)
    matrix = eda.correlations(sample, correlated)
    customers_counted = counted[correlated[0]].rows
    removed = eda.removed_outliers(rejected_customers, data_quality_report)
    logger.info(
        "EDA of %d customers (correlations on %d): %d columns described, %d rejected rows in "
        "%d reasons",
        customers_counted,
        len(sample),
        len(summary),
        int(removed["rows"].sum()),
        len(removed),
    )
    return (
        summary,
        eda.missing_values(customers, rejected_customers),
        eda.category_counts(customers),
        matrix,
        removed,
        figures.distributions(counted, raw, engineered, params.histogram_bins),
        figures.correlations(matrix, eda.correlations_measured_on(len(sample), customers_counted)),
        figures.removed(
            kept,
            eda.rejected_values(rejected_customers, settings.removed_reasons),
            settings.removed_reasons,
            params.histogram_bins,
        ),
    )


def spending_mix(
    customer_features: Any,
    customer_segments: Any,
    model_card: dict[str, Any],
) -> tuple[DataFrame, Figure]:
    """``segments.spending_mix`` and its stacked bars."""
    from customer_segmentation.core import segments
    from customer_segmentation.report import figures

    table = segments.spending_mix(customer_features, customer_segments, model_card)
    return table, figures.spending_mix(table)


# Report figure -> catalog entry (the node gets the PNG bytes each saved).
REPORT_FIGURES: dict[str, str] = {
    "distributions": "eda_distributions",
    "correlations": "eda_correlations",
    "removed": "eda_removed",
    "elbow": "elbow_plot",
    "profile_heatmap": "segment_profile_heatmap",
    "segment_distributions": "segment_distributions",
    "pca_map": "segment_map",
    "tsne_map": "segment_map_tsne",
    "income_spending": "income_vs_spending",
    "spending_mix": "spending_mix_plot",
    "k_distance": "k_distance_plot",
    "dbscan_map": "kmeans_vs_dbscan_map",
    "outcomes": "segment_outcomes_plot",
    "rfm_crosstab": "rfm_crosstab_plot",
    "methods": "method_comparison_plot",
}
REPORT_TABLES: tuple[str, ...] = (
    "removed_outliers",
    "missing_values",
    "category_counts",
    "feature_summary",
    "k_selection",
    "segment_profiles",
    "spending_mix",
    "clustering_comparison",
    "method_comparison",
    "segment_outcomes",
    "rfm_crosstab",
    "segment_migration",
)
REPORT_PARAMETERS: tuple[str, ...] = (
    "data_processing",
    "feature_engineering",
    "model_selection",
    "clustering",
    "reporting",
)


def build_report(**inputs: Any) -> str:
    """The self-contained HTML report (``report.render``): every figure arrives as the PNG
    bytes its node saved, so nothing is drawn twice.

    Args:
        inputs: ``model_card``, ``data_quality_report``, the tables of
            :data:`REPORT_TABLES`, the figures of :data:`REPORT_FIGURES` and ``params_<name>``
            for each pipeline of :data:`REPORT_PARAMETERS`.

    Returns:
        HTML text; ``HtmlReportDataset`` writes the model version's stamp in when saving.
    """
    from customer_segmentation.report import report

    text = report.render(
        model_card=inputs["model_card"],
        data_quality_report=inputs["data_quality_report"],
        tables={name: inputs[name] for name in REPORT_TABLES},
        figures={name: inputs[entry] for name, entry in REPORT_FIGURES.items()},
        parameters={
            name: as_model(name, inputs[f"params_{name}"]).model_dump(mode="json")
            for name in REPORT_PARAMETERS
        },
    )
    logger.info("Report: %d characters, %d figures", len(text), len(REPORT_FIGURES))
    return text


def compare_with_previous_model(
    previous_model: dict[str, Any],
    customer_segments: Any,
    model_card: dict[str, Any],
    scaler: StandardScaler,
    kmeans_model: KMeans,
    model_version_stamp: str,
    params: MonitoringParams,
) -> dict[str, Any]:
    """``segment_migration``: how this model's segments moved from the previous complete model
    version's on the same customers (``monitoring.migration.segment_migration``: contingency
    table, adjusted Rand index, segments matched by centroids, new and dissolved ones, a
    sentence). ``previous_model`` and ``model_version_stamp`` come from
    ``versioning.ModelVersionHook``; for the first model the dataset says there is none.
    """
    from customer_segmentation.core import engine
    from customer_segmentation.core.monitoring import migration

    if previous_model["stamp"] is None:
        return {"previous_version": None, "sentence": migration.FIRST_MODEL}
    new = migration.VersionSegments.from_model(
        model_version_stamp,
        engine.to_pandas_table(customer_segments),
        model_card,
        scaler,
        kmeans_model,
    )
    old = migration.VersionSegments.from_model(
        previous_model["stamp"],
        engine.to_pandas_table(previous_model["customer_segments"]),
        previous_model["model_card"],
        previous_model["scaler"],
        previous_model["kmeans_model"],
    )
    return migration.compare(old, new, params.migration)
