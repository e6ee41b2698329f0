"""Reading and checking the customer table: the project's data contract.

One module for the pipeline (``data_processing``) and the app's upload page.

* :func:`read_customer_table` turns the bytes of an export into a table of strings with the
  canonical column names. It detects the encoding (with or without byte-order mark), the
  delimiter (comma, tab, semicolon or pipe), quoting and line ends, and refuses files that are
  empty, not a table, or a different table, naming what was expected.
* :func:`clean_customers` checks every row. Each one ends either in the clean table (repaired by
  a documented rule where possible) or in the rejects table with its reason; the quality report
  accounts for every input row (``rows_in == rows_clean + rows_rejected``).

Repair rules (counted in the report under ``repaired``):

* numbers written with currency or thousands marks (``$58,138``) are read as numbers;
* category values are trimmed and case-normalised (``" GRADUATION "`` is ``Graduation``);
* a missing ``Income`` is imputed with the median when ``missing_income: impute_median``;
* optional campaign flags absent from the file are taken as 0 (the report says so).

Rejection rules (reason codes in ``rejected_customers.reason_code``; a row breaking several
rules gets the first code and every message in ``reason``):

``missing_id``, ``not_whole_number`` (also a number too large to be exact), ``duplicate_id``
(the first row with an ID is kept, later ones name it), ``missing_value``, ``not_a_number``,
``negative_value``, ``bad_flag`` (not 0/1), ``bad_date`` (unparseable or impossible, e.g.
31-02-2013), ``date_out_of_range``, ``missing_income``, ``birth_year_out_of_range`` (before
``min_birth_year`` or after the first purchase), ``income_outlier``.

File-level refusals (:class:`CustomerDataError`, one message naming the file): empty or
header-only files, binary files, another table (the "Mall Customers" table is named), missing
required columns (all listed), duplicated columns, a line with more fields than the header, an
unclosed quote. The clean table is finally checked against :func:`clean_schema` (pandera).
"""

from __future__ import annotations

import codecs
import csv
import io
import logging
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pandera.pandas as pa

from customer_segmentation import schema

logger = logging.getLogger(__name__)

_DELIMITERS = (",", "\t", ";", "|")
_NA_TOKENS = frozenset({"", "na", "n/a", "nan", "null", "none", "-", "?", "#n/a"})
_MONTHS = {
    m: i + 1
    for i, m in enumerate(
        ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
    )
}
_MALL_CUSTOMERS_COLUMNS = {"customerid", "gender", "annual income (k$)", "spending score (1-100)"}
# Excel's day 0 (its serial numbers count days from here) and its last day, 9999-12-31.
_EXCEL_EPOCH = pd.Timestamp("1899-12-30")
_LAST_EXCEL_SERIAL = 2958465
_TIME_OF_DAY = r"[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:\s*[AaPp][Mm])?$"
_HEADER_SHOWN = 12  # header fields quoted in a "missing columns" message
# Whole numbers above this cannot be held exactly by the float64 the parser reads them into.
_LARGEST_WHOLE = 2**53
_NUMBER_WITH_MARKS = r"^[$€£]?\s*-?\d{1,3}(?:[,\s]\d{3})+(?:\.\d+)?$|^[$€£]\s*-?\d+(?:\.\d+)?$"


class CustomerDataError(ValueError):
    """The input cannot be read as a customer table; the message says where and why."""


@dataclass(frozen=True)
class RawCustomerFile:
    """The bytes of a customer export and the name to use for it in messages."""

    name: str
    content: bytes


@dataclass
class CleanResult:
    """What :func:`prepare_customers` returns: clean rows, rejected rows, the report."""

    clean: pd.DataFrame
    rejected: pd.DataFrame
    report: dict[str, Any]


# --------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------


def _detect_encoding(content: bytes, source: str) -> str:
    if content.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if content.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    sample = content[: 1 << 20]
    if b"\x00" in sample:
        raise CustomerDataError(
            f"{source}: this is a binary file, not a text table; expected a CSV/TSV export "
            "of the customer table"
        )
    try:
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=len(sample) == len(content))
    except UnicodeDecodeError:
        return "cp1252" if _decodes(sample, "cp1252") else "latin-1"
    return "utf-8"


