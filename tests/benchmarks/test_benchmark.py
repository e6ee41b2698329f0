"""The benchmark (``benchmarks/run.py``) at a small size, the timing hook, seeded samples.

No assertion here is about speed: the machine running the suite is not quiet. The tests check
that the benchmark runs, reports both sides and every node, writes its results, and that every
sampled metric depends on the seed only.
"""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from types import ModuleType

import numpy as np
import pandas as pd
import psutil
import pytest
from conftest import REAL_FILES, changed, real_file
from kedro.framework.hooks.manager import _create_hook_manager
from kedro.framework.project import configure_project
from kedro.io import DataCatalog, MemoryDataset
from kedro.pipeline import Node, Pipeline
from kedro.runner import SequentialRunner

import customer_segmentation
from customer_segmentation import settings
from customer_segmentation.core import engine
from customer_segmentation.core.modeling.selection import sweep
from customer_segmentation.demo_data import generate_customers, write_customers
from customer_segmentation.kedro_io.hooks import TIMINGS_ENV_VAR, NodeTimingHook
from customer_segmentation.pipeline_registry import register_pipelines

REPO = Path(__file__).resolve().parents[2]
BENCHMARKS = REPO / "benchmarks"
ROWS = 3000
# Small but complete: every node and every step runs, with a short k range and few refits.
FAST = "model_selection.k_max=4,model_selection.stability_resamples=2,clustering.n_init=2"
# What the faked runs below report of the contract and of the typed read of their file.
CHECK_NODE = {
    "node": "check_customers",
    "seconds": 1.0,
    "load_seconds": 0.0,
    "save_seconds": 0.0,
    "peak_rss_mb_so_far": 10.0,
}
TYPED_READ = {"seconds": 0.5, "repeats": 3}


