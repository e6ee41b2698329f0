"""Benchmark: the full ``kedro run`` against a plain pandas + scikit-learn script.

For the table given with ``--real-table PATH`` (a customer export in the Kaggle schema, comma-,
tab- or semicolon-separated) and for every ``--rows N``:

1. (``--rows``) generate N customers in the Kaggle schema with the project's generator (seeded)
   into a work folder outside the repository (reused when it already exists);
2. run ``kedro run --params raw_customers_path=...`` in a copy of the project, as a child
   process, and record its wall time, peak memory and the time of every node
   (``customer_segmentation.kedro_io.hooks.NodeTimingHook``);
3. run ``benchmarks/plain_sklearn.py`` on the same file with the same settings, the same way;
4. optionally (``--scoring``) time the serving layer's batch scoring
   (``serving.score.scored_frame``, the Score page's and the ``scoring`` pipeline's) on all N
   rows with the model of step 2, and one warm single-customer prediction through the Predict
   page's own path (``serving.predict.predict_customer``: the data contract's one-row path,
   features, scoring, explanation, the place on the map);
5. print the figures and write them to ``benchmarks/results/benchmark_<N>.{json,md}``
   (``benchmark_real_<file stem>`` for the real table); ``benchmarks/benchmark_tables.py`` draws the
   tables.

At the end it prints one summary row per input (quiet and loaded wall times and ratios, the
commit, the exact command) and writes it to ``summary.md`` in the results folder.

Once per invocation it also times Kedro commands that touch no data (``kedro registry list``,
``kedro --help``, ``kedro run --help``, ``kedro viz build``; median of ``--light-repeats``) in a
project copy: they import no scikit-learn, SciPy or matplotlib (``tests/test_light_commands.py``,
``tests/test_viz.py``), and should take under 2 s.

``--load on`` (or ``--background-load``) keeps one core busy with a busy-loop process from before
the Kedro run to after the plain script (and the Spark run): the figures are those of a machine
where another job holds a core; results go to ``benchmark_<N>_loaded.{json,md}`` and are
compared with the quiet ones of the same input saved earlier, when they exist. ``--load both``
runs every input quiet and then loaded in the same invocation and prints both side by side,
with the loaded ratio over the quiet one (issue 17: at most 1.2x).

Peak memory is the larger of the child's own peak (``ru_maxrss`` from ``wait4``) and the sum
over its process tree sampled every ``--sample-interval`` seconds.

    python benchmarks/run.py --rows 1000000
    python benchmarks/run.py --rows 100000 --rows 1000000 --scoring
    python benchmarks/run.py --rows 1000000 --env spark     # also Spark local[2], same file
    python benchmarks/run.py --rows 1000000 --spark-workers 1 --spark-workers 2
                                          # also on a standalone cluster of 1, then 2 workers
    python benchmarks/run.py --rows 1000000 --load on       # one core kept busy meanwhile
    python benchmarks/run.py --real-table ../shared/data/customer_segmentation.csv \
        --rows 2240 --rows 1000000 --load both              # issue 17: quiet and loaded
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

import pandas as pd
import polars as pl
import psutil
from kedro.config import OmegaConfigLoader

import customer_segmentation
from customer_segmentation import schema
from customer_segmentation.core import engine
from customer_segmentation.params import validate
from customer_segmentation.serving import predict, score
from customer_segmentation.serving.versions import ModelVersion

# benchmarks/ is a folder of scripts, not a package. Python puts a script's own folder on
# sys.path only when it runs it (``python benchmarks/run.py``); the tests load this file by its
# path (importlib), also in child interpreters, where it is not there. Putting it there here
# makes the sibling ``benchmark_tables`` importable however run.py is started, with nothing asked of the
# callers (a conftest or test helper would cover pytest only).
_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)

from benchmark_tables import (  # noqa: E402  (needs the line above)
    MB,
    figures_table,
    nodes_by_size_table,
    scaling_table,
    side_by_side_table,
    summary_table,
)
from spark_cluster import SparkCluster  # noqa: E402  (the same)

REPO = Path(__file__).resolve().parents[1]
PLAIN_SCRIPT = Path(__file__).resolve().parent / "plain_sklearn.py"
# Each worker of a --spark-workers cluster: one core, this much memory, one executor using most
# of it (SPARK_EXECUTOR_MEMORY, read by conf/spark/spark.yml).
WORKER_MEMORY, EXECUTOR_MEMORY = "4g", "3g"
LOADED = "_loaded"  # results of a run with the load on: benchmark_<N>_loaded.json
LOAD_MODES = ("off", "on", "both")
# Delimiters a --real-table file may use (the plain script reads it with pyarrow and this sep).
REAL_TABLE_DELIMITERS = {",": "comma", "\t": "tab", ";": "semicolon"}
REAL_TABLE_DATE_FORMAT = "%d-%m-%Y"  # the only date layout the plain script reads
# The busy loop of the background load. It runs while its parent (the benchmark, whose pid is
# its argument) lives, in ~10 ms chunks of pure CPU work: see ``background_load``.
BUSY_LOOP = """\
import os, sys, time
parent = int(sys.argv[1])
clock = time.perf_counter
while os.getppid() == parent:
    until = clock() + 0.01
    while clock() < until:
        pass
