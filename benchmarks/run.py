"""Benchmark: the full ``kedro run`` against a plain pandas + scikit-learn script.

For every ``--rows N``:

1. generate N customers in the Kaggle schema with the project's generator (seeded) into a work
   folder outside the repository (reused when it already exists);
2. run ``kedro run --params raw_customers_path=...`` in a copy of the project, as a child
   process, and record its wall time, peak memory and the time of every node
   (``customer_segmentation.hooks.NodeTimingHook``);
3. run ``benchmarks/plain_sklearn.py`` on the same file with the same settings, the same way;
4. optionally (``--scoring``) time the app's batch scoring (``app_logic.model_features_of`` +
   ``score_customers``) on all N rows with the model of step 2, and one warm single-customer
   prediction through the app's own path (``app_logic.predict_customer``: the data contract,
   features, scoring, explanation);
5. print the figures and write them to ``benchmarks/results/benchmark_<N>.{json,md}``.

Once per invocation it also times Kedro commands that touch no data (``kedro registry list``,
``kedro --help``, ``kedro run --help``; median of ``--light-repeats``) in a project copy: they
import no scikit-learn, SciPy or matplotlib (``tests/test_light_commands.py``), and ``kedro
registry list`` should take under 2 s.

With ``--background-load`` a busy-loop process keeps one core busy from before the Kedro run to
after the plain script (and the Spark run): the figures are those of a machine where another
job holds a core; results go to ``benchmark_<N>_loaded.{json,md}`` and are compared with the
quiet ones of the same size when they exist.

Peak memory is the larger of the child's own peak (``ru_maxrss`` from ``wait4``) and the sum
over its process tree sampled every ``--sample-interval`` seconds.

    python benchmarks/run.py --rows 1000000
    python benchmarks/run.py --rows 100000 --rows 1000000 --scoring
    python benchmarks/run.py --rows 1000000 --env spark     # also Spark local[2], same file
    python benchmarks/run.py --rows 1000000 --background-load   # one core kept busy meanwhile
"""

from __future__ import annotations

import argparse
import json
import os
import platform
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
from typing import Any

import pandas as pd
import psutil
from kedro.config import OmegaConfigLoader

import customer_segmentation
from customer_segmentation import app_logic, schema
from customer_segmentation.model_store import ModelVersion
from customer_segmentation.params import validate
from customer_segmentation.scoring import score_customers

REPO = Path(__file__).resolve().parents[1]
PLAIN_SCRIPT = Path(__file__).resolve().parent / "plain_sklearn.py"
MB = 1024 * 1024
LOADED = "_loaded"  # results of a run with --background-load: benchmark_<N>_loaded.json


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
    """
    load: dict[str, Any] = {"on": on}
    if not on:
        yield load
        return
    proc = subprocess.Popen(
        [sys.executable, "-c", "while True: pass"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    started = time.perf_counter()
    load.update(pid=proc.pid, command="python -c 'while True: pass'")
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


def load_sentence(load: dict[str, Any]) -> str:
    """How the machine was loaded during the runs, in words (for the table)."""
    if not load.get("on"):
        return "Background load: off (no process of the benchmark beside the runs)."
    return (
        f"Background load: on, one busy-loop process (pid {load['pid']}) beside the runs for "
        f"{load['seconds']:.1f} s, {load['busy_share']:.0%} of a core."
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


def run_kedro(  # noqa: PLR0913
    csv: Path,
    work: Path,
    rows: int,
    overrides: dict[str, str],
    interval: float,
    env: str | None = None,
) -> tuple[dict[str, Any], dict[str, Any], Path]:
    """``kedro run`` (``--env env`` when given) on ``csv`` in a fresh project copy; returns the
    measures and node timings.
    """
    tag = f"{env}_{rows}" if env else str(rows)
    project = copy_project(work / f"project_{tag}")
    timings = work / f"node_timings_{tag}.json"
    timings.unlink(missing_ok=True)
    params = {"raw_customers_path": str(csv), "node_timings_path": str(timings), **overrides}
    cmd = [*kedro_command(), "run", "--params", ",".join(f"{k}={v}" for k, v in params.items())]
    if env:
        cmd += ["--env", env]
    result = measure(cmd, project, work / f"kedro_{tag}.log", child_env(), interval)
    _check(result, f"kedro run{' --env ' + env if env else ''}")
    return result, json.loads(timings.read_text()), project


def run_plain(
    csv: Path, work: Path, rows: int, settings: dict[str, Any], interval: float
) -> dict[str, Any]:
    """The plain script on ``csv``; returns the measures and the script's own figures."""
    out = work / f"plain_{rows}"
    cmd = [sys.executable, str(PLAIN_SCRIPT), str(csv), "--out", str(out)]
    cmd += ["--settings", json.dumps(settings)]
    result = measure(cmd, work, work / f"plain_{rows}.log", child_env(), interval)
    _check(result, "plain script")
    return {**result, "figures": json.loads((out / "figures.json").read_text())}


