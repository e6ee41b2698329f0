"""RFM segments beside K-Means: recency, frequency and monetary value scored in quantiles, and
named groups from rules on the scores.

A marketer's long-standing segmentation, computed on the same customers so the report can say
how K-Means segments and RFM groups line up (:func:`rfm_crosstab`). Scores are narwhals
expressions in the engine; the rules (how many score levels, which group each score
combination is) come from the ``rfm`` parameters.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, Protocol

import narwhals as nw
import pandas as pd

from customer_segmentation import schema
from customer_segmentation.core import engine
from customer_segmentation.core.features import total_purchases, total_spending
from customer_segmentation.core.sampling import segmented_frame

logger = logging.getLogger(__name__)

GROUP = "rfm_group"
# The measures, each with the score it gets.
SCORES: dict[str, str] = {"recency": "r_score", "frequency": "f_score", "monetary": "m_score"}
RFM_COLUMNS: tuple[str, ...] = (schema.ID, *SCORES, *SCORES.values(), "rfm_score", GROUP)
CROSSTAB_COLUMNS: tuple[str, ...] = (schema.SEGMENT, GROUP, "customers", "share")


class RfmRule(Protocol):
    """One named group: the inclusive ``[low, high]`` range each score must fall in."""

    name: str
    r: Sequence[int]
    f: Sequence[int]
    m: Sequence[int]


class RfmSettings(Protocol):
    """The ``rfm`` parameters: score ``levels`` (5: quintiles), the ``groups``' rules in order
    (the first that matches names the customer) and the group of customers no rule matches
    (``otherwise``).
    """

    levels: int
    groups: Sequence[RfmRule]
    otherwise: str


def group_names(settings: RfmSettings) -> list[str]:
    """Every group a customer can get, in the order of the rules, ``otherwise`` last."""
    return [*(rule.name for rule in settings.groups), settings.otherwise]


ID_RANK = "_id_rank"


def id_rank() -> nw.Expr:
    """Each customer's place in ``ID`` order (dense: equal IDs share it), the tie-break of
    :func:`quantile_score`, computed once for the three scores.
    """
    return nw.col(schema.ID).rank(method="dense").cast(nw.Int64)


def quantile_score(column: str, levels: int) -> nw.Expr:
    """The score 1..``levels`` of ``column``: customers ranked by (value, ``ID``), rank r of
    n gets ``floor((r - 1) * levels / n) + 1``. Ties in the value are broken by ``ID``, so
    every engine and every row order gives the same scores; equal values may fall in
    adjacent scores. Needs a ``_rows`` column holding n and :data:`ID_RANK` (:func:`id_rank`).

    The rank by two columns is the rank of one integer key, ``dense rank of the value * (n + 1)
    + the ID's rank``, which orders the rows exactly as (value, ID) and stays below 2**63 up to
    3 billion rows: ranking by the two columns themselves made Polars encode every row.
    """
    rows = nw.col("_rows")
    value = nw.col(column).rank(method="dense").cast(nw.Int64)
    rank = (value * (rows + 1) + nw.col(ID_RANK)).rank(method="min").cast(nw.Int64)
    return ((rank - 1) * levels) // rows + 1


def _within(score: str, bounds: Sequence[int]) -> nw.Expr:
    """``low <= score <= high``."""
    low, high = bounds
    return (nw.col(score) >= int(low)) & (nw.col(score) <= int(high))


def group_expression(settings: RfmSettings) -> nw.Expr:
    """The group of each customer: the first rule whose three ranges hold its scores, or
    ``otherwise``.
    """
    group = nw.lit(settings.otherwise, dtype=nw.String)
    for rule in reversed(list(settings.groups)):
        matches = _within("r_score", rule.r) & _within("f_score", rule.f)
        matches = matches & _within("m_score", rule.m)
        group = nw.when(matches).then(nw.lit(rule.name, dtype=nw.String)).otherwise(group)
    return group


def rfm_frame(customers: nw.LazyFrame, settings: RfmSettings) -> nw.LazyFrame:
    """:func:`rfm_segments` as a lazy frame."""
    levels = int(settings.levels)
    measures = customers.select(
        nw.col(schema.ID).cast(nw.Int64),
        recency=nw.col("Recency").cast(nw.Int64),
        frequency=total_purchases().cast(nw.Int64),
        monetary=total_spending().cast(nw.Int64),
        _rows=nw.len().cast(nw.Int64),
        **{ID_RANK: id_rank()},
    )
    scored = measures.with_columns(
        # The most recent (fewest days since the last purchase) get the highest score.
        r_score=levels + 1 - quantile_score("recency", levels),
        f_score=quantile_score("frequency", levels),
        m_score=quantile_score("monetary", levels),
    )
    return (
        scored.with_columns(
            rfm_score=nw.concat_str([nw.col(s).cast(nw.String) for s in SCORES.values()]),
            **{GROUP: group_expression(settings)},
        )
        .select(*RFM_COLUMNS)
        .sort(schema.ID)
    )


def rfm_segments(customers: Any, settings: RfmSettings) -> Any:
    """Every customer's recency, frequency and monetary value, their scores and RFM group.

    Scores are quantile scores 1..``levels`` (:func:`quantile_score`, ties by ``ID``):
    ``f_score`` and ``m_score`` rise with the value, ``r_score`` is reversed (``levels + 1``
    minus the score of ``recency``: the most recent customers get ``levels``). The ranks are a
    window over all rows (on Spark one partition: fine for customer tables, which are small).

    Args:
        customers: the clean ``customers`` table (native frame): ``ID``, ``Recency``, the six
            ``Mnt*`` and ``NumWebPurchases``, ``NumCatalogPurchases``, ``NumStorePurchases``.
        settings: the ``rfm`` parameters (:class:`RfmSettings`).

    Returns:
        One row per customer, in ``ID`` order (a native frame, see ``engine.native``): ``ID``,
        ``recency`` (``Recency``, days since the last purchase), ``frequency``
        (``features.total_purchases``), ``monetary`` (``features.total_spending``),
        ``r_score``, ``f_score``, ``m_score``, ``rfm_score`` (the three digits, e.g.
        ``"545"``) and ``rfm_group`` (the first rule that matches, else ``otherwise``).
    """
    logger.info(
        "RFM scores in %d levels, %d group rules", settings.levels, len(list(settings.groups))
    )
    return engine.native(rfm_frame(engine.lazy(customers), settings))


def rfm_crosstab(segments: Any, rfm: Any, groups: Sequence[str] | None = None) -> pd.DataFrame:
    """How K-Means segments and RFM groups line up: customers per (segment, group), counted
    in the engine over the customers in both tables (an inner join by ``ID``).

    Args:
        segments: ``customer_segments`` (native frame): ``ID``, ``segment``.
        rfm: from :func:`rfm_segments` (native frame): ``ID``, ``rfm_group``.
        groups: the groups in display order (:func:`group_names`); groups not listed follow in
            alphabetical order. Without it, alphabetical.

    Returns:
        Every (segment, group) pair, zero counts included, by segment then group: ``segment``,
        ``rfm_group``, ``customers``, ``share`` (of the segment's customers; 1 per segment).
    """
    counts = engine.to_pandas(
        segmented_frame(engine.lazy(rfm).select(schema.ID, GROUP), segments)
        .group_by(schema.SEGMENT, GROUP)
        .agg(customers=nw.len())
    )
    listed = list(groups or [])
    order = listed + sorted(set(counts[GROUP]) - set(listed))
    grid = pd.MultiIndex.from_product(
        [sorted(int(s) for s in set(counts[schema.SEGMENT])), order], names=[schema.SEGMENT, GROUP]
    )
    table = (
        counts.astype({schema.SEGMENT: "int64"})
        .set_index([schema.SEGMENT, GROUP])["customers"]
        .reindex(grid, fill_value=0)
        .astype("int64")
        .reset_index()
    )
    totals = table.groupby(schema.SEGMENT)["customers"].transform("sum")
    table["share"] = (table["customers"] / totals).astype("float64")
    logger.info(
        "RFM groups of %d customers in %d segments",
        int(table["customers"].sum()),
        table[schema.SEGMENT].nunique(),
    )
    return table[list(CROSSTAB_COLUMNS)]
