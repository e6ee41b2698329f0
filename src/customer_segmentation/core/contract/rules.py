"""The row rules of the data contract, their reasons, and the accounting of every row.

Every row of the export ends in the clean table (repaired by a documented rule where possible)
or in the rejects with its reason; the quality report accounts for every input row
(``rows_in == rows_clean + rows_rejected``). The rules are narwhals expressions: one
definition, run by Polars locally and by Spark with ``--env spark``.

Repairs (counted in the report under ``repaired``): numbers written with currency or thousands
marks (``$58,138``); category values trimmed and case-normalised (``" GRADUATION "``); a missing
``Income`` imputed with the file's median (``missing_income: impute_median``); optional
campaign flags absent from the file taken as 0 (the report says so).

Rejections (``reason_code``; a row breaking several rules gets the first code, in the order
below, and every message in ``reason``): ``repeated_header`` (a header line inside the table,
from exports pasted together; no other rule is applied to it), ``missing_id``, ``not_whole_number`` (also a number too
large to be exact), ``duplicate_id`` (the first row with an ID is kept, later ones name it),
``missing_value``, ``not_a_number``, ``negative_value``, ``bad_flag`` (not 0/1), ``bad_date``
(unreadable or impossible, e.g. 31-02-2013), ``date_out_of_range``, ``missing_income``,
``birth_year_out_of_range`` (before ``min_birth_year`` or after the first purchase),
``income_outlier``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import narwhals as nw

from customer_segmentation import schema
from customer_segmentation.core import engine
from customer_segmentation.core.contract import diagnosis, values
from customer_segmentation.core.contract.errors import CustomerDataError
from customer_segmentation.core.contract.reading import SOURCE_ROW, RawTable, irregular
from customer_segmentation.core.contract.schema import CLEAN_TYPES, check_clean
from customer_segmentation.params import DataProcessingParams

logger = logging.getLogger(__name__)

REASON_CODE, REASON = "reason_code", "reason"
_ID = "_id"
_FIRST = "_first_row"
_DATE_DAYS, _DATE_YEAR, _DATE_SERIAL = values.DATE_DAYS, values.DATE_YEAR, values.DATE_SERIAL
_BAD = "_bad"
_HEADER = "_header"
REPEATED_HEADER = "repeated_header"
_HEADER_MESSAGE = "a header line repeated inside the table (exports pasted together)"


def _value(column: str) -> str:
    return f"_value_{column}"


def _missing(column: str) -> str:
    return f"_missing_{column}"


def _repaired(column: str) -> str:
    return f"_repaired_{column}"


@dataclass(frozen=True)
class Rule:
    """A row rule: the rows it rejects (``mask``), the reason code, and the message per row."""

    code: str
    mask: nw.Expr
    message: nw.Expr
    column: str | None = None  # the column the rule reads (for the diagnosis)


@dataclass(frozen=True)
class CheckResult:
    """What :func:`check` returns: the clean rows, the rejected ones, the quality report.

    ``clean`` and ``rejected`` are native frames (Polars DataFrames, or lazy Spark DataFrames).
    """

    clean: Any
    rejected: Any
    report: dict[str, Any]


def _text(column: str) -> str:
    return f"_text_{column}"


def _said(column: str, what: str) -> nw.Expr:
    """``"<column> '<value>' <what>"`` for each row (the value left out when empty)."""
    shown = nw.col(_text(column))
    quoted = values.only(shown != "", nw.concat_str([nw.lit("'"), shown, nw.lit("' ")]))
    return nw.concat_str(
        [nw.lit(f"{column} "), quoted.fill_null(""), nw.lit(what)], ignore_nulls=True
    )


def _number_rules(column: str, *, whole: bool, required: bool) -> list[Rule]:
    value, missing = nw.col(_value(column)), nw.col(_missing(column))
    rules = []
    if required:
        rules.append(Rule("missing_value", missing, nw.lit(f"{column} is missing"), column))
    rules.append(
        Rule("not_a_number", ~missing & value.is_null(), _said(column, "is not a number"), column)
    )
    if whole:
        odd = ~value.is_null() & ((value.floor() != value) | (value.abs() > values.LARGEST_WHOLE))
        rules.append(
            Rule(
                "not_whole_number",
                odd,
                _said(column, "is not a whole number (or too large to be one)"),
                column,
            )
        )
    rules.append(
        Rule("negative_value", ~value.is_null() & (value < 0), _said(column, "is negative"), column)
    )
    return rules


def _number_columns(present: list[str]) -> list[str]:
    """The columns read as numbers."""
    return [
        schema.ID,
        *schema.REQUIRED_INTEGER_COLUMNS,
        "Income",
        *(c for c in schema.OPTIONAL_COLUMNS if c in present),
    ]


def _parsed(
    frame: nw.LazyFrame,
    present: list[str],
    repeats: nw.LazyFrame,
    first: dict[str, Any],
    params: DataProcessingParams,
) -> nw.LazyFrame:
    """The frame with every value parsed into helper columns (each computed once, numbers with
    their column's decimal mark, the repair of marks only in columns that hold some, dates in
    the file's shapes and order), and, for a row whose ID an earlier row has, that row
    (:func:`repeated_rows`; null for the others).
    """
    forms = {column: _form(first, column) for column in _number_columns(present)}
    frame = frame.with_columns(
        **{
            _text(c): values.number_text(c, forms[c]) if c in forms else values.text(c)
            for c in present
        }
    )
    parsed = {_HEADER: _is_header()}
    for column, form in forms.items():
        read = values.number(column, nw.col(_text(column)), first["marks"][column], form)
        parsed[_value(column)] = read.value
        parsed[_missing(column)] = read.missing
        parsed[_repaired(column)] = read.repaired
    for column in schema.CATEGORY_COLUMNS:
        parsed[_missing(column)] = values.is_missing(nw.col(_text(column)))
    frame = frame.with_columns(**parsed)
    frame = frame.with_columns(**{_ID: _whole_id(nw.col(_value(schema.ID)))})
    return values.parse_dates(
        frame.join(repeats, on=SOURCE_ROW, how="left"),
        schema.DATE_COLUMN,
        first["date_order"],
        params.two_digit_year_pivot,
        first["date_shapes"],
    )


def _is_header() -> nw.Expr:
    """A row that repeats the header (two exports pasted into one file): its ID, birth year
    and date fields hold those columns' names.
    """
    names = (schema.ID, "Year_Birth", schema.DATE_COLUMN)
    return nw.all_horizontal(
        *(nw.col(_text(c)).str.to_lowercase() == c.lower() for c in names), ignore_nulls=True
    )


def _whole_id(value: nw.Expr) -> nw.Expr:
    """The customer ID as an integer where the value is a whole number that a float64 holds
    exactly, else null (nulled before the cast: a cast of ``1e308`` would fail).
    """
    valid = ~value.is_null() & (value.floor() == value) & (value.abs() <= values.LARGEST_WHOLE)
    return values.only(valid, value).cast(nw.Int64)


def _form(first: dict[str, Any], column: str) -> str:
    """How a number column's values are written (``values.number_form``, from the first pass)."""
    return values.number_form(first, column, first["marks"][column])


def repeated_rows(frame: nw.LazyFrame, first: dict[str, Any]) -> nw.LazyFrame:
    """Every row whose valid ID an earlier row of the whole file already has, and that earlier
    row's number (``source_row``, ``_first_row``): the duplicates, whichever slice they are in.
    ``first``: the first pass (:func:`_first_pass`), which says how the IDs are written.

    Exports hold few duplicates, so each slice joins this small table rather than every ID of
    the file (at 10M rows, a 1M-row slice's join with the 10M IDs took 0.9 s, ten times over).
    """
    read = values.number(
        schema.ID, decimal_mark=first["marks"][schema.ID], form=_form(first, schema.ID)
    )
    ids = frame.select(_whole_id(read.value).alias(_ID), nw.col(SOURCE_ROW))
    return (
        ids.filter(~nw.col(_ID).is_null())
        .with_columns(nw.col(SOURCE_ROW).min().over(_ID).alias(_FIRST))
        .filter(nw.col(SOURCE_ROW) > nw.col(_FIRST))
        .select(SOURCE_ROW, _FIRST)
    )


def _rules(present: list[str], params: DataProcessingParams) -> list[Rule]:
    """Every rule, in the order that decides a row's reason code."""
    rules = [
        Rule(REPEATED_HEADER, nw.col(_HEADER), nw.lit(_HEADER_MESSAGE)),
        Rule(
            "missing_id",
            nw.col(_value(schema.ID)).is_null(),
            _said(schema.ID, "is missing or not a number"),
            schema.ID,
        ),
        Rule(
            "not_whole_number",
            ~nw.col(_value(schema.ID)).is_null() & nw.col(_ID).is_null(),
            _said(schema.ID, "is not a whole number"),
            schema.ID,
        ),
        Rule(
            "duplicate_id",
            ~nw.col(_FIRST).is_null(),
            nw.concat_str(
                [nw.lit("duplicate ID, first seen at row "), nw.col(_FIRST).cast(nw.String)]
            ),
            schema.ID,
        ),
    ]
    for column in schema.REQUIRED_INTEGER_COLUMNS:
        rules += _number_rules(column, whole=True, required=True)
    rules += _number_rules("Income", whole=False, required=False)
    if params.missing_income == "drop":
        rules.append(
            Rule(
                "missing_income",
                nw.col(_missing("Income")),
                nw.lit("Income is missing (missing_income: drop)"),
                "Income",
            )
        )
    for column in schema.OPTIONAL_COLUMNS:
        if column not in present:
            continue
        rules += _number_rules(column, whole=True, required=True)
        if column in schema.FLAG_COLUMNS:
            value = nw.col(_value(column))
            rules.append(
                Rule(
                    "bad_flag",
                    ~value.is_null() & ~value.is_in([0.0, 1.0]),
                    _said(column, "is not 0 or 1"),
                    column,
                )
            )
    for column in schema.CATEGORY_COLUMNS:
        rules.append(
            Rule("missing_value", nw.col(_missing(column)), nw.lit(f"{column} is missing"), column)
        )
    low, high = params.min_customer_date, params.max_customer_date
    days = nw.col(_DATE_DAYS)
    rules += [
        Rule(
            "bad_date",
            days.is_null(),
            _said(schema.DATE_COLUMN, "is not a date"),
            schema.DATE_COLUMN,
        ),
        Rule(
            "date_out_of_range",
            ~days.is_null() & ((days < values.day_number(low)) | (days > values.day_number(high))),
            _said(schema.DATE_COLUMN, f"is outside {low.isoformat()}..{high.isoformat()}"),
            schema.DATE_COLUMN,
        ),
    ]
    year = nw.col(_value("Year_Birth"))
    rules += [
        Rule(
            "birth_year_out_of_range",
            ~year.is_null() & (year < params.min_birth_year),
            _said("Year_Birth", f"is before {params.min_birth_year}"),
            "Year_Birth",
        ),
        Rule(
            "birth_year_out_of_range",
            ~year.is_null() & ~nw.col(_DATE_YEAR).is_null() & (year > nw.col(_DATE_YEAR)),
            _said("Year_Birth", "is after the customer's first purchase"),
            "Year_Birth",
        ),
        Rule(
            "income_outlier",
            ~nw.col(_value("Income")).is_null() & (nw.col(_value("Income")) > params.max_income),
            _said("Income", f"is above max_income {params.max_income:,.0f}"),
            "Income",
        ),
    ]
    return rules


def _codes(rules: list[Rule]) -> list[str]:
    """The reason codes the rules can give, sorted."""
    return sorted({rule.code for rule in rules})


def _masks(rules: list[Rule]) -> dict[str, nw.Expr]:
    """Per rule, whether it rejects the row (a repeated header line breaks only its own)."""
    masks = {}
    for i, rule in enumerate(rules):
        mask = rule.mask.fill_null(False)
        masks[f"_rule_{i}"] = mask if rule.code == REPEATED_HEADER else mask & ~nw.col(_HEADER)
    return masks


def _bad(rules: list[Rule]) -> nw.Expr:
    """Per row: whether any rule rejects it."""
    return nw.any_horizontal(*(nw.col(f"_rule_{i}") for i in range(len(rules))), ignore_nulls=True)


def _code(rules: list[Rule]) -> nw.Expr:
    """Per rejected row: the code of the first rule that rejects it (built for rejected rows
    only, like :func:`_reason`).
    """
    masks = [nw.col(f"_rule_{i}") for i in range(len(rules))]
    # The first rule that rejects the row, as the smallest index of a rejecting rule: one flat
    # expression (a chain of 100+ nested CASEs is slow to plan and to compile on Spark).
    first = nw.min_horizontal(
        *(values.only(mask, nw.lit(i, dtype=nw.Int64)) for i, mask in enumerate(masks))
    )
    return first.replace_strict(
        {i: rule.code for i, rule in enumerate(rules)}, default=None, return_dtype=nw.String
    )


def _reason(rules: list[Rule]) -> nw.Expr:
    """Every message of the rules that reject a row, joined (built for rejected rows only:
    the clean rows, nearly all of a file, never pay for the text).
    """
    masks = [nw.col(f"_rule_{i}") for i in range(len(rules))]
    messages = [values.only(mask, rule.message) for mask, rule in zip(masks, rules, strict=True)]
    return nw.concat_str(messages, separator="; ", ignore_nulls=True)


def _median_income(mark: str) -> nw.Expr:
    income = values.number("Income", decimal_mark=mark)
    return values.only(~income.missing, income.value).median()


def _first_pass(
    frame: nw.LazyFrame, source: str, present: list[str], params: DataProcessingParams
) -> dict[str, Any]:
    """What the rules need from the whole file before they run: the number of rows, how its
    dates are written (order and shapes), each number column's decimal mark (``marks``) and
    whether it holds currency or thousands marks: both from a second look, only at columns
    with a value that is not all digits; the median income (only for ``impute_median``).
    """
    numbers = _number_columns(present)
    imputing = params.missing_income == "impute_median"
    summary = frame.select(
        rows=nw.len(),
        **values.date_counts(schema.DATE_COLUMN),
        **({"median_income": _median_income(params.decimal_mark)} if imputing else {}),
        **{f"not_digits:{c}": values.not_digits_count(c) for c in numbers},
    )
    found = _collected(summary, source)
    if not found["rows"]:
        raise CustomerDataError(f"{source}: the file has a header but no data rows")
    found.update(
        values.date_order(
            found["first_big"],
            found["second_big"],
            found["shape:numeric"],
            params.ambiguous_date_order,
        )
    )
    found["date_shapes"] = values.date_shapes(found)
    odd = [c for c in numbers if found[f"not_digits:{c}"]]
    found.update(
        dict.fromkeys((f"{key}:{c}" for c in numbers for key in values.SEPARATOR_COUNTS), 0)
    )
    if odd:
        found.update(
            _collected(
                frame.select(**{k: v for c in odd for k, v in values.separator_counts(c).items()}),
                source,
            )
        )
    marks = dict.fromkeys(numbers, params.decimal_mark)
    decided: dict[str, str] = {}
    for column in (c for c in odd if found[f"comma:{c}"] or found[f"point:{c}"]):
        marks[column], decided[column] = values.decimal_mark(
            found[f"shows{values.COMMA}:{column}"],
            found[f"shows{values.POINT}:{column}"],
            params.decimal_mark,
        )
    if imputing and marks["Income"] != params.decimal_mark:
        found["median_income"] = _collected(
            frame.select(median_income=_median_income(marks["Income"])), source
        )["median_income"]
    found["marks"] = marks
    found["decimal_marks"] = decided
    return found


def _collected(summary: nw.LazyFrame, source: str) -> dict[str, Any]:
    """The one row of an aggregation over the file (a line the reader cannot split is named)."""
    try:
        return engine.first_row(summary)
    except Exception as error:
        if _is_read_error(error):
            raise irregular(source, error) from error
        raise


def _check_slice(  # noqa: PLR0913
    frame: nw.LazyFrame,
    present: list[str],
    first: dict[str, Any],
    rules: list[Rule],
    categories: dict[str, tuple[nw.Expr, nw.Expr, nw.Expr]],
    repeats: nw.LazyFrame,
    params: DataProcessingParams,
    *,
    per_rule: bool,
) -> tuple[dict[str, Any], Any, Any]:
    """The rules on some rows of the file: their counts, clean rows and rejected rows."""
    parsed = _parsed(frame, present, repeats, first, params)
    parsed = engine.cut(parsed)
    checked = parsed.with_columns(**_masks(rules)).with_columns(**{_BAD: _bad(rules)})
    clean = checked.filter(~nw.col(_BAD)).sort(SOURCE_ROW)
    clean = clean.select(
        *(_typed(column, present, categories, first, params) for column in schema.KAGGLE_COLUMNS)
    )
    originals = [c for c in present if c in schema.KAGGLE_COLUMNS]
    rejected = (
        checked.filter(nw.col(_BAD))
        .sort(SOURCE_ROW)
        .select(
            SOURCE_ROW,
            *(nw.col(c).fill_null("") for c in originals),
            _code(rules).alias(REASON_CODE),
            _reason(rules).alias(REASON),
        )
    )
    summary = checked.select(**_counts(rules, present, categories, params, per_rule=per_rule))
    counts, (clean_native, rejected_native) = engine.materialise(
        summary, [clean, rejected], shared=checked
    )
    codes = _codes(rules)
    code = nw.col(REASON_CODE)
    counts.update(
        engine.first_row(
            engine.lazy(rejected_native).select(
                **{f"code:{c}": (code == c).cast(nw.Int64).sum() for c in codes}
            )
        )
    )
    return counts, clean_native, rejected_native


def _is_read_error(error: Exception) -> bool:
    """An error of the engine's CSV reader (a line it cannot split), not of the rules."""
    text = str(error)
    return any(
        sign in text
        for sign in (
            "more fields than defined",
            "could not parse",
            "not properly escaped",
            "invalid csv",
            "MALFORMED",
            "malformed",
        )
    )


def _examples(  # noqa: PLR0913
    frame: nw.LazyFrame,
    present: list[str],
    first: dict[str, Any],
    rules: list[Rule],
    repeats: nw.LazyFrame,
    params: DataProcessingParams,
    failure: diagnosis.Failure,
) -> list[tuple[int, str]]:
    """The first rows (and their values) that ``failure``'s rules reject."""
    parsed = _parsed(frame, present, repeats, first, params)
    masks = _masks(rules)
    hit = nw.any_horizontal(
        *(
            masks[f"_rule_{i}"]
            for i, rule in enumerate(rules)
            if (rule.column, rule.code) == (failure.column, failure.code)
        ),
        ignore_nulls=True,
    )
    found = engine.rows(
        parsed.filter(hit)
        .select(SOURCE_ROW, nw.col(failure.column).fill_null(""))
        .sort(SOURCE_ROW)
        .head(diagnosis.SHOWN)
    )
    return [(row[SOURCE_ROW], row[failure.column]) for row in found]


def check(
    raw: RawTable,
    params: DataProcessingParams,
    log_level: int = logging.INFO,
    *,
    diagnose: bool = True,
) -> CheckResult:
    """Check every row of an export read as text; repair, reject with reasons, account.

    With ``diagnose`` (a file; not the app's one-row form), a file where one rule rejects more
    than ``stop_share`` of the rows in a required column, or no row survives, stops with a
    diagnosis (:mod:`diagnosis`).

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
    frame = raw.strings
    present = [c for c in frame.collect_schema().names() if c != SOURCE_ROW]
    first = _first_pass(frame, source, present, params)
    rules = _rules(present, params)
    categories = {c: values.category(c, known, nw.col(_text(c))) for c, known in _KNOWN.items()}
    repeats = engine.cache(repeated_rows(frame, first))
    parts, clean = [], engine.Spill()
    # Row slices of chunk_rows (Polars): memory holds one slice's helper columns, not the
    # whole file's, and the clean rows of a file of several slices wait on disk (engine.Spill);
    # Spark gets one slice and spreads the work itself.
    for part in engine.slices(frame, first["rows"], params.chunk_rows):
        try:
            counts, clean_part, rejected_part = _check_slice(
                part, present, first, rules, categories, repeats, params, per_rule=diagnose
            )
        except Exception as error:
            if _is_read_error(error):
                raise irregular(source, error) from error
            raise
        clean.add(clean_part)
        parts.append((counts, rejected_part))
    counts = {key: sum(part[0][key] or 0 for part in parts) for key in parts[0][0]}
    clean_native = clean.table()
    rejected_native = engine.concat([part[1] for part in parts])
    check_clean(engine.lazy(clean_native), params, source)
    report = _report(raw.info, first, counts, rules, present, categories, params)
    if diagnose:
        failure = diagnosis.worst(
            ((rule.column, rule.code, counts[f"rule#{i}"]) for i, rule in enumerate(rules)),
            report["rows_in"],
            params.stop_share,
        )
        if diagnosis.is_broken(failure, report["rows_in"], report["rows_clean"], params.stop_share):
            examples = (
                _examples(frame, present, first, rules, repeats, params, failure) if failure else []
            )
            raise CustomerDataError(
                diagnosis.message(
                    source,
                    failure,
                    report["rows_in"],
                    report["rows_clean"],
                    params.stop_share,
                    examples,
                )
            )
    logger.log(
        log_level,
        "%s: %d rows in, %d clean, %d rejected %s",
        source,
        report["rows_in"],
        report["rows_clean"],
        report["rows_rejected"],
        report["rejected_by_reason"],
    )
    return CheckResult(clean=clean_native, rejected=rejected_native, report=report)


_KNOWN = {"Education": schema.EDUCATION_LEVELS, "Marital_Status": schema.MARITAL_STATUSES}


def _typed(
    column: str,
    present: list[str],
    categories: dict[str, tuple[nw.Expr, nw.Expr, nw.Expr]],
    first: dict[str, Any],
    params: DataProcessingParams,
) -> nw.Expr:
    """A clean column in its contract type (``schema.CLEAN_TYPES``)."""
    dtype = CLEAN_TYPES[column]
    if column == schema.DATE_COLUMN:
        return values.to_date(nw.col(values.DATE_ISO)).alias(column)
    if column in categories:
        return categories[column][0].alias(column)
    if column in schema.OPTIONAL_COLUMNS and column not in present:
        return nw.lit(0).cast(dtype).alias(column)
    value = nw.col(_value(column))
    if column == "Income" and params.missing_income == "impute_median":
        value = (
            nw.when(nw.col(_missing(column))).then(nw.lit(first["median_income"])).otherwise(value)
        )
    return value.cast(dtype).alias(column)


def _counts(
    rules: list[Rule],
    present: list[str],
    categories: dict[str, tuple[nw.Expr, nw.Expr, nw.Expr]],
    params: DataProcessingParams,
    *,
    per_rule: bool,
) -> dict[str, nw.Expr]:
    """Every count the report needs, as one aggregation over the checked rows."""
    counts: dict[str, nw.Expr] = {
        "rows_in": nw.len(),
        "rows_rejected": nw.col(_BAD).cast(nw.Int64).sum(),
        "excel_serial_dates": nw.col(_DATE_SERIAL).cast(nw.Int64).sum(),
    }
    codes = _codes(rules)
    for code in codes:
        hits = [nw.col(f"_rule_{i}") for i, rule in enumerate(rules) if rule.code == code]
        counts[f"rule:{code}"] = nw.any_horizontal(*hits, ignore_nulls=True).cast(nw.Int64).sum()
    if per_rule:  # for the diagnosis; the app's one-row form does not pay for them
        for i in range(len(rules)):
            counts[f"rule#{i}"] = nw.col(f"_rule_{i}").cast(nw.Int64).sum()
    kept = ~nw.col(_BAD)
    for column in [schema.ID, *schema.REQUIRED_INTEGER_COLUMNS, "Income", *schema.OPTIONAL_COLUMNS]:
        if column in present or column not in schema.OPTIONAL_COLUMNS:
            counts[f"marks:{column}"] = nw.col(_repaired(column)).cast(nw.Int64).sum()
    for column, (_, _, changed) in categories.items():
        counts[f"case:{column}"] = changed.cast(nw.Int64).sum()
    if params.missing_income == "impute_median":
        counts["imputed"] = (kept & nw.col(_missing("Income"))).cast(nw.Int64).sum()
    return counts


def _report(  # noqa: PLR0913
    info: dict[str, Any],
    first: dict[str, Any],
    counts: dict[str, Any],
    rules: list[Rule],
    present: list[str],
    categories: dict[str, Any],
    params: DataProcessingParams,
) -> dict[str, Any]:
    """The data-quality report from the counts."""
    codes = _codes(rules)
    repaired: dict[str, int] = {}
    for key, count in counts.items():
        if key.startswith("marks:") and count:
            repaired[f"{key.removeprefix('marks:')}: currency/thousands marks removed"] = count
        elif key.startswith("case:") and count:
            repaired[f"{key.removeprefix('case:')}: trimmed/case-normalised"] = count
    if counts.get("imputed"):
        repaired["Income: missing, imputed with the median"] = counts["imputed"]
    date_info = {k: first[k] for k in ("date_order", "date_order_decided_by")}
    date_info["decimal_mark"] = params.decimal_mark
    if first["decimal_marks"]:
        date_info["decimal_marks"] = first["decimal_marks"]
    if counts["excel_serial_dates"]:
        date_info["excel_serial_dates"] = counts["excel_serial_dates"]
    report = {
        **info,
        **date_info,
        "rows_in": counts["rows_in"],
        "rows_clean": counts["rows_in"] - counts["rows_rejected"],
        "rows_rejected": counts["rows_rejected"],
        "rejected_by_reason": {c: counts[f"code:{c}"] for c in codes if counts[f"code:{c}"]},
        "problems_by_rule": {c: counts[f"rule:{c}"] for c in codes if counts[f"rule:{c}"]},
        "repaired": repaired,
        "missing_income_policy": params.missing_income,
    }
    if report["rows_in"] != report["rows_clean"] + report["rows_rejected"]:  # pragma: no cover
        raise AssertionError("row accounting broken")
    return report
