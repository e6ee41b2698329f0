"""The row rules of the data contract and their reasons.

Every row of the export ends in the clean table (repaired by a documented rule where possible)
or in the rejects with its reason; the quality report accounts for every input row
(``rows_in == rows_clean + rows_rejected``, :mod:`accounting`). The rules are narwhals
expressions over the helper columns of a parsed table (:mod:`apply`): one definition, run by
Polars locally and by Spark with ``--env spark``, built once per columns and parameters.

Repairs (counted in the report under ``repaired``): numbers written with currency or thousands
marks (``$58,138``); category values trimmed and case-normalised (``" GRADUATION "``); a missing
``Income`` imputed with the file's median (``missing_income: impute_median``); optional
campaign flags absent from the file taken as 0 (the report says so).

Rejections (``reason_code``; a row breaking several rules gets the first code, in the order
below, and every message in ``reason``): ``control_characters`` (a line holding NUL or another
control character: corrupted on its way; no other rule is applied to it), ``repeated_header``
(a header line inside the table, from exports pasted together; no other rule is applied to
it), ``missing_id``,
``not_whole_number`` (also a number too large to be exact), ``duplicate_id`` (the first row
with an ID is kept, later ones name it), ``missing_value``, ``not_a_number``,
``negative_value``, ``bad_flag`` (not 0/1, nor yes/no, true/false, y/n), ``bad_date`` (unreadable or impossible, e.g.
31-02-2013), ``date_out_of_range``, ``missing_income``, ``birth_year_out_of_range`` (before
``min_birth_year`` or after the first purchase), ``income_outlier``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import narwhals as nw

from customer_segmentation import schema
from customer_segmentation.core.contract import values
from customer_segmentation.core.contract.facts import FIRST_ROW, number_columns
from customer_segmentation.params import DataProcessingParams

REASON_CODE, REASON = "reason_code", "reason"
REPEATED_HEADER = "repeated_header"
HEADER_MESSAGE = "a header line repeated inside the table (exports pasted together)"
CONTROL_CHARACTERS = "control_characters"
CORRUPT_MESSAGE = (
    "the line holds control characters (NUL or others): it was corrupted on its way, its "
    "values cannot be trusted"
)
# Helper columns of the parsed table (besides values.DATE_*): the rules read these.
HEADER = "_header"
CORRUPT = "_corrupt"  # a field of the line holds a control character (values.CONTROL)
# Rules about a whole line, each with its helper column and message: a line one of them rejects
# is rejected by it alone, with its message (its fields are not values to check); the first
# applies when both would.
LINE_RULES: dict[str, tuple[str, str]] = {
    CONTROL_CHARACTERS: (CORRUPT, CORRUPT_MESSAGE),
    REPEATED_HEADER: (HEADER, HEADER_MESSAGE),
}
WHOLE_ID = "_id"
BAD = "_bad"  # whether any rule rejects the row


def text_column(column: str) -> str:
    """A column's trimmed text."""
    return f"_text_{column}"


def value_column(column: str) -> str:
    """A number column's value (Float64, null where missing or not a number)."""
    return f"_value_{column}"


def missing_column(column: str) -> str:
    """Whether a column's field is missing."""
    return f"_missing_{column}"


def repaired_column(column: str) -> str:
    """Whether a number column's value needed its currency or thousands marks removed."""
    return f"_repaired_{column}"


def said_column(column: str) -> str:
    """The opening of a message about a column's value: ``"<column> '<value>' "`` (the value
    left out when empty); computed for rejected rows only (:func:`said`).
    """
    return f"_said_{column}"


def mask_column(index: int) -> str:
    """Whether rule ``index`` (in :func:`rule_list`'s order) rejects the row."""
    return f"_rule_{index}"


@dataclass(frozen=True)
class Rule:
    """A row rule: the rows it rejects (``mask``; null, as where the value it compares is
    missing, rejects nothing), the reason code, and the message per row.
    """

    code: str
    mask: nw.Expr
    message: nw.Expr
    column: str | None = None  # the column the rule reads (for the diagnosis)


