"""Nodes of ``crm_export``: a model version's segments for systems outside the project."""

from __future__ import annotations

from typing import Any


def crm_segments(customer_segments: Any, model_card: dict[str, Any]) -> Any:
    """``crm_customer_segments``: every customer's segment with its name and how clearly it
    belongs (``segments.named_segments``), as the engine's native table. The catalog decides
    where it goes: a database table with ``--env database``, memory otherwise.
    """
    from customer_segmentation.core import engine, segments

    return engine.native(segments.named_segments(customer_segments, model_card))
