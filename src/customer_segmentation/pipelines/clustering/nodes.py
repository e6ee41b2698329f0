"""Nodes of ``clustering``: k decided once, the scaler and K-Means, DBSCAN.

The model card and the DBSCAN comparison read customers gathered from the engine (the card
all of them, the comparison a seeded sample).

Domain modules are imported inside the nodes (scikit-learn, SciPy and matplotlib load when a
node runs, not when Kedro lists the pipelines; see ``customer_segmentation.kedro_io.lazy_types``).
"""

from __future__ import annotations

from typing import Any

from customer_segmentation.kedro_io.lazy_types import DataFrame, Figure, KMeans, StandardScaler
from customer_segmentation.params import ClusteringParams, ModelSelectionParams, MonitoringParams


def choose_k(k_sweep: DataFrame, params: ClusteringParams) -> DataFrame:
    """``k_selection``: the sweep with the one k every later node uses (``is_chosen``,
    ``chosen_by``), from ``clustering.n_clusters`` or the knee (``auto``).
    """
    from customer_segmentation.core.modeling import selection

    return selection.choose_k(k_sweep, params.n_clusters)


def fit_segmentation(
    customer_model_input: Any,
    k_selection: DataFrame,
    params: ClusteringParams,
    sweep_centres: DataFrame,
) -> tuple[StandardScaler, KMeans, Any]:
    """Fit the scaler and K-Means with the chosen k on all customers, in the run's engine
    (``modeling.kmeans.fit_segmentation``).

    Returns:
        ``scaler``, ``kmeans_model`` and ``customer_segments`` (``ID``, ``customer_key``, ``segment``,
        ``distance``, ``runner_up``, ``runner_up_distance``, ``margin``).
    """
    from customer_segmentation.core.modeling import kmeans, selection

    fitted = kmeans.fit_segmentation(
        customer_model_input, selection.chosen_k(k_selection), params, sweep_centres
    )
    return fitted.scaler, fitted.model, fitted.segments


def model_card(
    customer_model_input: Any,
    customer_segments: Any,
    scaler: StandardScaler,
    kmeans_model: KMeans,
    feature_info: dict[str, Any],
    data_quality_report: dict[str, Any],
    params: ClusteringParams,
) -> dict[str, Any]:
    """``modeling.card.model_card``: aggregates of every customer in the engine, the
    silhouette on a seeded sample.
    """
    from customer_segmentation.core.modeling import card

    return card.model_card(
        customer_model_input,
        customer_segments,
        scaler,
        kmeans_model,
        feature_info,
        data_quality_report,
        params,
    )


def compare_with_dbscan(
    customer_model_input: Any,
    customer_segments: Any,
    scaler: StandardScaler,
    params: ClusteringParams,
) -> tuple[DataFrame, Figure, Figure]:
    """K-Means against DBSCAN on one seeded sample of ``dbscan.sample_size`` customers
    (``modeling.dbscan.compare``).

    Returns:
        ``clustering_comparison``, the k-distance figure and side-by-side PCA maps.
    """
    from customer_segmentation.core import sampling
    from customer_segmentation.core.modeling import dbscan
    from customer_segmentation.report import figures

    settings = params.dbscan
    _, labels, scaled = sampling.scaled_customers(
        customer_model_input,
        customer_segments,
        scaler,
        list(params.features),
        settings.sample_size,
        params.random_state,
    )
    found = dbscan.compare(
        scaled, labels, settings.min_samples, list(settings.scan_quantiles), settings.blob_share
    )
    return (
        found.table,
        figures.k_distance(found),
        figures.kmeans_vs_dbscan(found, params.random_state),
    )


