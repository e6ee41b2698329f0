"""``model_selection``: model input -> the k sweep (``k_sweep``) and its centres."""

from kedro.pipeline import Node, Pipeline

from .nodes import select_k


def create_pipeline(**kwargs) -> Pipeline:
    """Sweep k."""
    return Pipeline(
        [
            Node(
                select_k,
                inputs=["customer_model_input", "params:model_selection"],
                outputs=["k_sweep", "sweep_centres"],
                name="select_k",
            ),
        ]
    )
