"""``kedro_io.runs``: one run at a time per data folder. Real ``kedro run`` processes started
together in one project folder: one runs, the other stops at once naming it, and every model
version holds its own input's customers; a killed run holds nothing.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import REAL_FILES, copy_project, load_catalog, real_file, run_project
from model_projects import copy_run

from customer_segmentation.kedro_io.runs import LOCK_FILE, RunInProgressError, RunLock
from customer_segmentation.kedro_io.versioning import ModelVersionError

RUN_SECONDS = 600


def _kedro(project: Path, *args: str) -> subprocess.Popen:
    """``kedro run ARGS`` in ``project``, its output kept in a file beside the project (a pipe
    would fill while the test waits for the run, and stop it)."""
    log = project.with_name(f"{project.name}.{time.monotonic_ns()}.log").open("w+")
    run = subprocess.Popen(
        [sys.executable, "-m", "kedro", "run", *args],
        cwd=project,
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "KEDRO_DISABLE_TELEMETRY": "1"},
    )
    run.log = log  # type: ignore[attr-defined]
    return run


def _output(run: subprocess.Popen) -> str:
    """What the run wrote so far."""
    run.log.seek(0)  # type: ignore[attr-defined]
    return run.log.read()  # type: ignore[attr-defined]


def _holding(project: Path, run: subprocess.Popen) -> None:
    """Wait until ``run`` holds the project's data folder (its lock file names it)."""
    lock = project / "data" / LOCK_FILE
    deadline = time.monotonic() + RUN_SECONDS
    while time.monotonic() < deadline and run.poll() is None:
        text = lock.read_text() if lock.exists() else ""
        if text and json.loads(text)["pid"] == run.pid:
            return
        time.sleep(0.2)
    raise AssertionError(f"the first run never took the lock: {_output(run)[-2000:]}")


def _together(project: Path, first: list[str], second: list[str]) -> list[tuple[int, str]]:
    """Two runs in the same project folder, the second started while the first holds the
    folder: exit codes and outputs. The first runs; the second stops at once naming it."""
    runs = [_kedro(project, *first)]
    _holding(project, runs[0])
    runs.append(_kedro(project, *second))
    outcomes = [(run.wait(RUN_SECONDS), _output(run)) for run in runs]
    assert [code for code, _ in outcomes] == [0, 1], [out[-2000:] for _, out in outcomes]
    stopped = " ".join(outcomes[1][1].split())
    assert "is in use by run" in stopped and "Runs that share a data folder" in stopped, stopped
    assert f"by process {runs[0].pid}" in stopped, stopped
    return outcomes


@pytest.mark.slow
def test_two_trainings_at_once_never_mix_their_customers(tmp_path: Path):
    project = copy_project(tmp_path / "project")
    real = str(real_file(REAL_FILES[0]))

    _together(project, ["--params", f"raw_customers_path={real}"], [])

    catalog = load_catalog(project)
    report = catalog.load("data_quality_report")
    assert report["source"].endswith(REAL_FILES[0])
    clean = set(catalog.load("customers")["ID"])
    assert set(catalog.load("customer_segments")["ID"]) == clean, "its own input's customers"
    assert len(clean) == report["rows_clean"] == catalog.load("model_card")["training_rows"]


@pytest.mark.slow
def test_training_and_scoring_at_once_never_mix(real_project: Path, tmp_path: Path):
    project = copy_run(real_project, tmp_path / "project")
    trained = set(load_catalog(project).load("customer_segments")["ID"])
    real = str(real_file(REAL_FILES[1]))

    _together(project, [], ["--pipeline", "scoring", "--params", f"new_customers_path={real}"])

    catalog = load_catalog(project)
    segments = set(catalog.load("customer_segments")["ID"])
    assert segments == set(catalog.load("customers")["ID"]) != trained, "the demo table's version"
    assert not catalog.exists("scored_customers"), "the stopped scoring wrote nothing"


@pytest.mark.slow
def test_a_killed_run_holds_nothing(tmp_path: Path):
    project = copy_project(tmp_path / "project")
    run = _kedro(project)
    _holding(project, run)
    run.send_signal(signal.SIGKILL)
    run.wait(60)

    outputs = run_project(project, pipeline="data_processing")

    assert outputs is not None and load_catalog(project).exists("customers")


def test_a_held_folder_is_refused_naming_the_holder(tmp_path: Path):
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from pathlib import Path\n"
            "from customer_segmentation.kedro_io.runs import RunLock\n"
            "lock = RunLock(Path(sys.argv[1]))\n"
            "lock.acquire({'run': 'R1', 'pipelines': ['scoring'], "
            "'env': 'local', 'started': 'then', 'pid': 1, 'host': 'h', 'command': 'kedro run'})\n"
            "print('held', flush=True); time.sleep(60)",
            str(tmp_path),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(RunInProgressError, match=r"in use by run R1 \(pipelines scoring"):
            RunLock(tmp_path).acquire({})
    finally:
        holder.kill()
        holder.wait()
    lock = RunLock(tmp_path)
    lock.acquire({"run": "R2"})  # the holder is gone: its lock with it
    lock.release()


def test_a_run_another_hook_refuses_lets_the_lock_go(fresh_project: Path):
    with pytest.raises(ModelVersionError, match="does not exist"):
        run_project(fresh_project, pipeline="reporting", params={"model_version": "nope"})

    lock = RunLock(fresh_project / "data")
    lock.acquire({"run": "next"})  # free: the refused run let go
    lock.release()
