"""``clustering``: the k sweep -> k decided once, versioned scaler and K-Means, segments, model
card, DBSCAN comparison, each segment's bootstrap stability, the drift reference. Everything
written here belongs to the model version.
"""

from kedro.pipeline import Node, Pipeline

from .nodes import (
    assess_segment_stability,
    choose_k,
    compare_methods,
    compare_with_dbscan,
    fit_segment_membership,
    fit_segmentation,
    keep_drift_reference,
    model_card,
)

MODEL_INPUT = ["customer_model_input", "customer_segments"]


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
            *_describing_nodes(),
        ]
    )


def _describing_nodes() -> list[Node]:
    """What describes the fitted model: its card, DBSCAN beside it, each segment's stability,
    what it keeps to judge new customers by.
    """
    return [
        Node(
            model_card,
            inputs=[
                *MODEL_INPUT,
                "scaler",
                "kmeans_model",
                "feature_info",
                "data_quality_report",
                "params:clustering",
            ],
            outputs="model_card",
            name="build_model_card",
        ),
        Node(
            compare_with_dbscan,
            inputs=[*MODEL_INPUT, "scaler", "params:clustering"],
            outputs=["clustering_comparison", "k_distance_plot", "kmeans_vs_dbscan_map"],
            name="compare_with_dbscan",
        ),
        Node(
            compare_methods,
            inputs=[*MODEL_INPUT, "scaler", "params:clustering", "params:model_selection"],
            outputs=["method_comparison", "method_comparison_plot"],
            name="compare_methods",
        ),
        Node(
            fit_segment_membership,
            inputs=[*MODEL_INPUT, "scaler"],
            outputs="segment_membership",
            name="fit_segment_membership",
        ),
        Node(
            assess_segment_stability,
            inputs=[*MODEL_INPUT, "scaler", "kmeans_model", "params:clustering"],
            outputs="segment_stability",
            name="assess_segment_stability",
        ),
        Node(
            keep_drift_reference,
            inputs=[*MODEL_INPUT, "params:clustering", "params:monitoring"],
            outputs="drift_reference",
            name="keep_drift_reference",
        ),
    ]