def said(column: str) -> nw.Expr:
    """The value of :func:`said_column` from the column's trimmed text."""
    shown = nw.col(text_column(column))
    quoted = values.only(shown != "", nw.concat_str([nw.lit("'"), shown, nw.lit("' ")]))
    return nw.concat_str([nw.lit(f"{column} "), quoted.fill_null("")], ignore_nulls=True)


def _said(column: str, what: str) -> nw.Expr:
    """``"<column> '<value>' <what>"`` for each rejected row (the value left out when empty)."""
    return nw.concat_str([nw.col(said_column(column)), nw.lit(what)])


def _number_rules(column: str, *, whole: bool, required: bool) -> list[Rule]:
    value, missing = nw.col(value_column(column)), nw.col(missing_column(column))
    rules = []
    if required:
        rules.append(Rule("missing_value", missing, nw.lit(f"{column} is missing"), column))
    rules.append(
        Rule("not_a_number", ~missing & value.is_null(), _said(column, "is not a number"), column)
    )
    if whole:
        odd = (value.floor() != value) | (value.abs() > values.LARGEST_WHOLE)
        what = "is not a whole number (or too large to be one)"
        rules.append(Rule("not_whole_number", odd, _said(column, what), column))
    rules.append(Rule("negative_value", value < 0, _said(column, "is negative"), column))
    return rules


def _id_rules() -> list[Rule]:
    """The line rules (:data:`LINE_RULES`: corrupted, a header repeated), and the rules of the
    ID (missing, not whole, repeated).
    """
    value = nw.col(value_column(schema.ID))
    first_seen = nw.concat_str(
        [nw.lit("duplicate ID, first seen at row "), nw.col(FIRST_ROW).cast(nw.String)]
    )
    return [
        Rule(CONTROL_CHARACTERS, nw.col(CORRUPT), nw.lit(CORRUPT_MESSAGE)),
        Rule(REPEATED_HEADER, nw.col(HEADER) & ~nw.col(CORRUPT), nw.lit(HEADER_MESSAGE)),
        Rule(
            "missing_id", value.is_null(), _said(schema.ID, "is missing or not a number"), schema.ID
        ),
        Rule(
            "not_whole_number",
            ~value.is_null() & nw.col(WHOLE_ID).is_null(),
            _said(schema.ID, "is not a whole number"),
            schema.ID,
        ),
        Rule("duplicate_id", ~nw.col(FIRST_ROW).is_null(), first_seen, schema.ID),
    ]


def _column_rules(present: Sequence[str], params: DataProcessingParams) -> list[Rule]:
    """The rules of the number and category columns, column by column."""
    rules = []
    for column in schema.REQUIRED_INTEGER_COLUMNS:
        rules += _number_rules(column, whole=True, required=True)
    rules += _number_rules("Income", whole=False, required=False)
    if params.missing_income == "drop":
        what = "Income is missing (missing_income: drop)"
        rules.append(
            Rule("missing_income", nw.col(missing_column("Income")), nw.lit(what), "Income")
        )
    for column in (c for c in schema.OPTIONAL_COLUMNS if c in present):
        rules += _number_rules(column, whole=True, required=True)
        if column in schema.FLAG_COLUMNS:
            value = nw.col(value_column(column))
            flag = ~value.is_null() & ~value.is_in([0.0, 1.0])
            rules.append(Rule("bad_flag", flag, _said(column, "is not 0 or 1"), column))
    for column in schema.CATEGORY_COLUMNS:
        missing = nw.col(missing_column(column))
        rules.append(Rule("missing_value", missing, nw.lit(f"{column} is missing"), column))
    return rules


