"""Project settings (Kedro defaults except where noted)."""

from omegaconf.resolvers import oc

from customer_segmentation.kedro_io.config_loader import ProjectConfigLoader
from customer_segmentation.kedro_io.figure_workers import FigureWorkersHook
from customer_segmentation.kedro_io.hooks import NodeTimingHook, ReleaseMemoryHook, SparkHooks
from customer_segmentation.kedro_io.runs import RunLockHook
from customer_segmentation.kedro_io.summary import RunSummaryHook
from customer_segmentation.kedro_io.versioning import ModelVersionHook
from customer_segmentation.pipeline_registry import model_datasets

# RunLockHook: one run at a time per data folder (taken before the others start, let go after
# they end): runs that share a folder cannot mix their tables.
# RunSummaryHook: says at the end what the run made (model, rows, segments, paths, next
# commands), or which node failed and why; after every hook but the lock's (trylast, registered
# second: pluggy calls the first-registered last).
# ModelVersionHook: every dataset of a model version is read and written under one stamp.
# NodeTimingHook: times every node (logged; JSON when CUSTOMER_SEGMENTATION_TIMINGS or
# --params node_timings_path=PATH is set), for benchmarks/run.py.
# ReleaseMemoryHook: returns freed memory to the system after nodes and saves (large tables).
# SparkHooks: starts a Spark session only when the environment has spark.yml (--env spark).
# FigureWorkersHook: figures are drawn in worker processes during a run (reporting.figure_workers);
# last, so that its after_pipeline_run (hooks run last-registered first) writes every figure
# before the others see the run as finished.
HOOKS = (
    RunLockHook(),
    RunSummaryHook(),
    ModelVersionHook(model_datasets),
    NodeTimingHook(),
    ReleaseMemoryHook(),
    SparkHooks(),
    FigureWorkersHook(),
)

# Kedro's OmegaConfigLoader, except that conf/local/credentials.yml is read in every
# environment (`kedro run --env database` finds its database URL there; see config_loader.py).
CONFIG_LOADER_CLASS = ProjectConfigLoader
CONFIG_LOADER_ARGS = {
    "base_env": "base",
    "default_run_env": "local",
    # conf/spark/spark.yml: the Spark session of `kedro run --env spark`.
    "config_patterns": {"spark": ["spark*", "spark*/**"]},
    # ${oc.env:NAME,default} in any file, not only credentials: conf/spark/ reads the cluster's
    # address (SPARK_MASTER, SPARK_REMOTE) and the shared data root (SPARK_DATA_ROOT) from the
    # environment, so the same environment runs on local[2] or on a team's cluster.
    "custom_resolvers": {"oc.env": oc.env},
}
