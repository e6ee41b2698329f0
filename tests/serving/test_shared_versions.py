"""A team on one server: the project's store and each model version are built once and shared by
every session, whatever the number of sessions starting at the same moment; uploads are scored
in worker processes.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pandas as pd
import pytest
from conftest import REAL_FILES, real_file
from model_projects import copy_run, model_stamps

from customer_segmentation.serving import score, uploads
from customer_segmentation.serving.versions import ModelStore, shared_store, shared_version

SESSIONS = 16


def at_once(task, sessions: int = SESSIONS) -> list:
    """Run ``task()`` in ``sessions`` threads released together; return their results."""
    start = threading.Barrier(sessions)

    def run():
        start.wait()
        return task()

    with ThreadPoolExecutor(sessions) as pool:
        return [f.result() for f in [pool.submit(run) for _ in range(sessions)]]


@pytest.fixture
def cold_project(real_project: Path, tmp_path: Path) -> Path:
    """A copy of the trained project that no store of this process has opened yet."""
    return copy_run(real_project, tmp_path / "project")


def test_sessions_opening_at_once_all_get_the_same_complete_store(cold_project: Path):
    def open_and_list():
        store = shared_store(cold_project)
        return store, store.versions()

    results = at_once(open_and_list)

    stores = {id(store) for store, _ in results}
    assert len(stores) == 1, f"{len(stores)} stores built for one project"
    (stamp,) = model_stamps(cold_project)
    for _, versions in results:
        assert [v.stamp for v in versions] == [stamp]
        assert versions[0].complete, f"a session saw an incomplete catalog: {versions[0].missing}"


def test_each_model_version_is_loaded_once_for_all_sessions(cold_project: Path):
    (stamp,) = model_stamps(cold_project)
    loads = []
    original = ModelStore.load

    def counted(self, version=None):
        loads.append(version)
        return original(self, version)

    ModelStore.load = counted
    try:
        versions = at_once(lambda: shared_version(cold_project, stamp))
    finally:
        ModelStore.load = original

    assert len({id(v) for v in versions}) == 1
    assert loads == [stamp], f"the version was loaded {len(loads)} times"
    margins = at_once(versions[0].training_margins, 8)
    assert len({id(m) for m in margins}) == 1, "per-version work is done once"


def test_uploads_are_scored_in_worker_processes_like_in_the_server(real_project: Path):
    store = shared_store(real_project)
    bundle = store.load()
    rules = store.params["data_processing"]
    content = real_file(REAL_FILES[0]).read_bytes()
    expected = score.score_upload(content, REAL_FILES[0], bundle, rules, 50)

    results = at_once(lambda: uploads.score_upload(content, REAL_FILES[0], bundle, rules, 50, 1), 2)

    for result in results:
        pd.testing.assert_frame_equal(result.scored, expected.scored)
        pd.testing.assert_frame_equal(result.rejected, expected.rejected)
        assert result.report == expected.report


def test_an_oversized_upload_never_reaches_a_worker(real_project: Path, monkeypatch):
    store = shared_store(real_project)

    def no_pool(workers):
        raise AssertionError("an oversized upload was sent to a worker")

    monkeypatch.setattr(uploads, "_pool", no_pool)
    content = real_file(REAL_FILES[0]).read_bytes()
    with pytest.raises(score.UploadTooLargeError, match="accepts files up to"):
        uploads.score_upload(
            content, "big.csv", store.load(), store.params["data_processing"], 0.1, 1
        )