def _range_rules(params: DataProcessingParams) -> list[Rule]:
    """The rules of dates, birth years and incomes within their bounds."""
    low, high = params.min_customer_date, params.max_customer_date
    days, date = nw.col(values.DATE_DAYS), schema.DATE_COLUMN
    outside = (days < values.day_number(low)) | (days > values.day_number(high))
    year, income = nw.col(value_column("Year_Birth")), nw.col(value_column("Income"))
    purchase = nw.col(values.DATE_YEAR)
    return [
        Rule("bad_date", days.is_null(), _said(date, "is not a date"), date),
        Rule(
            "date_out_of_range",
            outside,
            _said(date, f"is outside {low.isoformat()}..{high.isoformat()}"),
            date,
        ),
        Rule(
            "birth_year_out_of_range",
            year < params.min_birth_year,
            _said("Year_Birth", f"is before {params.min_birth_year}"),
            "Year_Birth",
        ),
        Rule(
            "birth_year_out_of_range",
            year > purchase,
            _said("Year_Birth", "is after the customer's first purchase"),
            "Year_Birth",
        ),
        Rule(
            "income_outlier",
            income > params.max_income,
            _said("Income", f"is above max_income {params.max_income:,.0f}"),
            "Income",
        ),
    ]


def rule_list(present: Sequence[str], params: DataProcessingParams) -> tuple[Rule, ...]:
    """Every rule, in the order that decides a row's reason code (the repeated header first)."""
    return (*_id_rules(), *_column_rules(present, params), *_range_rules(params))


def codes(rules: Sequence[Rule]) -> list[str]:
    """The reason codes the rules can give, sorted."""
    return sorted({rule.code for rule in rules})


def masks(rules: Sequence[Rule]) -> dict[str, nw.Expr]:
    """Per rule (:func:`mask_column`), whether it rejects the row, as the rule says (a repeated
    header line breaks every rule that reads a value; :func:`rejects` counts only its own).
    """
    return {mask_column(i): rule.mask for i, rule in enumerate(rules)}


def _any(conditions: Sequence[nw.Expr]) -> nw.Expr:
    """Whether any condition holds (null as false), as one flat expression: a chain of ``|``
    over a hundred masks is slow to plan.
    """
    if len(conditions) == 1:
        return conditions[0].fill_null(False)
    return nw.max_horizontal(*conditions).fill_null(False)


def rejects(rules: Sequence[Rule], chosen: Iterable[int]) -> nw.Expr:
    """Per row: whether any of the ``chosen`` rules (indices) rejects it; a line a line rule
    rejects (:data:`LINE_RULES`) is rejected by that rule only.
    """
    chosen = list(chosen)
    line = _any([nw.col(column) for column, _ in LINE_RULES.values()])
    own = [nw.col(mask_column(i)) for i in chosen if rules[i].code in LINE_RULES]
    others = [nw.col(mask_column(i)) for i in chosen if rules[i].code not in LINE_RULES]
    hit = [_any(others) & ~line] if others else []
    return _any([*own, *hit]) if own or hit else nw.lit(False)


def bad(rules: Sequence[Rule]) -> nw.Expr:
    """Per row: whether any rule rejects it."""
    return _any([nw.col(mask_column(i)) for i in range(len(rules))])


def code(rules: Sequence[Rule]) -> nw.Expr:
    """Per rejected row: the code of the first rule that rejects it, as one flat ``coalesce``
    of each rule's code where it rejects (a chain of 100+ nested CASEs is slow to plan and to
    compile on Spark); a repeated header line breaks the first rule. Built for rejected rows
    only, like :func:`reason`.
    """
    return nw.coalesce(
        *(values.only(nw.col(mask_column(i)), nw.lit(rule.code)) for i, rule in enumerate(rules))
    )


def reason(rules: Sequence[Rule]) -> nw.Expr:
    """Per rejected row: every message of the rules that reject it, joined (built for rejected
    rows only: the clean rows, nearly all of a file, never pay for the text); a line a line rule
    rejects gets that rule's message only.
    """
    messages = [
        values.only(nw.col(mask_column(i)), rule.message)
        for i, rule in enumerate(rules)
        if rule.code not in LINE_RULES
    ]
    found = nw.concat_str(messages, separator="; ", ignore_nulls=True)
    for column, message in reversed(LINE_RULES.values()):
        found = nw.when(nw.col(column)).then(nw.lit(message)).otherwise(found)
    return found


def said_columns(present: Sequence[str]) -> dict[str, nw.Expr]:
    """The message openings (:func:`said_column`) of every column a message quotes."""
    return {said_column(c): said(c) for c in (*number_columns(present), schema.DATE_COLUMN)}
