"""The contract built once for a table's columns and the run's parameters, and applied to a
frame given the whole file's facts.

:func:`contract_for` builds a :class:`Contract` once per process for each (columns,
parameters): the rules (:mod:`rules`), the category normalisers, the masks, reason and code
expressions, the counts (:mod:`accounting`) and the whole-file aggregations (:mod:`facts`).
Applying it never rebuilds them: a file's slices (:meth:`Contract.check_slice`, planned by
:mod:`plan`) and the app's rows (:meth:`Contract.check_table`) go through the same objects.

Rows that did not come from a file (the app's form, a few rows) are checked by plans compiled
once (``engine.Compiled``) and kept on the contract: the whole-file aggregation over those
rows, and per way of reading them (:class:`facts.Reading`) the rules, counts, clean and
rejected rows. Narwhals' translation of a few thousand expression nodes, not Polars' work on
one row, was most of a form's answer.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import narwhals as nw

from customer_segmentation import schema
from customer_segmentation.core import engine
from customer_segmentation.core.contract import accounting, facts, rules, values
from customer_segmentation.core.contract.facts import FIRST_ROW, Facts, Reading
from customer_segmentation.core.contract.reading import SOURCE_ROW
from customer_segmentation.core.contract.rules import (
    BAD,
    CORRUPT,
    HEADER,
    REASON,
    REASON_CODE,
    WHOLE_ID,
    Rule,
    missing_column,
    repaired_column,
    text_column,
    value_column,
)
from customer_segmentation.core.contract.schema import CLEAN_TYPES, clean_counts, problems, refuse
from customer_segmentation.params import DataProcessingParams

MEDIAN = "_median_income"  # the file's median income, beside each row (impute_median)
_KNOWN = {"Education": schema.EDUCATION_LEVELS, "Marital_Status": schema.MARITAL_STATUSES}


def _is_header() -> nw.Expr:
    """A row that repeats the header (two exports pasted into one file): its ID, birth year
    and date fields hold those columns' names.
    """
    names = (schema.ID, "Year_Birth", schema.DATE_COLUMN)
    return nw.all_horizontal(
        *(nw.col(text_column(c)).str.to_lowercase() == c.lower() for c in names), ignore_nulls=True
    )


def _is_corrupt(present: Sequence[str], forms: dict[str, str]) -> nw.Expr:
    """A line with a control character in any field (``values.CONTROL``). A number column of
    whole numbers (``forms``: ``values.DIGITS``, decided over the whole file) holds none: only
    the others are searched (in a clean export, the three text columns).
    """
    searched = [c for c in present if forms.get(c) != values.DIGITS]
    return nw.any_horizontal(*(values.has_control(c) for c in searched), ignore_nulls=True)


def _original(column: str) -> nw.Expr:
    """A rejected row's field as it was written, its control characters (a corrupted line's)
    shown as the replacement character: the rejects stay a readable text table.
    """
    return nw.col(column).fill_null("").str.replace_all(values.CONTROL, "\ufffd")


def category_column(column: str) -> str:
    """A category column's value normalised (``values.category``)."""
    return f"_category_{column}"


def _typed(column: str, present: Sequence[str], params: DataProcessingParams) -> nw.Expr:
    """A clean column in its contract type (``schema.CLEAN_TYPES``)."""
    dtype = CLEAN_TYPES[column]
    if column == schema.DATE_COLUMN:
        return values.to_date(nw.col(values.DATE_ISO)).alias(column)
    if column in _KNOWN:
        return nw.col(category_column(column)).alias(column)
    if column in schema.OPTIONAL_COLUMNS and column not in present:
        return nw.lit(0).cast(dtype).alias(column)
    value = nw.col(value_column(column))
    if column == "Income" and params.missing_income == "impute_median":
        value = nw.when(nw.col(missing_column(column))).then(nw.col(MEDIAN)).otherwise(value)
    return value.cast(dtype).alias(column)