def compare_methods(
    customer_model_input: Any,
    customer_segments: Any,
    scaler: StandardScaler,
    params: ClusteringParams,
    selection: ModelSelectionParams,
) -> tuple[DataFrame, Figure]:
    """Seven clustering methods beside K-Means (``modeling.methods``) on the k sweep's
    stability sample (``model_selection.stability_sample_size`` customers, its bootstrap
    resamples), gathered to this process on every engine.

    Returns:
        ``method_comparison`` (with ``fitted_on``, the sample and where it was gathered, and the
        verdict in a ``verdict`` column, the same on each row) and its figure.
    """
    from customer_segmentation.core import engine, sampling
    from customer_segmentation.core.modeling import methods
    from customer_segmentation.report import figures

    _, labels, scaled = sampling.scaled_customers(
        customer_model_input,
        customer_segments,
        scaler,
        list(params.features),
        selection.stability_sample_size,
        selection.random_state,
    )
    settings = methods.MethodSettings(
        kmeans=params,
        k_range=(selection.k_min, selection.k_max),
        min_samples=params.dbscan.min_samples,
        hdbscan_min_share=params.methods.hdbscan_min_cluster_share,
        hdbscan_min_samples=params.methods.hdbscan_min_samples,
        resamples=selection.stability_resamples,
        seed=selection.random_state,
    )
    table, labelled = methods.compare_methods(scaled, labels, settings)
    where = "Spark's driver" if engine.is_spark(engine.lazy(customer_model_input)) else "memory"
    table["fitted_on"] = f"a seeded sample of {len(scaled):,} customers, gathered to {where}"
    table["verdict"] = methods.verdict(table)
    return table, figures.method_comparison(table, labelled, scaled, params.random_state)


def fit_segment_membership(
    customer_model_input: Any, customer_segments: Any, scaler: StandardScaler
) -> dict[str, Any]:
    """``segment_membership``: one Gaussian per segment on every customer's scaled features
    (``membership.fit_gaussians``), in the run's engine; gives each customer a probability of
    belonging to its segment.
    """
    from customer_segmentation.core import sampling, scoring
    from customer_segmentation.core.modeling import membership

    names = [str(n) for n in scaler.feature_names_in_]
    frame = sampling.segmented_frame(customer_model_input, customer_segments)
    return membership.fit_gaussians(scoring.scale(frame, scaler, names), names, "segment")


def assess_segment_stability(
    customer_model_input: Any,
    customer_segments: Any,
    scaler: StandardScaler,
    kmeans_model: KMeans,
    params: ClusteringParams,
) -> DataFrame:
    """``segment_stability``: each segment's bootstrap Jaccard and its reading
    (``modeling.stability.segment_stability``), on a seeded sample of
    ``segment_stability.sample_size`` customers.
    """
    from customer_segmentation.core import sampling
    from customer_segmentation.core.modeling import stability

    settings = params.segment_stability
    _, labels, scaled = sampling.scaled_customers(
        customer_model_input,
        customer_segments,
        scaler,
        list(params.features),
        settings.sample_size,
        params.random_state,
    )
    return stability.segment_stability(
        scaled,
        labels,
        int(kmeans_model.n_clusters),
        params,
        resamples=settings.resamples,
        n_init=settings.n_init,
        seed=params.random_state,
        thresholds=settings.thresholds,
        dissolution=settings.dissolution,
        recovery=settings.recovery,
    )


def keep_drift_reference(
    customer_model_input: Any,
    customer_segments: Any,
    params: ClusteringParams,
    monitoring: MonitoringParams,
) -> dict[str, Any]:
    """``drift_reference``: what the model keeps of its training data to judge new customers
    by (``monitoring.drift.drift_reference``: per model feature quantile bins and shares, a
    seeded sample, mean and deviation; the segment shares), saved with the model.
    """
    from customer_segmentation.core.monitoring import drift
    from customer_segmentation.core.sampling import segmented_frame

    settings = monitoring.drift
    return drift.drift_reference(
        segmented_frame(customer_model_input, customer_segments),
        list(params.features),
        settings.bins,
        settings.sample_size,
        monitoring.random_state,
    )
