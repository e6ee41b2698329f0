"""The edge between the project's rules and the engine that runs them.

The rules (data contract, features, profiles, scoring) are narwhals expressions over lazy
frames; nodes receive and return the catalog's native frames: Polars DataFrames locally
(``conf/base``), Spark DataFrames with ``kedro run --env spark``. This module is the only place
that knows the difference: it turns native frames into narwhals ones, gathers small results to
the driver, and materialises the tables a node returns (collected at once on Polars, so shared
work is done once; cached and left lazy on Spark, which writes them itself).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable, Iterator, Sequence
from typing import Any

import narwhals as nw
import numpy as np
import pandas as pd


def lazy(native: Any) -> nw.LazyFrame:
    """A native frame (Polars DataFrame or LazyFrame, Spark DataFrame, pandas) as a narwhals
    LazyFrame.
    """
    if isinstance(native, pd.DataFrame):  # the app's and tests' small tables: run on Polars
        import polars as pl  # noqa: PLC0415 - the local engine

        native = pl.from_pandas(native)
    frame = nw.from_native(native)
    return frame if isinstance(frame, nw.LazyFrame) else frame.lazy()


def is_spark(frame: nw.LazyFrame) -> bool:
    """Whether ``frame`` runs on Spark (not on this process's own engine)."""
    return frame.implementation.is_pyspark() or frame.implementation.is_pyspark_connect()


def rows(frame: nw.LazyFrame) -> list[dict[str, Any]]:
    """A small result (aggregates, a sample) gathered to the driver, as Python rows."""
    return frame.collect(backend="polars").rows(named=True)


def first_row(frame: nw.LazyFrame) -> dict[str, Any]:
    """The one row of an aggregate."""
    (row,) = rows(frame)
    return row


def to_pandas(frame: nw.LazyFrame) -> pd.DataFrame:
    """A small result gathered to the driver as a pandas frame (figures, reports, the app)."""
    return frame.collect(backend="polars").to_pandas()


def to_pandas_table(data: Any) -> Any:
    """A Polars or Spark table loaded from the catalog as pandas (the app's display and
    figures); anything else (a model, a card, a pandas table) as it is.
    """
    if type(data).__module__.startswith(("polars", "pyspark")):
        return to_pandas(lazy(data))
    return data


def to_numpy(frame: nw.LazyFrame, columns: Sequence[str]) -> np.ndarray:
    """``columns`` of a gathered frame as a C-contiguous float64 matrix (what scikit-learn
    fits; contiguous, so every engine's rows give the same floating-point results).
    """
    gathered = frame.select(*(nw.col(c).cast(nw.Float64) for c in columns)).collect(
        backend="polars"
    )
    return np.ascontiguousarray(gathered.to_numpy(), dtype="float64")


def materialise(
    summary: nw.LazyFrame, tables: Sequence[nw.LazyFrame]
) -> tuple[dict[str, Any], list[Any]]:
    """Compute a one-row ``summary`` and the ``tables`` a node returns, once.

    On Polars all are collected together (work they share is done once) and the tables come
    back as DataFrames. On Spark the summary is gathered and the tables returned lazy for
    Spark to write: each computes again what it needs of a frame whose plan was cut
    (:func:`cut`). Caching the frame they share cost more than that at 1M rows (the
    contract's checked rows, ~200 columns: 68 s with the cache, 49 s without, ``local[2]``).

    Returns:
        The summary as a dict and the tables as native frames.
    """
    if is_spark(summary):
        return first_row(summary), [table.to_native() for table in tables]
    import polars as pl  # noqa: PLC0415 - the local engine

    collected = pl.collect_all([summary.to_native(), *(t.to_native() for t in tables)])
    return collected[0].row(0, named=True), list(collected[1:])


def cache(frame: nw.LazyFrame) -> nw.LazyFrame:
    """A frame several computations read: collected once on Polars, persisted on Spark."""
    if is_spark(frame):
        frame.to_native().persist()
        return frame
    return frame.collect(backend="polars").lazy()


def cut(frame: nw.LazyFrame, dropping: str | None = None) -> nw.LazyFrame:
    """On Spark, the frame computed and kept, with its plan cut (``localCheckpoint``): Spark's
    planner slows down sharply on plans with hundreds of columns built step by step; columns
    whose names start with ``dropping`` (intermediate values) are not kept. On Polars, the
    frame as it is (its optimiser handles the whole plan, and reads no column it does not
    need).
    """
    if not is_spark(frame):
        return frame
    native = frame.to_native()
    if dropping is not None:
        native = native.drop(*(c for c in native.columns if c.startswith(dropping)))
    return nw.from_native(native.localCheckpoint(eager=True))


# A whole number as an export writes it: an optional sign and ASCII digits (what Polars' own
# cast of a text to Int64 reads, within Int64's range).
_WHOLE_NUMBER = r"^[+-]?[0-9]+$"


def integers(frame: nw.LazyFrame, columns: dict[str, str]) -> nw.LazyFrame:
    """``frame`` with, per ``{name: text column}``, the text read as a whole number (Int64),
    null where it is not one (empty, a mark, a word, a decimal, beyond Int64's range): the
    typed read of the contract's number columns, the text rules left to the values it cannot
    read. One rule on both engines: an optional sign and digits, within Int64.

    Polars casts the text itself (at 1M rows and 26 columns, 0.1 s where a pattern over every
    value takes 0.25 s). Spark's cast also reads ``' 42'`` and ``'1.9'`` as whole numbers:
    there, a value is cast (``try_cast``: null beyond Int64) only where it is a sign and
    digits.
    """
    native = frame.to_native()
    if is_spark(frame):
        from pyspark.sql import functions as F  # noqa: PLC0415 - only with --env spark

        typed = {
            name: F.when(F.col(text).rlike(_WHOLE_NUMBER), F.col(text).try_cast("bigint"))
            for name, text in columns.items()
        }
        return nw.from_native(native.withColumns(typed)) if typed else frame
    import polars as pl  # noqa: PLC0415 - the local engine

    typed_polars = [
        pl.col(text).cast(pl.Int64, strict=False).alias(name) for name, text in columns.items()
    ]
    return nw.from_native(native.with_columns(typed_polars))


def held(frame: nw.LazyFrame, size: int) -> nw.LazyFrame:
    """On Polars, a frame of at most ``size`` rows read into memory, so that several passes
    over it read its source once; a larger frame (its first ``size + 1`` rows are read to tell)
    and a Spark frame as they are.
    """
    if is_spark(frame):
        return frame
    head = frame.head(size + 1).collect(backend="polars")
    return head.lazy() if len(head) <= size else frame


def slices(frame: nw.LazyFrame, rows: int, size: int) -> list[nw.LazyFrame]:
    """``frame`` in row slices of ``size`` (Polars: each read and checked in turn, so memory
    holds one slice); on Spark the frame itself (Spark partitions the work).
    """
    if is_spark(frame) or rows <= size:
        return [frame]
    native_frame = frame.to_native()
    return [nw.from_native(native_frame.slice(start, size)) for start in range(0, rows, size)]


def concat(tables: Sequence[Any]) -> Any:
    """Native tables of the same columns, one after the other (one table as it is)."""
    if len(tables) == 1:
        return tables[0]
    import polars as pl  # noqa: PLC0415 - slices exist on the local engine only

    return pl.concat(list(tables))


class Spill:
    """The row slices of one large table a node returns, kept on disk as they are computed.

    While there is one slice (a file of up to ``chunk_rows`` rows: most exports) it stays in
    memory. From the second slice on, each is written to a temporary Parquet file, and the
    table is their scan, lazy and in the slices' order: memory holds one slice, not the whole
    table (10 million customers' clean table is 2.4 GB), and the catalog streams the scan to
    its own file (``datasets.LazyParquetDataset``). The temporary files are removed when the
    process ends. Slices from Spark (one lazy frame) are never spilled.
    """

    def __init__(self) -> None:
        self._held: list[Any] = []
        self._files: list[str] = []
        self._folder: str | None = None

    def add(self, table: Any) -> None:
        """One more slice (a native table), after the ones added before."""
        self._held.append(table)
        if len(self._held) + len(self._files) > 1 and all(
            type(t).__module__.startswith("polars") for t in self._held
        ):
            for held in self._held:
                held.write_parquet(self._next_file(), compression="lz4", statistics=False)
            self._held = []

    def _next_file(self) -> str:
        if self._folder is None:
            import atexit  # noqa: PLC0415
            import shutil  # noqa: PLC0415
            import tempfile  # noqa: PLC0415

            self._folder = tempfile.mkdtemp(prefix="customer-segmentation-spill-")
            atexit.register(shutil.rmtree, self._folder, ignore_errors=True)
        self._files.append(f"{self._folder}/slice-{len(self._files):06d}.parquet")
        return self._files[-1]

    def table(self) -> Any:
        """The whole table: the one slice held, or the scan of the spilled ones (lazy)."""
        if not self._files:
            return concat(self._held)
        import polars as pl  # noqa: PLC0415 - spilled slices are the local engine's

        return pl.scan_parquet(self._files)


# Columns aggregated together by :func:`column_batches` on the local engine: memory holds this
# many columns of every row at a time (10M rows: 8 columns of 8 bytes are 640 MB).
COLUMN_BATCH = 8


def column_batches(frame: nw.LazyFrame, columns: Sequence[str]) -> list[list[str]]:
    """``columns`` in the groups a per-column aggregation over ``frame`` should read together:
    :data:`COLUMN_BATCH` at a time on Polars (one process's memory), all at once on Spark
    (each group is a job over the cluster's data).
    """
    columns = list(columns)
    if is_spark(frame) or not columns:
        return [columns]
    return [columns[i : i + COLUMN_BATCH] for i in range(0, len(columns), COLUMN_BATCH)]


def same_keys_in_order(frame: nw.LazyFrame, labels: nw.LazyFrame, key: str) -> bool:
    """Whether both give the same integer ``key`` values, strictly ascending, in the same rows:
    each key once, and each row of ``labels`` beside its row of ``frame``. The pipeline's own
    tables of customers are written in ID order (the model input, the segments), so this is the
    common case; checking it reads the two key columns (10M customers: 0.2 s), where the
    uniqueness checks and the join it spares hash them (3.4 s). Always ``False`` on Spark,
    which keeps no row order.
    """
    if is_spark(frame):
        return False
    keys = frame.select(key).collect(backend="polars").to_native().to_series()
    other = labels.select(key).collect(backend="polars").to_native().to_series()
    comparable = len(keys) == len(other) and keys.dtype == other.dtype and keys.dtype.is_integer()
    if not comparable or keys.null_count():
        return False
    return bool(keys.equals(other) and (len(keys) < 2 or (keys.diff().slice(1) > 0).all()))


def labelled(
    frame: nw.LazyFrame, labels: nw.LazyFrame, key: str, label: str, *, in_order: bool = False
) -> nw.LazyFrame:
    """The rows of ``frame`` that have a ``label`` in ``labels`` (one row per ``key``), with it.

    On Spark an inner join on ``key``. On Polars the join is done once on ``key`` alone, and
    the labels are set beside ``frame``'s rows in their order: whatever then reads some
    columns of ``frame`` holds those columns, not a join of all of them (10M customers'
    profiles: 1.7 GB instead of 4.1 GB). With ``in_order`` (:func:`same_keys_in_order` said
    so) there is nothing to join: the labels are set beside the rows as they come. ``frame``
    must give its rows in the same order each time it is read (a scan, a table in memory, a
    selection of one); Polars refuses labels of another length.
    """
    if is_spark(frame):
        return frame.join(labels.select(key, label), on=key)
    import polars as pl  # noqa: PLC0415 - the local engine

    native, labels_native = frame.to_native(), labels.to_native()
    if in_order:
        aligned = labels_native.select(label)
    else:
        aligned = native.select(key).join(
            labels_native.select(key, label), on=key, how="left", maintain_order="left"
        )
    series = aligned.select(label).collect().to_series()
    return nw.from_native(native.with_columns(pl.lit(series)).filter(pl.col(label).is_not_null()))


def left_join(frame: nw.LazyFrame, other: nw.LazyFrame, key: str) -> nw.LazyFrame:
    """Every row of ``frame`` with ``other``'s columns where ``key`` matches (null elsewhere):
    in ``frame``'s order on Polars; on Spark, which keeps no row order, a left join.
    """
    if is_spark(frame):
        return frame.join(other, on=key, how="left")
    joined = frame.to_native().join(other.to_native(), on=key, how="left", maintain_order="left")
    return nw.from_native(joined)


def shared(frame: nw.LazyFrame) -> nw.LazyFrame:
    """A frame several outputs of a node are derived from. Persisted on Spark (computed once);
    on Polars left lazy: each output computes it from the scan of the input file as it is
    written (:func:`streamed`), and memory never holds the whole frame.
    """
    if is_spark(frame):
        frame.to_native().persist()
    return frame


def streamed(frame: nw.LazyFrame) -> Any:
    """A large table a node returns, lazy on every engine: the catalog computes and writes it
    as a stream (Polars: ``datasets.LazyParquetDataset``; Spark writes lazy frames itself).
    """
    return frame.to_native()


def native(frame: nw.LazyFrame) -> Any:
    """The frame a node returns: collected on Polars (the catalog writes DataFrames), lazy
    on Spark.
    """
    if is_spark(frame):
        return frame.to_native()
    return frame.collect(backend="polars").to_native()


# A seeded sample that is the same on every engine (each engine's own sampler differs): rows in
# the order of a hash of their ID and the seed, the first ``size`` taken. The hash is two rounds
# of a multiplicative (Lehmer) generator modulo a prime, in integers below 2**62: exact on
# every engine, and no engine-specific hash function. The seed picks the first round's
# multiplier (a power of the primitive root 48271: every seed orders the IDs differently; a
# seed added to the product would only rotate one order, and neighbouring seeds would draw
# nearly the same rows).
_PRIME = 2_147_483_647  # 2**31 - 1
_ROOT, _SECOND = 48_271, 69_621
HASH = "_sample_hash"


def sample_hash(id_column: str, seed: int) -> nw.Expr:
    """A pseudo-random number in ``[0, 2**31 - 1)`` per ID, fixed by ``seed``."""
    multiplier = pow(_ROOT, 1 + seed % (_PRIME - 1), _PRIME)
    first = (nw.col(id_column).abs() % _PRIME) * multiplier % _PRIME
    return (first * _SECOND + 12_345) % _PRIME


def sample(frame: nw.LazyFrame, size: int, seed: int, id_column: str) -> nw.LazyFrame:
    """A seeded sample of ``size`` rows (all when fewer), in ``id_column`` order: the same
    rows on every engine. The rows with the smallest :func:`sample_hash` (ties by ID).
    """
    drawn = (
        frame.with_columns(**{HASH: sample_hash(id_column, seed)})
        .sort([HASH, id_column])
        .head(int(size))
        .drop(HASH)
    )
    return drawn.sort(id_column)


def gather(frame: nw.LazyFrame, size: int, seed: int, id_column: str) -> pd.DataFrame:
    """:func:`sample` gathered to this process as pandas (what figures and scikit-learn read):
    never more than ``size`` rows, whatever the rows of ``frame``.
    """
    return to_pandas(sample(frame, size, seed, id_column))


class Compiled:
    """A narwhals computation over small Polars tables of one schema, translated into a Polars
    plan once and run on each new table (the app's one customer: its data contract, features
    and score).

    Translating narwhals expressions into Polars ones costs about 10 µs an expression node on
    every call, whatever the rows: for one customer's ~400 rule, feature and score expressions
    that is most of the answer. Here the plan is built once over a placeholder source (Polars'
    IO-source plugin, ``polars.io.plugins.register_io_source``) that yields the table of the
    current call; a call only runs the plan. Calls run one at a time (a lock): each takes a
    few milliseconds. Plans run on Polars' in-memory engine (for a few rows the streaming
    engine's start costs more than the work). The same function gives the same result on the
    table directly (``tests/core/test_engine.py``).
    """

    def __init__(
        self, build: Callable[[nw.LazyFrame], Sequence[nw.LazyFrame]], *, optimize: bool = True
    ) -> None:
        """``build``: the computation, from the input frame to the frames it returns.
        ``optimize``: with Polars' query optimisations, redone on every call (worth it when the
        frames share work, which is then done once); without, a plan of a thousand expressions
        starts several milliseconds sooner.
        """
        self._build = build
        self._plans: dict[tuple[Any, ...], list[Any]] = {}
        self._table: Any = None
        self._lock = threading.Lock()
        self._optimize = optimize

    def _read(
        self, columns: list[str] | None, predicate: Any, n_rows: int | None, _batch: int | None
    ) -> Iterator[Any]:
        table = self._table
        if columns is not None:
            table = table.select(columns)
        if predicate is not None:
            table = table.filter(predicate)
        yield table if n_rows is None else table.head(n_rows)

    def _plan(self, table: Any, key: Hashable | None) -> list[Any]:
        if key is None:
            key = (tuple(table.columns), tuple(table.dtypes))  # cheaper than a Schema per call
        if key not in self._plans:
            from polars.io.plugins import register_io_source  # noqa: PLC0415 - the local engine

            source = register_io_source(self._read, schema=dict(table.schema))
            self._plans[key] = [f.to_native() for f in self._build(nw.from_native(source))]
        return self._plans[key]

    def __call__(self, table: Any, schema_key: Hashable | None = None) -> list[Any]:
        """The computation's frames for ``table`` (a Polars DataFrame), as Polars DataFrames.
        ``schema_key``: a name for the table's schema when the caller knows it (tables of one
        key have one schema): reading a wide table's schema takes longer than a small plan.
        """
        import polars as pl  # noqa: PLC0415 - the local engine

        flags = pl.QueryOptFlags() if self._optimize else pl.QueryOptFlags.none()
        with self._lock:
            plans = self._plan(table, schema_key)
            self._table = table
            try:
                return pl.collect_all(plans, engine="in-memory", optimizations=flags)
            finally:
                self._table = None


def row_count(frame: nw.LazyFrame) -> int:
    """The number of rows."""
    return int(first_row(frame.select(rows=nw.len()))["rows"])
