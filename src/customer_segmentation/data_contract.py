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
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pandera.pandas as pda
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from customer_segmentation import schema
from customer_segmentation.params import DataProcessingParams

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
_EARLIER_ROWS = "values above 12 in earlier rows of the file"
_UNDECIDED = ("ambiguous column", "no day/month-number dates")
_STREAM_BLOCK_BYTES = 16 << 20  # bytes the streaming reader parses at a time
_HEAD_BYTES = 1 << 20  # what the reader inspects before streaming
_HEADER_SHOWN = 12  # header fields quoted in a "missing columns" message
# Whole numbers above this cannot be held exactly by the float64 the parser reads them into.
_LARGEST_WHOLE = 2**53
_NUMBER_WITH_MARKS = r"^[$€£]?\s*-?\d{1,3}(?:[,\s]\d{3})+(?:\.\d+)?$|^[$€£]\s*-?\d+(?:\.\d+)?$"


class CustomerDataError(ValueError):
    """The input cannot be read as a customer table; the message says where and why."""


class RawCustomerFile:
    """A customer export and the name to use for it in messages: the bytes of an upload, or
    a local file that is streamed from disk rather than held in memory.
    """

    def __init__(self, name: str, content: bytes | None = None, *, path: str | Path | None = None):
        """Give either ``content`` or ``path``."""
        if (content is None) == (path is None):
            raise ValueError("RawCustomerFile needs either content or path")
        self.name = name
        self.path = Path(path) if path is not None else None
        self._content = content

    @property
    def content(self) -> bytes:
        """All the bytes (read from disk on every call for a file)."""
        if self._content is not None:
            return self._content
        return self.path.read_bytes()  # type: ignore[union-attr]

    def head(self, size: int) -> tuple[bytes, bool]:
        """The first ``size`` bytes, and whether they are the whole file."""
        if self._content is not None:
            return self._content[:size], len(self._content) <= size
        with self.path.open("rb") as handle:  # type: ignore[union-attr]
            head = handle.read(size + 1)
        return head[:size], len(head) <= size

    def stream(self) -> io.BufferedIOBase | str:
        """What pyarrow's reader reads: the file's path, or the bytes."""
        return str(self.path) if self._content is None else io.BytesIO(self._content)


@dataclass
class CleanResult:
    """What :func:`prepare_customers` returns: clean rows, rejected rows, the report."""

    clean: pd.DataFrame
    rejected: pd.DataFrame
    report: dict[str, Any]


# --------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------


def _detect_encoding(content: bytes, source: str, complete: bool = True) -> str:
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
        final = complete and len(sample) == len(content)
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=final)
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


@dataclass(frozen=True)
class _Layout:
    """What the first lines of an export tell: encoding, delimiter, header, columns."""

    encoding: str
    delimiter: str
    fields: list[str]
    present: set[str]


def _inspect(content: bytes, source: str, complete: bool = True) -> _Layout:
    """Check the header; ``content`` may be only the file's head (``complete=False``)."""
    if not content.strip():
        raise CustomerDataError(
            f"{source}: the file is empty; expected the customer table with a header line"
        )
    encoding = _detect_encoding(content, source, complete)
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
    return _Layout(encoding, delimiter, fields, present)


