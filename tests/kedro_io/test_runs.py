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
    """``kedro run ARGS`` in ``project``, its output kept."""
    return subprocess.Popen(
        [sys.executable, "-m", "kedro", "run", *args],
        cwd=project,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "KEDRO_DISABLE_TELEMETRY": "1"},
    )


def _together(project: Path, first: list[str], second: list[str]) -> list[tuple[int, str]]:
    """Two runs started one second apart in the same project folder: exit codes and outputs."""
    runs = [_kedro(project, *first)]
    time.sleep(1)
    runs.append(_kedro(project, *second))
    return [(run.wait(RUN_SECONDS), run.stdout.read()) for run in runs]


def _one_ran(outcomes: list[tuple[int, str]]) -> int:
    """Which of two runs ran; the other stopped at once naming it."""
    ran = [i for i, (code, _) in enumerate(outcomes) if code == 0]
    assert len(ran) == 1, [(code, out[-2000:]) for code, out in outcomes]
    stopped = " ".join(outcomes[1 - ran[0]][1].split())
    assert "is in use by run" in stopped and "Runs that share a data folder" in stopped, stopped
    return ran[0]


@pytest.mark.slow
def test_two_trainings_at_once_never_mix_their_customers(tmp_path: Path):
    project = copy_project(tmp_path / "project")
    real = str(real_file(REAL_FILES[0]))

    outcomes = _together(project, ["--params", f"raw_customers_path={real}"], [])

    ran = _one_ran(outcomes)
    catalog = load_catalog(project)
    report = catalog.load("data_quality_report")
    assert report["source"].endswith(REAL_FILES[0] if ran == 0 else "demo_customers.csv")
    clean = set(catalog.load("customers")["ID"])
    assert set(catalog.load("customer_segments")["ID"]) == clean, "its own input's customers"
    assert len(clean) == report["rows_clean"] == catalog.load("model_card")["training_rows"]


@pytest.mark.slow
def test_training_and_scoring_at_once_never_mix(real_project: Path, tmp_path: Path):
    project = copy_run(real_project, tmp_path / "project")
    trained = set(load_catalog(project).load("customer_segments")["ID"])
    real = str(real_file(REAL_FILES[1]))

    outcomes = _together(
        project, [], ["--pipeline", "scoring", "--params", f"new_customers_path={real}"]
    )

    catalog = load_catalog(project)
    if _one_ran(outcomes) == 0:  # the training ran: its version holds the demo table's customers
        segments = set(catalog.load("customer_segments")["ID"])
        assert segments == set(catalog.load("customers")["ID"]) != trained
        assert not catalog.exists("scored_customers"), "the stopped scoring wrote nothing"
    else:  # the scoring ran: with the real model, on the real customers
        scored = catalog.load("scored_customers")
        assert set(scored["ID"]) == trained
        assert set(catalog.load("customer_segments")["ID"]) == trained, "no new version"


@pytest.mark.slow
def test_a_killed_run_holds_nothing(tmp_path: Path):
    project = copy_project(tmp_path / "project")
    lock = project / "data" / LOCK_FILE
    run = _kedro(project)
    deadline = time.monotonic() + RUN_SECONDS
    while not (lock.exists() and lock.read_text()) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert json.loads(lock.read_text())["pid"] == run.pid, "the run wrote what it is"
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