"""


# --------------------------------------------------------------------------------------
# Measuring a child process
# --------------------------------------------------------------------------------------


def _tree_rss(process: psutil.Process) -> tuple[int, int]:
    """Resident memory of ``process`` and its descendants, and of the Java ones among them
    (Spark's JVM, started by PySpark as a child of the Python process).
    """
    total = jvm = 0
    try:
        members = [process, *process.children(recursive=True)]
    except psutil.Error:
        return 0, 0
    for member in members:
        try:
            rss = member.memory_info().rss
            total += rss
            if "java" in member.name():
                jvm += rss
        except psutil.Error:
            continue
    return total, jvm


def measure(
    cmd: list[str], cwd: Path, log: Path, env: dict[str, str], interval: float
) -> dict[str, Any]:
    """Run ``cmd`` to completion; its wall time, peak memory, exit code and log file."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as sink:
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=sink, stderr=subprocess.STDOUT)
        peak_tree = peak_jvm = 0
        done = threading.Event()

        def sample() -> None:
            nonlocal peak_tree, peak_jvm
            watched = psutil.Process(proc.pid)
            while not done.is_set():
                tree, jvm = _tree_rss(watched)
                peak_tree, peak_jvm = max(peak_tree, tree), max(peak_jvm, jvm)
                done.wait(interval)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        done.set()
        sampler.join()
        proc.returncode = os.waitstatus_to_exitcode(status)
    own_peak = usage.ru_maxrss * (1 if sys.platform == "darwin" else 1024)
    return {
        "command": cmd,
        "exit_code": proc.returncode,
        "wall_seconds": wall,
        "cpu_seconds": usage.ru_utime + usage.ru_stime,
        "peak_mb": max(own_peak, peak_tree) / MB,
        "peak_mb_own": own_peak / MB,
        "peak_mb_tree_sampled": peak_tree / MB,
        "peak_mb_jvm_sampled": peak_jvm / MB,
        "log": str(log),
    }