def _read_info(content: bytes, source: str, layout: _Layout, ignored: list[str]) -> dict[str, Any]:
    return {
        "source": source,
        "encoding": layout.encoding,
        "byte_order_mark": layout.encoding in ("utf-8-sig", "utf-16"),
        "delimiter": {",": "comma", "\t": "tab", ";": "semicolon", "|": "pipe"}[layout.delimiter],
        "line_ends": "CRLF" if b"\r\n" in content[: 1 << 16] else "LF",
        "ignored_columns": ignored,
        "absent_optional_columns": [c for c in schema.OPTIONAL_COLUMNS if c not in layout.present],
    }


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
    layout = _inspect(content, source)
    table = _read_strings(content, source, layout.delimiter, layout.encoding)
    table.columns = [_CANONICAL.get(_normalise_name(str(c)), str(c)) for c in table.columns]
    ignored = [c for c in table.columns if c not in _CANONICAL.values()]
    table = table.drop(columns=ignored)
    if table.empty:
        raise CustomerDataError(f"{source}: the file has a header but no data rows")
    table.insert(0, "source_row", np.arange(1, len(table) + 1, dtype="int64"))
    info = _read_info(content, source, layout, ignored)
    logger.info(
        "Read %d rows from %s (%s-separated, %s)",
        len(table),
        source,
        info["delimiter"],
        layout.encoding,
    )
    return table, info


class _IrregularFile(Exception):
    """The streaming reader met something it cannot read; the whole-file reader diagnoses."""