def _module(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCHMARKS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def bench(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """One run of the benchmark command on 3,000 generated customers (once per session: the
    module's tests share one xdist worker, but other tests may run between them).
    """
    base = tmp_path_factory.mktemp("bench")
    cmd = [
        sys.executable,
        str(BENCHMARKS / "run.py"),
        "--rows",
        str(ROWS),
        "--work-dir",
        str(base / "work"),
        "--results-dir",
        str(base / "results"),
        "--params",
        FAST,
        "--scoring",
        "--single-repeats",
        "5",
        "--light-repeats",
        "1",  # each command that touches no data timed once: the table is what is tested
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, check=False)
    assert done.returncode == 0, f"benchmark failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return {"stdout": done.stdout, "base": base}


@pytest.mark.slow
def test_benchmark_prints_figures_of_both_sides(bench: dict) -> None:
    out = bench["stdout"]
    for needle in ("| kedro run |", "| plain scikit-learn |", "ratio kedro / plain", "select_k"):
        assert needle in out, f"benchmark output lacks {needle!r}:\n{out[-2000:]}"
    assert "rows/minute" in out, "--scoring was asked for but no scoring figures were printed"
    assert "`kedro registry list`" in out, "the commands that touch no data were not timed"


@pytest.mark.slow
def test_benchmark_writes_results(bench: dict) -> None:
    results = bench["base"] / "results"
    data = json.loads((results / f"benchmark_{ROWS}.json").read_text())
    markdown = (results / f"benchmark_{ROWS}.md").read_text()
    assert "| kedro run |" in markdown, "the markdown results lack the figures table"
    for side in ("kedro", "plain"):
        assert data[side]["exit_code"] == 0, f"{side} did not succeed: {data[side]}"
        assert data[side]["wall_seconds"] > 0, f"{side} has no wall time"
        assert data[side]["peak_mb"] > 0, f"{side} has no peak memory"
    assert data["ratio_wall"] == pytest.approx(
        data["kedro"]["wall_seconds"] / data["plain"]["wall_seconds"]
    ), "the wall-time ratio is not kedro / plain"
    assert data["generate"]["path"].startswith(str(bench["base"] / "work")), (
        "the customers were not generated in the work folder"
    )


@pytest.mark.slow
def test_the_contract_is_set_against_the_engines_typed_read(bench: dict) -> None:
    """Issue 31: the contract's cost over Polars' typed read of the same file, printed."""
    data = json.loads((bench["base"] / "results" / f"benchmark_{ROWS}.json").read_text())
    (check,) = (n for n in data["nodes"]["nodes"] if n["node"] == "check_customers")
    assert data["typed_read"]["seconds"] > 0 and data["typed_read"]["repeats"] == 3
    assert data["contract_factor"] == pytest.approx(
        check["seconds"] / data["typed_read"]["seconds"]
    )
    assert f"**{data['contract_factor']:.1f}x** (issue 31: at most 3x" in bench["stdout"]


@pytest.mark.slow
def test_benchmark_records_every_node(bench: dict) -> None:
    data = json.loads((bench["base"] / "results" / f"benchmark_{ROWS}.json").read_text())
    configure_project("customer_segmentation")
    expected = {node.name for node in register_pipelines()["__default__"].nodes}
    recorded = [n["node"] for n in data["nodes"]["nodes"]]
    assert sorted(recorded) == sorted(expected), (
        f"the timing hook missed or repeated nodes: recorded {recorded}, pipeline has {expected}"
    )
    assert data["nodes"]["completed"], "the node timings say the run did not complete"


@pytest.mark.slow
def test_each_node_is_set_beside_itself_at_every_size(bench: dict) -> None:
    small = json.loads((bench["base"] / "results" / f"benchmark_{ROWS}.json").read_text())
    large = json.loads(json.dumps(small)) | {"rows": ROWS * 10}
    for node in large["nodes"]["nodes"]:
        node["seconds"] = 2 * node["seconds"] + node["load_seconds"] + node["save_seconds"]

    table = _module("benchmark_tables").nodes_by_size_table([small, large])

    lines = table.splitlines()
    assert f"{ROWS:,} rows" in lines[0] and f"{ROWS * 10:,} rows" in lines[0]
    (row,) = [line for line in lines if line.startswith("| compare_methods |")]
    first, last, growth = (cell.strip() for cell in row.strip("|").split("|")[1:])
    assert float(last) == pytest.approx(2 * float(first), abs=0.02) and growth.endswith("x")
    assert len(lines) == 2 + len(small["nodes"]["nodes"]), "one row per node"


@pytest.mark.slow
def test_both_sides_do_the_same_work(bench: dict) -> None:
    data = json.loads((bench["base"] / "results" / f"benchmark_{ROWS}.json").read_text())
    plain = data["plain"]["figures"]
    assert [row["k"] for row in plain["sweep"]] == [2, 3, 4], (
        "the plain script did not follow the k range passed with --params"
    )
    assert data["plain_settings"]["n_init"] == 2, "the plain script did not follow n_init"
    assert plain["rows_in_clean"] == data["scoring"]["rows"], (
        f"plain cleaning kept {plain['rows_in_clean']} rows, the pipeline "
        f"{data['scoring']['rows']}: the two sides do not segment the same customers"
    )
    assert len(plain["segment_sizes"]) == data["plain_settings"]["n_clusters"]
    same = data["same_answer"]
    assert same["kedro"]["rows_in_clean"] == plain["rows_in_clean"]
    assert same["kedro"]["k"] == plain["k"]
    # Both minimise the same inertia on the same rows; the project's start (the sweep's
    # centres) must not give a worse fit than the plain script's k-means++ starts.
    assert same["inertia_ratio"] <= 1.01, same
    assert "Same answer:" in bench["stdout"]


def test_work_dir_inside_repo_is_refused() -> None:
    run = _module("run")
    with pytest.raises(SystemExit):
        run.main(["--rows", "10", "--work-dir", str(REPO / "data" / "bench")])


def test_params_overrides_reach_the_plain_settings() -> None:
    run = _module("run")
    overrides = run.parse_overrides(["clustering.algorithm=minibatch,model_selection.k_min=3"])
    settings = run.plain_settings(run.project_parameters(overrides), k=4)
    assert settings["algorithm"] == "minibatch", "clustering.algorithm did not reach the script"
    assert settings["k_min"] == 3, "model_selection.k_min did not reach the plain script"
    with pytest.raises(SystemExit):
        run.parse_overrides(["no_equals_sign"])


# --------------------------------------------------------------------------------------
# The timing hook
# --------------------------------------------------------------------------------------


def _double(x: int) -> int:
    return 2 * x


def _fail(x: int) -> int:
    raise RuntimeError("boom")


def _run_with_hook(
    hook: NodeTimingHook, pipeline: Pipeline, run_params: dict
) -> BaseException | None:
    manager = _create_hook_manager()
    manager.register(hook)
    catalog = DataCatalog({"a": MemoryDataset(1)})
    manager.hook.before_pipeline_run(run_params=run_params, pipeline=pipeline, catalog=catalog)
    try:
        result = SequentialRunner().run(pipeline, catalog, manager)
    except RuntimeError as error:
        manager.hook.on_pipeline_error(
            error=error, run_params=run_params, pipeline=pipeline, catalog=catalog
        )
        return error
    manager.hook.after_pipeline_run(
        run_params=run_params, run_result=result, pipeline=pipeline, catalog=catalog
    )
    return None


def test_hook_records_every_node_in_run_order(tmp_path: Path) -> None:
    pipeline = Pipeline(
        [
            Node(_double, "a", "b", name="first"),
            Node(_double, "b", "c", name="second"),
            Node(_double, "c", "d", name="third"),
        ]
    )
    target = tmp_path / "timings.json"
    hook = NodeTimingHook()
    _run_with_hook(hook, pipeline, {"runtime_params": {"node_timings_path": str(target)}})
    data = json.loads(target.read_text())
    assert [n["node"] for n in data["nodes"]] == ["first", "second", "third"], (
        f"nodes recorded out of order or missing: {data['nodes']}"
    )
    for node in data["nodes"]:
        for key in ("seconds", "load_seconds", "save_seconds", "peak_rss_mb_so_far"):
            assert node[key] >= 0, f"{key} of {node['node']} is negative or missing"
    assert set(data["datasets"]) >= {"a", "b", "c"}, "dataset loads were not timed"
    assert data["completed"] and data["error"] is None


def test_hook_uses_env_var_and_writes_on_failure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "env" / "timings.json"
    monkeypatch.setenv(TIMINGS_ENV_VAR, str(target))
    pipeline = Pipeline([Node(_double, "a", "b", name="ok"), Node(_fail, "b", "c", name="bad")])
    error = _run_with_hook(NodeTimingHook(), pipeline, {"runtime_params": {}})
    assert error is not None, "the failing node did not fail"
    data = json.loads(target.read_text())
    assert not data["completed"], "a failed run is reported as completed"
    assert "boom" in data["error"], f"the error is not recorded: {data['error']}"
    assert [n["node"] for n in data["nodes"]] == ["ok"], "only the node that finished counts"


def test_hook_starts_fresh_for_each_run(tmp_path: Path) -> None:
    hook = NodeTimingHook()
    pipeline = Pipeline([Node(_double, "a", "b", name="only")])
    for _ in range(2):
        _run_with_hook(hook, pipeline, {"runtime_params": {}})
    assert [r["node"] for r in hook.records] == ["only"], "records leak from one run to the next"


def test_hook_is_registered_in_settings() -> None:
    assert any(isinstance(h, NodeTimingHook) for h in settings.HOOKS), "NodeTimingHook not in HOOKS"


# --------------------------------------------------------------------------------------
# Seeded samples: same seed, same sample, same metric
# --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def scaled() -> np.ndarray:
    table, _ = generate_customers(1200, seed=7)
    values = table[["Income", "MntWines", "NumWebPurchases", "Recency"]].fillna(0.0)
    values = values.to_numpy(dtype="float64")
    return (values - values.mean(axis=0)) / values.std(axis=0)


def test_the_plain_script_samples_the_pipelines_customers() -> None:
    """One seeded sample: the plain script draws the customers ``engine.sample`` draws."""
    ids = np.random.default_rng(2).permutation(100_000) * 3 + 11
    plain = _module("plain_sklearn")
    first = plain.sample_rows(ids, 5000, 3)
    drawn = engine.to_pandas(engine.sample(engine.lazy(pd.DataFrame({"ID": ids})), 5000, 3, "ID"))
    assert sorted(ids[first]) == drawn["ID"].tolist(), "the plain script samples other customers"
    assert np.array_equal(first, plain.sample_rows(ids, 5000, 3)), "same seed, other rows"
    assert not np.array_equal(first, plain.sample_rows(ids, 5000, 4)), "another seed, same rows"


def test_sampled_metrics_are_stable(scaled: np.ndarray, params) -> None:
    settings = changed(
        params["model_selection"],
        k_min=2,
        k_max=3,
        n_init=2,
        random_state=5,
        silhouette_sample_size=400,
        stability_sample_size=300,
        stability_resamples=2,
    )
    rows = np.arange(len(scaled))
    first = sweep(scaled, settings, rows[:300], rows[:400])[0]
    pd.testing.assert_frame_equal(first, sweep(scaled, settings, rows[:300], rows[:400])[0])


def test_plain_script_metrics_are_seeded(tmp_path: Path) -> None:
    run = _module("run")
    plain = _module("plain_sklearn")
    table, _ = generate_customers(1500, seed=1)
    csv = tmp_path / "customers.csv"
    write_customers(table, csv)
    settings = {
        **run.plain_settings(run.project_parameters({}), k=6),
        "k_max": 3,
        "n_init": 2,
        "sweep_sample": 800,
        "silhouette_sample": 400,
        "dbscan_sample": 400,
        "map_sample": 300,
    }
    runs = [plain.run(csv, tmp_path / f"out{i}", settings) for i in range(2)]
    for figures in runs:
        figures.pop("steps_seconds")
    assert runs[0] == runs[1], "the plain script's figures change between identical runs"
    for name in ("scaler.joblib", "kmeans.joblib", "segments.parquet", "segment_map.png"):
        assert (tmp_path / "out0" / name).exists(), f"the plain script did not save {name}"


# --------------------------------------------------------------------------------------
# --background-load: a busy process beside both runs (its effect on timings is not tested)
# --------------------------------------------------------------------------------------


def test_background_load_starts_and_stops_its_process() -> None:
    run = _module("run")
    with run.background_load(True) as load:
        busy = psutil.Process(load["pid"])
        assert busy.is_running(), "the load process is not running inside the block"
        assert busy.ppid() == os.getpid(), "the load process is not the benchmark's child"
        assert busy.status() != psutil.STATUS_ZOMBIE, "the load process died at once"
    assert not busy.is_running(), "the load process still runs after the block"
    assert load["on"] and load["seconds"] > 0, f"the load is not described: {load}"
    with run.background_load(False) as quiet:
        assert quiet == {"on": False}, "without the option a load was started"


def test_background_load_spans_both_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    """Both measured runs happen while the load process runs; it is gone afterwards, and the
    results say the load was on.
    """
    run = _module("run")
    seen: dict[str, bool] = {}
    started: list[int] = []
    popen = subprocess.Popen

    def spy_popen(cmd: list[str], *args: object, **kwargs: object) -> subprocess.Popen:
        proc = popen(cmd, *args, **kwargs)
        if run.BUSY_LOOP in cmd:
            started.append(proc.pid)
        return proc

    answer = {"rows_in_clean": 9, "k": 6, "inertia": 1.0, "silhouette": 0.2}

    def load_alive() -> bool:
        return len(started) == 1 and psutil.pid_exists(started[0])

    def fake_kedro(csv: Path, work: Path, rows: int, *args: object, **kwargs: object) -> tuple:
        seen["kedro"] = load_alive()
        measures = {"wall_seconds": 2.0, "peak_mb": 10.0, "cpu_seconds": 1.0}
        nodes = {"pipeline_seconds": 1.5, "nodes": [CHECK_NODE], "completed": True}
        return measures, nodes, work

    def fake_plain(*args: object, **kwargs: object) -> dict:
        seen["plain"] = load_alive()
        figures = {"steps_seconds": {"read": 0.1}, **answer}
        return {"wall_seconds": 1.0, "peak_mb": 5.0, "cpu_seconds": 1.0, "figures": figures}

    monkeypatch.setattr(run.subprocess, "Popen", spy_popen)
    monkeypatch.setattr(run, "generate", lambda rows, *a: (tmp_path / "x.csv", {"reused": True}))
    monkeypatch.setattr(run, "run_kedro", fake_kedro)
    monkeypatch.setattr(run, "time_typed_read", lambda csv, sep: TYPED_READ)
    monkeypatch.setattr(run, "run_plain", fake_plain)
    card = {"training_rows": 9, "k": 6, "inertia": 1.0, "silhouette": 0.2}
    monkeypatch.setattr(run, "model_card", lambda project: card)
    results = tmp_path / "results"
    quiet = {
        "rows": 10,
        "seed": 42,
        "kedro_params": {},
        "kedro": {"wall_seconds": 1.6},
        "plain": {"wall_seconds": 1.0},
        "ratio_wall": 1.6,
        "measured_at": "t",
    }
    results.mkdir()
    (results / "benchmark_10.json").write_text(json.dumps(quiet))
    argv = ["--rows", "10", "--work-dir", str(tmp_path / "work"), "--results-dir", str(results)]
    assert run.main([*argv, "--background-load"]) == 0
    assert seen == {"kedro": True, "plain": True}, f"a run went without the load: {seen}"
    assert len(started) == 1, f"expected one load process, started {started}"
    assert not psutil.pid_exists(started[0]) or psutil.Process(started[0]).status() in {
        psutil.STATUS_ZOMBIE,
        psutil.STATUS_DEAD,
    }, "the load process outlived the benchmark"
    data = json.loads((results / "benchmark_10_loaded.json").read_text())
    assert data["background_load"]["on"], "the results do not say the load was on"
    assert data["loaded_over_quiet"] == pytest.approx(2.0 / 1.6), "no comparison with quiet"
    assert "Background load: on" in (results / "benchmark_10_loaded.md").read_text()
    assert "Background load: on" in capsys.readouterr().out, "the printed table omits the load"
    assert json.loads((results / "benchmark_10.json").read_text()) == quiet, (
        "the loaded run overwrote the quiet results"
    )
    summary = (results / "summary.md").read_text()
    assert "| generated (seed 42) | 10 | 1.6 | 1.0 | 1.60x | 2.0 | 1.0 | 2.00x | 1.25x |" in (
        summary
    ), f"the summary does not set the loaded run against the saved quiet one:\n{summary}"
    assert "benchmark_10.json, t" in summary, "the summary does not say where quiet came from"


def test_children_get_the_users_openmp_wait_policy(monkeypatch: pytest.MonkeyPatch) -> None:
    """The package sets OMP_WAIT_POLICY in the benchmark's own process; the plain script must
    not inherit it (it stands for notebook code with scikit-learn's defaults).
    """
    run = _module("run")
    monkeypatch.setattr(customer_segmentation, "OPENMP_WAIT_SET", True)
    monkeypatch.setenv("OMP_WAIT_POLICY", "PASSIVE")
    assert "OMP_WAIT_POLICY" not in run.child_env(), "the package's wait policy leaked"
    monkeypatch.setattr(customer_segmentation, "OPENMP_WAIT_SET", False)
    monkeypatch.setenv("OMP_WAIT_POLICY", "ACTIVE")
    assert run.child_env()["OMP_WAIT_POLICY"] == "ACTIVE", "the user's wait policy was dropped"


# --------------------------------------------------------------------------------------
# The load process ends with the benchmark, however the benchmark ends
# --------------------------------------------------------------------------------------


def _alive(process: psutil.Process) -> bool:
    """Running and not a zombie (an exited child its new parent has not reaped yet)."""
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_load_process_ends_when_the_benchmark_is_killed(tmp_path: Path) -> None:
    """A benchmark killed by SIGKILL cannot stop its load process: the process must notice
    that its parent is gone and stop by itself, not keep a core busy forever.
    """
    parent_code = textwrap.dedent(
        f"""
        import importlib.util, os, signal, sys
        spec = importlib.util.spec_from_file_location("bench_run", {str(BENCHMARKS / "run.py")!r})
        run = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(run)
        with run.background_load(True) as load:
            print(load["pid"], flush=True)
            sys.stdin.readline()
            os.kill(os.getpid(), signal.SIGKILL)
        """
    )
    errors = tmp_path / "parent.err"
    with errors.open("w") as sink:
        parent = subprocess.Popen(
            [sys.executable, "-c", parent_code],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=sink,
            text=True,
        )
    child = None
    try:
        line = parent.stdout.readline()
        assert line.strip().isdigit(), f"the parent did not start the load:\n{errors.read_text()}"
        child = psutil.Process(int(line))
        # Before the kill: the load runs, is the parent's child and works (it would pass by
        # accident if it had never started or stopped on its own).
        assert _alive(child), "the load process is not running inside the block"
        assert child.ppid() == parent.pid, "the load process is not the parent's child"
        busy = sum(child.cpu_times()[:2])
        time.sleep(0.3)
        assert _alive(child), "the load process stopped by itself while its parent lived"
        assert sum(child.cpu_times()[:2]) > busy, "the load process does no work"
        parent.stdin.write("go\n")
        parent.stdin.flush()
        assert parent.wait(timeout=30) == -signal.SIGKILL, "the parent did not die by SIGKILL"
        deadline = time.monotonic() + 5
        while _alive(child) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _alive(child), "the load process outlived the killed benchmark by 5 s"
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait()
        if child is not None and _alive(child):
            child.kill()  # never leave a busy core behind


def test_load_process_does_not_start_without_its_parent() -> None:
    """Started for a parent that is not its parent (one that died before the loop began), the
    busy loop ends at once.
    """
    run = _module("run")
    done = subprocess.run(
        [sys.executable, "-c", run.BUSY_LOOP, str(os.getppid())], timeout=20, check=False
    )
    assert done.returncode == 0, "the busy loop did not end for a parent that is not its own"


# --------------------------------------------------------------------------------------
# --real-table and --load both (runs faked: the cost of the runs is not under test)
# --------------------------------------------------------------------------------------


class FakeRuns:
    """``run_kedro``/``run_plain`` that record their calls and whether the load ran meanwhile:
    kedro takes 1.6 s quiet and 2.0 s loaded, plain 1.0 s (ratios 1.6x and 2.0x).
    """

    def __init__(self, run: ModuleType, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
        self.run = run
        self.calls: list[dict] = []
        self.loads: list[int] = []
        popen = subprocess.Popen

        def spy_popen(cmd: list[str], *args: object, **kwargs: object) -> subprocess.Popen:
            proc = popen(cmd, *args, **kwargs)
            if run.BUSY_LOOP in cmd:
                self.loads.append(proc.pid)
            return proc

        def fake_generate(rows: int, *args: object) -> tuple[Path, dict]:
            return tmp_path / f"customers_{rows}.csv", {"reused": True}

        card = {"training_rows": 9, "k": 6, "inertia": 1.0, "silhouette": 0.2}
        monkeypatch.setattr(run.subprocess, "Popen", spy_popen)
        monkeypatch.setattr(run, "generate", fake_generate)
        monkeypatch.setattr(run, "run_kedro", self.kedro)
        monkeypatch.setattr(run, "time_typed_read", lambda csv, sep: TYPED_READ)
        monkeypatch.setattr(run, "run_plain", self.plain)
        monkeypatch.setattr(run, "model_card", lambda project: card)

    def _loaded(self) -> bool:
        return any(_alive(psutil.Process(pid)) for pid in self.loads if psutil.pid_exists(pid))

    def kedro(self, csv: Path, work: Path, name: str, *args: object, **kwargs: object) -> tuple:
        loaded = self._loaded()
        self.calls.append({"side": "kedro", "name": name, "csv": csv, "loaded": loaded})
        measures = {"wall_seconds": 2.0 if loaded else 1.6, "peak_mb": 10.0, "cpu_seconds": 1.0}
        nodes = {"pipeline_seconds": 1.5, "nodes": [CHECK_NODE], "completed": True}
        return measures, nodes, work

    def plain(self, csv: Path, work: Path, name: str, settings: dict, interval: float) -> dict:
        loaded = self._loaded()
        self.calls.append({"side": "plain", "name": name, "sep": settings["sep"], "loaded": loaded})
        figures = {
            "steps_seconds": {"read": 0.1},
            "rows_in_clean": 9,
            "k": 6,
            "inertia": 1.0,
            "silhouette": 0.2,
        }
        return {"wall_seconds": 1.0, "peak_mb": 5.0, "cpu_seconds": 1.0, "figures": figures}


@pytest.fixture
def customers_tsv(tmp_path: Path) -> Path:
    """200 generated customers in the Kaggle schema, tab-separated (marketing_campaign.csv)."""
    table, _ = generate_customers(200, seed=3)
    comma = tmp_path / "comma.csv"
    write_customers(table, comma)
    tsv = tmp_path / "my campaign.csv"
    pd.read_csv(comma, dtype=str).to_csv(tsv, sep="\t", index=False)
    return tsv


def test_load_both_runs_every_input_quiet_then_loaded(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture,
    customers_tsv: Path,
) -> None:
    run = _module("run")
    fake = FakeRuns(run, monkeypatch, tmp_path)
    results = tmp_path / "results"
    argv = [
        "--real-table",
        str(customers_tsv),
        "--rows",
        "10",
        "--load",
        "both",
        "--light-repeats",
        "0",
        "--work-dir",
        str(tmp_path / "work"),
        "--results-dir",
        str(results),
    ]
    assert run.main(argv) == 0
    order = [(c["side"], c["name"], c["loaded"]) for c in fake.calls]
    assert order == [
        ("kedro", "real_my_campaign", False),
        ("plain", "real_my_campaign", False),
        ("kedro", "real_my_campaign_loaded", True),
        ("plain", "real_my_campaign_loaded", True),
        ("kedro", "10", False),
        ("plain", "10", False),
        ("kedro", "10_loaded", True),
        ("plain", "10_loaded", True),
    ], f"not every input ran quiet, then under load, in one invocation: {order}"
    assert len(fake.loads) == 2, f"expected one load process per input, got {fake.loads}"
    assert not any(_alive(psutil.Process(p)) for p in fake.loads if psutil.pid_exists(p)), (
        "a load process outlived the benchmark"
    )
    assert fake.calls[0]["csv"] == customers_tsv.resolve(), "kedro did not get the real table"
    assert [c["sep"] for c in fake.calls if c["side"] == "plain"] == ["\t", "\t", ",", ","], (
        "the plain script was not told each file's delimiter"
    )
    for name in ("benchmark_real_my_campaign", "benchmark_10"):
        quiet = json.loads((results / f"{name}.json").read_text())
        loaded = json.loads((results / f"{name}_loaded.json").read_text())
        assert not quiet["background_load"]["on"], f"{name}: the quiet run had the load on"
        assert loaded["background_load"]["on"], f"{name}: the loaded run had no load"
        assert loaded["loaded_over_quiet"] == pytest.approx(2.0 / 1.6), f"{name}: no steadiness"
        assert (results / f"{name}_quiet_vs_loaded.md").exists(), f"{name}: no side-by-side"
    real = json.loads((results / "benchmark_real_my_campaign.json").read_text())
    assert real["rows"] == 200 and real["input"]["kind"] == "real", real["input"]
    out = capsys.readouterr().out
    assert (
        "### real table my campaign.csv (200 rows, tab-separated): quiet and with one core busy"
        in (out)
    ), "the side-by-side table does not name the file and its rows"
    assert "| kedro run | 1.6 | 2.0 | 1.25x |" in out, (
        "kedro's quiet and loaded walls not side by side"
    )
    assert "| **ratio kedro / plain** | **1.60x** | **2.00x** | **1.25x** |" in out
    assert "% of a core" in out, "the busy share of the load is not printed"
    summary = (results / "summary.md").read_text()
    assert summary in out, "the summary was not printed"
    header = (
        "| input | rows | kedro quiet (s) | plain quiet (s) | ratio quiet | kedro loaded (s) "
        "| plain loaded (s) | ratio loaded | loaded / quiet | load busy |"
    )
    assert header in summary, summary
    assert "| my campaign.csv | 200 | 1.6 | 1.0 | 1.60x | 2.0 | 1.0 | 2.00x | 1.25x |" in summary
    assert "| generated (seed 42) | 10 | 1.6 | 1.0 | 1.60x | 2.0 | 1.0 | 2.00x | 1.25x |" in summary
    assert "missed for my campaign.csv (200 rows), generated (seed 42) (10 rows)" in summary
    head = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert f"Commit `{head}" in summary, "the summary does not give the commit"
    assert "python benchmarks/run.py --real-table " in summary and "--load both" in summary, (
        "the summary does not give the exact command"
    )


def test_quiet_run_leaves_the_loaded_columns_empty(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, customers_tsv: Path
) -> None:
    run = _module("run")
    fake = FakeRuns(run, monkeypatch, tmp_path)
    results = tmp_path / "results"
    argv = ["--real-table", str(customers_tsv), "--light-repeats", "0"]
    argv += ["--work-dir", str(tmp_path / "work"), "--results-dir", str(results)]
    assert run.main(argv) == 0
    assert [c["name"] for c in fake.calls] == ["real_my_campaign"] * 2, (
        "--real-table alone should run the real table only, once"
    )
    assert not fake.loads, "a load was started without --load"
    summary = (results / "summary.md").read_text()
    assert "| my campaign.csv | 200 | 1.6 | 1.0 | 1.60x | – | – | – | – | – |" in summary, summary
    assert "not measured here" in summary
    assert "### real table my campaign.csv (200 rows, tab-separated), no background load" in (
        (results / "benchmark_real_my_campaign.md").read_text()
    )


def test_background_load_is_load_on() -> None:
    run = _module("run")
    assert run.parse_args(["--background-load"])[1].load == "on"
    assert run.parse_args(["--background-load", "--load", "on"])[1].load == "on"
    assert run.parse_args([])[1].load == "off"
    with pytest.raises(SystemExit):
        run.parse_args(["--background-load", "--load", "both"])


def test_real_table_is_checked_before_any_run(tmp_path: Path, customers_tsv: Path) -> None:
    run = _module("run")
    table = run.real_input(customers_tsv)
    assert (table.sep, table.rows, table.name) == ("\t", 200, "real_my_campaign"), table
    semicolon = tmp_path / "semi.csv"
    pd.read_csv(customers_tsv, sep="\t", dtype=str).to_csv(semicolon, sep=";", index=False)
    assert run.real_input(semicolon).sep == ";", "a semicolon-separated export was not read"
    other = tmp_path / "mall.csv"
    other.write_text("CustomerID,Gender,Age\n1,Male,19\n")
    with pytest.raises(ValueError, match="lacks"):
        run.real_input(other)
    slashes = tmp_path / "slashes.csv"
    frame = pd.read_csv(customers_tsv, sep="\t", dtype=str)
    frame["Dt_Customer"] = frame["Dt_Customer"].str.replace("-", "/")
    frame.to_csv(slashes, index=False)
    with pytest.raises(ValueError, match="dd-mm-yyyy"):
        run.real_input(slashes)
    with pytest.raises(SystemExit):  # the command line refuses it before anything runs
        run.main(["--real-table", str(tmp_path / "absent.csv"), "--light-repeats", "0"])


@pytest.mark.parametrize("name", REAL_FILES)
def test_real_tables_are_read_by_both_sides(name: str) -> None:
    """The Kaggle tables (comma- and tab-separated): every row counted, and the plain script
    reads the same customers from both with the delimiter the benchmark found.
    """
    run = _module("run")
    plain = _module("plain_sklearn")
    table = run.real_input(real_file(name))
    assert table.rows == 2240, f"{name}: {table.rows} rows counted, the table has 2,240"
    settings = {**run.plain_settings(run.project_parameters({}), k=4), "sep": table.sep}
    clean = plain.load_and_clean(table.csv, settings)
    assert 2200 < len(clean) < 2240, f"{name}: the plain script kept {len(clean)} rows"
    assert clean["Dt_Customer"].notna().all(), f"{name}: dates not parsed"


def test_spark_workers_runs_each_cluster_size_and_prints_the_speed_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    """``--spark-workers 1 --spark-workers 2``: one cluster per size, started before its run and
    stopped after it; the table sets each against Polars and the smallest cluster.
    """
    run = _module("run")
    events: list[str] = []

    class FakeCluster:
        def __init__(self, root: Path, workers: int, cores: int, memory: str) -> None:
            self.workers, self.master_url = workers, f"spark://fake:{workers}"

        def __enter__(self) -> FakeCluster:
            events.append(f"start {self.workers}")
            return self

        def __exit__(self, *_: object) -> None:
            events.append(f"stop {self.workers}")

    def fake_kedro(csv: Path, work: Path, name: str, *args: object, **kwargs: object) -> tuple:
        cluster = kwargs.get("cluster")
        if cluster is not None:
            events.append(f"run on {cluster.master_url}")
        wall = {None: 1.6, 1: 80.0, 2: 50.0}[cluster.workers if cluster else None]
        check = {**CHECK_NODE, "seconds": wall / 4}
        nodes = {"pipeline_seconds": wall, "nodes": [check], "completed": True}
        return {"wall_seconds": wall, "peak_mb": 10.0, "cpu_seconds": 1.0}, nodes, work

    FakeRuns(run, monkeypatch, tmp_path)
    monkeypatch.setattr(run, "run_kedro", fake_kedro)
    monkeypatch.setattr(run, "SparkCluster", FakeCluster)
    results = tmp_path / "results"
    argv = ["--rows", "10", "--spark-workers", "1", "--spark-workers", "2", "--light-repeats", "0"]
    argv += ["--work-dir", str(tmp_path / "work"), "--results-dir", str(results)]
    assert run.main(argv) == 0
    assert events == [
        "start 1",
        "run on spark://fake:1",
        "stop 1",
        "start 2",
        "run on spark://fake:2",
        "stop 2",
    ]
    data = json.loads((results / "benchmark_10.json").read_text())
    assert data["spark_clusters"]["2"]["contract_seconds"] == pytest.approx(12.5)
    out = capsys.readouterr().out
    assert "| standalone cluster, 1 worker of 1 core | 80.0 | 20.0 | 50.00x | 1.00x |" in out
    assert "| standalone cluster, 2 workers of 1 core | 50.0 | 12.5 | 31.25x | 1.60x |" in out
