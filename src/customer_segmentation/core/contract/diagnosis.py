"""A file that cannot be right stops the run with a diagnosis, not with every row rejected.

When one rule rejects more than ``data_processing.stop_share`` of the rows in a column (any
column of the file, or whole lines), or no row survives, :func:`message` names the rule that
fails the most rows with every column it fails in, the other rules failing more than
``stop_share``, a few example values of the first with their rows, and the likely cause where
it can be recognised (decimal commas, a date format, shifted columns, unreadable flags, a
corrupted transfer, a wrong export). Only a stopped file pays for the
examples: :func:`examples` reads the file once more (the 1M-row demo file stopped by its
dates: about one more pass of parsing, measured in ``benchmarks/README.md``).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import narwhals as nw

from customer_segmentation import schema
from customer_segmentation.core import engine
from customer_segmentation.core.contract import rules, values
from customer_segmentation.core.contract.errors import CustomerDataError
from customer_segmentation.core.contract.reading import SOURCE_ROW

if TYPE_CHECKING:
    from customer_segmentation.core.contract.apply import Contract
    from customer_segmentation.core.contract.plan import FilePlan

_EUROPEAN_NUMBER = re.compile(r"^[+-]?\d{1,3}([. ]\d{3})+(,\d+)?$|^[+-]?\d+,\d+$")
_DATE_LIKE = re.compile(r"^\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}")
_NUMBER_LIKE = re.compile(r"^[+-]?\d+([.,]\d+)?$")
_CATEGORIES = {v.lower() for v in (*schema.EDUCATION_LEVELS, *schema.MARITAL_STATUSES)}
DATE_SHAPES = (
    "31-12-2013, 31/12/2013, 31.12.2013, 12/31/2013, 2013-12-31, 31-Dec-13, 31 December 2013 "
    "and Excel serial numbers"
)
SHOWN = 3  # example values in a message


SHIFTED_COLUMNS = 3  # required columns failing most rows at once: the columns are shifted
LINE = "the line"  # where a line rule (rules.LINE_RULES) fails: no one column


@dataclass(frozen=True)
class Failure:
    """The rule that fails the most rows, where: ``columns`` (every column it fails in more
    than ``stop_share`` of the rows, or its worst one; the worst first), ``rows`` (in its worst
    column); ``others``: every other (column, rule, rows) failing more than ``stop_share``, most
    rows first; ``failing``: every required column failing most rows (the shift test).
    """

    code: str
    rows: int
    columns: tuple[str, ...]
    others: tuple[tuple[str, str, int], ...] = ()
    failing: tuple[str, ...] = ()

    @property
    def column(self) -> str:
        """The column the rule fails the most rows in (:data:`LINE` for a line rule)."""
        return self.columns[0]


def worst(
    counts: Iterable[tuple[str | None, str, int]], rows_in: int, stop_share: float
) -> Failure | None:
    """The rule that rejects the most rows, in any column (rules of the same code and column
    counted together; a line rule's column is :data:`LINE`; on a tie the leftmost column,
    where a shift starts), from ``(column, code, rows)`` per rule, with the others that fail
    more than ``stop_share`` of the rows.
    """
    totals: dict[tuple[str, str], int] = {}
    for column, code, rows in counts:
        if rows:
            key = (LINE if column is None else column, code)
            totals[key] = totals.get(key, 0) + rows
    if not totals:
        return None
    order = {c: i for i, c in enumerate((LINE, *schema.KAGGLE_COLUMNS))}
    ranked = sorted(totals.items(), key=lambda item: (-item[1], order[item[0][0]]))
    (column, code), rows = ranked[0]
    most = stop_share * rows_in
    columns = [c for (c, k), n in ranked if k == code and (n > most or c == column)]
    others = tuple((c, k, n) for (c, k), n in ranked if n > most and k != code)
    failing = sorted(
        {c for (c, _), n in totals.items() if n > most and c in schema.REQUIRED_COLUMNS},
        key=order.__getitem__,
    )
    return Failure(code, rows, tuple(columns), others, tuple(failing))


def is_broken(failure: Failure | None, rows_in: int, rows_clean: int, stop_share: float) -> bool:
    """Whether the file stops the run: no clean row, or one rule failing most rows."""
    return rows_clean == 0 or (failure is not None and failure.rows > stop_share * rows_in)


def likely_cause(failure: Failure, examples: list[str]) -> str | None:
    """The usual reason for a rule failing most rows, recognised from the example values."""
    texts = [e.strip() for e in examples if e is not None and e.strip()]
    column, code = failure.column, failure.code
    if len(failure.failing) >= SHIFTED_COLUMNS:
        return (
            f"{len(failure.failing)} columns fail in most rows ({', '.join(failure.failing)}): "
            "the columns look shifted; a field is missing, or a delimiter stands inside a "
            "value, from the first of them on"
        )
    flags = set(failure.columns) <= set(schema.FLAG_COLUMNS)
    if flags and code in ("not_a_number", "not_whole_number", "negative_value", "bad_flag"):
        return (
            f"{_listed(failure.columns)} are 0/1 flags, and the contract reads 0 or 1, yes/no, "
            "true/false and y/n in any case: these flags are written another way (or this is "
            "not the right export)"
        )
    shifted = any(t.lower() in _CATEGORIES for t in texts) or (
        column == schema.DATE_COLUMN and texts and all(_NUMBER_LIKE.match(t) for t in texts)
    )
    if code in ("not_a_number", "not_whole_number", "bad_date") and shifted:
        return (
            f"the columns look shifted: {column} holds values of another column; a field is "
            "missing, or a delimiter stands inside a value, earlier in the line"
        )
    if code in ("not_a_number", "not_whole_number") and any(
        _EUROPEAN_NUMBER.match(t) for t in texts
    ):
        return (
            "numbers written with a decimal comma and points or spaces as thousands marks (a "
            "European export, e.g. 58.138,00), and the values do not show it clearly: set "
            "data_processing.decimal_mark to ','"
        )
    if code in ("not_a_number", "not_whole_number") and any(_DATE_LIKE.match(t) for t in texts):
        return f"dates stand under {column}: the columns look shifted"
    causes = {
        "bad_date": f"{column} is written in a shape the contract does not read (it reads "
        f"{DATE_SHAPES})",
        "date_out_of_range": "the dates fall outside min_customer_date..max_customer_date: is "
        "the day/month order right (data_quality_report.date_order, ambiguous_date_order) or "
        "the two-digit year pivot?",
        "missing_value": f"{column} is empty in most rows: is this the right export?",
        "duplicate_id": "the same customers appear several times: were exports appended to "
        "one another?",
        "missing_income": "most customers have no Income: with missing_income: impute_median "
        "they are kept with the median income",
        "income_outlier": "most incomes are above max_income: is Income in another unit "
        "(cents, another currency)?",
        "birth_year_out_of_range": "most birth years are impossible: is the column an age, or "
        "the columns shifted?",
        "negative_value": f"{column} is negative in most rows: is it the right column?",
        "control_characters": "the file was corrupted on its way (a transfer or a disk): "
        "export it again",
    }
    return causes.get(code)


def _listed(columns: Sequence[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    return columns[0] if len(columns) == 1 else f"{', '.join(columns[:-1])} and {columns[-1]}"


def _what(column_words: str, code: str, rows: int, rows_in: int) -> str:
    return f"{column_words} the rule {code} in {rows:,} of {rows_in:,} rows ({rows / rows_in:.0%})"


def message(
    source: str,
    failure: Failure | None,
    rows_in: int,
    rows_clean: int,
    stop_share: float,
    examples: list[tuple[int, str]],
) -> str:
    """The one message that stops the run: the rule that fails the most rows with every column
    it fails in, the other rules failing more than ``stop_share``, examples of the first, its
    likely cause.
    """
    opening = f"{source}: stopped before anything is modelled or saved"
    if failure is None:
        return f"{opening}: no row passed the data contract ({rows_in:,} rows read)"
    verb = "fails" if len(failure.columns) == 1 else "fail"
    what = _what(f"{_listed(failure.columns)} {verb}", failure.code, failure.rows, rows_in)
    if rows_clean == 0:
        head = f"{opening}: no row passed the data contract; the most common problem: {what}"
    else:
        head = f"{opening}: {what}, more than data_processing.stop_share ({stop_share:.0%})"
    if failure.others:
        also = ", ".join(
            _what(f"{column} fails", code, rows, rows_in) for column, code, rows in failure.others
        )
        head += f"; also more than data_processing.stop_share: {also}"
    shown = ", ".join(f"row {row}: {value!r}" for row, value in examples[:SHOWN])
    text = f"{head}; e.g. {shown}" if shown else head
    cause = likely_cause(failure, [value for _, value in examples])
    if cause is None:
        return f"{text}."
    return f"{text}. Likely cause: {cause}" + ("" if cause.endswith("?") else ".")


def examples(contract: Contract, plan: FilePlan, failure: Failure) -> list[tuple[int, str]]:
    """The first rows (and their values) that ``failure``'s rules reject in its worst column
    (a line rule's: the row's ID field), from one more pass over the file.
    """
    column = failure.column
    chosen = [
        i
        for i, rule in enumerate(contract.rules)
        if rule.code == failure.code and (rule.column or LINE) == column
    ]
    shown = schema.ID if column == LINE else column
    masked = contract.parsed(plan.frame, plan.facts.reading, plan.repeats)
    hit = masked.with_columns(**contract.masks).filter(rules.rejects(contract.rules, chosen))
    value = nw.col(shown).fill_null("").str.replace_all(values.CONTROL, "\ufffd")
    found = engine.rows(hit.select(SOURCE_ROW, value.alias(shown)).sort(SOURCE_ROW).head(SHOWN))
    return [(row[SOURCE_ROW], row[shown]) for row in found]


def most_one_rule_rejects(rule_list: Sequence[rules.Rule], rows_rejected: int) -> int:
    """The most rows that :func:`worst` can count for one column and code, knowing only how many
    rows were rejected: each rule rejects at most those, and :func:`worst` adds up the rules of
    the same column and code.
    """
    shared = Counter((rule.column or LINE, rule.code) for rule in rule_list)
    return max(shared.values()) * rows_rejected


def stop_if_broken(contract: Contract, plan: FilePlan, report: Mapping[str, Any]) -> None:
    """Stop a file that cannot be right (:func:`is_broken`) with the diagnosis.

    A file with a clean row, and too few rejected rows for any rule to pass ``stop_share``
    (:func:`most_one_rule_rejects`), cannot stop: nearly every export. Only the others have each
    rule's rows counted (``FilePlan.rule_rows``: one more pass over the file).

    Raises:
        CustomerDataError: the message of :func:`message`.
    """
    rows_in, share = report["rows_in"], contract.params.stop_share
    most = most_one_rule_rejects(contract.rules, report["rows_rejected"])
    if report["rows_clean"] and most <= share * rows_in:
        return
    counts = plan.rule_rows(contract)
    failure = worst(
        ((rule.column, rule.code, counts[f"rule#{i}"]) for i, rule in enumerate(contract.rules)),
        rows_in,
        share,
    )
    if is_broken(failure, rows_in, report["rows_clean"], share):
        shown = examples(contract, plan, failure) if failure else []
        raise CustomerDataError(
            message(plan.source, failure, rows_in, report["rows_clean"], share, shown)
        )
