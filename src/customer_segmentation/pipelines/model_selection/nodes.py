"""Nodes of ``model_selection``: the k sweep on a seeded sample.

``modeling.selection`` (scikit-learn, SciPy) is imported when the node runs, not when Kedro
lists the pipelines (see ``customer_segmentation.kedro_io.lazy_types``).
"""

from __future__ import annotations

from typing import Any

from customer_segmentation.kedro_io.lazy_types import DataFrame
from customer_segmentation.params import ModelSelectionParams


def select_k(
    customer_model_input: Any, params: ModelSelectionParams
) -> tuple[DataFrame, DataFrame]:
    """Sweep k on a seeded sample (gathered from the engine) and record every criterion, the
    knee and each criterion's preferred k (``modeling.selection.sweep_table``).

    Returns:
        ``k_sweep`` and ``sweep_centres`` (each k's centres, where the final fit can start).
        Which k is used is decided once, later, by ``clustering`` (``k_selection``).
    """
    from customer_segmentation.core.modeling.selection import sweep_table

    return sweep_table(customer_model_input, params)
