"""``crm_export``: the segments of a model version, with their names, for a CRM to read
(``kedro run --env database`` writes them to the database's ``customer_segments`` table).

Not part of the model version (``customer_segmentation.kedro_io.versioning``): its output is a copy of
the model's ``customer_segments`` where another system reads it, replaced by each run, not a
versioned dataset. ``--pipeline crm_export --params model_version=STAMP`` publishes an older
model's segments again.
"""

from kedro.pipeline import Node, Pipeline

from .nodes import crm_segments


def create_pipeline(**kwargs) -> Pipeline:
    """The named segments, written where the catalog says."""
    return Pipeline(
        [
            Node(
                crm_segments,
                inputs=["customer_segments", "model_card"],
                outputs="crm_customer_segments",
                name="crm_segments",
            ),
        ]
    )