def iter_customer_tables(
    raw: RawCustomerFile, chunk_rows: int
) -> Iterator[tuple[pd.DataFrame, dict[str, Any]]]:
    """Read an export in tables of about ``chunk_rows`` rows (as :func:`read_customer_table`).

    UTF-8 files are streamed with pyarrow's multithreaded CSV reader, so memory holds one
    chunk of strings at a time; ``source_row`` keeps counting across chunks. Other encodings
    are read whole.

    Raises:
        CustomerDataError: as :func:`read_customer_table`.
        _IrregularFile: the stream met an irregular line (raised before or after some chunks
            were yielded; the caller starts again with :func:`read_customer_table`).
    """
    source = raw.name
    content, complete = raw.head(_HEAD_BYTES)
    layout = _inspect(content, source, complete)
    if layout.encoding not in ("utf-8", "utf-8-sig"):
        yield read_customer_table(raw.content, source)
        return
    names = [f"c{i}" for i in range(len(layout.fields))]
    canonical = {
        name: _CANONICAL[_normalise_name(field)]
        for name, field in zip(names, layout.fields, strict=True)
        if _normalise_name(field) in _CANONICAL
    }
    ignored = [str(f).strip() for f in layout.fields if _normalise_name(f) not in _CANONICAL]
    info = _read_info(content, source, layout, ignored)
    try:
        reader = pacsv.open_csv(
            raw.stream(),
            read_options=pacsv.ReadOptions(
                column_names=names, skip_rows=1, block_size=_STREAM_BLOCK_BYTES
            ),
            parse_options=pacsv.ParseOptions(delimiter=layout.delimiter),
            convert_options=pacsv.ConvertOptions(
                column_types=dict.fromkeys(canonical, pa.string()),
                include_columns=list(canonical),
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowTypeError, UnicodeDecodeError, OSError) as error:
        raise _IrregularFile(str(error)) from error
    pending: list[pa.Table] = []
    rows = offset = 0
    while True:
        try:
            batch = reader.read_next_batch()
        except StopIteration:
            break
        except (pa.ArrowInvalid, pa.ArrowTypeError, UnicodeDecodeError) as error:
            raise _IrregularFile(str(error)) from error
        pending.append(pa.Table.from_batches([batch]))
        rows += batch.num_rows
        while rows >= chunk_rows:
            joined = pa.concat_tables(pending)
            yield _chunk_table(joined.slice(0, chunk_rows), canonical, offset), info
            offset += chunk_rows
            rows -= chunk_rows
            pending = [joined.slice(chunk_rows)]
    if rows:
        yield _chunk_table(pa.concat_tables(pending), canonical, offset), info
    elif offset == 0:
        raise CustomerDataError(f"{source}: the file has a header but no data rows")


def _chunk_table(rows: pa.Table, canonical: dict[str, str], offset: int) -> pd.DataFrame:
    table = rows.to_pandas().rename(columns=canonical)
    table.insert(0, "source_row", np.arange(offset + 1, offset + len(table) + 1, dtype="int64"))
    logger.info("Read rows %d..%d", offset + 1, offset + len(table))
    return table


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


def _arrow_strings(text: pd.Series) -> pa.Array | pa.ChunkedArray:
    """The strings of ``text`` as an Arrow array (no copy for Arrow-backed strings)."""
    return pa.array(text, from_pandas=True)


_NA_VALUES = pa.array(sorted(_NA_TOKENS))


def _is_missing(text: pd.Series) -> pd.Series:
    lowered = pc.ascii_lower(_arrow_strings(text.fillna("").astype(str)))
    mask = pc.is_in(lowered, value_set=_NA_VALUES)
    return pd.Series(mask.to_numpy(zero_copy_only=False), index=text.index)


def parse_numbers(text: pd.Series, missing: pd.Series | None = None) -> tuple[pd.Series, pd.Series]:
    """Parse trimmed strings as numbers.

    Args:
        text: trimmed strings.
        missing: :func:`_is_missing` of ``text`` when the caller has it already.

    Returns:
        The numbers (NaN where missing or unreadable) and a mask of the values that needed a
        repair (currency or thousands marks removed).
    """
    numbers, repaired, _ = _parse_numbers(text, missing, whole=False)
    return numbers, repaired


def _parse_numbers(
    text: pd.Series, missing: pd.Series | None, *, whole: bool
) -> tuple[pd.Series, pd.Series, bool]:
    """:func:`parse_numbers`, and whether every number is known to be a whole number."""
    if missing is None:
        missing = _is_missing(text)
    repaired = pd.Series(False, index=text.index)
    strings = _arrow_strings(text.fillna("").astype(str))
    cast = _cast_numbers(strings, pa.array(missing.to_numpy()), whole=whole)
    if cast is not None:
        values, all_whole = cast
        return pd.Series(values, index=text.index), repaired, all_whole
    numbers = pd.to_numeric(text, errors="coerce").astype("float64")
    failed = numbers.isna() & ~missing
    if failed.any():
        candidates = text[failed]
        marked = candidates.str.match(_NUMBER_WITH_MARKS)
        fixed = pd.to_numeric(
            candidates[marked].str.replace(r"[$€£,\s]", "", regex=True), errors="coerce"
        )
        numbers.loc[fixed.index] = fixed.astype("float64")
        repaired.loc[fixed.index[fixed.notna()]] = True
    return numbers, repaired, False


def _cast_numbers(
    strings: pa.Array | pa.ChunkedArray, nulls: pa.Array, *, whole: bool
) -> tuple[np.ndarray, bool] | None:
    """Arrow's casts (C++) of ``strings`` to numbers, ``nulls`` taken as missing (NaN): as
    whole numbers first when ``whole``, else (or then) as floats. Returns the float64 values
    and whether the whole-number cast succeeded; ``None`` when some value is not a plain number.
    """
    present = pc.if_else(nulls, pa.scalar(None, strings.type), strings)
    for arrow_type in (pa.int64(), pa.float64()) if whole else (pa.float64(),):
        try:
            values = pc.cast(present, arrow_type).to_numpy(zero_copy_only=False)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            continue
        return values.astype("float64", copy=False), arrow_type == pa.int64()
    return None


def _plain_numbers(raw: pd.Series, *, whole: bool) -> tuple[pd.Series, pd.Series] | None:
    """Numbers and the mask of empty fields when every value of ``raw`` (untrimmed) is a
    plain number (a whole one if ``whole``) or empty; ``None`` sends the column to the full
    check (trimming, missing-value tokens, repairs, per-value reasons).
    """
    strings = _arrow_strings(raw)
    if strings.null_count:
        return None
    empty = pc.equal(strings, "")
    cast = _cast_numbers(strings, empty, whole=whole)
    if cast is None or (whole and not cast[1]):
        return None
    numbers = pd.Series(cast[0], index=raw.index)
    if whole and np.abs(cast[0]).max(initial=0) > _LARGEST_WHOLE:
        return None  # not exact as float64: the full check rejects those values
    missing = pd.Series(empty.to_numpy(zero_copy_only=False), index=raw.index)
    return numbers, missing


class _Text(dict):
    """The trimmed text of a chunk's columns, each computed when first asked for."""

    def __init__(self, table: pd.DataFrame) -> None:
        super().__init__()
        self.table = table

    def __missing__(self, column: str) -> pd.Series:
        self[column] = value = _as_text(self.table[column])
        return value

    def __contains__(self, column: object) -> bool:
        return column != "source_row" and column in self.table.columns

    def raw(self, column: str) -> pd.Series:
        """The column as read (untrimmed)."""
        return self.table[column]


def _not_whole(numbers: pd.Series) -> pd.Series:
    values = numbers.to_numpy()
    with np.errstate(invalid="ignore"):
        odd = (np.floor(values) != values) | (np.abs(values) > _LARGEST_WHOLE)
    return pd.Series(odd & ~np.isnan(values), index=numbers.index)


def _two_digit_year(year: pd.Series, pivot: int) -> pd.Series:
    return year.where(year >= 100, np.where(year < pivot, 2000 + year, 1900 + year))


def parse_dates(
    text: pd.Series,
    ambiguous_order: str,
    two_digit_year_pivot: int,
    known_order: str | None = None,
) -> tuple[pd.Series, dict[str, Any]]:
    """Parse ``Dt_Customer`` values written in any of the shapes found in exports.

    Understood: ``dd-mm-yyyy``/``dd/mm/yyyy``/``dd.mm.yyyy``, month-first ``m/d/yyyy``,
    ISO ``yyyy-mm-dd``, ``d-Mon-yy`` and Excel serial numbers (days since 1899-12-30); a time
    of day after the date is ignored. The order of day and month is
    inferred from the column: a first field above 12 means day-first, a second field above 12
    means month-first; a column without either follows ``ambiguous_order`` and the returned
    info says so. ``known_order`` (the order earlier rows of the same file showed) overrides
    the inference.

    Returns:
        Timestamps (NaT where a value is not a date) and a dict describing the inference.
    """
    codes, uniques = pd.factorize(text)
    # A time of day after the date (spreadsheet exports write "04/09/2012 00:00") is dropped.
    values = pd.Series(uniques, dtype=str).str.replace(_TIME_OF_DAY, "", regex=True)
    parsed = pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns]")

    numeric = values.str.extract(r"^(\d{1,2})[-/.](\d{1,2})[-/.](\d{2}|\d{4})$").astype(float)
    first_big = int((numeric[0] > 12).sum())
    second_big = int((numeric[1] > 12).sum())
    if known_order is not None:
        order, decided_by = known_order, _EARLIER_ROWS
    elif first_big and second_big:
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
    table = pd.Series([*canonical.tolist(), ""], dtype=str)  # the last entry: missing values
    result = table.take(np.where(codes >= 0, codes, len(canonical))).set_axis(text.index)
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


