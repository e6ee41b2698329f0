"""The edge to the engine (``core/engine.py``): a computation compiled once gives what the same
computation gives on the table directly."""

from __future__ import annotations

import narwhals as nw
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from customer_segmentation.core import engine


def _computation(frame: nw.LazyFrame) -> list[nw.LazyFrame]:
    """Several frames from one input: new columns, a filter and sort, an aggregation, a join of
    the frame with a window over itself.
    """
    named = frame.with_columns(
        doubled=nw.col("x") * 2,
        label=nw.concat_str([nw.lit("row "), nw.col("name").fill_null("?")]),
        big=nw.when(nw.col("x") > 2).then(nw.lit("big")).otherwise(nw.lit("small")),
    )
    kept = named.filter(nw.col("x") > 1).sort("x", descending=True).select("name", "doubled")
    counts = named.select(
        rows=nw.len(), total=nw.col("x").sum(), missing=nw.col("name").null_count()
    )
    firsts = frame.with_columns(first=nw.col("x").min().over("name")).select("x", "first")
    joined = named.join(firsts, on="x", how="left").sort("x").select("x", "label", "first")
    return [named, kept, counts, joined]


TABLES = {
    "three_rows": pl.DataFrame({"x": [1, 2, 3], "name": ["a", None, "a"]}),
    "one_row": pl.DataFrame({"x": [5], "name": ["b"]}),
    "no_rows": pl.DataFrame({"x": [], "name": []}, schema={"x": pl.Int64, "name": pl.String}),
    "other_types": pl.DataFrame({"x": [1.5, 2.5], "name": ["c", "d"]}),
}


@pytest.mark.parametrize("optimize", [True, False], ids=["optimized", "unoptimized"])
def test_compiled_gives_what_the_computation_gives_directly(optimize):
    compiled = engine.Compiled(_computation, optimize=optimize)

    for table in [*TABLES.values(), TABLES["three_rows"]]:
        direct = [f.collect().to_native() for f in _computation(nw.from_native(table.lazy()))]
        for got, expected in zip(compiled(table), direct, strict=True):
            assert_frame_equal(got, expected)


def test_a_plan_is_compiled_once_per_schema():
    built = []

    def counted(frame: nw.LazyFrame) -> list[nw.LazyFrame]:
        built.append(frame)
        return _computation(frame)

    compiled = engine.Compiled(counted)
    for table in (TABLES["three_rows"], TABLES["one_row"], TABLES["three_rows"]):
        compiled(table)
    compiled(TABLES["other_types"])

    assert len(built) == 2, "one plan for the Int64 tables, one for the Float64 one"


# Texts of a number column, and what the typed read makes of them: whole numbers (a sign and
# digits) and nothing else; the rest is left to the text rules.
WRITTEN = {
    "58138": 58138,
    "0012": 12,
    "+5": 5,
    "-5": -5,
    "-0": 0,
    "123456789012345678": 123456789012345678,
    "0000000000000000000042": 42,
    "9223372036854775807": 9223372036854775807,  # the largest Int64
    "9223372036854775808": None,
    "": None,
    " 42": None,
    "42 ": None,
    "1.9": None,
    "5.0": None,
    "1e3": None,
    "$5": None,
    "1,200": None,
    "abc": None,
    "\u0663": None,  # an Arabic-Indic digit
    "99999999999999999999": None,
}


def test_the_typed_read_reads_whole_numbers_only():
    texts = [*WRITTEN, None]
    frame = nw.from_native(pl.LazyFrame({"x": texts}, schema={"x": pl.String}))

    read = engine.integers(frame, {"n": "x"}).collect().to_native()

    assert read["n"].to_list() == [*WRITTEN.values(), None]
    assert read["x"].to_list() == texts, "the text is kept for the text rules"


@pytest.mark.spark
def test_spark_types_the_same_whole_numbers(spark_session):
    """Spark's own cast reads ``' 42'`` and ``'1.9'`` as whole numbers: the typed read matches a
    sign and digits first, and reads what Polars reads (Int64's largest value too, and null
    beyond it).
    """
    rows = [(i, text) for i, text in enumerate([*WRITTEN, None])]
    frame = nw.from_native(spark_session.createDataFrame(rows, "i long, x string"))

    read = engine.rows(engine.integers(frame, {"n": "x"}).sort("i"))

    assert [row["n"] for row in read] == [*WRITTEN.values(), None]
