"""``reporting``: segments -> profiles with names, EDA, 2-D maps, income and spending mix, and
the self-contained HTML report.
"""

from kedro.pipeline import Node, Pipeline

from .nodes import (
    build_report,
    build_segment_profiles,
    explore_customers,
    plot_income_spending,
    plot_segment_map,
    plot_tsne_map,
    spending_mix,
)

# Report input name -> catalog entry (the node gets them as keyword arguments).
REPORT_INPUTS = {
    name: name
    for name in (
        "model_card",
        "data_quality_report",
        "removed_outliers",
        "missing_values",
        "category_counts",
        "feature_summary",
        "eda_distributions",
        "eda_correlations",
        "eda_removed",
        "k_selection",
        "segment_profiles",
        "segment_map_tsne",
        "spending_mix",
        "spending_mix_plot",
        "clustering_comparison",
        "elbow_plot",
        "segment_map",
        "income_vs_spending",
        "k_distance_plot",
        "kmeans_vs_dbscan_map",
    )
} | {
    f"params_{name}": f"params:{name}"
    for name in (
        "data_processing",
        "feature_engineering",
        "model_selection",
        "clustering",
        "reporting",
    )
}


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
                    "customer_model_input",
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
                inputs=[
                    "customer_model_input",
                    "customer_segments",
                    "model_card",
                    "params:reporting",
                ],
                outputs="income_vs_spending",
                name="plot_income_spending",
            ),
            Node(
                explore_customers,
                inputs=[
                    "customers",
                    "customer_features",
                    "rejected_customers",
                    "data_quality_report",
                    "params:reporting",
                ],
                outputs=[
                    "feature_summary",
                    "missing_values",
                    "category_counts",
                    "feature_correlations",
                    "removed_outliers",
                    "eda_distributions",
                    "eda_correlations",
                    "eda_removed",
                ],
                name="explore_customers",
            ),
            Node(
                plot_tsne_map,
                inputs=[
                    "customer_model_input",
                    "customer_segments",
                    "scaler",
                    "model_card",
                    "params:reporting",
                ],
                outputs="segment_map_tsne",
                name="plot_tsne_map",
            ),
            Node(
                spending_mix,
                inputs=["customer_features", "customer_segments", "model_card"],
                outputs=["spending_mix", "spending_mix_plot"],
                name="spending_mix",
            ),
            Node(
                build_report,
                inputs=REPORT_INPUTS,
                outputs="segmentation_report",
                name="build_report",
            ),
        ]
    )