def _decodes(sample: bytes, encoding: str) -> bool:
    try:
        sample.decode(encoding)
    except UnicodeDecodeError:
        return False
    return True


def _normalise_name(name: str) -> str:
    return name.strip().strip('"').strip("'").strip().lstrip("\ufeff").lower()


_CANONICAL = {c.lower(): c for c in (*schema.REQUIRED_COLUMNS, *schema.OPTIONAL_COLUMNS)}


def _header_fields(first_line: str, delimiter: str) -> list[str]:
    return next(csv.reader([first_line], delimiter=delimiter), [])


def _detect_delimiter(first_line: str, source: str) -> tuple[str, list[str]]:
    best, best_hits, best_fields = ",", -1, []
    for delimiter in _DELIMITERS:
        fields = _header_fields(first_line, delimiter)
        hits = sum(_normalise_name(f) in _CANONICAL for f in fields)
        if hits > best_hits:
            best, best_hits, best_fields = delimiter, hits, fields
    if best_hits <= 0:
        names = {_normalise_name(f) for d in _DELIMITERS for f in _header_fields(first_line, d)}
        expected = ", ".join(schema.REQUIRED_COLUMNS)
        if len(_MALL_CUSTOMERS_COLUMNS & names) >= 3:
            raise CustomerDataError(
                f"{source}: this is the 'Mall Customers' table (CustomerID, Gender, Age, "
                "Annual Income, Spending Score), not the customer-personality table this "
                f"project segments; expected columns: {expected}"
            )
        raise CustomerDataError(
            f"{source}: the first line has none of the customer table's columns "
            f"(it starts {first_line[:80]!r}); expected a header with: {expected}"
        )
    return best, best_fields