@dataclass(frozen=True, eq=False)
class Contract:
    """The data contract for a table of ``present`` columns under ``params``: every expression
    that depends only on those, built once (:func:`contract_for`).
    """

    present: tuple[str, ...]
    params: DataProcessingParams
    rules: tuple[Rule, ...]
    numbers: tuple[str, ...]  # the columns read as numbers
    masks: dict[str, nw.Expr]
    bad: nw.Expr
    typed: tuple[nw.Expr, ...]  # the clean table's columns
    rejected_columns: tuple[nw.Expr, ...]  # the rejects' columns
    saids: dict[str, nw.Expr]
    counts: dict[str, nw.Expr]  # the report's
    rule_counts: dict[str, nw.Expr]  # each rule's rows, for the diagnosis of a file
    code_counts: dict[str, nw.Expr]
    aggregations: dict[str, nw.Expr]  # the whole-file facts, but the separators
    separators: dict[str, nw.Expr]  # the separators of every number column
    _plans: dict[Any, engine.Compiled] = field(default_factory=dict, repr=False)
    _kept: dict[str, Any] = field(default_factory=dict, repr=False)  # results computed once
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def parsed(
        self, frame: nw.LazyFrame, reading: Reading, repeats: nw.LazyFrame | None
    ) -> nw.LazyFrame:
        """``frame`` with every value parsed into helper columns (each computed once, numbers
        with their column's decimal mark and form, dates in the file's shapes and order), and,
        for a row whose ID an earlier row has, that row (``repeats``, ``facts.repeats``; null
        for the others; ``None``: no row repeats an earlier one, as in a table of one row).
        """
        forms = dict(reading.forms)
        frame = frame.with_columns(
            **{
                text_column(c): values.number_text(c, forms[c]) if c in forms else values.text(c)
                for c in self.present
            }
        )
        # A header line holds "ID" in the ID column: none does where every ID is a number.
        header = nw.lit(False) if forms[schema.ID] == values.DIGITS else _is_header()
        parsed = {HEADER: header, CORRUPT: _is_corrupt(self.present, forms)}
        for column, form in forms.items():
            read = values.number(column, nw.col(text_column(column)), reading.mark(column), form)
            parsed[value_column(column)] = read.value
            parsed[missing_column(column)] = read.missing
            parsed[repaired_column(column)] = read.repaired
        for column, known in _KNOWN.items():
            parsed[missing_column(column)] = values.is_missing(nw.col(text_column(column)))
            parsed[category_column(column)] = values.category(known, nw.col(text_column(column)))
        frame = frame.with_columns(**parsed)
        frame = frame.with_columns(**{WHOLE_ID: values.whole(nw.col(value_column(schema.ID)))})
        if repeats is None:
            frame = frame.with_columns(**{FIRST_ROW: nw.lit(None, dtype=nw.Int64)})
        else:
            frame = frame.join(repeats, on=SOURCE_ROW, how="left")
        return values.parse_dates(
            frame,
            schema.DATE_COLUMN,
            reading.date_order,
            self.params.two_digit_year_pivot,
            reading.date_shapes,
        )

    def checked(
        self,
        frame: nw.LazyFrame,
        reading: Reading,
        repeats: nw.LazyFrame | None,
        median: nw.Expr,
    ) -> nw.LazyFrame:
        """The parsed frame (:meth:`parsed`) with every rule's mask and whether one rejects the
        row (``_bad``); ``median``: the file's median income, beside each row for
        ``impute_median``.
        """
        parsed = self.parsed(frame, reading, repeats)
        if self.params.missing_income == "impute_median":
            parsed = parsed.with_columns(**{MEDIAN: median})
        parsed = engine.cut(parsed, dropping=values.DATE_WORK)
        return parsed.with_columns(**self.masks).with_columns(**{BAD: self.bad})

    def clean(self, checked: nw.LazyFrame) -> nw.LazyFrame:
        """The rows no rule rejects, typed, in file order."""
        return checked.filter(~nw.col(BAD)).sort(SOURCE_ROW).select(*self.typed)

    def rejected(self, checked: nw.LazyFrame) -> nw.LazyFrame:
        """The rejected rows, in file order: ``source_row``, their original text, the reason
        code and every reason (the messages are built for these rows only).
        """
        refused = checked.filter(nw.col(BAD)).sort(SOURCE_ROW)
        return refused.with_columns(**self.saids).select(*self.rejected_columns)

    def check_slice(
        self, frame: nw.LazyFrame, found: Facts, repeats: nw.LazyFrame | None
    ) -> tuple[dict[str, Any], Any, Any]:
        """The rules on some rows of a file: their counts, clean rows and rejected rows (native
        frames: computed together on Polars, lazy on Spark).
        """
        checked = self._checked_slice(frame, found, repeats)
        summary = checked.select(**self.counts)
        counts, (clean, rejected) = engine.materialise(
            summary, [self.clean(checked), self.rejected(checked)]
        )
        counts.update(engine.first_row(engine.lazy(rejected).select(**self.code_counts)))
        return counts, clean, rejected

    def rule_rows(
        self, frame: nw.LazyFrame, found: Facts, repeats: nw.LazyFrame | None
    ) -> dict[str, int]:
        """Each rule's rows among some rows of a file (:func:`accounting.rule_counts`)."""
        checked = self._checked_slice(frame, found, repeats)
        return engine.first_row(checked.select(**self.rule_counts))

    def _checked_slice(
        self, frame: nw.LazyFrame, found: Facts, repeats: nw.LazyFrame | None
    ) -> Any:
        """Some rows of a file, checked (:meth:`checked`) with the whole file's facts."""
        return self.checked(frame, found.reading, repeats, nw.lit(found.median_income))

    def check_table(self, table: Any, source: str) -> tuple[Facts, dict[str, Any], Any, Any]:
        """The rules on a small Polars table of strings (``source_row`` and the columns): its
        facts, counts, clean and rejected rows (Polars DataFrames), by plans compiled once: the
        table's facts, its checked rows (parsed, every rule's mask), then from those the
        counts and clean rows, and only when a row is rejected, the rejects with their reasons.

        Raises:
            CustomerDataError: the table has no rows, or (a bug) its clean rows break the
                contract.
        """
        found_facts = self._facts_of(table, source)
        reading, several = found_facts.reading, table.height > 1
        plan = functools.partial(self._checked_plan, reading, several)
        (checked,) = self._compiled(("checked", reading, several), plan)(table, "table")
        summary, clean, kept = self._compiled("kept", self._kept_plan)(checked, reading)
        found = summary.row(0, named=True)
        if found["rows_rejected"]:
            rejected, codes = self._rejects(checked, reading)
        else:  # the same frames for no reject, computed once
            rejected, codes = self._no_rejects(checked, reading)
        found.update(codes.row(0, named=True))
        refuse(problems(self._clean_schema(clean), lambda: kept.row(0, named=True)), source)
        return found_facts, found, clean, rejected

    def _clean_schema(self, clean: Any) -> dict[str, Any]:
        """The clean rows' schema (narwhals types); the same for every table of the columns."""
        found = self._kept.get("clean schema")
        if found is None:
            found = dict(nw.from_native(clean).schema.items())
            self._kept["clean schema"] = found
        return found

    def _facts_of(self, table: Any, source: str) -> Facts:
        """A small table's facts (``facts.decide``): the whole-file aggregation over it, and
        the separators of the columns holding a value that is not digits only.
        """
        (summary,) = self._compiled("facts", self._facts_plan)(table, "table")
        found = summary.row(0, named=True)
        odd = tuple(c for c in self.numbers if found[f"not_digits:{c}"])
        if odd:
            plan = _separators_plan(self.present, odd)
            (summary,) = self._compiled(("separators", odd), plan)(table, "table")
            found.update(summary.row(0, named=True))
        return facts.decide(found, self.present, self.params, source)

    def _rejects(self, checked: Any, reading: Reading) -> tuple[Any, Any]:
        """From checked rows (of a table read as ``reading``): the rejected rows, and the counts
        of their reason codes (from the rejects, not from the checked rows again).
        """
        (rejected,) = self._compiled("rejected", self._rejected_plan)(checked, reading)
        (codes,) = self._compiled("codes", self._codes_plan)(rejected, "rejected")
        return rejected, codes

    def _no_rejects(self, checked: Any, reading: Reading) -> list[Any]:
        """:meth:`_rejects` when no row is rejected (computed once)."""
        empty = self._kept.get("no rejects")
        if empty is None:  # two threads may both compute it: the same frames
            empty = self._rejects(checked.clear(), reading)
            self._kept["no rejects"] = empty
        return [frame.clone() for frame in empty]

    def _compiled(self, key: Any, build: Callable[[nw.LazyFrame], list[nw.LazyFrame]]) -> Any:
        """The compiled plan kept under ``key`` (built on first use)."""
        with self._lock:
            if key not in self._plans:
                self._plans[key] = engine.Compiled(build, optimize=False)
            return self._plans[key]

    def _facts_plan(self, frame: nw.LazyFrame) -> list[nw.LazyFrame]:
        prepared = facts.prepared(frame, self.present, separated=(), keyed=False)
        return [prepared.select(**self.aggregations)]

    def _checked_plan(self, reading: Reading, several: bool, frame: nw.LazyFrame) -> list[Any]:
        """A small table's checked rows (:meth:`checked`); ``several``: whether it has more
        than one row (one row repeats no earlier row's ID).
        """
        mark, repeats = reading.mark(schema.ID), None
        frame = values.with_integers(frame, (schema.ID, "Income"))
        if several:
            keyed = frame.with_columns(**facts.id_keys(values.odd(schema.ID), (mark,)))
            repeats = facts.repeats(facts.repeated_ids(keyed, (mark,)), mark)
        median = facts.median_income(reading.mark("Income"))
        return [self.checked(frame, reading, repeats, median)]

    def _kept_plan(self, checked: nw.LazyFrame) -> list[nw.LazyFrame]:
        """From checked rows: the counts, the clean rows and their counts (``clean_counts``)."""
        clean = self.clean(checked)
        return [checked.select(**self.counts), clean, clean_counts(clean)]

    def _rejected_plan(self, checked: nw.LazyFrame) -> list[nw.LazyFrame]:
        return [self.rejected(checked)]

    def _codes_plan(self, rejected: nw.LazyFrame) -> list[nw.LazyFrame]:
        return [rejected.select(**self.code_counts)]


