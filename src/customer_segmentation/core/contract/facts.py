"""What the whole file tells before its rows are checked, and what the rules read from it.

One aggregation over the export decides how its values are read (:class:`Reading`): the order
of day and month in ``Dt_Customer`` and the shapes its dates are written in, each number
column's decimal mark and form (digits only, plain, with currency or thousands marks, a flag
column's yes/no words); it also
counts the rows and, for ``missing_income: impute_median``, gives the median income. Beside
it, the rows whose ID an earlier row of the file already has (:func:`repeated_ids`). Both are
expressions over the table of strings: a file runs them over one scan of the export
(:mod:`plan`); rows that did not come from a file (the app's form) run them over those rows.

Nothing here reads a file: these are the expressions and the decisions taken from their
results (:func:`decide`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import narwhals as nw

from customer_segmentation import schema
from customer_segmentation.core.contract import values
from customer_segmentation.core.contract.errors import CustomerDataError
from customer_segmentation.core.contract.reading import SOURCE_ROW
from customer_segmentation.params import DataProcessingParams

MARKS = (values.POINT, values.COMMA)
FIRST_ROW = "_first_row"  # the row where a repeated ID was first seen


def number_columns(present: Iterable[str]) -> tuple[str, ...]:
    """The columns read as numbers, among the ``present`` ones (required ones always)."""
    present = set(present)
    return (
        schema.ID,
        *schema.REQUIRED_INTEGER_COLUMNS,
        "Income",
        *(c for c in schema.OPTIONAL_COLUMNS if c in present),
    )


@dataclass(frozen=True)
class Reading:
    """How a file's values are read: what the rules' expressions depend on besides the columns
    and the parameters (one compiled plan per reading, :mod:`apply`).
    """

    date_order: str
    date_shapes: values.DateShapes
    marks: tuple[tuple[str, str], ...]  # (number column, decimal mark)
    forms: tuple[tuple[str, str], ...]  # (number column, form: values.DIGITS, PLAIN, MARKED)

    def mark(self, column: str) -> str:
        """The decimal mark of a number column."""
        return dict(self.marks)[column]


@dataclass(frozen=True)
class Facts:
    """The whole file's facts: its rows, how its values are read, what decided it (for the
    report), and the median income (``impute_median`` only, else ``None``).
    """

    rows: int
    reading: Reading
    date_order_decided_by: str
    decimal_marks: Mapping[str, str]  # per column whose values show a mark: what decided it
    median_income: float | None
    flag_words: Mapping[str, int]  # per flag column written with words: how many values


_DATE_TEXT = "_facts_date_text"


def odd_column(column: str) -> str:
    """The helper column of :func:`prepared` holding a number column's ``values.odd``."""
    return f"_odd_{column}"


def _flag_column(key: str) -> str:
    """The helper column of :func:`prepared` holding the per-value flag counted as ``key``
    (``comma:Income`` -> ``_flag_comma_Income``; Spark reads a ``.`` in a name as a field).
    """
    return "_flag_" + key.replace(",", "comma").replace(".", "point").replace(":", "_")


def flag_columns(numbers: Iterable[str]) -> tuple[str, ...]:
    """The 0/1 flag columns among the number columns (they may be written as words)."""
    return tuple(c for c in numbers if c in schema.FLAG_COLUMNS)


def _flags(numbers: Iterable[str], separated: Iterable[str]) -> dict[str, nw.Expr]:
    """Per value, the flags the whole file's counts add up (keys as counted): date forms, the
    values of ``numbers`` that are not digits only, the flag words of the flag columns, the
    separators of ``separated``.
    """
    numbers = tuple(numbers)
    flags = values.date_forms(nw.col(_DATE_TEXT))
    for column in numbers:
        flags[f"not_digits:{column}"] = values.not_digits(nw.col(odd_column(column)))
    for column in flag_columns(numbers):
        flags[f"words:{column}"] = values.flag_words(nw.col(odd_column(column)))
    for column in separated:
        flags.update(values.separators(column, nw.col(odd_column(column))))
    return flags


def prepared(
    frame: nw.LazyFrame,
    present: Iterable[str],
    *,
    separated: Iterable[str] | None = None,
    keyed: bool = True,
) -> nw.LazyFrame:
    """``frame`` with what the whole-file pass reads, as columns computed once per row: per
    number column its typed read (``values.with_integers``) and the values that read cannot
    read (:func:`odd_column`), the date text,
    the per-value flags the counts add up (the separators of the ``separated`` columns, every
    number column by default), and, ``keyed``, the ID read with either decimal mark
    (:func:`id_keys`). The aggregation (:func:`aggregations`) and the repeated IDs
    (:func:`repeated_ids`) only add up and group these: both light, so a streaming engine
    that feeds both from one scan holds little of the file at a time.
    """
    numbers = number_columns(present)
    frame = values.with_integers(frame, numbers).with_columns(
        **{odd_column(c): values.odd(c) for c in numbers},
        **{_DATE_TEXT: values.date_text(schema.DATE_COLUMN)},
    )
    chosen = numbers if separated is None else tuple(separated)
    flags = {_flag_column(key): flag for key, flag in _flags(numbers, chosen).items()}
    keys = id_keys(nw.col(odd_column(schema.ID))) if keyed else {}
    return frame.with_columns(**flags, **keys)


def median_income(decimal_mark: str, odd_values: nw.Expr | None = None) -> nw.Expr:
    """Aggregation: the median of the incomes that are numbers, read with ``decimal_mark``
    (``odd_values``: the column's ``values.odd``, when a column of the frame holds it; the
    frame holds the column's typed read, ``values.with_integers``).
    """
    odd = values.odd("Income") if odd_values is None else odd_values
    income = values.number_value("Income", decimal_mark, odd)
    return values.only(~values.is_missing(values.text("Income")), income).median()