def read_customer_table(content: bytes, source: str) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Read an export of the customer table into a table of strings.

    Args:
        content: the file's bytes.
        source: the file's name, used in every message.

    Returns:
        The rows with canonical column names (``schema.REQUIRED_COLUMNS`` and whichever
        ``schema.OPTIONAL_COLUMNS`` the file has), every value a string, plus ``source_row``
        (1-based data row number); and a dict describing what was detected.

    Raises:
        CustomerDataError: the file is empty, header-only, not a table, another table, or
            lacks required columns (all of them named in one message).
    """
    if not content.strip():
        raise CustomerDataError(
            f"{source}: the file is empty; expected the customer table with a header line"
        )
    encoding = _detect_encoding(content, source)
    text_sample = content[: 1 << 16].decode(encoding, errors="replace")
    text_sample = text_sample.lstrip("\ufeff")
    lines = [ln for ln in text_sample.splitlines() if ln.strip()]
    if not lines:
        raise CustomerDataError(
            f"{source}: the file holds no text (only a byte-order mark or blank space); "
            "expected the customer table with a header line"
        )
    delimiter, fields = _detect_delimiter(lines[0], source)

    header = [_normalise_name(f) for f in fields]
    present = {_CANONICAL[h] for h in header if h in _CANONICAL}
    missing = [c for c in schema.REQUIRED_COLUMNS if c not in present]
    if missing:
        found = ", ".join(str(f).strip() for f in fields[:_HEADER_SHOWN])
        more = f" and {len(fields) - _HEADER_SHOWN} more" if len(fields) > _HEADER_SHOWN else ""
        raise CustomerDataError(
            f"{source}: {len(missing)} required column(s) missing: {', '.join(missing)} "
            f"(the header has: {found}{more})"
        )
    duplicated = sorted({h for h in header if header.count(h) > 1 and h in _CANONICAL})
    if duplicated:
        raise CustomerDataError(
            f"{source}: column(s) appear more than once in the header: {', '.join(duplicated)}"
        )

    table = _read_strings(content, source, delimiter, encoding)
    table.columns = [_CANONICAL.get(_normalise_name(str(c)), str(c)) for c in table.columns]
    ignored = [c for c in table.columns if c not in _CANONICAL.values()]
    table = table.drop(columns=ignored)
    if table.empty:
        raise CustomerDataError(f"{source}: the file has a header but no data rows")
    table.insert(0, "source_row", np.arange(1, len(table) + 1, dtype="int64"))
    info = {
        "source": source,
        "encoding": encoding,
        "byte_order_mark": encoding in ("utf-8-sig", "utf-16"),
        "delimiter": {",": "comma", "\t": "tab", ";": "semicolon", "|": "pipe"}[delimiter],
        "line_ends": "CRLF" if b"\r\n" in content[: 1 << 16] else "LF",
        "ignored_columns": ignored,
        "absent_optional_columns": [c for c in schema.OPTIONAL_COLUMNS if c not in present],
    }
    logger.info(
        "Read %d rows from %s (%s-separated, %s)", len(table), source, info["delimiter"], encoding
    )
    return table, info


def _read_strings(content: bytes, source: str, delimiter: str, encoding: str) -> pd.DataFrame:
    options = {"sep": delimiter, "dtype": str, "keep_default_na": False, "encoding": encoding}
    if encoding in ("utf-8", "utf-8-sig"):
        try:  # multithreaded; any irregularity falls through to the C parser's diagnosis
            return pd.read_csv(io.BytesIO(content), engine="pyarrow", **options)
        except Exception:  # noqa: BLE001
            logger.debug("pyarrow could not parse %s; retrying with the C parser", source)
    try:
        with warnings.catch_warnings():
            # index_col=False: a first row with an extra field must not become the index; the
            # C parser then drops the extra fields with a ParserWarning, made an error here.
            warnings.simplefilter("error", pd.errors.ParserWarning)
            return pd.read_csv(
                io.BytesIO(content), engine="c", na_filter=False, index_col=False, **options
            )
    except pd.errors.ParserWarning as error:
        raise CustomerDataError(
            f"{source}: not a regular table: the first data line has more fields than the header"
        ) from error
    except pd.errors.ParserError as error:
        raise CustomerDataError(
            f"{source}: not a regular table (a line has more fields than the header, or a "
            f"quote is not closed): {error}"
        ) from error
    except (UnicodeDecodeError, pd.errors.EmptyDataError) as error:
        raise CustomerDataError(f"{source}: cannot be read as a text table: {error}") from error


# --------------------------------------------------------------------------------------
# Values
# --------------------------------------------------------------------------------------


def _as_text(values: pd.Series) -> pd.Series:
    """Trim every value; missing fields become empty strings."""
    return values.fillna("").astype(str).str.strip()


def _is_missing(text: pd.Series) -> pd.Series:
    return text.str.lower().isin(_NA_TOKENS)


def parse_numbers(text: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Parse trimmed strings as numbers.

    Returns:
        The numbers (NaN where missing or unreadable) and a mask of the values that needed a
        repair (currency or thousands marks removed).
    """
    try:  # fast path (Arrow's cast) when every value is a plain number
        numbers = text.astype("float64")
    except (ValueError, TypeError, ArithmeticError):
        numbers = pd.to_numeric(text, errors="coerce").astype("float64")
    failed = numbers.isna() & ~_is_missing(text)
    repaired = pd.Series(False, index=text.index)
    if failed.any():
        candidates = text[failed]
        marked = candidates.str.match(_NUMBER_WITH_MARKS)
        fixed = pd.to_numeric(
            candidates[marked].str.replace(r"[$€£,\s]", "", regex=True), errors="coerce"
        )
        numbers.loc[fixed.index] = fixed.astype("float64")
        repaired.loc[fixed.index[fixed.notna()]] = True
    return numbers, repaired


def _two_digit_year(year: pd.Series, pivot: int) -> pd.Series:
    return year.where(year >= 100, np.where(year < pivot, 2000 + year, 1900 + year))


