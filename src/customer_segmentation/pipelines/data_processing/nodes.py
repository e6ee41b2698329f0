"""Nodes of ``data_processing``: read, check and clean the raw customer table."""

from __future__ import annotations

from typing import Any

import pandas as pd

from customer_segmentation.data_contract import RawCustomerFile, prepare_customers
from customer_segmentation.params import DataProcessingParams


def check_customers(
    raw_customers: RawCustomerFile, params: DataProcessingParams
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Any]]:
    """Parse the export and sort every row into clean or rejected (``data_contract``).

    Returns:
        ``customers`` (typed clean rows), ``rejected_customers`` (original values,
        ``source_row``, ``reason_code``, ``reason``) and ``data_quality_report``.
    """
    result = prepare_customers(raw_customers, params)
    return result.clean, result.rejected, result.report