def aggregations(present: Iterable[str], params: DataProcessingParams) -> dict[str, nw.Expr]:
    """The whole file's counts :func:`decide` needs but the separators, over the
    :func:`prepared` frame: ``rows``, the date counts (``values.date_forms``), per number
    column the values that are not digits only (``not_digits:<column>``) and, for
    ``impute_median``, the median income read with either decimal mark
    (``median_income:<mark>``).
    """
    numbers = number_columns(present)
    counted = [
        *values.date_forms(nw.col(_DATE_TEXT)),
        *(f"not_digits:{c}" for c in numbers),
        *(f"words:{c}" for c in flag_columns(numbers)),
    ]
    found = {"rows": nw.len(), **{key: values.count(nw.col(_flag_column(key))) for key in counted}}
    if params.missing_income == "impute_median":
        for mark in MARKS:
            found[f"median_income:{mark}"] = median_income(mark, nw.col(odd_column("Income")))
    return found


def separator_aggregations(columns: Iterable[str]) -> dict[str, nw.Expr]:
    """The separators of ``columns``' values (``values.separators``) counted over the
    :func:`prepared` frame.
    """
    keys = [key for c in columns for key in values.separators(c, nw.col(odd_column(c)))]
    return {key: values.count(nw.col(_flag_column(key))) for key in keys}


def decide(
    counts: Mapping[str, Any], present: Iterable[str], params: DataProcessingParams, source: str
) -> Facts:
    """The facts from the whole file's counts (:func:`aggregations`, and the separators of the
    number columns that hold a value not of digits only; a column missing from ``counts`` has
    none).

    Raises:
        CustomerDataError: the file has no data rows.
    """
    if not counts["rows"]:
        raise CustomerDataError(f"{source}: the file has a header but no data rows")
    numbers = number_columns(present)
    found = {
        **{f"{key}:{c}": 0 for c in numbers for key in values.SEPARATOR_COUNTS},
        **counts,
    }
    marks = dict.fromkeys(numbers, params.decimal_mark)
    decided: dict[str, str] = {}
    for column in (c for c in numbers if found[f"comma:{c}"] or found[f"point:{c}"]):
        marks[column], decided[column] = values.decimal_mark(
            found[f"shows{values.COMMA}:{column}"],
            found[f"shows{values.POINT}:{column}"],
            params.decimal_mark,
        )
    order = values.date_order(
        found["first_big"], found["second_big"], found["shape:numeric"], params.ambiguous_date_order
    )
    reading = Reading(
        date_order=order["date_order"],
        date_shapes=values.date_shapes(found),
        marks=tuple(marks.items()),
        forms=tuple((c, values.number_form(found, c, marks[c])) for c in numbers),
    )
    return Facts(
        rows=int(found["rows"]),
        reading=reading,
        date_order_decided_by=order["date_order_decided_by"],
        decimal_marks=decided,
        median_income=found.get(f"median_income:{marks['Income']}"),
        flag_words={
            c: int(found[f"words:{c}"]) for c in flag_columns(numbers) if found[f"words:{c}"]
        },
    )


_MARK_NAMES = {values.POINT: "point", values.COMMA: "comma"}  # column names take no "." or ","


def _key(mark: str) -> str:
    return f"_id_{_MARK_NAMES[mark]}"


def _first(mark: str) -> str:
    return f"_first_{_MARK_NAMES[mark]}"


def id_keys(odd: nw.Expr, marks: tuple[str, ...] = MARKS) -> dict[str, nw.Expr]:
    """The ID as a whole number read with each of ``marks`` (``odd``: the ID's ``values.odd``),
    the keys :func:`repeated_ids` groups by.
    """
    return {_key(m): values.whole(values.number_value(schema.ID, m, odd)) for m in marks}


def repeated_ids(keyed: nw.LazyFrame, marks: tuple[str, ...] = MARKS) -> nw.LazyFrame:
    """Every row whose valid ID (a whole number) an earlier row of ``keyed`` (a frame with the
    :func:`id_keys` of ``marks``) already has, read with each of ``marks`` (the ID's decimal
    mark is decided by the same pass that finds these): ``source_row`` and, per mark, that
    earlier row (null where that reading finds no earlier row). :func:`repeats` picks one
    mark's.

    Exports hold few duplicates, so the file's slices each join this small table rather than
    every ID of the file (at 10M rows, a 1M-row slice's join with the 10M IDs took 0.9 s, ten
    times over).
    """
    firsts = {_first(m): nw.col(SOURCE_ROW).min().over(_key(m)) for m in marks}
    known = {_first(m): values.only(~nw.col(_key(m)).is_null(), nw.col(_first(m))) for m in marks}
    later = [nw.col(SOURCE_ROW) > nw.col(_first(m)) for m in marks]
    return (
        keyed.select(SOURCE_ROW, *(_key(m) for m in marks))
        .with_columns(**firsts)
        .with_columns(**known)
        .filter(nw.any_horizontal(*later, ignore_nulls=True))
        .select(SOURCE_ROW, *firsts)
    )


def repeats(ids: nw.LazyFrame, mark: str) -> nw.LazyFrame:
    """The repeated rows when IDs are read with ``mark`` (from :func:`repeated_ids`):
    ``source_row`` and ``_first_row``, the row where the ID was first seen.
    """
    first = nw.col(_first(mark))
    return ids.filter(nw.col(SOURCE_ROW) > first).select(SOURCE_ROW, first.alias(FIRST_ROW))
