"""``data_processing``: raw export -> clean customers, rejects and a quality report."""

from kedro.pipeline import Node, Pipeline

from .nodes import check_customers


def create_pipeline(**kwargs) -> Pipeline:
    """One node: parsing and checking share one pass over the file."""
    return Pipeline(
        [
            Node(
                check_customers,
                inputs=["raw_customers", "params:data_processing"],
                outputs=["customers", "rejected_customers", "data_quality_report"],
                name="check_customers",
            )
        ]
    )