def _separators_plan(
    present: tuple[str, ...], columns: tuple[str, ...]
) -> Callable[[nw.LazyFrame], list[nw.LazyFrame]]:
    """The separators of ``columns`` over a small table, as a plan to compile."""
    separators = facts.separator_aggregations(columns)
    return lambda frame: [
        facts.prepared(frame, present, separated=columns, keyed=False).select(**separators)
    ]


@functools.lru_cache(maxsize=32)
def contract_for(present: tuple[str, ...], params: DataProcessingParams) -> Contract:
    """The contract for a table of ``present`` columns (``source_row`` aside, in the table's
    order) under ``params``, built once per process (the same object for the same columns and
    parameters).
    """
    built = rules.rule_list(present, params)
    changed = {
        c: values.changed(c, nw.col(category_column(c)), nw.col(missing_column(c))) for c in _KNOWN
    }
    originals = [c for c in present if c in schema.KAGGLE_COLUMNS]
    numbers = facts.number_columns(present)
    return Contract(
        present=present,
        params=params,
        rules=built,
        numbers=numbers,
        masks=rules.masks(built),
        bad=rules.bad(built),
        typed=tuple(_typed(c, present, params) for c in schema.KAGGLE_COLUMNS),
        rejected_columns=(
            nw.col(SOURCE_ROW),
            *(_original(c) for c in originals),
            rules.code(built).alias(REASON_CODE),
            rules.reason(built).alias(REASON),
        ),
        saids=rules.said_columns(present),
        counts=accounting.counts(built, present, changed, params),
        rule_counts=accounting.rule_counts(built),
        code_counts=accounting.code_counts(built),
        aggregations=facts.aggregations(present, params),
        separators=facts.separator_aggregations(numbers),
    )
