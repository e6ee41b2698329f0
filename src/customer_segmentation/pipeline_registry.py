"""Project pipelines."""

from __future__ import annotations

from kedro.framework.project import find_pipelines
from kedro.pipeline import Pipeline

# Pipelines that `kedro run` without --pipeline leaves out.
ON_REQUEST = ("scoring",)


def register_pipelines() -> dict[str, Pipeline]:
    """Register the project's pipelines.

    Returns:
        A mapping from pipeline names to ``Pipeline`` objects.
    """
    pipelines = find_pipelines(raise_errors=True)
    # `kedro run` trains; scoring a new export is asked for (`--pipeline scoring`).
    pipelines["__default__"] = sum(p for name, p in pipelines.items() if name not in ON_REQUEST)
    return pipelines


def model_datasets() -> frozenset[str]:
    """Every dataset of a model version: what the model pipelines (``clustering``,
    ``reporting``) write (``settings.py`` gives it to ``kedro_io.versioning.ModelVersionHook``).
    """
    from customer_segmentation.pipelines import clustering, reporting  # noqa: PLC0415

    return frozenset(clustering.create_pipeline().all_outputs()) | frozenset(
        reporting.create_pipeline().all_outputs()
    )
