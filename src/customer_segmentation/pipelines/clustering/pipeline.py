"""``clustering``: features -> versioned scaler and K-Means, segments, model card, DBSCAN."""

from kedro.pipeline import Node, Pipeline

from .nodes import build_model_card, compare_with_dbscan, fit_segmentation


def create_pipeline(**kwargs) -> Pipeline:
    """Fit, describe, compare."""
    return Pipeline(
        [
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
                build_model_card,
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
        ]
    )
