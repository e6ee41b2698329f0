"""``clustering``: the k sweep -> k decided once, versioned scaler and K-Means, segments, model
card, DBSCAN comparison, each segment's bootstrap stability. Everything written here belongs to the model version.
"""

from kedro.pipeline import Node, Pipeline

from .nodes import (
    assess_segment_stability,
    choose_k,
    compare_with_dbscan,
    fit_segmentation,
    keep_drift_reference,
    model_card,
)


def create_pipeline(**kwargs) -> Pipeline:
    """Decide k, fit, describe, compare."""
    return Pipeline(
        [
            Node(
                choose_k,
                inputs=["k_sweep", "params:clustering"],
                outputs="k_selection",
                name="choose_k",
            ),
            Node(
                fit_segmentation,
                inputs=[
                    "customer_model_input",
                    "k_selection",
                    "params:clustering",
                    "sweep_centres",
                ],
                outputs=["scaler", "kmeans_model", "customer_segments"],
                name="fit_segmentation",
            ),
            Node(
                model_card,
                inputs=[
                    "customer_model_input",
                    "customer_segments",
                    "scaler",
                    "kmeans_model",
                    "feature_info",
                    "params:clustering",
                ],
                outputs="model_card",
                name="build_model_card",
            ),
            Node(
                compare_with_dbscan,
                inputs=["customer_model_input", "customer_segments", "scaler", "params:clustering"],
                outputs=["clustering_comparison", "k_distance_plot", "kmeans_vs_dbscan_map"],
                name="compare_with_dbscan",
            ),
            Node(
                assess_segment_stability,
                inputs=[
                    "customer_model_input",
                    "customer_segments",
                    "scaler",
                    "kmeans_model",
                    "params:clustering",
                ],
                outputs="segment_stability",
                name="assess_segment_stability",
            ),
            Node(
                keep_drift_reference,
                inputs=[
                    "customer_model_input",
                    "customer_segments",
                    "params:clustering",
                    "params:monitoring",
                ],
                outputs="drift_reference",
                name="keep_drift_reference",
            ),
        ]
    )