@dataclass
class _Accumulator:
    """What the chunks of one file share: seen IDs, the date order, the parts, the counts."""

    params: DataProcessingParams
    source: str
    read_info: dict[str, Any]
    seen_ids: np.ndarray = field(default_factory=lambda: np.empty(0, dtype="int64"))
    seen_rows: np.ndarray = field(default_factory=lambda: np.empty(0, dtype="int64"))
    date_order: str | None = None
    date_info: dict[str, Any] = field(default_factory=dict)
    clean_parts: list[dict[str, np.ndarray]] = field(default_factory=list)
    missing_income_parts: list[np.ndarray] = field(default_factory=list)
    known_incomes: list[np.ndarray] = field(default_factory=list)
    rejected_parts: list[pd.DataFrame] = field(default_factory=list)
    repaired: Counter = field(default_factory=Counter)
    problems_by_rule: Counter = field(default_factory=Counter)
    excel_serial_dates: int = 0
    rows_in: int = 0
    # The accounting line's level: INFO for a file, DEBUG for one form row at a time.
    log_level: int = logging.INFO

    def earlier_ids(self, ids: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Which ``ids`` earlier chunks had, and the row where each was first seen; then
        remember the new ones (``ids`` unique within the chunk, ``rows`` their rows).
        """
        if len(self.seen_ids):
            pos = np.minimum(np.searchsorted(self.seen_ids, ids), len(self.seen_ids) - 1)
            hit = self.seen_ids[pos] == ids
            first = np.where(hit, self.seen_rows[pos], 0)
        else:  # the first chunk
            hit, first = np.zeros(len(ids), dtype=bool), np.zeros(len(ids), dtype="int64")
        order = np.argsort(ids[~hit], kind="stable")
        new_ids, new_rows = ids[~hit][order], rows[~hit][order]
        at = np.searchsorted(self.seen_ids, new_ids)
        self.seen_ids = np.insert(self.seen_ids, at, new_ids)
        self.seen_rows = np.insert(self.seen_rows, at, new_rows)
        return hit, first


def clean_customers(
    table: pd.DataFrame,
    read_info: dict[str, Any],
    params: DataProcessingParams,
    log_level: int = logging.INFO,
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Any]]:
    """Check every row of a table of strings, repair or reject it: the contract for rows that
    did not come from a file (the app's form), as :func:`prepare_customers` checks a file's.

    Args:
        table: string table with canonical columns and ``source_row``.
        read_info: what the reader detected, or where the rows came from (kept in the report).
        params: the ``data_processing`` parameters.
        log_level: of the accounting line (the app checks one form row at a time: DEBUG).

    Returns:
        ``clean``: typed rows in the Kaggle column order, ``Dt_Customer`` as datetime;
        ``rejected``: the original strings of every refused row with ``source_row``,
        ``reason_code`` and ``reason``; ``report``: the data quality report.
    """
    state = _Accumulator(params, str(read_info["source"]), read_info, log_level=log_level)
    _clean_chunk(table, state)
    return _finish(state)


def _clean_chunk(table: pd.DataFrame, state: _Accumulator) -> None:  # noqa: PLR0915
    """Check the rows of one chunk; add its clean rows, rejects and counts to ``state``."""
    params = state.params
    text = _Text(table)
    problems = _Problems(table.index)
    repaired = state.repaired
    out: dict[str, pd.Series] = {}

    # ID: present, whole, unique (within the chunk and against earlier chunks)
    ids, marks = parse_numbers(text[schema.ID])
    problems.add(
        ids.isna(), "missing_id", _message(text[schema.ID], "ID", "is missing or not a number")
    )
    odd_id = _not_whole(ids)
    problems.add(
        odd_id, "not_whole_number", _message(text[schema.ID], "ID", "is not a whole number")
    )
    if marks.any():
        repaired["ID: currency/thousands marks removed"] += int(marks.sum())
    valid_id = (ids.notna() & ~odd_id).to_numpy()
    whole_ids = np.where(valid_id, ids.fillna(0).to_numpy(), 0).astype("int64")
    rows = table["source_row"].to_numpy()
    repeat = pd.Series(whole_ids).where(valid_id).duplicated(keep="first").to_numpy() & valid_id
    first_here = valid_id & ~repeat
    earlier, earlier_row = state.earlier_ids(whole_ids[first_here], rows[first_here])
    dup = repeat.copy()
    dup[np.flatnonzero(first_here)[earlier]] = True
    if dup.any():
        # the row each ID was first seen at: an earlier chunk's, else this chunk's first
        first_row = pd.Series(rows, index=table.index)
        first_row[valid_id] = (
            first_row[valid_id].groupby(whole_ids[valid_id]).transform("first").to_numpy()
        )
        known = pd.Series(earlier_row[earlier], index=whole_ids[first_here][earlier])
        from_before = np.where(valid_id, pd.Series(whole_ids).map(known).to_numpy(), np.nan)
        first_row[~np.isnan(from_before)] = from_before[~np.isnan(from_before)].astype("int64")
        problems.add(
            pd.Series(dup, index=table.index),
            "duplicate_id",
            lambda rows: "duplicate ID, first seen at row " + first_row[rows].astype(str),
        )
    out[schema.ID] = ids

    # whole numbers that must be there
    for column in schema.REQUIRED_INTEGER_COLUMNS:
        out[column] = _check_number(text, column, problems, repaired, whole=True)

    # Income: missing handled by parameter (the median is the whole file's, see _finish)
    income_text = text["Income"]
    income = _check_number(text, "Income", problems, repaired, whole=False, required=False)
    missing_income = income.isna() & _is_missing(income_text)
    if params.missing_income == "drop":
        problems.add(missing_income, "missing_income", "Income is missing (missing_income: drop)")
    else:  # impute_median
        state.known_incomes.append(income[~missing_income].dropna().to_numpy())
    out["Income"] = income

    # optional 0/1 flags and constants
    for column in schema.OPTIONAL_COLUMNS:
        if column not in text:
            out[column] = pd.Series(0.0, index=table.index)
            continue
        out[column] = _check_number(text, column, problems, repaired, whole=True)
        if column in schema.FLAG_COLUMNS:
            bad_flag = out[column].notna() & ~out[column].isin([0, 1])
            problems.add(bad_flag, "bad_flag", _message(text[column], column, "is not 0 or 1"))

    # categories
    for column, known_values in (
        ("Education", schema.EDUCATION_LEVELS),
        ("Marital_Status", schema.MARITAL_STATUSES),
    ):
        missing = _is_missing(text[column])
        problems.add(missing, "missing_value", f"{column} is missing")
        values, changed = normalise_categories(text[column], known_values)
        changed &= ~missing
        if changed.any():
            repaired[f"{column}: trimmed/case-normalised"] += int(changed.sum())
        out[column] = values

    # dates: the order of day and month is the first decisive chunk's
    date_text = text[schema.DATE_COLUMN]
    dates, date_info = parse_dates(
        date_text,
        params.ambiguous_date_order,
        params.two_digit_year_pivot,
        known_order=state.date_order,
    )
    state.excel_serial_dates += int(date_info.pop("excel_serial_dates", 0))
    decisive = not date_info["date_order_decided_by"].startswith(_UNDECIDED)
    if state.date_order is None and decisive:
        state.date_order, state.date_info = date_info["date_order"], date_info
    elif not state.date_info:
        state.date_info = date_info
    problems.add(dates.isna(), "bad_date", _message(date_text, schema.DATE_COLUMN, "is not a date"))
    low, high = pd.Timestamp(params.min_customer_date), pd.Timestamp(params.max_customer_date)
    problems.add(
        dates.notna() & ~dates.between(low, high),
        "date_out_of_range",
        _message(date_text, schema.DATE_COLUMN, f"is outside {low.date()}..{high.date()}"),
    )
    out[schema.DATE_COLUMN] = dates

    # plausibility: birth year, income outliers
    year = out["Year_Birth"]
    min_year = params.min_birth_year
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
    max_income = params.max_income
    problems.add(
        income > max_income,
        "income_outlier",
        _message(income_text, "Income", f"is above max_income {max_income:,.0f}"),
    )

    bad = problems.any_mask().to_numpy()
    rejected = table.loc[bad].copy()
    code, reason = problems.reasons(rejected.index)
    rejected["reason_code"] = code
    rejected["reason"] = reason
    state.rejected_parts.append(rejected)
    for rule, mask in _group_rules(problems).items():
        state.problems_by_rule[rule] += int(mask.sum())
    state.rows_in += len(table)

    keep = ~bad
    part: dict[str, np.ndarray] = {}
    for column in schema.KAGGLE_COLUMNS:
        series = out.pop(column)
        if column in schema.CATEGORY_COLUMNS:
            part[column] = pa.array(series[keep], from_pandas=True)  # Arrow strings
            continue
        values = series.to_numpy()[keep]
        if column not in ("Income", schema.DATE_COLUMN):
            values = values.astype("int64")
        part[column] = values
    state.clean_parts.append(part)
    state.missing_income_parts.append(missing_income.to_numpy()[keep])


def _finish(state: _Accumulator) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Any]]:
    """Join the chunks' parts, impute incomes if asked, check the contract, write the report."""
    params = state.params
    policy = params.missing_income
    columns: dict[str, Any] = {}
    for column in schema.KAGGLE_COLUMNS:
        pieces = [part.pop(column) for part in state.clean_parts]
        if column in schema.CATEGORY_COLUMNS:
            columns[column] = pa.chunked_array(pieces, type=pa.large_string()).to_pandas()
        else:
            columns[column] = pieces[0] if len(pieces) == 1 else np.concatenate(pieces)
    state.clean_parts.clear()
    if policy == "impute_median":
        missing = np.concatenate(state.missing_income_parts)
        if missing.any():
            known = np.concatenate(state.known_incomes)
            columns["Income"] = np.where(missing, np.median(known), columns["Income"])
            state.repaired["Income: missing, imputed with the median"] += int(missing.sum())
    clean = pd.DataFrame(columns, copy=False)
    del columns
    rejected = pd.concat(state.rejected_parts, ignore_index=True)
    _check_contract(clean, params, state.source)

    date_info = dict(state.date_info)
    if state.excel_serial_dates:
        date_info["excel_serial_dates"] = state.excel_serial_dates
    report = {
        **state.read_info,
        **date_info,
        "rows_in": state.rows_in,
        "rows_clean": len(clean),
        "rows_rejected": len(rejected),
        "rejected_by_reason": {
            k: int(v) for k, v in rejected["reason_code"].value_counts().sort_index().items()
        },
        "problems_by_rule": dict(sorted(state.problems_by_rule.items())),
        "repaired": dict(state.repaired),
        "missing_income_policy": policy,
    }
    if report["rows_in"] != report["rows_clean"] + report["rows_rejected"]:  # pragma: no cover
        raise AssertionError("row accounting broken")
    logger.log(
        state.log_level,
        "%s: %d rows in, %d clean, %d rejected %s",
        state.source,
        report["rows_in"],
        report["rows_clean"],
        report["rows_rejected"],
        report["rejected_by_reason"],
    )
    return clean, rejected, report


def _check_contract(clean: pd.DataFrame, params: DataProcessingParams, source: str) -> None:
    """:func:`clean_schema` on every row, and ``ID`` unique across the whole table.

    ``inplace=True`` spares pandera's copy of the table: the schema coerces nothing, so
    nothing is changed.
    """
    contract = clean_schema(params)
    try:
        contract.validate(clean, inplace=True)
        if not clean[schema.ID].is_unique:
            raise pda.errors.SchemaError(contract, clean, "ID is not unique")
    except (pda.errors.SchemaError, pda.errors.SchemaErrors) as error:  # pragma: no cover
        raise CustomerDataError(
            f"{source}: the cleaned table breaks the data contract; this is a bug in the "
            f"cleaning rules, please report it with the file: {error}"
        ) from error


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
    text: _Text,
    column: str,
    problems: _Problems,
    repaired: Counter,
    *,
    whole: bool,
    required: bool = True,
) -> pd.Series:
    raw = text.raw(column)
    plain = _plain_numbers(raw, whole=whole)
    if plain is not None:  # every value a plain number or empty: no repair, nothing odd
        numbers, missing = plain
        if required:
            problems.add(missing, "missing_value", f"{column} is missing")
        problems.add(numbers < 0, "negative_value", _message(raw, column, "is negative"))
        return numbers
    trimmed = text[column]
    missing = _is_missing(trimmed)
    numbers, marks, all_whole = _parse_numbers(trimmed, missing, whole=whole)
    if required:
        problems.add(missing, "missing_value", f"{column} is missing")
    problems.add(
        numbers.isna() & ~missing, "not_a_number", _message(trimmed, column, "is not a number")
    )
    if whole and not all_whole:
        problems.add(
            _not_whole(numbers),
            "not_whole_number",
            _message(trimmed, column, "is not a whole number (or too large to be one)"),
        )
    problems.add(numbers < 0, "negative_value", _message(trimmed, column, "is negative"))
    if marks.any():
        repaired[f"{column}: currency/thousands marks removed"] += int(marks.sum())
    return numbers


def clean_schema(params: DataProcessingParams) -> pda.DataFrameSchema:
    """The contract every clean table meets (checked at the end of :func:`clean_customers`).

    Columns ``schema.KAGGLE_COLUMNS`` in that order: ``ID`` unique, whole numbers ``int64`` and
    not negative, flags 0/1, ``Income`` a float within ``0..max_income``, ``Dt_Customer`` a
    datetime within ``min_customer_date..max_customer_date``, ``Year_Birth`` from
    ``min_birth_year``, categories trimmed, non-empty strings.
    """
    low, high = pd.Timestamp(params.min_customer_date), pd.Timestamp(params.max_customer_date)
    columns: dict[str, pda.Column] = {}
    for column in schema.KAGGLE_COLUMNS:
        if column == schema.ID:
            columns[column] = pda.Column("int64", unique=True)
        elif column == "Income":
            columns[column] = pda.Column("float64", pda.Check.in_range(0, params.max_income))
        elif column == schema.DATE_COLUMN:
            columns[column] = pda.Column("datetime64[ns]", pda.Check.in_range(low, high))
        elif column in schema.CATEGORY_COLUMNS:
            columns[column] = pda.Column(str, pda.Check.str_length(min_value=1), nullable=False)
        elif column in schema.FLAG_COLUMNS:
            columns[column] = pda.Column("int64", pda.Check.isin([0, 1]))
        elif column == "Year_Birth":
            columns[column] = pda.Column("int64", pda.Check.ge(params.min_birth_year))
        else:
            columns[column] = pda.Column("int64", pda.Check.ge(0))
    return pda.DataFrameSchema(columns, strict=True, ordered=True, coerce=False)


def prepare_customers(raw: RawCustomerFile, params: DataProcessingParams) -> CleanResult:
    """Read and clean one export, ``params.chunk_rows`` rows at a time.

    Rows are checked chunk by chunk (memory holds one chunk of strings, not the whole file);
    duplicate IDs are found across chunks, the median for ``impute_median`` is the whole
    file's, and the report covers every row. A file the streaming reader cannot read (an
    irregular line, another encoding) is read whole by :func:`read_customer_table`, whose
    messages say what is wrong.
    """
    chunk_rows = params.chunk_rows
    try:
        state: _Accumulator | None = None
        for table, info in iter_customer_tables(raw, chunk_rows):
            state = state or _Accumulator(params, raw.name, info)
            _clean_chunk(table, state)
    except _IrregularFile as error:
        logger.debug("Streaming %s failed (%s); reading it whole", raw.name, error)
        table, info = read_customer_table(raw.content, raw.name)
        state = _Accumulator(params, raw.name, info)
        _clean_chunk(table, state)
    if state is None:  # pragma: no cover - iter_customer_tables yields or raises
        raise CustomerDataError(f"{raw.name}: the file has a header but no data rows")
    return CleanResult(*_finish(state))
