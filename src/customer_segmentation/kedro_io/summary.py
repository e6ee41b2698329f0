"""A run that says what it made: one short summary at the end of every ``kedro run``.

What a person needs next, read from what the run wrote: the model version and its ``k``; rows
in, clean and rejected; each segment's name and size; where the report, the rejects, the scored
table and the drift report are; and the next commands. A failed run says first which node
failed and the one-line reason, before Kedro's traceback.

Only what the run's pipelines wrote is described (a ``--pipeline data_processing`` run has no
model; a scoring run has its own stamp and the model version it used).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from kedro.framework.hooks import hook_impl
from kedro.io import AbstractVersionedDataset
from kedro.pipeline import Node, Pipeline

from customer_segmentation.kedro_io.versioning import TRAINED_MODEL, path_at

logger = logging.getLogger(__name__)

NEXT_COMMANDS = (
    ("streamlit run app/streamlit_app.py", "the app: predict, score a file, explore, compare"),
    ("kedro viz run", "the lineage of every dataset"),
    ("kedro run --pipeline scoring --params new_customers_path=PATH", "score a new export"),
)
_LABEL = 10  # the width of the summary's labels


def one_line(error: BaseException) -> str:
    """The error's type and the first line of its message."""
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0]}" if text else type(error).__name__


def _shown(path: str) -> str:
    """``path`` relative to the working directory (the project) when inside it."""
    try:
        return os.path.relpath(path) if Path(path).resolve().is_relative_to(Path.cwd()) else path
    except ValueError:  # another drive
        return path


def _where(catalog: Any, name: str, stamp: str | None = None) -> str:
    """Where dataset ``name`` is stored (under ``stamp`` for a versioned one); a database table
    by its name.
    """
    dataset = catalog.get(name)
    if isinstance(dataset, AbstractVersionedDataset) and dataset._version is not None:
        found = path_at(dataset, stamp) if stamp else None
        return _shown(found if found is not None else str(dataset._filepath))
    if getattr(dataset, "_filepath", None) is not None:
        return _shown(str(dataset._filepath))
    table = dataset._describe().get("table_name") if hasattr(dataset, "_describe") else None
    return f"table {table}" if table else f"{name} (in memory)"


def _input(report: dict[str, Any], rejects: str) -> list[tuple[str, str]]:
    return [
        ("input", _shown(str(report["source"]))),
        (
            "rows",
            f"{report['rows_in']:,} in, {report['rows_clean']:,} clean, "
            f"{report['rows_rejected']:,} rejected",
        ),
        ("rejects", f"{rejects} (each with its reason)"),
    ]


def _segments(rows: list[tuple[int, str, int, float]]) -> list[tuple[str, str]]:
    return [
        ("segments" if i == 0 else "", f"{segment} {name}: {size:,} ({share:.0%})")
        for i, (segment, name, size, share) in enumerate(rows)
    ]


def _stamp(catalog: Any, name: str) -> str | None:
    """The stamp ``name`` is read and written under in this run: a model dataset's model version
    (pinned by the model version hook), else the run's own save version.
    """
    version = getattr(catalog.get(name), "_version", None)
    return None if version is None else version.load or version.save


def summary(catalog: Any, written: set[str]) -> list[str]:
    """The lines of the summary of a run that wrote the datasets ``written``: what it read,
    the model version, the segments, where the outputs are, and the next commands.
    """
    rows: list[tuple[str, str]] = []
    if "data_quality_report" in written:
        rows += _input(catalog.load("data_quality_report"), _where(catalog, "rejected_customers"))
    if "model_card" in written:
        card = catalog.load("model_card")
        done = "trained" if TRAINED_MODEL in written else "reported on"
        rows.append(
            (
                "model",
                f"{_stamp(catalog, 'model_card')} ({done}): k={card['k']}, "
                f"{card['training_rows']:,} customers, silhouette {card['silhouette']:.2f}",
            )
        )
        rows += _segments(
            [(s["segment"], s["name"], s["size"], s["share"]) for s in card["segments"]]
        )
    if "segmentation_report" in written:
        stamp = _stamp(catalog, "segmentation_report")
        rows.append(("report", _where(catalog, "segmentation_report", stamp)))
    if "drift_report" in written:
        stamp = _stamp(catalog, "drift_report")
        drift = catalog.load("drift_report")
        model = drift["model_version"]
        card = catalog.load("model_card", version=model)
        names = {s["segment"]: s["name"] for s in card["segments"]}
        rows.append(("scoring", f"{stamp}, with model version {model}"))
        rows += _input(
            catalog.load("new_data_quality_report"),
            _where(catalog, "new_rejected_customers", stamp),
        )
        rows += _segments(
            [
                (s["segment"], names[s["segment"]], s["count_new"], s["share_new"])
                for s in drift["segments"]
            ]
        )
        rows.append(("scored", _where(catalog, "scored_customers", stamp)))
        rows.append(("drift", drift["sentence"]))
        rows.append(("", _where(catalog, "drift_report_html", stamp)))
    if not rows:
        return []
    rows += [
        ("next" if i == 0 else "", f"{c}   ({what})") for i, (c, what) in enumerate(NEXT_COMMANDS)
    ]
    return [f"  {label:<{_LABEL}}{value}" for label, value in rows]


class RunSummaryHook:
    """Logs :func:`summary` when a run ends, or which node failed and why when it fails.

    The failed node is the one whose function raised (``on_node_error``), or else the last one
    that started loading or saving (a load or a save that failed: Kedro's runner is sequential).
    """

    def __init__(self) -> None:
        self._node: str | None = None
        self._failed: tuple[str, BaseException] | None = None

    @hook_impl
    def before_pipeline_run(self) -> None:
        """A new run: nothing started, nothing failed."""
        self._node, self._failed = None, None

    def _started(self, node: Node) -> None:
        self._node = node.name

    @hook_impl
    def before_dataset_loaded(self, node: Node) -> None:
        """A node starts loading its inputs."""
        self._started(node)

    @hook_impl
    def before_node_run(self, node: Node) -> None:
        """A node starts."""
        self._started(node)

    @hook_impl
    def before_dataset_saved(self, node: Node) -> None:
        """A node starts saving its outputs."""
        self._started(node)

    @hook_impl
    def on_node_error(self, error: Exception, node: Node) -> None:
        """Remember the first node whose function failed."""
        if self._failed is None:
            self._failed = (node.name, error)

    @hook_impl(trylast=True)
    def after_pipeline_run(self, pipeline: Pipeline, catalog: Any) -> None:
        """Log what the run made."""
        lines = summary(catalog, pipeline.all_outputs())
        if lines:
            logger.info("The run made:\n%s", "\n".join(lines))

    @hook_impl(trylast=True)
    def on_pipeline_error(self, error: Exception) -> None:
        """Say which node failed and why, before Kedro prints the traceback."""
        node, cause = self._failed or (self._node, error)
        logger.error("The run failed at node %s: %s", node or "(before any node)", one_line(cause))
