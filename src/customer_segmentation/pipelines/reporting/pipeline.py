"""``reporting``: segments -> profiles with names, the segment map, income and spending."""

from kedro.pipeline import Node, Pipeline

from .nodes import build_segment_profiles, plot_income_spending, plot_segment_map


def create_pipeline(**kwargs) -> Pipeline:
    """Profiles and figures, all saved through the catalog."""
    return Pipeline(
        [
            Node(
                build_segment_profiles,
                inputs=["customer_features", "customer_segments", "model_card", "params:reporting"],
                outputs="segment_profiles",
                name="build_segment_profiles",
            ),
            Node(
                plot_segment_map,
                inputs=[
                    "customer_features",
                    "customer_segments",
                    "scaler",
                    "model_card",
                    "params:reporting",
                ],
                outputs="segment_map",
                name="plot_segment_map",
            ),
            Node(
                plot_income_spending,
                inputs=["customer_features", "customer_segments", "model_card", "params:reporting"],
                outputs="income_vs_spending",
                name="plot_income_spending",
            ),
        ]
    )