@contextmanager
def background_load(on: bool) -> Iterator[dict[str, Any]]:
    """While the block runs, with ``on``, a child process that keeps one core busy (a Python
    busy loop, pinned to no core: the scheduler places it as it would another job).

    Yields a dict that says, once the block is left, whether the load was on and, if so, its
    process id, how long it ran and how busy it kept its core (CPU seconds over wall seconds).

    The block stops the process when it is left, also on an exception or Ctrl-C. When the
    benchmark dies without leaving it (SIGKILL, the OOM killer, a crash of the interpreter),
    the process stops by itself: it loops (:data:`BUSY_LOOP`) only while its parent's pid is the
    benchmark's, checked every ~10 ms of busy work. A dead parent's children are given another
    parent (init or a subreaper), so ``os.getppid()`` changes at once, and the check costs
    nothing measurable (a ``getppid`` call per 10 ms: the core stays ~100 % busy). The pid is
    passed in, not read by the child, so a benchmark dying before the child starts is caught
    too. Chosen over Linux's ``prctl(PR_SET_PDEATHSIG)``, which needs ``preexec_fn`` (not safe
    in a process with threads; the benchmark samples memory in a thread), fires when the
    *thread* that started the child ends rather than the process, and exists on Linux only;
    the ``getppid`` check works on Linux and macOS, where the benchmark runs (``os.wait4``).
    """
    load: dict[str, Any] = {"on": on}
    if not on:
        yield load
        return
    proc = subprocess.Popen(
        [sys.executable, "-c", BUSY_LOOP, str(os.getpid())],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    started = time.perf_counter()
    load.update(pid=proc.pid, command="python -c BUSY_LOOP (a busy loop while its parent lives)")
    try:
        yield load
    finally:
        try:
            times = psutil.Process(proc.pid).cpu_times()
            busy = times.user + times.system
        except psutil.Error:
            busy = float("nan")
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        seconds = time.perf_counter() - started
        load.update(
            seconds=seconds,
            cpu_seconds=busy,
            busy_share=busy / seconds if seconds > 0 else float("nan"),
            exit_code=proc.returncode,
        )


def _check(result: dict[str, Any], what: str) -> None:
    if result["exit_code"] != 0:
        tail = Path(result["log"]).read_text(errors="replace")[-3000:]
        raise SystemExit(f"{what} failed (exit {result['exit_code']}); end of its log:\n{tail}")


# --------------------------------------------------------------------------------------
# Steps
# --------------------------------------------------------------------------------------


def copy_project(target: Path) -> Path:
    """What a run needs (as ``tests/conftest.py::copy_project``): conf, pyproject, layers."""
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    shutil.copy(REPO / "pyproject.toml", target / "pyproject.toml")
    if (REPO / ".telemetry").exists():
        shutil.copy(REPO / ".telemetry", target / ".telemetry")
    (target / "src").mkdir()  # Kedro checks it exists; the package is installed
    shutil.copytree(REPO / "conf", target / "conf", ignore=shutil.ignore_patterns("local"))
    (target / "conf" / "local").mkdir(exist_ok=True)
    for layer in sorted(p for p in (REPO / "data").iterdir() if p.is_dir()):
        (target / "data" / layer.name).mkdir(parents=True, exist_ok=True)
    return target


def child_env() -> dict[str, str]:
    """The environment of the measured processes: no telemetry, no display, and the user's
    own OpenMP wait policy: importing ``customer_segmentation`` here set ``OMP_WAIT_POLICY``
    for this process (:func:`customer_segmentation.wait_passively`); ``kedro run`` sets it
    itself, the plain script keeps scikit-learn's default, as the notebook code it stands for.
    """
    env = {
        **os.environ,
        "KEDRO_DISABLE_TELEMETRY": "1",
        "MPLBACKEND": "Agg",
        "SPARK_LOCAL_IP": "127.0.0.1",
    }
    if getattr(customer_segmentation, "OPENMP_WAIT_SET", False):
        env.pop("OMP_WAIT_POLICY", None)
    return env


def generate(rows: int, seed: int, work: Path, interval: float) -> tuple[Path, dict[str, Any]]:
    """The customer file for ``rows``/``seed``, generated by the project's generator."""
    path = work / f"customers_{rows}_seed{seed}.csv"
    if path.exists():
        return path, {"reused": True, "path": str(path)}
    partial = path.with_suffix(".partial.csv")
    cmd = [
        sys.executable,
        "-m",
        "customer_segmentation.demo_data",
        "--rows",
        str(rows),
        "--seed",
        str(seed),
        "--out",
        str(partial),
    ]
    result = measure(cmd, work, work / f"generate_{rows}.log", child_env(), interval)
    _check(result, "generating customers")
    partial.rename(path)
    return path, {**result, "reused": False, "path": str(path), "bytes": path.stat().st_size}


class Input(NamedTuple):
    """One customer file the benchmark measures: generated (``--rows``) or given
    (``--real-table``). A named tuple, not a dataclass: the tests load this script by path.
    """

    name: str  # in the results' file names: "2240", "real_customer_segmentation"
    label: str  # in progress lines: "2,240 rows", "customer_segmentation.csv"
    title: str  # the table's header
    csv: Path
    rows: int
    description: dict[str, Any]  # for the results' JSON
    sep: str = ","
    seed: int | None = None
    generated: dict[str, Any] | None = None


def generated_input(rows: int, seed: int, work: Path, interval: float) -> Input:
    """Generate (or reuse) the customers for ``--rows rows``."""
    print(f"[{rows:,} rows] generating customers (seed {seed}) in {work}", flush=True)
    path, generated = generate(rows, seed, work, interval)
    return Input(
        name=str(rows),
        label=f"{rows:,} rows",
        title=f"{rows:,} customers (seed {seed})",
        csv=path,
        rows=rows,
        seed=seed,
        generated=generated,
        description={"kind": "generated", "rows": rows, "seed": seed, "path": str(path)},
    )


def count_rows(path: Path) -> int:
    """Data lines of a text table (lines but the header; a last line without newline counts)."""
    lines, last = 0, b"\n"
    with path.open("rb") as source:
        while chunk := source.read(1 << 20):
            lines += chunk.count(b"\n")
            last = chunk[-1:]
    return lines + (last != b"\n") - 1


def real_input(path: Path) -> Input:
    """The ``--real-table`` file, checked for what both sides can read: the Kaggle header
    (every column of ``schema.REQUIRED_COLUMNS``) split by a comma, tab or semicolon, and
    ``Dt_Customer`` as dd-mm-yyyy. ``kedro run`` reads more layouts (other date formats,
    encodings, workbooks), the plain script does not; ``ValueError`` says what is wrong.
    """
    if not path.is_file():
        raise ValueError(f"--real-table: {path} is not a file")
    with path.open(encoding="utf-8-sig", newline="") as source:
        header = source.readline()
    needed = set(schema.REQUIRED_COLUMNS)
    found = {
        sep: needed & {f.strip() for f in next(csv.reader([header], delimiter=sep), [])}
        for sep in REAL_TABLE_DELIMITERS
    }
    sep = max(found, key=lambda d: len(found[d]))
    if found[sep] != needed:
        missing = sorted(needed - found[sep])
        raise ValueError(
            f"--real-table: {path} is not a customer table both sides read: a UTF-8 text "
            f"table with the Kaggle header, comma-, tab- or semicolon-separated, is needed; "
            f"its first line lacks {', '.join(missing[:6])}{' ...' if len(missing) > 6 else ''}"
        )
    head = pd.read_csv(
        path, sep=sep, nrows=200, usecols=[schema.DATE_COLUMN], dtype=str, encoding="utf-8-sig"
    )
    try:
        pd.to_datetime(head[schema.DATE_COLUMN].dropna(), format=REAL_TABLE_DATE_FORMAT)
    except ValueError as error:
        raise ValueError(
            f"--real-table: {path}: the plain script reads {schema.DATE_COLUMN} as dd-mm-yyyy "
            f"only (kedro run reads more layouts); convert the dates first ({error})"
        ) from error
    rows = count_rows(path)
    if rows < 1:
        raise ValueError(f"--real-table: {path} has no data rows (or no newline line ends)")
    stem = "".join(c if c.isalnum() or c in "-_" else "_" for c in path.stem)
    return Input(
        name=f"real_{stem}",
        label=path.name,
        title=f"real table {path.name} ({rows:,} rows, {REAL_TABLE_DELIMITERS[sep]}-separated)",
        csv=path.resolve(),
        rows=rows,
        sep=sep,
        description={
            "kind": "real",
            "path": str(path.resolve()),
            "rows": rows,
            "delimiter": REAL_TABLE_DELIMITERS[sep],
            "bytes": path.stat().st_size,
        },
    )


def parse_overrides(pairs: list[str]) -> dict[str, str]:
    """``["a.b=1,c=2", "d=3"]`` -> ``{"a.b": "1", "c": "2", "d": "3"}`` (as ``kedro --params``)."""
    result: dict[str, str] = {}
    for chunk in pairs:
        for pair in filter(None, chunk.split(",")):
            key, sep, value = pair.partition("=")
            if not sep:
                raise SystemExit(f"--params expects KEY=VALUE, got {pair!r}")
            result[key.strip()] = value.strip()
    return result


def project_parameters(overrides: dict[str, str]) -> dict[str, Any]:
    """The project's parameters with the run's overrides applied (dotted keys), validated as
    ``kedro run`` validates them (``params.validate``).
    """
    loader = OmegaConfigLoader(str(REPO / "conf"), base_env="base", default_run_env="local")
    params = json.loads(json.dumps(loader["parameters"], default=str))
    for key, value in overrides.items():
        *parents, leaf = key.split(".")
        node = params
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = json.loads(value) if _is_json(value) else value
    return validate(params)


def _is_json(value: str) -> bool:
    try:
        json.loads(value)
    except ValueError:
        return False
    return True


def plain_settings(params: dict[str, Any], k: int) -> dict[str, Any]:
    """The plain script's settings taken from the project's parameters, so both sides do the
    same work (same samples, k range, n_init, DBSCAN settings, cleaning bounds), and the k the
    Kedro run chose (its model card): with ``clustering.n_clusters: auto`` only the run knows it.
    """
    selection, clustering = params["model_selection"], params["clustering"]
    processing = params["data_processing"]
    return {
        "features": list(clustering.features),
        "seed": selection.random_state,
        "k_min": selection.k_min,
        "k_max": selection.k_max,
        "n_clusters": int(k),
        "n_init": clustering.n_init,
        "sweep_n_init": selection.n_init,
        "sweep_algorithm": selection.algorithm,
        "algorithm": clustering.algorithm,
        "batch_size": clustering.batch_size,
        "sweep_sample": selection.sample_size,
        "silhouette_sample": clustering.silhouette_sample_size,
        "dbscan_sample": clustering.dbscan.sample_size,
        "min_samples": clustering.dbscan.min_samples,
        "map_sample": params["reporting"].map_sample_size,
        "min_birth_year": processing.min_birth_year,
        "max_income": processing.max_income,
    }


def kedro_command() -> list[str]:
    """``kedro`` of this interpreter's environment."""
    script = Path(sys.executable).parent / "kedro"
    return [str(script)] if script.exists() else [sys.executable, "-m", "kedro"]


def run_kedro(
    csv: Path,
    work: Path,
    name: str,
    overrides: dict[str, str],
    interval: float,
    env: str | None = None,
    cluster: SparkCluster | None = None,
) -> tuple[dict[str, Any], dict[str, Any], Path]:
    """``kedro run`` (``--env env`` when given; on ``cluster``'s master when given) on ``csv``
    in a fresh project copy named after ``name`` (the input, loaded or not); returns the
    measures and node timings.
    """
    tag = f"{env}_{name}" if env else str(name)
    if cluster is not None:
        tag = f"{env}_{cluster.workers}w_{name}"
    project = copy_project(work / f"project_{tag}")
    timings = work / f"node_timings_{tag}.json"
    timings.unlink(missing_ok=True)
    params = {"raw_customers_path": str(csv), "node_timings_path": str(timings), **overrides}
    cmd = [*kedro_command(), "run", "--params", ",".join(f"{k}={v}" for k, v in params.items())]
    if env:
        cmd += ["--env", env]
    environment = child_env()
    if cluster is not None:
        environment = {
            **cluster.environment(),
            **environment,
            "SPARK_MASTER": cluster.master_url,
            "SPARK_EXECUTOR_MEMORY": EXECUTOR_MEMORY,
        }
    result = measure(cmd, project, work / f"kedro_{tag}.log", environment, interval)
    _check(result, f"kedro run{' --env ' + env if env else ''}")
    return result, json.loads(timings.read_text()), project


def run_on_clusters(
    csv: Path, work: Path, name: str, overrides: dict[str, str], args: argparse.Namespace
) -> dict[str, Any]:
    """``kedro run --env spark`` on a standalone cluster of each size of ``--spark-workers``
    (workers of one core and :data:`WORKER_MEMORY`, started on loopback for that run and
    stopped after it): per size, the run's measures and its contract's time.
    """
    runs = {}
    for workers in args.spark_workers or []:
        root = work / f"cluster_{workers}w_{name}"
        with SparkCluster(root, workers=workers, cores=1, memory=WORKER_MEMORY) as cluster:
            result, nodes, project = run_kedro(
                csv, work, name, overrides, args.sample_interval, env="spark", cluster=cluster
            )
        runs[str(workers)] = {**result, "contract_seconds": contract_seconds(nodes)}
        if not args.keep:
            shutil.rmtree(project, ignore_errors=True)
            shutil.rmtree(root, ignore_errors=True)
    return runs


def run_plain(
    csv: Path, work: Path, name: str, settings: dict[str, Any], interval: float
) -> dict[str, Any]:
    """The plain script on ``csv``; returns the measures and the script's own figures."""
    out = work / f"plain_{name}"
    cmd = [sys.executable, str(PLAIN_SCRIPT), str(csv), "--out", str(out)]
    cmd += ["--settings", json.dumps(settings)]
    result = measure(cmd, work, work / f"plain_{name}.log", child_env(), interval)
    _check(result, "plain script")
    return {**result, "figures": json.loads((out / "figures.json").read_text())}


# Commands that only read the project's code and configuration.
LIGHT_COMMANDS: tuple[tuple[str, ...], ...] = (
    ("registry", "list"),
    ("--help",),
    ("run", "--help"),
    ("viz", "build"),
)


def time_light_commands(work: Path, repeats: int) -> dict[str, Any]:
    """Wall time of each of :data:`LIGHT_COMMANDS` in a fresh project copy, median of
    ``repeats`` runs (start-up included: that is what they cost).
    """
    project = copy_project(work / "project_light_commands")
    medians = {}
    for args in LIGHT_COMMANDS:
        seconds = []
        for _ in range(repeats):
            started = time.perf_counter()
            done = subprocess.run(
                [*kedro_command(), *args],
                cwd=project,
                env=child_env(),
                capture_output=True,
                text=True,
                check=False,
            )
            seconds.append(time.perf_counter() - started)
            if done.returncode != 0:
                raise SystemExit(f"kedro {' '.join(args)} failed:\n{done.stderr[-3000:]}")
        medians[f"kedro {' '.join(args)}"] = statistics.median(seconds)
    shutil.rmtree(project, ignore_errors=True)
    return {"repeats": repeats, "median_seconds": medians}


def segments_parity(local: Path, spark: Path) -> str:
    """Whether the Spark run gave every customer the local run's segment (one sentence)."""
    mine = pd.read_parquet(
        sorted((local / "data" / "07_model_output" / "customer_segments.parquet").glob("*/*"))[-1]
    )
    theirs = pd.read_parquet(
        sorted(
            (spark / "data" / "spark" / "07_model_output" / "customer_segments.parquet").glob("*/*")
        )[-1]
    )
    both = mine.merge(theirs, on=schema.ID, suffixes=("", "_spark"))
    moved = int((both["segment"] != both["segment_spark"]).sum())
    return (
        f"Same segments: {len(both):,} customers in both runs ({len(mine):,} local, "
        f"{len(theirs):,} Spark), {moved:,} in another segment."
    )


def model_card(project: Path) -> dict[str, Any]:
    """The model card the Kedro run saved (its only model version)."""
    cards = sorted(
        (project / "data" / "07_model_output" / "model_card.json").glob("*/model_card.json")
    )
    return json.loads(cards[-1].read_text())


def same_answer(card: dict[str, Any], plain: dict[str, Any]) -> dict[str, Any]:
    """What both sides found: clean rows, k, the final K-Means inertia on all clean rows (the
    objective both minimise) and the sampled silhouette. The Kedro side is read from the model
    card the run saved.
    """
    kedro = {
        "rows_in_clean": card["training_rows"],
        "k": card["k"],
        "inertia": card["inertia"],
        "silhouette": card["silhouette"],
        "initialisation": card.get("initialisation"),
    }
    figures = plain["figures"]
    return {
        "kedro": kedro,
        "plain": {key: figures[key] for key in ("rows_in_clean", "k", "inertia", "silhouette")},
        "inertia_ratio": kedro["inertia"] / figures["inertia"],
    }


def time_scoring(project: Path, repeats: int) -> dict[str, Any]:
    """The serving layer's scoring with the model the Kedro run saved, loaded through its
    catalog (``serving.versions.ModelVersion``): batch (``serving.score.scored_frame``: the
    features and segments of every clean customer, as the Score page and the ``scoring``
    pipeline do after the contract) and one warm single prediction of the Predict page
    (``serving.predict.predict_customer``: the contract's one-row path, features, scoring,
    explanation, margin rank and the place on the map).
    """
    model = ModelVersion(project_store(project))
    bundle = model.bundle
    data_params = model.store.params["data_processing"]
    clean = pl.read_parquet(project / "data" / "03_primary" / "customers.parquet")
    started = time.perf_counter()
    segments = engine.to_pandas(score.scored_frame(engine.lazy(clean), bundle))
    batch = time.perf_counter() - started
    first = clean.row(0, named=True)
    one = {c: first[c] for c in schema.KAGGLE_COLUMNS if c != schema.ID}
    margins = model.training_margins()
    projection = model.dataset("segment_map_projection")
    predict.predict_customer(one, bundle, data_params, margins, projection)  # warm
    single = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        predict.predict_customer(one, bundle, data_params, margins, projection)
        single.append(time.perf_counter() - t0)
    single.sort()
    return {
        "rows": len(segments),
        "batch_seconds": batch,
        "rows_per_minute": len(segments) / batch * 60 if batch > 0 else float("inf"),
        "single_prediction_ms_median": 1000 * single[len(single) // 2],
        "single_prediction_ms_p95": 1000 * single[int(0.95 * (len(single) - 1))],
        "single_prediction_repeats": repeats,
    }


def project_store(project: Path) -> Any:
    """The project copy's model store, opened from inside it (relative catalog paths)."""
    from customer_segmentation.serving.versions import ModelStore  # noqa: PLC0415

    cwd = Path.cwd()
    os.chdir(project)
    try:
        return ModelStore(project)
    finally:
        os.chdir(cwd)


# --------------------------------------------------------------------------------------
# Results: quiet against loaded, where they were measured (their tables: benchmark_tables.py)
# --------------------------------------------------------------------------------------


def same_input(quiet: dict[str, Any], loaded: dict[str, Any]) -> bool:
    """Whether two results measured the same table with the same parameters (results saved
    before ``--real-table`` have no ``input``: they are generated tables).
    """
    if any(quiet.get(key) != loaded.get(key) for key in ("rows", "seed", "kedro_params")):
        return False
    mine = quiet.get("input", {"kind": "generated"})
    theirs = loaded.get("input", {"kind": "generated"})
    if mine["kind"] != theirs["kind"]:
        return False
    return mine["kind"] == "generated" or all(
        mine.get(key) == theirs.get(key) for key in ("path", "bytes")
    )


def set_against_quiet(loaded: dict[str, Any], quiet: dict[str, Any], source: str) -> None:
    """Add to ``loaded`` (a run with the background load) the quiet run's wall times and ratio
    and how many times larger the loaded ratio is (issue 17's steadiness); ``source`` says
    where the quiet figures come from.
    """
    loaded["quiet_kedro_wall_seconds"] = quiet["kedro"]["wall_seconds"]
    loaded["quiet_plain_wall_seconds"] = quiet["plain"]["wall_seconds"]
    loaded["quiet_ratio_wall"] = quiet["ratio_wall"]
    loaded["quiet_results"] = source
    loaded["loaded_over_quiet"] = loaded["ratio_wall"] / quiet["ratio_wall"]


def compare_with_quiet(loaded: dict[str, Any], quiet_path: Path) -> None:
    """Set ``loaded`` (a run with the background load) against the quiet run of the same
    input, seed and parameters saved at ``quiet_path`` (:func:`set_against_quiet`). Nothing is
    added without such a quiet run.
    """
    if not quiet_path.exists():
        return
    quiet = json.loads(quiet_path.read_text())
    if not same_input(quiet, loaded) or quiet.get("background_load", {}).get("on"):
        return
    set_against_quiet(loaded, quiet, f"{quiet_path.name}, {quiet['measured_at']}")


def _git(*args: str) -> str:
    """The output of ``git args...`` in the repository (raises when git fails)."""
    return subprocess.run(
        ["git", *args], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout.strip()


def git_commit() -> str:
    """``git rev-parse --short HEAD`` of the repository, ``+dirty`` when a tracked file differs
    from it (untracked files do not count), ``unknown`` without git.
    """
    try:
        head = _git("rev-parse", "--short", "HEAD")
        changes = _git("status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + ("+dirty" if changes else "")


def machine() -> dict[str, Any]:
    """Where the figures were measured."""
    return {
        "cpus": os.cpu_count(),
        "memory_gb": round(psutil.virtual_memory().total / 1024**3, 1),
        "load_average_1min_at_start": os.getloadavg()[0],
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


TYPED_READ_REPEATS = 3


def time_typed_read(csv: Path, sep: str) -> dict[str, Any]:
    """The engine's own typed read of the file, the yardstick of the contract's cost (issue 31):
    ``polars.read_csv(path, try_parse_dates=True)``, best of :data:`TYPED_READ_REPEATS`, in a
    child process (this one holds pandas and the measurements).
    """
    script = "\n".join(
        [
            "import sys, time",
            "import polars as pl",
            "times = []",
            f"for _ in range({TYPED_READ_REPEATS}):",
            "    started = time.perf_counter()",
            "    pl.read_csv(sys.argv[1], separator=sys.argv[2], try_parse_dates=True)",
            "    times.append(time.perf_counter() - started)",
            "print(min(times))",
        ]
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(csv), sep],
        capture_output=True,
        text=True,
        check=True,
        env=child_env(),
    )
    return {"seconds": float(done.stdout.strip()), "repeats": TYPED_READ_REPEATS}


def contract_seconds(nodes: dict[str, Any]) -> float:
    """``check_customers``' compute time: the contract on the file."""
    (check,) = (n for n in nodes["nodes"] if n["node"] == "check_customers")
    return check["seconds"]


def benchmark_one(
    source: Input, args: argparse.Namespace, work: Path, *, loaded: bool, scoring: bool
) -> dict[str, Any]:
    """Every step for one input, with one core kept busy (``loaded``) or not."""
    overrides = parse_overrides(args.params)
    params = project_parameters(overrides)
    name = source.name + (LOADED if loaded else "")
    tag = f"[{source.label}{', loaded' if loaded else ''}]"
    with background_load(loaded) as load:
        if load["on"]:
            print(f"{tag} background load on (pid {load['pid']})", flush=True)
        print(f"{tag} kedro run ...", flush=True)
        kedro, nodes, project = run_kedro(source.csv, work, name, overrides, args.sample_interval)
        print(f"{tag} kedro run: {kedro['wall_seconds']:.1f} s; plain script ...", flush=True)
        card = model_card(project)
        settings = {**plain_settings(params, card["k"]), "sep": source.sep}
        plain = run_plain(source.csv, work, name, settings, args.sample_interval)
        print(f"{tag} plain script: {plain['wall_seconds']:.1f} s", flush=True)
        typed_read = time_typed_read(source.csv, source.sep)
        spark = spark_project = None
        if args.env == "spark":
            print(f"{tag} kedro run --env spark ...", flush=True)
            spark, spark_nodes, spark_project = run_kedro(
                source.csv, work, name, overrides, args.sample_interval, env="spark"
            )
        if args.spark_workers:
            print(f"{tag} kedro run --env spark on standalone clusters ...", flush=True)
            clusters = run_on_clusters(source.csv, work, name, overrides, args)
    check = contract_seconds(nodes)
    result: dict[str, Any] = {
        "input": source.description,
        "title": source.title,
        "rows": source.rows,
        "seed": source.seed,
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "kedro_params": overrides,
        "plain_settings": settings,
        "kedro": kedro,
        "plain": plain,
        "nodes": nodes,
        "ratio_wall": kedro["wall_seconds"] / plain["wall_seconds"],
        "ratio_peak_memory": kedro["peak_mb"] / plain["peak_mb"],
        "typed_read": typed_read,
        "contract_seconds": check,
        "contract_factor": check / typed_read["seconds"],
        "same_answer": same_answer(card, plain),
        "background_load": load,
    }
    if source.generated is not None:
        result["generate"] = source.generated
    if spark is not None:
        result["spark"], result["spark_nodes"] = spark, spark_nodes
        result["spark_parity"] = segments_parity(project, spark_project)
        if not args.keep:
            shutil.rmtree(spark_project, ignore_errors=True)
    if args.spark_workers:
        result["spark_clusters"] = clusters
    if scoring:
        print(f"{tag} scoring ...", flush=True)
        result["scoring"] = time_scoring(project, args.single_repeats)
    if not args.keep:
        shutil.rmtree(project, ignore_errors=True)
        shutil.rmtree(work / f"plain_{name}", ignore_errors=True)
    return result


def parse_args(argv: list[str]) -> tuple[argparse.ArgumentParser, argparse.Namespace]:
    """The command line (see the module docstring); ``--background-load`` is ``--load on``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--rows", type=int, action="append", help="customers to generate (repeatable)"
    )
    parser.add_argument(
        "--real-table",
        type=Path,
        metavar="PATH",
        help="also benchmark this customer file (Kaggle schema; comma, tab or semicolon; "
        "Dt_Customer as dd-mm-yyyy), before the generated ones",
    )
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument(
        "--work-dir",
        type=Path,
        default=Path(tempfile.gettempdir()) / "customer_segmentation_benchmark",
        help="generated files and project copies (default: <system temp>/customer_segmentation_benchmark)",
    )
    parser.add_argument("--results-dir", type=Path, default=REPO / "benchmarks" / "results")
    parser.add_argument(
        "--params",
        action="append",
        default=[],
        help="KEY=VALUE[,KEY=VALUE] for kedro run --params; the plain script follows them",
    )
    parser.add_argument("--scoring", action="store_true", help="also time batch/single scoring")
    parser.add_argument("--single-repeats", type=int, default=200)
    parser.add_argument("--sample-interval", type=float, default=0.05, help="memory sampling (s)")
    parser.add_argument("--keep", action="store_true", help="keep project copies and outputs")
    parser.add_argument(
        "--light-repeats",
        type=int,
        default=3,
        help="runs of each command that touches no data (kedro registry list, --help); 0: none",
    )
    parser.add_argument(
        "--env",
        choices=["spark"],
        help="also run kedro run --env spark (Spark local[2]) on the same file",
    )
    parser.add_argument(
        "--spark-workers",
        type=int,
        action="append",
        metavar="N",
        help="also run kedro run --env spark on a standalone cluster of N workers (one core "
        "each), started on loopback for the run (repeatable: --spark-workers 1 --spark-workers "
        "2 prints the speed-up)",
    )
    parser.add_argument(
        "--load",
        choices=LOAD_MODES,
        help="off (default): a quiet machine; on: one core kept busy (a busy-loop process) "
        "during the runs of each input, set against the quiet results saved earlier; both: "
        "each input quiet, then loaded, printed side by side",
    )
    parser.add_argument(
        "--background-load", action="store_true", help="the same as --load on (older name)"
    )
    args = parser.parse_args(argv)
    if args.background_load:
        if args.load not in (None, "on"):
            parser.error(f"--background-load means --load on; it contradicts --load {args.load}")
        args.load = "on"
    args.load = args.load or "off"
    return parser, args


def _inputs(parser: argparse.ArgumentParser, args: argparse.Namespace) -> list[Any]:
    """The tables to measure: ``--real-table`` first, then each ``--rows`` size."""
    real = None
    if args.real_table is not None:
        try:
            real = real_input(args.real_table)
        except ValueError as error:
            parser.error(str(error))
    sizes = args.rows or ([] if real is not None else [100_000])
    return ([real] if real is not None else []) + list(sizes)


def _measure(
    source: Input,
    args: argparse.Namespace,
    work: Path,
    commit: str,
    command: str,
    light: dict[str, Any] | None,
) -> dict[str, Any]:
    """One input, quiet and/or under load as ``--load`` says: each result printed and written
    (``benchmark_<name>[_loaded].{json,md}``); returns the pair ``{"quiet", "loaded"}``.
    """
    passes = {"off": [False], "on": [True], "both": [False, True]}[args.load]
    pair: dict[str, Any] = {"quiet": None, "loaded": None}
    files = []
    for loaded in passes:
        # Scoring is never under load; with both, it is timed once, in the quiet pass.
        scoring = args.scoring and (not loaded or args.load == "on")
        result = benchmark_one(source, args, work, loaded=loaded, scoring=scoring)
        result["commit"], result["command"] = commit, command
        if light is not None:
            result["light_commands"] = light
        if loaded and pair["quiet"] is not None:
            set_against_quiet(result, pair["quiet"], "the quiet run just before")
        elif loaded:
            compare_with_quiet(result, args.results_dir / f"benchmark_{source.name}.json")
        table = figures_table(result)
        if args.load != "both":
            print("\n" + table + "\n", flush=True)
        stem = args.results_dir / f"benchmark_{source.name}{LOADED if loaded else ''}"
        stem.with_suffix(".json").write_text(json.dumps(result, indent=2, default=str))
        stem.with_suffix(".md").write_text(table + "\n")
        files.append(stem.with_suffix(".md").name)
        pair["loaded" if loaded else "quiet"] = result
    if args.load == "both":
        both = side_by_side_table(pair["quiet"], pair["loaded"], files)
        print("\n" + both + "\n", flush=True)
        (args.results_dir / f"benchmark_{source.name}_quiet_vs_loaded.md").write_text(both + "\n")
    return pair


def main(argv: list[str] | None = None) -> int:
    """Command line; see the module docstring."""
    argv = sys.argv[1:] if argv is None else list(argv)
    command = shlex.join(["python", "benchmarks/run.py", *argv])
    parser, args = parse_args(argv)
    specs = _inputs(parser, args)
    work = args.work_dir.resolve()
    if work == REPO or REPO in work.parents:
        parser.error(f"--work-dir must be outside the repository ({REPO})")
    work.mkdir(parents=True, exist_ok=True)
    args.results_dir.mkdir(parents=True, exist_ok=True)
    commit = git_commit()
    light = None
    if args.light_repeats > 0:
        print("kedro registry list, kedro --help, kedro run --help ...", flush=True)
        light = time_light_commands(work, args.light_repeats)
    pairs = []
    for spec in specs:
        source = (
            spec
            if isinstance(spec, Input)
            else generated_input(spec, args.seed, work, args.sample_interval)
        )
        pairs.append(_measure(source, args, work, commit, command, light))
    results = [r for pair in pairs for r in (pair["quiet"], pair["loaded"]) if r is not None]
    if len(results) > 1:
        scaling = scaling_table(results) + "\n\n" + nodes_by_size_table(results)
        print(scaling + "\n")
        name = f"scaling{LOADED if args.load == 'on' else ''}.md"
        (args.results_dir / name).write_text(scaling + "\n")
    summary = summary_table(pairs, commit, command, args.load, machine())
    print(summary + "\n")
    (args.results_dir / "summary.md").write_text(summary + "\n")
    print(f"results written to {args.results_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
