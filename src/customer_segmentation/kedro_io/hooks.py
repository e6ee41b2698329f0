"""Kedro hooks of the project.

:class:`NodeTimingHook` measures every node of a run: the time spent in the node function, the
time spent loading its inputs and saving its outputs through the catalog, the process's resident
memory after the node and its peak so far. Each node's figures are logged; when a path is given
they are also written as JSON at the end of the run (or when it fails), for the benchmark in
``benchmarks/run.py``:

    CUSTOMER_SEGMENTATION_TIMINGS=/tmp/timings.json kedro run
    kedro run --params node_timings_path=/tmp/timings.json

The hook runs in the process that runs the nodes, so it measures ``SequentialRunner`` and
``ThreadRunner`` runs; under ``ParallelRunner`` each worker process has its own copy.
"""

from __future__ import annotations

import json
import logging
import os
import resource
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil
from kedro.framework.hooks import hook_impl
from kedro.pipeline import Node

logger = logging.getLogger(__name__)

TIMINGS_ENV_VAR = "CUSTOMER_SEGMENTATION_TIMINGS"
TIMINGS_PARAM = "node_timings_path"
_BYTES_PER_MB = 1024 * 1024
# ru_maxrss is in kilobytes on Linux and in bytes on macOS.
_MAXRSS_UNIT = 1 if sys.platform == "darwin" else 1024


def peak_rss_mb() -> float:
    """The process's peak resident memory so far, in MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * _MAXRSS_UNIT / _BYTES_PER_MB


class NodeTimingHook:
    """Times every node (compute, input loading, output saving) and tracks memory."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._reset()

    def _reset(self) -> None:
        self.records: list[dict[str, Any]] = []
        self.datasets: dict[str, dict[str, float]] = {}
        self.path: Path | None = None
        self.run_id: str | None = None
        self.runner: str | None = None
        self._run_started = time.perf_counter()
        self._node_started: dict[str, float] = {}
        self._io_started: dict[tuple[str, str], float] = {}
        self._io: dict[str, dict[str, float]] = {}

    @hook_impl
    def before_pipeline_run(self, run_params: dict[str, Any]) -> None:
        """Start a fresh record; find where to write it (parameter first, then env var)."""
        with self._lock:
            self._reset()
            runtime = run_params.get("runtime_params") or {}
            target = runtime.get(TIMINGS_PARAM) or os.environ.get(TIMINGS_ENV_VAR)
            self.path = Path(target) if target else None
            self.run_id = run_params.get("run_id") or run_params.get("session_id")
            # Kedro passes str(runner): "<module.Class object at 0x...>"; keep "module.Class".
            self.runner = str(run_params.get("runner", "")).strip("<>").split(" object at ")[0]

    def _io_start(self, kind: str, dataset_name: str, node: Node) -> None:
        with self._lock:
            self._io_started[(kind, f"{node.name}/{dataset_name}")] = time.perf_counter()

    def _io_end(self, kind: str, dataset_name: str, node: Node) -> None:
        now = time.perf_counter()
        with self._lock:
            started = self._io_started.pop((kind, f"{node.name}/{dataset_name}"), now)
            seconds = now - started
            per_node = self._io.setdefault(node.name, {"load_seconds": 0.0, "save_seconds": 0.0})
            per_node[f"{kind}_seconds"] += seconds
            per_dataset = self.datasets.setdefault(
                dataset_name, {"load_seconds": 0.0, "save_seconds": 0.0}
            )
            per_dataset[f"{kind}_seconds"] += seconds

    @hook_impl
    def before_dataset_loaded(self, dataset_name: str, node: Node) -> None:
        """Start timing one input load."""
        self._io_start("load", dataset_name, node)

    @hook_impl
    def after_dataset_loaded(self, dataset_name: str, node: Node) -> None:
        """Stop timing one input load."""
        self._io_end("load", dataset_name, node)

    @hook_impl
    def before_dataset_saved(self, dataset_name: str, node: Node) -> None:
        """Start timing one output save."""
        self._io_start("save", dataset_name, node)

    @hook_impl
    def after_dataset_saved(self, dataset_name: str, node: Node) -> None:
        """Stop timing one output save."""
        self._io_end("save", dataset_name, node)

    @hook_impl
    def before_node_run(self, node: Node) -> None:
        """Start the node's clock (its inputs are loaded by now)."""
        with self._lock:
            self._node_started[node.name] = time.perf_counter()

    @hook_impl
    def after_node_run(self, node: Node) -> None:
        """Stop the node's clock (its outputs are not saved yet) and log the figures."""
        now = time.perf_counter()
        with self._lock:
            record = {
                "node": node.name,
                "pipeline": node.namespace or "",
                "seconds": now - self._node_started.pop(node.name, now),
                "rss_mb_after": psutil.Process().memory_info().rss / _BYTES_PER_MB,
                "peak_rss_mb_so_far": peak_rss_mb(),
            }
            self.records.append(record)
        logger.info(
            "Node %s ran in %.2f s (process peak memory so far %.0f MB)",
            node.name,
            record["seconds"],
            record["peak_rss_mb_so_far"],
        )

    def summary(self, error: BaseException | None = None) -> dict[str, Any]:
        """Everything recorded in this run: one entry per node in the order they ran, with
        ``seconds`` (node function), ``load_seconds`` and ``save_seconds`` (catalog I/O),
        ``rss_mb_after`` and ``peak_rss_mb_so_far``; per-dataset I/O; the run's wall time.
        """
        with self._lock:
            nodes = [
                {
                    **record,
                    **self._io.get(record["node"], {"load_seconds": 0.0, "save_seconds": 0.0}),
                }
                for record in self.records
            ]
            return {
                "run_id": self.run_id,
                "runner": self.runner,
                "completed": error is None,
                "error": None if error is None else f"{type(error).__name__}: {error}",
                "pipeline_seconds": time.perf_counter() - self._run_started,
                "peak_rss_mb": peak_rss_mb(),
                "nodes": nodes,
                "datasets": dict(sorted(self.datasets.items())),
            }

    def _write(self, error: BaseException | None = None) -> None:
        summary = self.summary(error)
        slowest = sorted(summary["nodes"], key=lambda r: r["seconds"], reverse=True)[:3]
        logger.info(
            "Pipeline ran in %.1f s; slowest nodes: %s",
            summary["pipeline_seconds"],
            ", ".join(f"{r['node']} {r['seconds']:.1f} s" for r in slowest),
        )
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(json.dumps(summary, indent=2))
        logger.info("Node timings written to %s", self.path)

    @hook_impl
    def after_pipeline_run(self) -> None:
        """Log the slowest nodes and write the timings when a path was given."""
        self._write()

    @hook_impl
    def on_pipeline_error(self, error: Exception) -> None:
        """Write what was measured up to the failure."""
        self._write(error)


