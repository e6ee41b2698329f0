"""``model_selection``: customer features -> ``k_selection`` table and elbow figure."""

from kedro.pipeline import Node, Pipeline

from .nodes import plot_elbow, select_k


def create_pipeline(**kwargs) -> Pipeline:
    """Sweep k, then draw the elbow."""
    return Pipeline(
        [
            Node(
                select_k,
                inputs=[
                    "customer_model_input",
                    "params:model_selection",
                    "params:clustering.n_clusters",
                ],
                outputs=["k_selection", "sweep_centres"],
                name="select_k",
            ),
            Node(plot_elbow, inputs="k_selection", outputs="elbow_plot", name="plot_elbow"),
        ]
    )
