"""``scoring``: ``kedro run --pipeline scoring --params new_customers_path=PATH`` (and
optionally ``model_version=STAMP``): a new export through the same data contract, scored with
the model version, and its drift against the training data. It never trains and never writes
a model dataset; it is not part of the default run.
"""

from kedro.pipeline import Node, Pipeline

from customer_segmentation.pipelines.data_processing.nodes import check_customers

from .nodes import check_drift, score_new_customers


def create_pipeline(**kwargs) -> Pipeline:
    """Contract, scoring, drift."""
    return Pipeline(
        [
            Node(
                check_customers,
                inputs=["new_raw_customers", "params:data_processing"],
                outputs=["new_customers", "new_rejected_customers", "new_data_quality_report"],
                name="check_new_customers",
            ),
            Node(
                score_new_customers,
                inputs=[
                    "new_customers",
                    "scaler",
                    "kmeans_model",
                    "model_card",
                    "customer_segments",
                    "segment_membership",
                    "model_version_stamp",
                ],
                outputs="scored_customers",
                name="score_new_customers",
            ),
            Node(
                check_drift,
                inputs=["scored_customers", "drift_reference", "model_card", "params:monitoring"],
                outputs=["drift_report", "drift_report_html"],
                name="check_drift",
            ),
        ]
    )
