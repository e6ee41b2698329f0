"""Nodes of ``data_processing``: read, check and clean the raw customer table.

The contract (and the engines it reads with) is imported when the node runs, not when Kedro
lists the pipelines (see ``customer_segmentation.kedro_io.lazy_types``).
"""

from __future__ import annotations

from typing import Any

from customer_segmentation.kedro_io.lazy_types import RawCustomerFile, RawTable
from customer_segmentation.params import DataProcessingParams


def check_customers(
    raw_customers: RawCustomerFile | RawTable, params: DataProcessingParams
) -> tuple[Any, Any, dict[str, Any]]:
    """Read the export with the run's engine and sort every row into clean or rejected
    (``contract``). ``raw_customers`` is a file, or a table read typed from a database
    (``kedro run --env database``).

    Returns:
        ``customers`` (typed clean rows), ``rejected_customers`` (original values,
        ``source_row``, ``reason_code``, ``reason``) and ``data_quality_report``, as native
        frames of the engine (Polars locally, Spark with ``--env spark``).
    """
    from customer_segmentation.core.contract import prepare_customers

    result = prepare_customers(raw_customers, params)
    return result.clean, result.rejected, result.report