def parse_dates(
    text: pd.Series, ambiguous_order: str = "day_first", two_digit_year_pivot: int = 70
) -> tuple[pd.Series, dict[str, Any]]:
    """Parse ``Dt_Customer`` values written in any of the shapes found in exports.

    Understood: ``dd-mm-yyyy``/``dd/mm/yyyy``/``dd.mm.yyyy``, month-first ``m/d/yyyy``,
    ISO ``yyyy-mm-dd``, ``d-Mon-yy`` and Excel serial numbers (days since 1899-12-30); a time
    of day after the date is ignored. The order of day and month is
    inferred from the column: a first field above 12 means day-first, a second field above 12
    means month-first; a column without either follows ``ambiguous_order`` and the returned
    info says so.

    Returns:
        Timestamps (NaT where a value is not a date) and a dict describing the inference.
    """
    if ambiguous_order not in ("day_first", "month_first"):
        raise CustomerDataError(
            "parameter ambiguous_date_order must be 'day_first' or 'month_first', "
            f"not {ambiguous_order!r}"
        )
    codes, uniques = pd.factorize(text)
    # A time of day after the date (spreadsheet exports write "04/09/2012 00:00") is dropped.
    values = pd.Series(uniques, dtype=str).str.replace(_TIME_OF_DAY, "", regex=True)
    parsed = pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns]")

    numeric = values.str.extract(r"^(\d{1,2})[-/.](\d{1,2})[-/.](\d{2}|\d{4})$").astype(float)
    first_big = int((numeric[0] > 12).sum())
    second_big = int((numeric[1] > 12).sum())
    if first_big and second_big:
        order = "day_first" if first_big >= second_big else "month_first"
        decided_by = f"majority ({first_big} day-first vs {second_big} month-first values)"
    elif first_big:
        order, decided_by = "day_first", "values above 12 in the first place"
    elif second_big:
        order, decided_by = "month_first", "values above 12 in the second place"
    elif numeric[0].notna().any():
        order, decided_by = ambiguous_order, "ambiguous column: parameter ambiguous_date_order"
    else:
        order, decided_by = ambiguous_order, "no day/month-number dates in the column"
    day, month = (0, 1) if order == "day_first" else (1, 0)
    has = numeric[0].notna()
    parsed[has] = _assemble(
        _two_digit_year(numeric.loc[has, 2], two_digit_year_pivot),
        numeric.loc[has, month],
        numeric.loc[has, day],
    )

    iso = values.str.extract(r"^(\d{4})-(\d{1,2})-(\d{1,2})$").astype(float)
    has = iso[0].notna()
    parsed[has] = _assemble(iso.loc[has, 0], iso.loc[has, 1], iso.loc[has, 2])

    named = values.str.extract(r"^(\d{1,2})[-/ ]([A-Za-z]{3})[A-Za-z]*[-/ ](\d{2}|\d{4})$")
    month_number = named[1].str.lower().map(_MONTHS)
    has = named[0].notna() & month_number.notna()
    parsed[has] = _assemble(
        _two_digit_year(named.loc[has, 2].astype(float), two_digit_year_pivot),
        month_number[has].astype(float),
        named.loc[has, 0].astype(float),
    )

    serial = pd.to_numeric(values.where(values.str.match(r"^\d{5}(\.0+)?$")), errors="coerce")
    is_serial = serial.between(1, _LAST_EXCEL_SERIAL)
    parsed[is_serial] = _EXCEL_EPOCH + pd.to_timedelta(serial[is_serial], unit="D")

    info: dict[str, Any] = {"date_order": order, "date_order_decided_by": decided_by}
    row_codes = np.asarray(codes)
    if is_serial.any():
        info["excel_serial_dates"] = int(is_serial.to_numpy()[row_codes[row_codes >= 0]].sum())
    result = pd.Series(parsed.to_numpy()[row_codes], index=text.index)
    result[row_codes < 0] = pd.NaT
    return result, info


def _assemble(year: pd.Series, month: pd.Series, day: pd.Series) -> pd.Series:
    frame = pd.DataFrame({"year": year, "month": month, "day": day})
    return pd.to_datetime(frame, errors="coerce")


def normalise_categories(text: pd.Series, known: tuple[str, ...]) -> tuple[pd.Series, pd.Series]:
    """Trim and case-normalise category values; known spellings take their canonical case.

    Returns:
        The normalised values and a mask of the values that changed.
    """
    lookup = {k.lower(): k for k in known}
    codes, uniques = pd.factorize(text)  # a handful of distinct values, however many rows
    distinct = pd.Series(uniques, dtype=str)
    collapsed = distinct.str.strip().str.replace(r"\s+", " ", regex=True)
    canonical = collapsed.str.lower().map(lookup).fillna(collapsed.str.title())
    values = np.where(codes >= 0, canonical.to_numpy(dtype=object)[codes], "")
    result = pd.Series(values, index=text.index, dtype=str)
    return result, result != text.fillna("")


