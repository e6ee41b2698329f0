"""An export through the data contract: a file's rows (:func:`check`), or a few rows that did
not come from a file, such as the app's form (:func:`check_rows`).

Both go through the same contract object (``apply.contract_for``: built once per columns and
parameters) and give the same clean rows, rejects, reasons and report for the same rows. A
file is planned first (:mod:`plan`: its whole-file facts from one scan, its slices) and stops
with a diagnosis when it cannot be right (:mod:`diagnosis`); a few rows run plans compiled once.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Any

from customer_segmentation.core import engine
from customer_segmentation.core.contract import accounting, diagnosis
from customer_segmentation.core.contract.apply import contract_for
from customer_segmentation.core.contract.plan import plan_file
from customer_segmentation.core.contract.reading import SOURCE_ROW, RawTable
from customer_segmentation.core.contract.schema import check_clean
from customer_segmentation.params import DataProcessingParams

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class CheckResult:
    """What :func:`check` returns: the clean rows, the rejected ones, the quality report.

    ``clean`` and ``rejected`` are native frames (Polars DataFrames, or lazy Spark DataFrames).
    """

    clean: Any
    rejected: Any
    report: dict[str, Any]


def check(
    raw: RawTable,
    params: DataProcessingParams,
    log_level: int = logging.INFO,
    *,
    diagnose: bool = True,
) -> CheckResult:
    """Check every row of an export read as text; repair, reject with reasons, account.

    With ``diagnose``, a file where one rule rejects more than ``stop_share`` of the rows in a
    required column, or no row survives, stops with a diagnosis (:mod:`diagnosis`).

    Returns:
        ``clean``: the typed rows in file order, columns ``schema.KAGGLE_COLUMNS``
        (``Dt_Customer`` a date); ``rejected``: the original text of every refused row with
        ``source_row``, ``reason_code`` and ``reason``, in file order; ``report``: the data
        quality report.

    Raises:
        CustomerDataError: the file has no data rows, cannot be read as a regular table, or
            stops with a diagnosis.
    """
    source = str(raw.info["source"])
    contract = contract_for(raw.columns, params)
    plan = plan_file(raw.strings, contract, source)
    counts, clean, rejected = plan.run(contract.check_slice)
    check_clean(engine.lazy(clean), source)
    report = accounting.quality_report(raw.info, plan.facts, counts, contract.rules, params)
    if diagnose:
        diagnosis.stop_if_broken(contract, plan, report)
    _log(log_level, report)
    return CheckResult(clean=clean, rejected=rejected, report=report)


def check_rows(rows: Any, source: str, params: DataProcessingParams) -> CheckResult:
    """Check rows that did not come from a file (the app's form) as a file's rows are checked:
    the same rules, reasons and report, without the diagnosis of a file that cannot be right.

    Args:
        rows: a small table (pandas or Polars) of strings under canonical column names, with
            ``source_row``.
        source: what to call the rows in messages.
        params: the ``data_processing`` parameters.

    Returns:
        As :func:`check`, the tables as Polars DataFrames.
    """
    table = _strings(rows)
    present = tuple(c for c in table.columns if c != SOURCE_ROW)
    if table.columns[0] != SOURCE_ROW:  # one column order for a contract's compiled plans
        table = table.select(SOURCE_ROW, *present)
    contract = contract_for(present, params)
    facts, counts, clean, rejected = contract.check_table(table, source)
    report = accounting.quality_report({"source": source}, facts, counts, contract.rules, params)
    _log(logging.DEBUG, report)
    return CheckResult(clean=clean, rejected=rejected, report=report)


def _log(level: int, report: dict[str, Any]) -> None:
    logger.log(
        level,
        "%s: %d rows in, %d clean, %d rejected %s",
        report["source"],
        report["rows_in"],
        report["rows_clean"],
        report["rows_rejected"],
        report["rejected_by_reason"],
    )


def _strings(rows: Any) -> Any:
    """``rows`` as a Polars table of strings (``source_row`` an integer). A pandas table of
    text (the form's: strings and missing values) is built row-wise, four times faster than
    ``polars.from_pandas`` for one row; any other is converted and cast.
    """
    import polars as pl  # noqa: PLC0415 - the local engine

    if not isinstance(rows, pl.DataFrame):
        names = list(rows.columns)
        records = rows.to_numpy(dtype=object).tolist()
        text = [
            [_text(v) if n != SOURCE_ROW else v for n, v in zip(names, r, strict=True)]
            for r in records
        ]
        if all(v is not _NOT_TEXT for record in text for v in record):
            schema = {n: pl.Int64 if n == SOURCE_ROW else pl.String for n in names}
            return pl.DataFrame(text, schema=schema, orient="row")
        rows = pl.from_pandas(rows)
    return rows.with_columns(
        pl.col(SOURCE_ROW).cast(pl.Int64), pl.exclude(SOURCE_ROW).cast(pl.String)
    )


_NOT_TEXT = object()


def _text(value: Any) -> Any:
    """A pandas cell of a text column as a string or ``None`` (missing: ``None`` or NaN);
    :data:`_NOT_TEXT` for anything else.
    """
    if isinstance(value, str) or value is None:
        return value
    if isinstance(value, float) and math.isnan(value):
        return None
    return _NOT_TEXT
