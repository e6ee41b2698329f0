"""Reading a customer export: what the file is (encoding, delimiter, header), and the table of
strings the rules check.

The file's first megabyte is inspected in Python (encoding with or without byte-order mark,
delimiter by the header's column names, required columns, a different table such as "Mall
Customers"); then the engine reads the whole file as text, every value a string, under the
canonical column names, with ``source_row`` (the 1-based data row). Locally that engine is
Polars (:func:`read_file`, lazy: nothing is held until the rules run); ``contract.spark`` hands
Spark's reader the same options.
"""

from __future__ import annotations

import codecs
import csv
import io
from dataclasses import dataclass
from typing import Any

import narwhals as nw

from customer_segmentation import schema
from customer_segmentation.core.contract import containers, values
from customer_segmentation.core.contract.errors import CustomerDataError
from customer_segmentation.core.contract.source import RawCustomerFile

DELIMITERS = (",", "\t", ";", "|")
DELIMITER_NAMES = {",": "comma", "\t": "tab", ";": "semicolon", "|": "pipe"}
_MALL_CUSTOMERS_COLUMNS = {"customerid", "gender", "annual income (k$)", "spending score (1-100)"}
HEAD_BYTES = 1 << 20  # what is inspected before the engine reads the file
_HEADER_SHOWN = 12  # header fields quoted in a "missing columns" message
SOURCE_ROW = "source_row"


@dataclass(frozen=True)
class RawTable:
    """An export read as text: ``strings`` (a narwhals LazyFrame: ``source_row`` and the
    canonical columns the file has, every value a string or null) and ``info``, what reading
    found (source, encoding, delimiter, line ends, ignored and absent columns).
    """

    strings: nw.LazyFrame
    info: dict[str, Any]


def detect_encoding(content: bytes, source: str, complete: bool = True) -> str:
    """The encoding of ``content`` (the file's head when not ``complete``); a binary file is
    refused.
    """
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


def normalise_name(name: str) -> str:
    """A header field as compared with the column names (trimmed, unquoted, lower case)."""
    return name.strip().strip('"').strip("'").strip().lstrip("\ufeff").lower()


CANONICAL = {c.lower(): c for c in (*schema.REQUIRED_COLUMNS, *schema.OPTIONAL_COLUMNS)}


def _header_fields(first_line: str, delimiter: str) -> list[str]:
    return next(csv.reader([first_line], delimiter=delimiter), [])


def _detect_delimiter(first_line: str, source: str) -> tuple[str, list[str]]:
    best, best_hits, best_fields = ",", -1, []
    for delimiter in DELIMITERS:
        fields = _header_fields(first_line, delimiter)
        hits = sum(normalise_name(f) in CANONICAL for f in fields)
        if hits > best_hits:
            best, best_hits, best_fields = delimiter, hits, fields
    if best_hits <= 0:
        names = {normalise_name(f) for d in DELIMITERS for f in _header_fields(first_line, d)}
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


def check_header(fields: list[str], source: str) -> set[str]:
    """The canonical columns among a header's ``fields``.

    Raises:
        CustomerDataError: a required column is missing, or a column appears twice.
    """
    header = [normalise_name(str(f)) for f in fields]
    present = {CANONICAL[h] for h in header if h in CANONICAL}
    missing = [c for c in schema.REQUIRED_COLUMNS if c not in present]
    if missing:
        found = ", ".join(str(f).strip() for f in fields[:_HEADER_SHOWN])
        more = f" and {len(fields) - _HEADER_SHOWN} more" if len(fields) > _HEADER_SHOWN else ""
        raise CustomerDataError(
            f"{source}: {len(missing)} required column(s) missing: {', '.join(missing)} "
            f"(the header has: {found}{more})"
        )
    duplicated = sorted({h for h in header if header.count(h) > 1 and h in CANONICAL})
    if duplicated:
        raise CustomerDataError(
            f"{source}: column(s) appear more than once in the header: {', '.join(duplicated)}"
        )
    return present