# --------------------------------------------------------------------------------------
# Checking and cleaning
# --------------------------------------------------------------------------------------


_Message = str | Callable[[pd.Index], pd.Series]


class _Problems:
    """Collects row-level problems as (mask, code, message) in rule order.

    A message is a string or a function of the rows it applies to, so per-row texts are only
    built for rejected rows.
    """

    def __init__(self, index: pd.Index) -> None:
        self.index = index
        self.rules: list[tuple[pd.Series, str, _Message]] = []

    def add(self, mask: pd.Series, code: str, message: _Message) -> None:
        if mask.any():
            self.rules.append((mask.fillna(False).astype(bool), code, message))

    def any_mask(self) -> pd.Series:
        bad = pd.Series(False, index=self.index)
        for mask, _, _ in self.rules:
            bad |= mask
        return bad

    def reasons(self, rows: pd.Index) -> tuple[pd.Series, pd.Series]:
        """The first rule's code and all rules' messages (joined by ``; ``) for ``rows``."""
        code = pd.Series("", index=rows, dtype=object)
        reason = pd.Series("", index=rows, dtype=object)
        for mask, rule, message in self.rules:
            hit = mask.reindex(rows, fill_value=False).to_numpy()
            if not hit.any():
                continue
            hit_rows = rows[hit]
            code[hit_rows[(code[hit_rows] == "").to_numpy()]] = rule
            texts = (
                pd.Series(message, index=hit_rows, dtype=object)
                if isinstance(message, str)
                else message(hit_rows).astype(object)
            )
            before = reason[hit_rows]
            reason[hit_rows] = texts.where(before == "", before + "; " + texts)
        return code, reason


