"""``feature_engineering``: clean customers -> one row of features per customer."""

from kedro.pipeline import Node, Pipeline

from .nodes import engineer_features


def create_pipeline(**kwargs) -> Pipeline:
    """One node computing every engineered feature."""
    return Pipeline(
        [
            Node(
                engineer_features,
                inputs={"customers": "customers", "params": "params:feature_engineering"},
                outputs=["customer_features", "customer_model_input", "feature_info"],
                name="engineer_features",
            )
        ]
    )