class ReleaseMemoryHook:
    """Hands memory freed by a node back to the system after each node, load and save, once
    the process holds more than ``above_mb`` of resident memory.

    pandas and pyarrow free a node's tables when it ends, but the allocators keep the pages
    for reuse (pyarrow's mimalloc pool, glibc's heap), so the process would hold the largest
    node's tables for the rest of the run. With 10 million customers that is gigabytes that the
    next nodes cannot use. Below ``above_mb`` the pages are kept: the next node would only
    fault them in again (measured in benchmarks/README.md).
    """

    def __init__(self, above_mb: float = 2048, resident: Callable[[], int] | None = None) -> None:
        """``resident``: the process's resident memory in bytes (default: psutil's RSS)."""
        self._malloc_trim = _find_malloc_trim()
        self._above = above_mb * 2**20
        process = psutil.Process()
        self._resident = resident or (lambda: process.memory_info().rss)

    def release(self) -> bool:
        """Return unused pages of pyarrow's pool and of the C heap to the system, if the
        process holds more than ``above_mb``; whether it did.
        """
        if self._resident() <= self._above:
            return False
        import pyarrow as pa  # noqa: PLC0415 - only when a run gets here

        pa.default_memory_pool().release_unused()
        if self._malloc_trim is not None:
            self._malloc_trim(0)
        return True

    @hook_impl
    def before_node_run(self) -> None:
        """Release what the previous node's outputs held once the runner let them go."""
        self.release()

    @hook_impl
    def after_node_run(self) -> None:
        """Release what the node freed."""
        self.release()

    @hook_impl
    def after_dataset_loaded(self) -> None:
        """Release what reading the dataset (Arrow's buffers for Parquet) freed."""
        self.release()

    @hook_impl
    def after_dataset_saved(self) -> None:
        """Release what writing the dataset (e.g. Arrow's copy for Parquet) freed."""
        self.release()


def _find_malloc_trim() -> Any:
    """The C library's ``malloc_trim`` (glibc), or ``None`` where the C library has none (macOS, musl)."""
    try:
        import ctypes.util  # noqa: PLC0415

        name = ctypes.util.find_library("c")
        return ctypes.CDLL(name).malloc_trim if name else None
    except (OSError, AttributeError):
        return None


class SparkHooks:
    """Starts the Spark session of a run whose environment has ``spark.yml``
    (``kedro run --env spark``); any other run never starts a JVM.

    The session is configured from ``spark.yml`` (``spark.master``, executors, ...). Two
    settings are always applied because the rules depend on them: the session time zone is UTC
    (dates are dates, not instants) and ANSI mode is on (an overflow or a bad cast raises
    instead of giving null).
    """

    @hook_impl
    def after_context_created(self, context: Any) -> None:
        """Build the session from the environment's ``spark.yml``, if it has one."""
        try:
            settings = dict(context.config_loader["spark"] or {})
        except Exception:
            return
        if not settings:
            return
        start_spark(settings)


def start_spark(settings: dict[str, Any]) -> Any:
    """The run's Spark session from ``settings`` (``spark.yml``'s keys), in UTC with ANSI on.

    With ``spark.remote`` set to ``sc://HOST:PORT`` (``conf/spark/spark.yml`` reads it from
    PySpark's ``SPARK_REMOTE`` variable), it is a Spark Connect session: the server owns the cluster's settings (master, memory,
    executors), so only the session's SQL settings (``spark.sql.*``, ``spark.python.sql.*``)
    are sent. Otherwise it is a classic session whose driver runs in this process, on
    ``spark.master`` (``local[2]``, or a cluster such as ``spark://HOST:PORT``).
    """
    from pyspark import SparkConf  # noqa: PLC0415 - only with --env spark
    from pyspark.sql import SparkSession  # noqa: PLC0415

    settings = {str(k): str(v) for k, v in settings.items() if v is not None}
    settings["spark.sql.session.timeZone"] = "UTC"
    settings["spark.sql.ansi.enabled"] = "true"
    remote = settings.pop("spark.remote", None)
    if remote:
        sql = {
            k: v for k, v in settings.items() if k.startswith(("spark.sql.", "spark.python.sql."))
        }
        spark = SparkSession.builder.remote(remote).config(map=sql).getOrCreate()
        logger.info("Spark Connect session on %s", remote)
        return spark
    if settings.get("spark.driver.bindAddress") == "127.0.0.1":
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    conf = SparkConf().setAll(list(settings.items()))
    session = SparkSession.builder.appName("customer-segmentation").config(conf=conf)
    spark = session.getOrCreate()
    spark.sparkContext.setLogLevel("WARN")
    logger.info("Spark session on %s", spark.sparkContext.master)
    return spark