def clean_customers(
    table: pd.DataFrame, read_info: dict[str, Any], params: dict[str, Any]
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Any]]:
    """Check every row of a table from :func:`read_customer_table`, repair or reject it.

    Args:
        table: string table with canonical columns and ``source_row``.
        read_info: what the reader detected (kept in the report).
        params: ``data_processing`` parameters: ``missing_income`` (``drop`` or
            ``impute_median``), ``min_birth_year``, ``max_income``, ``min_customer_date``,
            ``max_customer_date``, ``ambiguous_date_order``, ``two_digit_year_pivot``.

    Returns:
        ``clean``: typed rows in the Kaggle column order, ``Dt_Customer`` as datetime;
        ``rejected``: the original strings of every refused row with ``source_row``,
        ``reason_code`` and ``reason``; ``report``: the data quality report.
    """
    source = read_info.get("source", "input")
    text = {c: _as_text(table[c]) for c in table.columns if c != "source_row"}
    problems = _Problems(table.index)
    repaired: dict[str, int] = {}
    out: dict[str, pd.Series] = {}

    # ID: present, whole, unique
    ids, marks = parse_numbers(text[schema.ID])
    problems.add(
        ids.isna(), "missing_id", _message(text[schema.ID], "ID", "is missing or not a number")
    )
    odd_id = ids.notna() & ((ids % 1 != 0) | (ids.abs() > _LARGEST_WHOLE))
    problems.add(
        odd_id, "not_whole_number", _message(text[schema.ID], "ID", "is not a whole number")
    )
    if marks.any():
        repaired["ID: currency/thousands marks removed"] = int(marks.sum())
    valid_id = ids.notna() & ~odd_id
    dup = valid_id & ids.duplicated(keep="first")
    if dup.any():
        first_row = table.loc[valid_id].groupby(ids[valid_id])["source_row"].transform("first")
        problems.add(
            dup,
            "duplicate_id",
            lambda rows: "duplicate ID, first seen at row " + first_row[rows].astype(str),
        )
    out[schema.ID] = ids

    # whole numbers that must be there
    for column in schema.REQUIRED_INTEGER_COLUMNS:
        out[column] = _check_number(text[column], column, problems, repaired, whole=True)

    # Income: missing handled by parameter
    income_text = text["Income"]
    income = _check_number(income_text, "Income", problems, repaired, whole=False, required=False)
    missing_income = income.isna() & _is_missing(income_text)
    policy = params.get("missing_income", "drop")
    if policy == "drop":
        problems.add(missing_income, "missing_income", "Income is missing (missing_income: drop)")
    elif policy == "impute_median":
        income = income.fillna(income[~missing_income].median())
        if missing_income.any():
            repaired["Income: missing, imputed with the median"] = int(missing_income.sum())
    else:
        raise CustomerDataError(
            f"parameter missing_income must be 'drop' or 'impute_median', not {policy!r}"
        )
    out["Income"] = income

    # optional 0/1 flags and constants
    for column in schema.OPTIONAL_COLUMNS:
        if column not in text:
            out[column] = pd.Series(0.0, index=table.index)
            continue
        out[column] = _check_number(text[column], column, problems, repaired, whole=True)
        if column in schema.FLAG_COLUMNS:
            bad_flag = out[column].notna() & ~out[column].isin([0, 1])
            problems.add(bad_flag, "bad_flag", _message(text[column], column, "is not 0 or 1"))

    # categories
    for column, known in (
        ("Education", schema.EDUCATION_LEVELS),
        ("Marital_Status", schema.MARITAL_STATUSES),
    ):
        missing = _is_missing(text[column])
        problems.add(missing, "missing_value", f"{column} is missing")
        values, changed = normalise_categories(text[column], known)
        changed &= ~missing
        if changed.any():
            repaired[f"{column}: trimmed/case-normalised"] = int(changed.sum())
        out[column] = values

    # dates
    date_text = text[schema.DATE_COLUMN]
    dates, date_info = parse_dates(
        date_text,
        params.get("ambiguous_date_order", "day_first"),
        int(params.get("two_digit_year_pivot", 70)),
    )
    problems.add(dates.isna(), "bad_date", _message(date_text, schema.DATE_COLUMN, "is not a date"))
    low, high = pd.Timestamp(params["min_customer_date"]), pd.Timestamp(params["max_customer_date"])
    problems.add(
        dates.notna() & ~dates.between(low, high),
        "date_out_of_range",
        _message(date_text, schema.DATE_COLUMN, f"is outside {low.date()}..{high.date()}"),
    )
    out[schema.DATE_COLUMN] = dates

    # plausibility: birth year, income outliers
    year = out["Year_Birth"]
    min_year = int(params["min_birth_year"])
    too_old = year.notna() & (year < min_year)
    born_later = year.notna() & dates.notna() & (year > dates.dt.year)
    problems.add(
        too_old,
        "birth_year_out_of_range",
        _message(text["Year_Birth"], "Year_Birth", f"is before {min_year}"),
    )
    problems.add(
        born_later,
        "birth_year_out_of_range",
        _message(text["Year_Birth"], "Year_Birth", "is after the customer's first purchase"),
    )
    max_income = float(params["max_income"])
    problems.add(
        income > max_income,
        "income_outlier",
        _message(income_text, "Income", f"is above max_income {max_income:,.0f}"),
    )

    bad = problems.any_mask()
    rejected = table.loc[bad].copy()
    code, reason = problems.reasons(rejected.index)
    rejected["reason_code"] = code
    rejected["reason"] = reason

    clean = pd.DataFrame({c: out[c] for c in schema.KAGGLE_COLUMNS}).loc[~bad]
    integer_columns = [
        c
        for c in schema.KAGGLE_COLUMNS
        if c not in ("Income", schema.DATE_COLUMN, *schema.CATEGORY_COLUMNS)
    ]
    clean[integer_columns] = clean[integer_columns].astype("int64")
    clean = clean.reset_index(drop=True)
    try:
        clean_schema(params).validate(clean)
    except (pa.errors.SchemaError, pa.errors.SchemaErrors) as error:  # pragma: no cover - a bug
        raise CustomerDataError(
            f"{source}: the cleaned table breaks the data contract; this is a bug in the "
            f"cleaning rules, please report it with the file: {error}"
        ) from error

    report = {
        **read_info,
        **date_info,
        "rows_in": len(table),
        "rows_clean": len(clean),
        "rows_rejected": len(rejected),
        "rejected_by_reason": {
            k: int(v) for k, v in rejected["reason_code"].value_counts().sort_index().items()
        },
        "problems_by_rule": {
            rule: int(mask.sum()) for rule, mask in _group_rules(problems).items()
        },
        "repaired": repaired,
        "missing_income_policy": policy,
    }
    if report["rows_in"] != report["rows_clean"] + report["rows_rejected"]:  # pragma: no cover
        raise AssertionError("row accounting broken")
    logger.info(
        "%s: %d rows in, %d clean, %d rejected %s",
        source,
        report["rows_in"],
        report["rows_clean"],
        report["rows_rejected"],
        report["rejected_by_reason"],
    )
    return clean, rejected.reset_index(drop=True), report


