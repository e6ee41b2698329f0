"""The accounting of every row: the counts of a checked table, and the data-quality report.

The counts are one aggregation over the checked rows (:func:`counts`), summed over a file's
slices; the report (:func:`quality_report`) says how many rows came in, were kept, rejected
(by reason code and by rule) and repaired, and how the file was read.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import narwhals as nw

from customer_segmentation import schema
from customer_segmentation.core.contract import values
from customer_segmentation.core.contract.facts import Facts
from customer_segmentation.core.contract.rules import (
    BAD,
    REASON_CODE,
    Rule,
    codes,
    missing_column,
    rejects,
    repaired_column,
)
from customer_segmentation.params import DataProcessingParams


def counts(
    rules: Sequence[Rule],
    present: Sequence[str],
    changed: Mapping[str, nw.Expr],
    params: DataProcessingParams,
) -> dict[str, nw.Expr]:
    """Every count the report needs, as one aggregation over the checked rows. ``changed``:
    per category column, whether normalising changed the value.
    """
    found: dict[str, nw.Expr] = {
        "rows_in": nw.len(),
        "rows_rejected": nw.col(BAD).cast(nw.Int64).sum(),
        "excel_serial_dates": nw.col(values.DATE_SERIAL).cast(nw.Int64).sum(),
    }
    for code in codes(rules):
        hits = [i for i, rule in enumerate(rules) if rule.code == code]
        found[f"rule:{code}"] = rejects(rules, hits).cast(nw.Int64).sum()
    for column in [schema.ID, *schema.REQUIRED_INTEGER_COLUMNS, "Income", *schema.OPTIONAL_COLUMNS]:
        if column in present or column not in schema.OPTIONAL_COLUMNS:
            found[f"marks:{column}"] = nw.col(repaired_column(column)).cast(nw.Int64).sum()
    for column, change in changed.items():
        found[f"case:{column}"] = change.cast(nw.Int64).sum()
    if params.missing_income == "impute_median":
        kept = ~nw.col(BAD)
        found["imputed"] = (kept & nw.col(missing_column("Income"))).cast(nw.Int64).sum()
    return found


def rule_counts(rules: Sequence[Rule]) -> dict[str, nw.Expr]:
    """Per rule, the rows it rejects (``rule#<index>``), as an aggregation over the checked rows:
    what the diagnosis ranks (:mod:`diagnosis`), counted only for a file that may stop.
    """
    return {f"rule#{i}": rejects(rules, [i]).cast(nw.Int64).sum() for i in range(len(rules))}


def code_counts(rules: Sequence[Rule]) -> dict[str, nw.Expr]:
    """Per reason code, the rejected rows that carry it, as an aggregation over the rejects."""
    code = nw.col(REASON_CODE)
    return {f"code:{c}": (code == c).cast(nw.Int64).sum() for c in codes(rules)}


def summed(parts: Sequence[Mapping[str, Any]]) -> dict[str, int]:
    """The counts of a file's slices added up."""
    return {key: sum(part[key] or 0 for part in parts) for key in parts[0]}


def _repaired(found: Mapping[str, Any]) -> dict[str, int]:
    """The repairs, by what was done to which column."""
    repaired: dict[str, int] = {}
    for key, count in found.items():
        if key.startswith("marks:") and count:
            repaired[f"{key.removeprefix('marks:')}: currency/thousands marks removed"] = count
        elif key.startswith("case:") and count:
            repaired[f"{key.removeprefix('case:')}: trimmed/case-normalised"] = count
    if found.get("imputed"):
        repaired["Income: missing, imputed with the median"] = found["imputed"]
    return repaired


def quality_report(
    info: Mapping[str, Any],
    facts: Facts,
    found: Mapping[str, Any],
    rules: Sequence[Rule],
    params: DataProcessingParams,
) -> dict[str, Any]:
    """The data-quality report from what reading found (``info``), the file's facts and the
    counts (:func:`counts` and :func:`code_counts`).
    """
    reading: dict[str, Any] = {
        "date_order": facts.reading.date_order,
        "date_order_decided_by": facts.date_order_decided_by,
        "decimal_mark": params.decimal_mark,
    }
    if facts.decimal_marks:
        reading["decimal_marks"] = dict(facts.decimal_marks)
    if facts.flag_words:
        reading["flags_read_from_words"] = dict(facts.flag_words)
    if found["excel_serial_dates"]:
        reading["excel_serial_dates"] = found["excel_serial_dates"]
    known = codes(rules)
    report = {
        **info,
        **reading,
        "rows_in": found["rows_in"],
        "rows_clean": found["rows_in"] - found["rows_rejected"],
        "rows_rejected": found["rows_rejected"],
        "rejected_by_reason": {c: found[f"code:{c}"] for c in known if found[f"code:{c}"]},
        "problems_by_rule": {c: found[f"rule:{c}"] for c in known if found[f"rule:{c}"]},
        "repaired": _repaired(found),
        "missing_income_policy": params.missing_income,
    }
    if report["rows_in"] != report["rows_clean"] + report["rows_rejected"]:  # pragma: no cover
        raise AssertionError("row accounting broken")
    return report