@dataclass(frozen=True)
class Layout:
    """What the first lines of an export tell: encoding, delimiter, header, columns."""

    encoding: str
    delimiter: str
    fields: list[str]
    present: set[str]
    line_ends: str  # "LF", "CRLF" or "CR" (old Mac exports: the reader is told)

    @property
    def ignored(self) -> list[str]:
        """Header fields that are not columns of the customer table."""
        return [str(f).strip() for f in self.fields if normalise_name(f) not in CANONICAL]


def inspect(content: bytes, source: str, complete: bool = True) -> Layout:
    """Check the header; ``content`` may be only the file's head (``complete=False``)."""
    if not content.strip():
        raise CustomerDataError(
            f"{source}: the file is empty; expected the customer table with a header line"
        )
    encoding = detect_encoding(content, source, complete)
    text_sample = content[: 1 << 16].decode(encoding, errors="replace")
    text_sample = text_sample.lstrip("\ufeff")
    lines = [ln for ln in text_sample.splitlines() if ln.strip()]
    if not lines:
        raise CustomerDataError(
            f"{source}: the file holds no text (only a byte-order mark or blank space); "
            "expected the customer table with a header line"
        )
    delimiter, fields = _detect_delimiter(lines[0], source)
    present = check_header(fields, source)
    if "\n" not in text_sample and "\r" in text_sample:
        line_ends = "CR"
    else:
        line_ends = "CRLF" if "\r\n" in text_sample else "LF"
    return Layout(encoding, delimiter, fields, present, line_ends)


def read_info(content: bytes, source: str, layout: Layout) -> dict[str, Any]:
    """What reading found, for the data-quality report."""
    return {
        "source": source,
        "format": containers.TEXT,
        "encoding": layout.encoding,
        "byte_order_mark": layout.encoding in ("utf-8-sig", "utf-16"),
        "delimiter": DELIMITER_NAMES[layout.delimiter],
        "line_ends": layout.line_ends,
        "ignored_columns": layout.ignored,
        "absent_optional_columns": [c for c in schema.OPTIONAL_COLUMNS if c not in layout.present],
    }


_REGULAR = "not a regular table (a line has more fields than the header, or a quote is not closed)"