def _group_rules(problems: _Problems) -> dict[str, pd.Series]:
    grouped: dict[str, pd.Series] = {}
    for mask, code, _ in problems.rules:
        grouped[code] = grouped[code] | mask if code in grouped else mask
    return dict(sorted(grouped.items()))


def _message(text: pd.Series, column: str, what: str) -> Callable[[pd.Index], pd.Series]:
    """``"<column> '<value>' <what>"`` for the given rows (the value left out when empty)."""

    def build(rows: pd.Index) -> pd.Series:
        values = text[rows]
        return column + " " + ("'" + values + "' ").where(values != "", "") + what

    return build


def _check_number(
    text: pd.Series,
    column: str,
    problems: _Problems,
    repaired: dict[str, int],
    *,
    whole: bool,
    required: bool = True,
) -> pd.Series:
    numbers, marks = parse_numbers(text)
    missing = _is_missing(text)
    if required:
        problems.add(missing, "missing_value", f"{column} is missing")
    problems.add(
        numbers.isna() & ~missing, "not_a_number", _message(text, column, "is not a number")
    )
    if whole:
        problems.add(
            numbers.notna() & ((numbers % 1 != 0) | (numbers.abs() > _LARGEST_WHOLE)),
            "not_whole_number",
            _message(text, column, "is not a whole number (or too large to be one)"),
        )
    problems.add(numbers < 0, "negative_value", _message(text, column, "is negative"))
    if marks.any():
        repaired[f"{column}: currency/thousands marks removed"] = int(marks.sum())
    return numbers


def clean_schema(params: dict[str, Any]) -> pa.DataFrameSchema:
    """The contract every clean table meets (checked at the end of :func:`clean_customers`).

    Columns ``schema.KAGGLE_COLUMNS`` in that order: ``ID`` unique, whole numbers ``int64`` and
    not negative, flags 0/1, ``Income`` a float within ``0..max_income``, ``Dt_Customer`` a
    datetime within ``min_customer_date..max_customer_date``, ``Year_Birth`` from
    ``min_birth_year``, categories trimmed, non-empty strings.
    """
    low, high = pd.Timestamp(params["min_customer_date"]), pd.Timestamp(params["max_customer_date"])
    columns: dict[str, pa.Column] = {}
    for column in schema.KAGGLE_COLUMNS:
        if column == schema.ID:
            columns[column] = pa.Column("int64", unique=True)
        elif column == "Income":
            columns[column] = pa.Column(
                "float64", pa.Check.in_range(0, float(params["max_income"]))
            )
        elif column == schema.DATE_COLUMN:
            columns[column] = pa.Column("datetime64[ns]", pa.Check.in_range(low, high))
        elif column in schema.CATEGORY_COLUMNS:
            columns[column] = pa.Column(str, pa.Check.str_length(min_value=1), nullable=False)
        elif column in schema.FLAG_COLUMNS:
            columns[column] = pa.Column("int64", pa.Check.isin([0, 1]))
        elif column == "Year_Birth":
            columns[column] = pa.Column("int64", pa.Check.ge(int(params["min_birth_year"])))
        else:
            columns[column] = pa.Column("int64", pa.Check.ge(0))
    return pa.DataFrameSchema(columns, strict=True, ordered=True, coerce=False)


def prepare_customers(raw: RawCustomerFile, params: dict[str, Any]) -> CleanResult:
    """Read and clean one export: :func:`read_customer_table` then :func:`clean_customers`."""
    table, info = read_customer_table(raw.content, raw.name)
    return CleanResult(*clean_customers(table, info, params))
