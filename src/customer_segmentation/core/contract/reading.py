"""Reading a customer export: the table of strings the rules check.

What the file is comes from its first bytes (:mod:`containers`) and, for a text export, its
first lines (:mod:`layout`); then the engine reads the whole file as text, every value a
string, under the canonical column names, with ``source_row`` (the 1-based data row). Locally
that engine is Polars (:func:`read_file`, lazy: nothing is held until the rules run); with
``--env spark`` it is Spark's reader (:mod:`spark`), with the session the caller hands over.
Tables whose values arrive typed (Parquet, workbooks, a database table) are turned into the
same table of strings (:func:`typed_table`).
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import narwhals as nw

from customer_segmentation import schema
from customer_segmentation.core.contract import containers, values
from customer_segmentation.core.contract.errors import CustomerDataError
from customer_segmentation.core.contract.layout import (
    CANONICAL,
    HEAD_BYTES,
    canonical_names,
    check_header,
    inspect,
    normalise_name,
    read_info,
)
from customer_segmentation.core.contract.source import RawCustomerFile

SOURCE_ROW = "source_row"
_REGULAR = "not a regular table (a line has more fields than the header, or a quote is not closed)"
# What the engines' CSV readers say of a line they cannot split.
_READ_ERRORS = (
    "more fields than defined",
    "could not parse",
    "not properly escaped",
    "invalid csv",
    "MALFORMED",
    "malformed",
)


@dataclass(frozen=True)
class RawTable:
    """An export read as text: ``strings`` (a narwhals LazyFrame: ``source_row`` and the
    canonical columns the file has, every value a string or null) and ``info``, what reading
    found (source, encoding, delimiter, line ends, ignored and absent columns).
    """

    strings: nw.LazyFrame
    info: dict[str, Any]

    @property
    def columns(self) -> tuple[str, ...]:
        """The canonical columns the table has (``source_row`` aside)."""
        return tuple(c for c in self.strings.collect_schema().names() if c != SOURCE_ROW)


def read_file(raw: RawCustomerFile) -> RawTable:
    """Read an export with its engine, lazily: every value a string under its canonical name.

    UTF-8 files (with or without byte-order mark) are read from disk or memory as they are;
    other encodings are decoded once to UTF-8 first (Polars reads UTF-8).

    A compressed file, a workbook or a Parquet file is recognised by its first bytes and
    opened as :mod:`containers` says.

    Raises:
        CustomerDataError: the file is empty, binary, another table, or lacks required columns;
            an irregular line is found when the rules run (:func:`irregular`).
    """
    head, complete = raw.head(HEAD_BYTES)
    kind = containers.kind_of(head)
    if raw.engine == "spark":
        from customer_segmentation.core.contract import spark  # noqa: PLC0415 - --env spark

        return spark.read_file(raw, head, complete, kind)
    if kind != containers.TEXT:
        return _read_container(raw, kind)
    layout = inspect(head, raw.name, complete)
    import polars as pl  # noqa: PLC0415 - the local engine, loaded when a file is read

    if layout.encoding in ("utf-8", "utf-8-sig") and raw.path is not None:
        source: Any = raw.path
    elif layout.encoding in ("utf-8", "utf-8-sig"):
        source = io.BytesIO(raw.content)
    else:
        source = io.BytesIO(raw.content.decode(layout.encoding).encode("utf-8"))
    names = canonical_names(layout)
    frame = pl.scan_csv(
        source,
        separator=layout.delimiter,
        has_header=True,
        new_columns=names,
        infer_schema=False,
        eol_char="\r" if layout.line_ends == "CR" else "\n",
        row_index_name=SOURCE_ROW,
        row_index_offset=1,
    )
    keep = [n for n in names if n in CANONICAL.values()]
    strings = nw.from_native(frame).select(nw.col(SOURCE_ROW).cast(nw.Int64), *keep)
    return RawTable(strings, read_info(head, raw.name, layout))


def as_text(column: str, dtype: Any) -> nw.Expr:
    """A typed column as the text the rules read: dates ``yyyy-mm-dd``, whole floats without
    ``.0`` (``1957.0`` -> ``1957``), booleans ``1``/``0``, NaN as ``nan`` (a missing value).
    """
    value = nw.col(column)
    if dtype == nw.String:
        return value
    if dtype == nw.Date or isinstance(dtype, nw.Datetime):
        return value.dt.to_string("%Y-%m-%d").alias(column)
    if dtype == nw.Boolean:
        return value.cast(nw.Int64).cast(nw.String).alias(column)
    if dtype.is_float():
        whole = ~value.is_nan() & (value.abs() <= values.LARGEST_WHOLE) & (value.floor() == value)
        as_whole = nw.when(whole).then(value).otherwise(None).cast(nw.Int64).cast(nw.String)
        return nw.coalesce(as_whole, value.cast(nw.String)).alias(column)
    return value.cast(nw.String).alias(column)


def typed_table(frame: Any, info: dict[str, Any]) -> RawTable:
    """A table whose values arrive typed (Parquet, a workbook, a database table) as the rules'
    table of strings: columns matched to the canonical names as a file's header is
    (:func:`layout.check_header`), each value as text (:func:`as_text`), ``source_row`` the
    row's 1-based position.

    Args:
        frame: a native Polars (eager or lazy) or Spark DataFrame.
        info: what reading found (``source``, ``format``...), for the report.

    Raises:
        CustomerDataError: a required column is missing or appears twice.
    """
    source = str(info["source"])
    names = [str(n) for n in nw.from_native(frame).collect_schema().names()]
    present = check_header(names, source)
    if type(frame).__module__.startswith("pyspark"):
        from customer_segmentation.core.contract import spark  # noqa: PLC0415 - --env spark

        numbered = nw.from_native(spark.source_rows(frame))
    else:
        numbered = nw.from_native(frame.lazy().with_row_index(SOURCE_ROW, offset=1))
    dtypes = numbered.collect_schema()
    renamed = {n: CANONICAL[normalise_name(n)] for n in names if normalise_name(n) in CANONICAL}
    strings = numbered.select(
        nw.col(SOURCE_ROW).cast(nw.Int64),
        *(as_text(n, dtypes[n]).alias(renamed[n]) for n in names if n in renamed),
    )
    typed_info = {
        **info,
        "ignored_columns": [n for n in names if n not in renamed],
        "absent_optional_columns": [c for c in schema.OPTIONAL_COLUMNS if c not in present],
    }
    return RawTable(strings, typed_info)


def irregular(source: str, error: Exception) -> CustomerDataError:
    """The message for a file the engine could not read as a regular table."""
    detail = str(error).strip().splitlines()[0]
    return CustomerDataError(f"{source}: {_REGULAR}: {detail}")


def is_read_error(error: Exception) -> bool:
    """An error of the engine's CSV reader (a line it cannot split), not of the rules."""
    return any(sign in str(error) for sign in _READ_ERRORS)


