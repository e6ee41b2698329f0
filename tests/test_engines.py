"""The same rules on two engines: ``kedro run`` (Polars) and ``kedro run --env spark`` give the
same quality report, rejects, features, centres and segments; the local run never starts a
JVM. Spark runs on a real cluster started on loopback for this module (a standalone master,
two workers and a Spark Connect server): the training pipelines on the real table through
``spark://``, and the whole project on the real table with broken rows, twenty times over,
through ``sc://`` with the driver's results capped (nothing full-size may come to the
driver). The unit tests elsewhere share one local[2]
session (``-m spark`` runs them all).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import psutil
import pytest
from conftest import (
    REAL_FILES,
    TRAINING_PIPELINES,
    copy_project,
    native_catalog,
    real_file,
    require_spark,
    run_project,
)
from model_projects import copy_run

from customer_segmentation.core import engine

# The loopback cluster is the benchmark's (benchmarks/spark_cluster.py): one launcher for both.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from spark_cluster import SparkCluster

os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")

pytestmark = [pytest.mark.slow, pytest.mark.spark, pytest.mark.usefixtures("spark")]

# Rows of the real table broken on purpose, one rule each (the rest of the table is real).
BROKEN = {
    3: {"Dt_Customer": "31-02-2013"},  # bad_date
    5: {"MntWines": "-4"},  # negative_value
    8: {"Income": "lots"},  # not_a_number
    9: {"Kidhome": "1.5"},  # not_whole_number
    12: {"Year_Birth": "1850"},  # birth_year_out_of_range
    15: {"Response": "7"},  # bad_flag
    20: {"Income": "$61,000"},  # repaired: marks removed
    21: {"Education": " graduation "},  # repaired: case
}


# The Connect run's table: the broken real table this many times, each copy's IDs shifted by
# COPY_IDS (44,840 rows), so that one column of all its customers is larger than what the
# capped driver may receive, while the samples and counts the project gathers are not.
COPIES, COPY_IDS = 20, 100_000
# The Connect server's driver takes at most this much of one action's results
# (spark.driver.maxResultSize): one column of the table's ~44,300 clean customers is ~350 kB.
# A broadcast join's table is gathered by the driver too: Spark broadcasts tables up to a
# threshold (10 MB by default, far below a driver's memory), here a quarter of the cap.
DRIVER_SETTINGS = {
    "spark.driver.maxResultSize": "256k",
    "spark.sql.autoBroadcastJoinThreshold": "64k",
}
# Every seeded sample at most 1,000 customers (the defaults exceed the table), the
# correlations' (16 columns) 500: the whole run also passes with half the cap (128 kB).
SMALL_SAMPLES = {
    "model_selection.sample_size": 1000,
    "model_selection.silhouette_sample_size": 1000,
    "model_selection.stability_sample_size": 800,
    "clustering.start_sample_size": 1000,
    "clustering.silhouette_sample_size": 1000,
    "clustering.dbscan.sample_size": 1000,
    "clustering.segment_stability.sample_size": 1000,
    "monitoring.drift.sample_size": 1000,
    "reporting.map_sample_size": 1000,
    "reporting.tsne.sample_size": 500,
    "reporting.eda.correlation_sample_size": 500,
}


def _broken_file(target: Path, copies: int = 1) -> Path:
    table = pd.read_csv(real_file(REAL_FILES[0]), dtype=str, keep_default_na=False)
    for row, changes in BROKEN.items():
        for column, value in changes.items():
            table.loc[row, column] = value
    duplicate = table.iloc[[30]]
    table = pd.concat([table, duplicate], ignore_index=True)  # duplicate_id
    ids = table["ID"].astype(int)
    table = pd.concat(
        [table.assign(ID=(ids + copy * COPY_IDS).astype(str)) for copy in range(copies)],
        ignore_index=True,
    )
    path = target / "broken.csv"
    table.to_csv(path, index=False)
    return path


CONTRACT_TABLES = ("customers", "rejected_customers", "customer_features")
EDA_TABLES = ("feature_summary", "feature_correlations", "missing_values", "category_counts")


def _tables(project: Path, env: str | None, trained: bool, eda: bool = False) -> dict[str, Any]:
    catalog = native_catalog(project, env=env)
    out = {name: catalog.load(name) for name in (EDA_TABLES if eda else ())}
    names = [*CONTRACT_TABLES, "customer_segments"] if trained else CONTRACT_TABLES
    for name in names:
        data = catalog.load(name)
        if hasattr(data, "toPandas"):
            data = data.toPandas()  # PySpark's pandas-3 warnings: filtered in pyproject.toml
        else:  # Polars: a DataFrame, or a lazy scan (customers, customer_features)
            data = engine.to_pandas_table(data)
        out[name] = data
    out["data_quality_report"] = catalog.load("data_quality_report")
    if trained:
        out["kmeans_model"] = catalog.load("kmeans_model")
    return out


@pytest.fixture(scope="module")
def cluster(spark: None, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """A standalone master and two workers (one core and 2 GB each) on loopback, its JVMs
    compiling with C1 only (short jobs on small tables: ``spark_cluster.QUICK_JIT``); at the end,
    every process it started (and their executors) is stopped.
    """
    root = tmp_path_factory.mktemp("cluster")
    started = SparkCluster(root, workers=2, cores=1, quick_jit=True).start()
    yield started
    running = started.pids()
    started.stop()
    left = [pid for pid in running if _alive(pid)]
    assert not left, f"Spark processes left running: {left}"


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _cluster_run(
    project: Path,
    raw: Path,
    cluster: SparkCluster,
    address: dict[str, str],
    pipelines: list[str] | None,
    params: dict[str, Any] | None = None,
) -> str:
    """``kedro run --env spark`` (``pipelines``, or all) on ``raw`` in its own process (this one
    holds the tests' local[2] session), pointed at the cluster by ``address`` (``SPARK_MASTER``
    or ``SPARK_REMOTE``), its data under an absolute ``SPARK_DATA_ROOT``, with ``params`` (dotted
    keys); the run's log.
    """
    env = {
        **cluster.environment(),
        **address,
        "SPARK_DATA_ROOT": str(project / "data" / "spark"),
        "KEDRO_DISABLE_TELEMETRY": "1",
        "COLUMNS": "300",  # the log's lines unwrapped
    }
    chosen = ["--pipelines", ",".join(pipelines)] if pipelines else []
    done = subprocess.run(
        [
            *(sys.executable, "-m", "kedro", "run", "--env", "spark", *chosen),
            *(
                "--params",
                ",".join(
                    f"{k}={v}" for k, v in {**(params or {}), "raw_customers_path": raw}.items()
                ),
            ),
        ],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    log = done.stdout + done.stderr
    assert done.returncode == 0, log[-4000:]
    return log


@pytest.fixture(scope="module")
def standalone_run(real_project, cluster, tmp_path_factory) -> tuple[dict, dict, str, dict]:
    """The real table through the training pipelines on Polars (the session's full
    ``real_project``) and on the standalone cluster (``spark://``, in a copy of it); the
    cluster run's log, and the applications each worker ran executors for. (The Connect run
    below runs every pipeline on the cluster.)
    """
    project = copy_run(real_project, tmp_path_factory.mktemp("engines_real") / "project")
    raw = real_file(REAL_FILES[0])
    log = _cluster_run(
        project, raw, cluster, {"SPARK_MASTER": cluster.master_url}, TRAINING_PIPELINES
    )
    # Each worker's folder holds one folder per application it ran executors for: this run's,
    # recorded before the Connect server (a second application) starts.
    apps = {w.name: sorted(p.name for p in w.iterdir()) for w in cluster.worker_dirs()}
    return _tables(project, None, True), _tables(project, "spark", True), log, apps


@pytest.fixture(scope="module")
def connect_run(cluster, standalone_run, tmp_path_factory) -> tuple[dict, dict, str, Path]:
    """The real table with broken rows (:data:`BROKEN`, and a repeated ID) :data:`COPIES` times,
    with :data:`SMALL_SAMPLES`, through the whole project (``kedro run``) locally and through
    a Spark Connect server on the cluster (``sc://``) whose driver takes at most
    256 kB of an action's results (:data:`DRIVER_SETTINGS`). It follows ``standalone_run``: the server's
    application holds the workers' cores while it lives. Also the project, for its data.
    """
    tmp = tmp_path_factory.mktemp("engines_connect")
    raw = _broken_file(tmp, COPIES)
    project = copy_project(tmp / "project")
    params = {**SMALL_SAMPLES, "raw_customers_path": str(raw)}
    run_project(project, params=params)
    address = cluster.start_connect(DRIVER_SETTINGS)
    log = _cluster_run(project, raw, cluster, {"SPARK_REMOTE": address}, None, SMALL_SAMPLES)
    local = _tables(project, None, trained=True, eda=True)
    return local, _tables(project, "spark", trained=True, eda=True), log, project


def _by(table: pd.DataFrame, column: str) -> pd.DataFrame:
    return table.sort_values(column).reset_index(drop=True)


def _same_contract(local: dict, spark: dict) -> None:
    report_l, report_s = local["data_quality_report"], spark["data_quality_report"]
    assert json.dumps(report_l, sort_keys=True) == json.dumps(report_s, sort_keys=True)
    # The local rejects are a CSV of text (source_row too); Spark's are Parquet.
    in_order = {"source_row": "int64"}
    rejected_l = _by(local["rejected_customers"].astype(in_order), "source_row").astype(str)
    rejected_s = _by(spark["rejected_customers"].astype(in_order), "source_row").astype(str)
    pd.testing.assert_frame_equal(rejected_l, rejected_s[rejected_l.columns])
    clean_l, clean_s = _by(local["customers"], "ID"), _by(spark["customers"], "ID")
    pd.testing.assert_frame_equal(
        clean_l.astype(str), clean_s[clean_l.columns].astype(str), check_dtype=False
    )
    features_l = _by(local["customer_features"], "ID")
    features_s = _by(spark["customer_features"], "ID")[features_l.columns]
    assert len(features_l) == report_l["rows_clean"]
    np.testing.assert_allclose(
        features_l.to_numpy(dtype="float64"),
        features_s.to_numpy(dtype="float64"),
        atol=1e-9,
        rtol=0,
    )


def test_bad_rows_get_the_same_reasons_and_features_through_spark_connect(connect_run) -> None:
    local, spark, _, _ = connect_run
    report = local["data_quality_report"]
    expected = {
        "bad_date",
        "negative_value",
        "not_a_number",
        "not_whole_number",
        "birth_year_out_of_range",
        "bad_flag",
        "duplicate_id",
    }
    assert expected <= set(report["rejected_by_reason"]), report["rejected_by_reason"]
    assert report["repaired"], "the repairs are counted"
    _same_contract(local, spark)


def _same_segments(local: dict, spark: dict, customers: int) -> None:
    _same_contract(local, spark)
    segments_l = _by(local["customer_segments"], "ID")
    segments_s = _by(spark["customer_segments"], "ID")
    assert len(segments_l) == customers == len(segments_s)
    assert (segments_l["ID"].to_numpy() == segments_s["ID"].to_numpy()).all()
    assert (segments_l["segment"].to_numpy() == segments_s["segment"].to_numpy()).all()
    np.testing.assert_allclose(segments_l["margin"], segments_s["margin"], atol=1e-9, rtol=0)
    centres_l = local["kmeans_model"].cluster_centers_
    centres_s = spark["kmeans_model"].cluster_centers_
    np.testing.assert_allclose(centres_l, centres_s, atol=1e-9, rtol=0)


def test_the_real_table_on_a_standalone_cluster_gives_the_local_segments(
    standalone_run, cluster
) -> None:
    local, spark, log, apps = standalone_run
    _same_segments(local, spark, 2212)
    assert f"Spark session on {cluster.master_url}" in log
    # Executors of this run's application ran in both workers' own folders.
    assert sorted(apps) == ["worker1", "worker2"]
    assert all(len(ran) == 1 for ran in apps.values()), apps


def test_the_real_table_through_spark_connect_gives_the_local_segments_on_a_capped_driver(
    connect_run, cluster
) -> None:
    local, spark, log, _ = connect_run
    # The broken rows are rejected (BROKEN: six rules and a repeated ID; two rows repaired).
    _same_segments(local, spark, local["data_quality_report"]["rows_clean"])
    assert local["data_quality_report"]["rows_clean"] > 44_000
    assert f"Spark Connect session on {cluster.connect_url}" in log
    assert "Spark session on" not in log  # no driver of its own: the server's runs the plans
    # The exploratory analysis, counted in the engine (its correlations on the seeded sample).
    for name in EDA_TABLES:
        pd.testing.assert_frame_equal(
            local[name], spark[name], check_exact=False, rtol=1e-9, atol=1e-12, obj=name
        )


def test_the_capped_driver_refuses_one_full_column_of_the_connect_runs_customers(
    connect_run, cluster
) -> None:
    """The cap is real: the project's run above passed under it, and gathering one column of
    all its customers (what the EDA did before it counted in the engine) is refused.
    """
    _, _, _, project = connect_run
    # customer_features under the run's SPARK_DATA_ROOT (conf/spark/catalog.yml).
    features = project / "data" / "spark" / "04_feature" / "customer_features.parquet"
    assert features.is_dir()
    code = (
        "import sys\n"
        "from pyspark.sql import SparkSession\n"
        f"spark = SparkSession.builder.remote({cluster.connect_url!r}).getOrCreate()\n"
        f"table = spark.read.parquet({str(features)!r})\n"
        "counts = table.groupBy('Income').count().toArrow()\n"
        "print('counted', counts.num_rows, table.count())\n"
        "table.select('Income').toArrow()\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=300
    )
    assert done.returncode != 0, done.stdout
    assert "maxResultSize" in done.stderr, done.stderr[-2000:]
    counted, rows = (int(n) for n in done.stdout.split()[-2:])
    assert counted < 3_000 and rows > 44_000, done.stdout


def test_the_local_run_never_starts_a_jvm(tmp_path) -> None:
    project = copy_project(tmp_path / "project")
    code = (
        "import sys\n"
        "from kedro.framework.session import KedroSession\n"
        "from kedro.framework.startup import bootstrap_project\n"
        f"bootstrap_project({str(project)!r})\n"
        f"with KedroSession.create(project_path={str(project)!r}) as s:\n"
        "    s.run(pipeline_names=['data_processing', 'feature_engineering'])\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('pyspark', 'py4j')))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=project, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip().splitlines()[-1] == "[]", done.stdout[-500:]


def test_ci_cannot_skip_the_spark_tests(monkeypatch):
    """Without PySpark or Java the Spark tests fail under CI=true and skip elsewhere."""
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="no-such-java .* CI must run the Spark"):
        require_spark(java="no-such-java")
    with pytest.raises(pytest.fail.Exception, match="no_such_pyspark .* CI must run the Spark"):
        require_spark(module="no_such_pyspark")
    monkeypatch.setenv("CI", "false")
    with pytest.raises(pytest.skip.Exception, match="skipped outside CI"):
        require_spark(java="no-such-java")