def read_file(raw: RawCustomerFile) -> RawTable:
    """Read an export with Polars, lazily: every value a string under its canonical name.

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
    if kind != containers.TEXT:
        return _read_container(raw, kind)
    layout = inspect(head, raw.name, complete)
    if raw.engine == "spark":
        return _read_spark(raw, head, layout)
    import polars as pl  # noqa: PLC0415 - the local engine, loaded when a file is read

    if layout.encoding in ("utf-8", "utf-8-sig") and raw.path is not None:
        source: Any = raw.path
    elif layout.encoding in ("utf-8", "utf-8-sig"):
        source = io.BytesIO(raw.content)
    else:
        source = io.BytesIO(raw.content.decode(layout.encoding).encode("utf-8"))
    names = _canonical_names(layout)
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
    keep = [SOURCE_ROW, *(n for n in names if n in CANONICAL.values())]
    strings = nw.from_native(frame).select(
        nw.col(SOURCE_ROW).cast(nw.Int64), *(nw.col(n) for n in keep[1:])
    )
    return RawTable(strings, read_info(head, raw.name, layout))


def _canonical_names(layout: Layout) -> list[str]:
    return [
        CANONICAL.get(normalise_name(field), f"_ignored_{i}")
        for i, field in enumerate(layout.fields)
    ]


def _read_spark(raw: RawCustomerFile, head: bytes, layout: Layout) -> RawTable:
    """Read an export with Spark: the layout sniffed from the file's head in Python, handed to
    Spark's CSV reader as explicit options (delimiter, encoding, every column a string), and
    ``source_row`` (the data row's number in the file) from each partition's offset: Spark
    splits a file into partitions in file order, and ``monotonically_increasing_id`` holds the
    partition (upper bits) and the row within it (lower 33 bits).
    """
    from pyspark.sql import SparkSession  # noqa: PLC0415 - only with --env spark
    from pyspark.sql.types import StringType, StructField, StructType  # noqa: PLC0415

    spark = SparkSession.builder.getOrCreate()
    names = _canonical_names(layout)
    schema_ = StructType([StructField(n, StringType()) for n in names])
    frame = spark.read.csv(
        str(raw.path),
        schema=schema_,
        sep=layout.delimiter,
        encoding=layout.encoding.removesuffix("-sig"),
        header=True,
        quote='"',
        escape='"',
        mode="FAILFAST",
        enforceSchema=True,
        **({"lineSep": "\r"} if layout.line_ends == "CR" else {}),
    )
    frame = _spark_source_rows(frame)
    keep = [n for n in names if n in CANONICAL.values()]
    strings = nw.from_native(frame.select(SOURCE_ROW, *keep))
    return RawTable(strings, read_info(head, raw.name, layout))


def _spark_source_rows(frame: Any) -> Any:
    """A Spark DataFrame read from one file with ``source_row``: its row's 1-based number in the
    file, from each partition's offset (partitions follow the file's order;
    ``monotonically_increasing_id`` holds the partition in its upper bits and the row within
    it in the lower 33).
    """
    from pyspark.sql import functions as F  # noqa: N812, PLC0415 - only with --env spark

    spark = frame.sparkSession
    frame = frame.withColumn("_pid", F.spark_partition_id()).withColumn(
        "_within", F.monotonically_increasing_id().bitwiseAND((1 << 33) - 1)
    )
    sizes = frame.groupBy("_pid").count().collect()
    offsets, total = [], 0
    for row in sorted(sizes, key=lambda r: r["_pid"]):
        offsets.append((int(row["_pid"]), total))
        total += int(row["count"])
    starts = spark.createDataFrame(offsets or [(0, 0)], "_pid int, _offset long")
    return (
        frame.join(F.broadcast(starts), on="_pid")
        .withColumn(SOURCE_ROW, (F.col("_offset") + F.col("_within") + 1).cast("long"))
        .drop("_pid", "_within", "_offset")
    )


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
    (:func:`check_header`), each value as text (:func:`as_text`), ``source_row`` the row's
    1-based position.

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
        numbered = nw.from_native(_spark_source_rows(frame))
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


def _with_info(table: RawTable, **found: Any) -> RawTable:
    return RawTable(table.strings, {**table.info, **found})


def _read_container(raw: RawCustomerFile, kind: str) -> RawTable:
    """A file that is not plain text (:func:`containers.kind_of`), read with the local engine;
    what is inside a compressed file or a zip is recognised again.
    """
    if raw.engine == "spark":
        return _read_spark_container(raw, kind)
    if kind in containers.DECOMPRESS:
        inner = read_file(RawCustomerFile(raw.name, containers.decompress(raw, kind)))
        return _with_info(inner, compression=kind)
    if kind == containers.ZIP:
        with containers.open_zip(raw) as archive:
            if containers.zip_kind(archive) == containers.WORKBOOK:
                return _read_workbook(raw, containers.WORKBOOK)
            member, content = containers.zip_member(archive, raw.name)
        inner = read_file(RawCustomerFile(raw.name, content))
        return _with_info(inner, compression=containers.ZIP, zip_member=member)
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


def _read_spark_container(raw: RawCustomerFile, kind: str) -> RawTable:
    """On Spark: Parquet by Spark's reader; gzip and bz2 text by Spark's CSV reader, which
    decompresses by the file's extension; other containers are refused with what to do.
    """
    from pyspark.sql import SparkSession  # noqa: PLC0415 - only with --env spark

    suffix = raw.path.suffix.lower() if raw.path is not None else ""
    if kind == containers.PARQUET:
        spark = SparkSession.builder.getOrCreate()
        frame = spark.read.parquet(str(raw.path))
        return typed_table(frame, {"source": raw.name, "format": containers.PARQUET})
    if kind in (containers.GZIP, containers.BZIP2) and suffix in (".gz", ".bz2"):
        head, complete = containers.decompressed_head(raw, kind, HEAD_BYTES)
        layout = inspect(head, raw.name, complete)
        return _with_info(_read_spark(raw, head, layout), compression=kind)
    raise CustomerDataError(
        f"{raw.name}: a {containers.FORMAT_NAMES.get(kind, kind)} file; Spark reads text "
        "exports (plain, or gzip/bz2 compressed with a .gz/.bz2 name) and Parquet: convert it to "
        "one of those, or run it with the local engine (kedro run without --env spark)"
    )
