"""Reading an export with Spark (``kedro run --env spark``), with the session the caller hands
over (``RawCustomerFile(..., spark=session)``: the Kedro adapter that knows the run's engine);
the contract never starts or configures an engine.

The layout is sniffed from the file's head in Python (:mod:`layout`) and handed to Spark's CSV
reader as explicit options (delimiter, encoding, every column a string); ``source_row`` (the
data row's number in the file) comes from each partition's offset. Text, gzip/bz2 text named
``.gz``/``.bz2``, and Parquet are read by Spark itself; the other forms are refused with what
to do. PySpark is imported only here, when a file is read this way.
"""

from __future__ import annotations

from typing import Any

import narwhals as nw

from customer_segmentation.core.contract import containers
from customer_segmentation.core.contract.errors import CustomerDataError
from customer_segmentation.core.contract.layout import (
    CANONICAL,
    HEAD_BYTES,
    Layout,
    canonical_names,
    inspect,
    read_info,
)
from customer_segmentation.core.contract.reading import (
    SOURCE_ROW,
    RawTable,
    typed_table,
    with_info,
)
from customer_segmentation.core.contract.source import RawCustomerFile


def read_file(raw: RawCustomerFile, head: bytes, complete: bool, kind: str) -> RawTable:
    """Read an export with ``raw.spark``, the session handed over: text by Spark's CSV reader,
    Parquet by its Parquet reader, gzip and bz2 text by the CSV reader (it decompresses by the
    file's extension); ``head``: the file's first bytes, ``kind`` what they say it is.

    Raises:
        CustomerDataError: a form Spark does not read (what to do is said), or the header's
            problems (:func:`layout.inspect`).
    """
    if kind == containers.TEXT:
        return _read_text(raw, head, inspect(head, raw.name, complete))
    suffix = raw.path.suffix.lower() if raw.path is not None else ""
    if kind == containers.PARQUET:
        frame = raw.spark.read.parquet(str(raw.path))
        return typed_table(frame, {"source": raw.name, "format": containers.PARQUET})
    if kind in (containers.GZIP, containers.BZIP2) and suffix in (".gz", ".bz2"):
        head, complete = containers.decompressed_head(raw, kind, HEAD_BYTES)
        layout = inspect(head, raw.name, complete)
        return with_info(_read_text(raw, head, layout), compression=kind)
    raise CustomerDataError(
        f"{raw.name}: a {containers.FORMAT_NAMES.get(kind, kind)} file; Spark reads text "
        "exports (plain, or gzip/bz2 compressed with a .gz/.bz2 name) and Parquet: convert it to "
        "one of those, or run it with the local engine (kedro run without --env spark)"
    )


def _read_text(raw: RawCustomerFile, head: bytes, layout: Layout) -> RawTable:
    """A text export read by Spark's CSV reader with the layout's options."""
    from pyspark.sql.types import StringType, StructField, StructType  # noqa: PLC0415

    names = canonical_names(layout)
    frame = raw.spark.read.csv(
        str(raw.path),
        schema=StructType([StructField(n, StringType()) for n in names]),
        sep=layout.delimiter,
        encoding=layout.encoding.removesuffix("-sig"),
        header=True,
        quote='"',
        escape='"',
        mode="FAILFAST",
        enforceSchema=True,
        **({"lineSep": "\r"} if layout.line_ends == "CR" else {}),
    )
    keep = [n for n in names if n in CANONICAL.values()]
    strings = nw.from_native(source_rows(frame).select(SOURCE_ROW, *keep))
    return RawTable(strings, read_info(head, raw.name, layout))


def source_rows(frame: Any) -> Any:
    """A Spark DataFrame read from one file with ``source_row``: its row's 1-based number in the
    file, from each partition's offset (partitions follow the file's order;
    ``monotonically_increasing_id`` holds the partition in its upper bits and the row within
    it in the lower 33).
    """
    from pyspark.sql import functions as F  # noqa: PLC0415 - only with --env spark

    frame = frame.withColumn("_pid", F.spark_partition_id()).withColumn(
        "_within", F.monotonically_increasing_id().bitwiseAND((1 << 33) - 1)
    )
    sizes = frame.groupBy("_pid").count().collect()
    offsets, total = [], 0
    for row in sorted(sizes, key=lambda r: r["_pid"]):
        offsets.append((int(row["_pid"]), total))
        total += int(row["count"])
    starts = frame.sparkSession.createDataFrame(offsets or [(0, 0)], "_pid int, _offset long")
    return (
        frame.join(F.broadcast(starts), on="_pid")
        .withColumn(SOURCE_ROW, (F.col("_offset") + F.col("_within") + 1).cast("long"))
        .drop("_pid", "_within", "_offset")
    )