# Commands that only read the project's code and configuration.
LIGHT_COMMANDS: tuple[tuple[str, ...], ...] = (("registry", "list"), ("--help",), ("run", "--help"))


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
    """The app's scoring with the model the Kedro run saved, loaded through its catalog
    (``model_store.ModelVersion``): batch (features and segments of every clean customer, as
    the Score page does after parsing) and one warm single prediction of the Predict page
    (``app_logic.predict_customer``: contract, features, scoring, explanation, margin rank).
    """
    model = ModelVersion(project_store(project))
    bundle = model.bundle
    data_params = model.store.params["data_processing"]
    clean = pd.read_parquet(project / "data" / "03_primary" / "customers.parquet")
    started = time.perf_counter()
    features = app_logic.model_features_of(clean, bundle)
    built = time.perf_counter()
    segments = score_customers(features, bundle.scaler, bundle.model)
    batch = time.perf_counter() - started
    one = {c: clean.iloc[0][c] for c in schema.KAGGLE_COLUMNS if c != schema.ID}
    margins = model.training_margins()
    app_logic.predict_customer(one, bundle, data_params, margins)  # warm
    single = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        app_logic.predict_customer(one, bundle, data_params, margins)
        single.append(time.perf_counter() - t0)
    single.sort()
    return {
        "rows": len(segments),
        "build_features_seconds": built - started,
        "score_customers_seconds": batch - (built - started),
        "batch_seconds": batch,
        "rows_per_minute": len(segments) / batch * 60 if batch > 0 else float("inf"),
        "single_prediction_ms_median": 1000 * single[len(single) // 2],
        "single_prediction_ms_p95": 1000 * single[int(0.95 * (len(single) - 1))],
        "single_prediction_repeats": repeats,
    }


def project_store(project: Path) -> Any:
    """The project copy's model store, opened from inside it (relative catalog paths)."""
    from customer_segmentation.model_store import ModelStore  # noqa: PLC0415

    cwd = Path.cwd()
    os.chdir(project)
    try:
        return ModelStore(project)
    finally:
        os.chdir(cwd)


# --------------------------------------------------------------------------------------
# Reporting
# --------------------------------------------------------------------------------------


def figures_table(result: dict[str, Any]) -> str:
    """Markdown: wall time and peak memory of both sides and their ratio, then the nodes."""
    kedro, plain = result["kedro"], result["plain"]
    rows = result["rows"]
    wall_ratio = kedro["wall_seconds"] / plain["wall_seconds"]
    mem_ratio = kedro["peak_mb"] / plain["peak_mb"]
    load = result.get("background_load", {"on": False})
    lines = [
        f"### {rows:,} customers (seed {result['seed']}), "
        f"{'one core busy (--background-load)' if load['on'] else 'no background load'}",
        "",
        load_sentence(load),
        "",
        "| run | wall time (s) | peak memory (MB) | CPU time (s) | µs per row |",
        "|---|---:|---:|---:|---:|",
    ]
    runs = [("kedro run", kedro), ("plain scikit-learn", plain)]
    if "spark" in result:
        runs.append(("kedro run --env spark (local[2])", result["spark"]))
    for name, part in runs:
        lines.append(
            f"| {name} | {part['wall_seconds']:.1f} | {part['peak_mb']:.0f} | "
            f"{part['cpu_seconds']:.1f} | {1e6 * part['wall_seconds'] / rows:.1f} |"
        )
    lines.append(f"| **ratio kedro / plain** | **{wall_ratio:.2f}x** | **{mem_ratio:.2f}x** | | |")
    if "quiet_ratio_wall" in result:
        lines += [
            "",
            f"Steadiness: ratio {wall_ratio:.2f}x with the load against "
            f"{result['quiet_ratio_wall']:.2f}x quiet ({result['quiet_results']}): "
            f"**{result['loaded_over_quiet']:.2f}x** of the quiet ratio (issue 17: at most 1.2x).",
        ]
    if "spark" in result:
        spark = result["spark"]
        lines += [
            "",
            f"Spark: Python process peak {spark['peak_mb_own']:.0f} MB, JVM peak "
            f"{spark['peak_mb_jvm_sampled']:.0f} MB (sampled); CPU time counts the Python "
            f"process only. {result['spark_parity']}",
        ]
    nodes = result["nodes"]["nodes"]
    lines += [
        "",
        f"Kedro nodes (pipeline {result['nodes']['pipeline_seconds']:.1f} s inside "
        f"{kedro['wall_seconds']:.1f} s wall; the rest is start-up and catalog set-up):",
        "",
        "| node | compute (s) | load (s) | save (s) | share of wall | peak MB so far |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for node in sorted(nodes, key=lambda n: n["seconds"], reverse=True):
        total = node["seconds"] + node["load_seconds"] + node["save_seconds"]
        lines.append(
            f"| {node['node']} | {node['seconds']:.2f} | {node['load_seconds']:.2f} | "
            f"{node['save_seconds']:.2f} | {total / kedro['wall_seconds']:.0%} | "
            f"{node['peak_rss_mb_so_far']:.0f} |"
        )
    steps = plain["figures"]["steps_seconds"]
    lines += ["", "Plain script steps: " + ", ".join(f"{k} {v:.2f} s" for k, v in steps.items())]
    if "same_answer" in result:
        both = result["same_answer"]
        mine, theirs = both["kedro"], both["plain"]
        lines += [
            "",
            f"Same answer: {mine['rows_in_clean']:,} / {theirs['rows_in_clean']:,} clean rows, "
            f"k={mine['k']} / {theirs['k']}, final K-Means inertia {mine['inertia']:,.1f} / "
            f"{theirs['inertia']:,.1f} (ratio {both['inertia_ratio']:.7f}; Kedro started from "
            f"{mine['initialisation']}, the plain script from the best of its k-means++ starts), "
            f"sampled silhouette {mine['silhouette']:.3f} / {theirs['silhouette']:.3f} "
            "(Kedro / plain).",
        ]
    if "scoring" in result:
        s = result["scoring"]
        lines += [
            "",
            f"Scoring {s['rows']:,} rows: build_features {s['build_features_seconds']:.2f} s + "
            f"score_customers {s['score_customers_seconds']:.2f} s = "
            f"{s['rows_per_minute']:,.0f} rows/minute; warm single prediction "
            f"{s['single_prediction_ms_median']:.1f} ms median, "
            f"{s['single_prediction_ms_p95']:.1f} ms p95 ({s['single_prediction_repeats']} runs).",
        ]
    if "light_commands" in result:
        light = result["light_commands"]
        lines += [
            "",
            f"Commands that touch no data (median of {light['repeats']}): "
            + ", ".join(f"`{c}` {s:.2f} s" for c, s in light["median_seconds"].items())
            + ".",
        ]
    if "generate" in result and not result["generate"].get("reused"):
        g = result["generate"]
        lines += [
            "",
            f"Generating the file: {g['wall_seconds']:.1f} s, peak {g['peak_mb']:.0f} MB, "
            f"{g['bytes'] / MB:.1f} MB on disk.",
        ]
    return "\n".join(lines)


def scaling_table(results: list[dict[str, Any]]) -> str:
    """Markdown: how wall time and memory grow with the number of rows."""
    lines = [
        "| rows | background load | kedro wall (s) | plain wall (s) | ratio | kedro peak (MB) "
        "| plain peak (MB) |",
        "|---:|---|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        k, p = r["kedro"], r["plain"]
        load = "one core busy" if r.get("background_load", {}).get("on") else "off"
        lines.append(
            f"| {r['rows']:,} | {load} | {k['wall_seconds']:.1f} | {p['wall_seconds']:.1f} | "
            f"{k['wall_seconds'] / p['wall_seconds']:.2f}x | {k['peak_mb']:.0f} | "
            f"{p['peak_mb']:.0f} |"
        )
    if all("spark" in r for r in results):
        lines += [
            "",
            "| rows | Spark local[2] wall (s) | Python peak (MB) | JVM peak (MB) | µs per row |",
            "|---:|---:|---:|---:|---:|",
        ]
        for r in results:
            s = r["spark"]
            lines.append(
                f"| {r['rows']:,} | {s['wall_seconds']:.1f} | {s['peak_mb_own']:.0f} | "
                f"{s['peak_mb_jvm_sampled']:.0f} | {1e6 * s['wall_seconds'] / r['rows']:.1f} |"
            )
    return "\n".join(lines)


def compare_with_quiet(loaded: dict[str, Any], quiet_path: Path) -> None:
    """Add to ``loaded`` (a run with the background load) the wall-time ratio of the quiet run
    of the same size, seed and parameters saved at ``quiet_path``, and how many times larger
    the loaded ratio is (issue 17's steadiness). Nothing is added without such a quiet run.
    """
    if not quiet_path.exists():
        return
    quiet = json.loads(quiet_path.read_text())
    same = all(quiet.get(key) == loaded[key] for key in ("rows", "seed", "kedro_params"))
    if not same or quiet.get("background_load", {}).get("on"):
        return
    loaded["quiet_ratio_wall"] = quiet["ratio_wall"]
    loaded["quiet_results"] = f"{quiet_path.name}, {quiet['measured_at']}"
    loaded["loaded_over_quiet"] = loaded["ratio_wall"] / quiet["ratio_wall"]


def machine() -> dict[str, Any]:
    """Where the figures were measured."""
    return {
        "cpus": os.cpu_count(),
        "memory_gb": round(psutil.virtual_memory().total / 1024**3, 1),
        "load_average_1min_at_start": os.getloadavg()[0],
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def benchmark_one(rows: int, args: argparse.Namespace, work: Path) -> dict[str, Any]:
    """Every step for one table size."""
    overrides = parse_overrides(args.params)
    params = project_parameters(overrides)
    print(f"[{rows:,} rows] generating customers (seed {args.seed}) in {work}", flush=True)
    csv, generated = generate(rows, args.seed, work, args.sample_interval)
    with background_load(args.background_load) as load:
        if load["on"]:
            print(f"[{rows:,} rows] background load on (pid {load['pid']})", flush=True)
        print(f"[{rows:,} rows] kedro run ...", flush=True)
        kedro, nodes, project = run_kedro(csv, work, rows, overrides, args.sample_interval)
        print(
            f"[{rows:,} rows] kedro run: {kedro['wall_seconds']:.1f} s; plain script ...",
            flush=True,
        )
        card = model_card(project)
        settings = plain_settings(params, card["k"])
        plain = run_plain(csv, work, rows, settings, args.sample_interval)
        spark = spark_project = None
        if args.env == "spark":
            print(f"[{rows:,} rows] kedro run --env spark ...", flush=True)
            spark, spark_nodes, spark_project = run_kedro(
                csv, work, rows, overrides, args.sample_interval, env="spark"
            )
    result: dict[str, Any] = {
        "rows": rows,
        "seed": args.seed,
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "kedro_params": overrides,
        "plain_settings": settings,
        "generate": generated,
        "kedro": kedro,
        "plain": plain,
        "nodes": nodes,
        "ratio_wall": kedro["wall_seconds"] / plain["wall_seconds"],
        "ratio_peak_memory": kedro["peak_mb"] / plain["peak_mb"],
        "same_answer": same_answer(card, plain),
        "background_load": load,
    }
    if spark is not None:
        result["spark"], result["spark_nodes"] = spark, spark_nodes
        result["spark_parity"] = segments_parity(project, spark_project)
        if not args.keep:
            shutil.rmtree(spark_project, ignore_errors=True)
    if args.scoring:
        print(f"[{rows:,} rows] scoring ...", flush=True)
        result["scoring"] = time_scoring(project, args.single_repeats)
    if not args.keep:
        shutil.rmtree(project, ignore_errors=True)
        shutil.rmtree(work / f"plain_{rows}", ignore_errors=True)
    return result


def main(argv: list[str] | None = None) -> int:
    """Command line; see the module docstring."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--rows", type=int, action="append", help="customers to generate (repeatable)"
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
        "--background-load",
        action="store_true",
        help="keep one core busy (a busy-loop process) during the runs of each size",
    )
    args = parser.parse_args(argv)
    sizes = args.rows or [100_000]
    work = args.work_dir.resolve()
    if work == REPO or REPO in work.parents:
        parser.error(f"--work-dir must be outside the repository ({REPO})")
    work.mkdir(parents=True, exist_ok=True)
    args.results_dir.mkdir(parents=True, exist_ok=True)

    light = None
    if args.light_repeats > 0:
        print("kedro registry list, kedro --help, kedro run --help ...", flush=True)
        light = time_light_commands(work, args.light_repeats)
    results = []
    for rows in sizes:
        result = benchmark_one(rows, args, work)
        if light is not None:
            result["light_commands"] = light
        if args.background_load:
            compare_with_quiet(result, args.results_dir / f"benchmark_{rows}.json")
        results.append(result)
        table = figures_table(result)
        print("\n" + table + "\n", flush=True)
        stem = args.results_dir / f"benchmark_{rows}{LOADED if args.background_load else ''}"
        stem.with_suffix(".json").write_text(json.dumps(result, indent=2, default=str))
        stem.with_suffix(".md").write_text(table + "\n")
    if len(results) > 1:
        scaling = scaling_table(results)
        print(scaling)
        name = f"scaling{LOADED if args.background_load else ''}.md"
        (args.results_dir / name).write_text(scaling + "\n")
    print(f"results written to {args.results_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