@contextmanager
def read_errors_named(source: str) -> Iterator[None]:
    """Work that reads the file: an error of the engine's CSV reader becomes the message of
    :func:`irregular` (other errors pass unchanged).
    """
    try:
        yield
    except Exception as error:
        if is_read_error(error):
            raise irregular(source, error) from error
        raise


def with_info(table: RawTable, **found: Any) -> RawTable:
    """``table`` with more of what reading found."""
    return RawTable(table.strings, {**table.info, **found})


def _read_container(raw: RawCustomerFile, kind: str) -> RawTable:
    """A file that is not plain text (:func:`containers.kind_of`), read with the local engine;
    what is inside a compressed file or a zip is recognised again.
    """
    if kind in containers.DECOMPRESS:
        inner = read_file(RawCustomerFile(raw.name, containers.decompress(raw, kind)))
        return with_info(inner, compression=kind)
    if kind == containers.ZIP:
        with containers.open_zip(raw) as archive:
            if containers.zip_kind(archive) == containers.WORKBOOK:
                return _read_workbook(raw, containers.WORKBOOK)
            member, content = containers.zip_member(archive, raw.name)
        inner = read_file(RawCustomerFile(raw.name, content))
        return with_info(inner, compression=containers.ZIP, zip_member=member)
    if kind == containers.XLS:
        return _read_workbook(raw, containers.XLS)
    import polars as pl  # noqa: PLC0415 - the local engine

    source: Any = raw.path if raw.path is not None else io.BytesIO(raw.content)
    try:
        frame = pl.scan_parquet(source)
        frame.collect_schema()
    except (pl.exceptions.PolarsError, OSError) as error:
        raise CustomerDataError(
            f"{raw.name}: a Parquet file that cannot be read ({error}); is it complete?"
        ) from error
    return typed_table(frame, {"source": raw.name, "format": containers.PARQUET})


def _read_workbook(raw: RawCustomerFile, kind: str) -> RawTable:
    """The sheet of a workbook that holds the customer table (fully blank rows, which a
    spreadsheet shows as empty lines, are counted in the report, not checked).
    """
    import polars as pl  # noqa: PLC0415 - the local engine

    frame, sheet = containers.read_workbook(raw, kind, check_header)
    blank = pl.all_horizontal(pl.all().is_null() | (pl.all().str.strip_chars() == ""))
    blank_rows = int(frame.select(blank.sum()).item())
    frame = frame.filter(~blank)
    info = {"source": raw.name, "format": kind, "sheet": sheet}
    if blank_rows:
        info["blank_rows_skipped"] = blank_rows
    return typed_table(frame, info)
