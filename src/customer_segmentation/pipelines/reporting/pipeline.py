"""``reporting``: a fitted model -> profiles with names, EDA, 2-D maps, distributions by
segment, income and spending mix, and the self-contained HTML report. Everything written here
belongs to the model version (see ``customer_segmentation.kedro_io.versioning``).
"""

from kedro.pipeline import Node, Pipeline

from .nodes import (
    REPORT_FIGURES,
    REPORT_PARAMETERS,
    REPORT_TABLES,
    build_report,
    build_segment_profiles,
    campaign_outcomes,
    compare_with_previous_model,
    compare_with_rfm,
    explore_customers,
    plot_elbow,
    plot_segment_distributions,
    plot_segment_map,
    plot_tsne_map,
    score_rfm,
    spending_mix,
)

MAP_INPUTS = ["customer_model_input", "customer_segments"]


def create_pipeline(**kwargs) -> Pipeline:
    """Profiles and figures, all saved through the catalog, then the report."""
    report_inputs = (
        {name: name for name in ("model_card", "data_quality_report", *REPORT_TABLES)}
        | {entry: entry for entry in REPORT_FIGURES.values()}
        | {f"params_{name}": f"params:{name}" for name in REPORT_PARAMETERS}
    )
    report = Node(
        build_report, inputs=report_inputs, outputs="segmentation_report", name="build_report"
    )
    return Pipeline([*_segment_nodes(), *_evidence_nodes(), *_figure_nodes(), report])


def _segment_nodes() -> list[Node]:
    """The segments described: profiles with their stability, and the spending mix."""
    return [
        Node(
            build_segment_profiles,
            inputs=[
                "customer_features",
                "customer_segments",
                "model_card",
                "segment_stability",
                "params:reporting",
            ],
            outputs=["segment_profiles", "segment_profile_heatmap"],
            name="build_segment_profiles",
        ),
        Node(
            spending_mix,
            inputs=["customer_features", "customer_segments", "model_card"],
            outputs=["spending_mix", "spending_mix_plot"],
            name="spending_mix",
        ),
    ]


def _evidence_nodes() -> list[Node]:
    """Campaign outcomes per segment, RFM beside K-Means, the change from the previous model."""
    return [
        Node(
            campaign_outcomes,
            inputs=[
                "customers",
                "customer_segments",
                "data_quality_report",
                "model_card",
                "params:reporting",
            ],
            outputs=["segment_outcomes", "segment_outcomes_plot"],
            name="campaign_outcomes",
        ),
        Node(
            score_rfm,
            inputs=["customers", "params:reporting"],
            outputs="rfm_segments",
            name="score_rfm",
        ),
        Node(
            compare_with_rfm,
            inputs=["customer_segments", "rfm_segments", "model_card", "params:reporting"],
            outputs=["rfm_crosstab", "rfm_crosstab_plot"],
            name="compare_with_rfm",
        ),
        Node(
            compare_with_previous_model,
            inputs=[
                "previous_model",
                "customer_segments",
                "model_card",
                "scaler",
                "kmeans_model",
                "model_version_stamp",
                "params:monitoring",
            ],
            outputs="segment_migration",
            name="compare_with_previous_model",
        ),
    ]


def _figure_nodes() -> list[Node]:
    """Exploratory analysis, the elbow, the 2-D maps and the distributions by segment."""
    return [
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
        Node(plot_elbow, inputs="k_selection", outputs="elbow_plot", name="plot_elbow"),
        Node(
            plot_segment_map,
            inputs=[*MAP_INPUTS, "scaler", "kmeans_model", "model_card", "params:reporting"],
            outputs=["segment_map", "segment_map_points", "segment_map_projection"],
            name="plot_segment_map",
        ),
        Node(
            plot_tsne_map,
            inputs=[*MAP_INPUTS, "scaler", "model_card", "params:reporting"],
            outputs="segment_map_tsne",
            name="plot_tsne_map",
        ),
        Node(
            plot_segment_distributions,
            inputs=[*MAP_INPUTS, "model_card", "params:reporting"],
            outputs=["income_vs_spending", "segment_distributions"],
            name="plot_segment_distributions",
        ),
    ]
