"""The plan of a file: its whole-file facts from one scan, its row slices, and the spill of
their clean rows.

The rules need to know, before any row is checked, how the whole file is written (the date
order and shapes, each number column's decimal mark and form, the median income) and which
rows repeat an earlier row's ID (:mod:`facts`). All of it comes from one pass over the export:
one aggregation and the table of repeated IDs over the same scan (``pl.collect_all``: Polars
reads the file once). Then the rows are checked ``chunk_rows`` at a time (Polars: memory holds
one slice's helper columns, not the whole file's); the clean rows of a file of several slices
wait on disk (``engine.Spill``); Spark gets the whole frame as one slice and spreads the work
itself.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import narwhals as nw

from customer_segmentation import schema
from customer_segmentation.core import engine
from customer_segmentation.core.contract import accounting, facts
from customer_segmentation.core.contract.facts import Facts
from customer_segmentation.core.contract.reading import read_errors_named

if TYPE_CHECKING:
    from customer_segmentation.core.contract.apply import Contract

# What a slice's check gives: its counts, clean rows and rejected rows (native frames).
SliceCheck = Callable[[nw.LazyFrame, Facts, nw.LazyFrame | None], tuple[dict[str, Any], Any, Any]]


def whole_file_queries(frame: nw.LazyFrame, contract: Contract) -> list[nw.LazyFrame]:
    """The two queries of the whole-file pass over ``frame``: the aggregation of every count
    the facts are decided from (``contract.aggregations`` and the separators of every number
    column), and the rows that repeat an earlier row's ID (``facts.repeated_ids``).
    """
    prepared = facts.prepared(frame, contract.present)
    summary = prepared.select(**contract.aggregations, **contract.separators)
    return [summary, facts.repeated_ids(prepared)]


@dataclass(frozen=True)
class FilePlan:
    """A file's table of strings, its facts, its repeated rows and its slices' size."""

    frame: nw.LazyFrame
    facts: Facts
    repeats: nw.LazyFrame | None  # source_row and _first_row of each repeated ID; None: none
    source: str
    chunk_rows: int

    def slices(self) -> list[nw.LazyFrame]:
        """The file's rows ``chunk_rows`` at a time (Polars); the whole frame on Spark."""
        return engine.slices(self.frame, self.facts.rows, self.chunk_rows)

    def run(self, check_slice: SliceCheck) -> tuple[dict[str, int], Any, Any]:
        """Every slice through ``check_slice`` in turn: the counts added up, the clean rows
        (held, or spilled to disk from the second slice on) and the rejected rows, in file
        order.
        """
        parts, rejected, clean = [], [], engine.Spill()
        for part in self.slices():
            with read_errors_named(self.source):
                counts, clean_part, rejected_part = check_slice(part, self.facts, self.repeats)
            clean.add(clean_part)
            parts.append(counts)
            rejected.append(rejected_part)
        return accounting.summed(parts), clean.table(), engine.concat(rejected)

    def rule_rows(self, contract: Contract) -> dict[str, int]:
        """Each rule's rows over the whole file (``Contract.rule_rows`` on every slice), for the
        diagnosis: one more pass, paid only by a file that may stop.
        """
        parts = []
        for part in self.slices():
            with read_errors_named(self.source):
                parts.append(contract.rule_rows(part, self.facts, self.repeats))
        return accounting.summed(parts)


def plan_file(frame: nw.LazyFrame, contract: Contract, source: str) -> FilePlan:
    """The plan of a file read as ``frame`` (``reading.RawTable.strings``): its facts and
    repeated rows from one pass over the export (:func:`whole_file_queries`). A file of one
    slice is read once and held (``engine.held``): the pass and the rules read it from memory.

    Raises:
        CustomerDataError: the file has no data rows, or a line the reader cannot split.
    """
    with read_errors_named(source):
        frame = engine.held(frame, contract.params.chunk_rows)
        summary, ids = whole_file_queries(frame, contract)
        counts, (ids_native,) = engine.materialise(summary, [ids])
    found = facts.decide(counts, contract.present, contract.params, source)
    mark = found.reading.mark(schema.ID)
    repeats = engine.cache(facts.repeats(engine.lazy(ids_native), mark))
    # Most exports repeat no ID: their rows then need no join with the repeated ones.
    repeated = repeats if engine.row_count(repeats) else None
    return FilePlan(frame, found, repeated, source, contract.params.chunk_rows)
