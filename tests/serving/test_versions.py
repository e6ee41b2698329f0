"""The app's model loader: versions from the catalog, complete stamps only, clear refusals."""

from __future__ import annotations

import re
from pathlib import Path

import model_projects
import pytest
from conftest import PROJECT_ROOT
from model_projects import (
    HALF_RUN_STAMP,
    NEWER_K,
    OLDER_K,
    model_stamps,
)

from customer_segmentation.kedro_io.datasets import ArtifactError
from customer_segmentation.serving.versions import (
    PROJECT_ENV_VAR,
    ModelStore,
    ModelVersion,
    NoModelError,
    ProjectNotFoundError,
    VersionMismatchError,
    check_consistent,
    project_root,
)

# Shared project fixtures (session-scoped, built once for all modules).
half_run_project = model_projects.half_run_project
truncated_model_project = model_projects.truncated_model_project
two_versions_project = model_projects.two_versions_project


def test_default_is_the_newest_version_and_older_ones_load(two_versions_project: Path):
    store = ModelStore(two_versions_project)
    newer, older = model_stamps(two_versions_project)
    assert [v.stamp for v in store.versions()] == [newer, older], "versions newest first"
    assert all(v.complete for v in store.versions())

    latest = store.load()
    assert latest.version == newer, "no version given must mean the newest complete run"
    assert latest.card["k"] == latest.model.n_clusters == NEWER_K
    previous = store.load(older)
    assert previous.version == older
    assert previous.card["k"] == previous.model.n_clusters == OLDER_K, "older stamp, older model"


def test_a_model_version_reads_every_table_from_its_own_stamp(two_versions_project: Path):
    store = ModelStore(two_versions_project)
    newer, older = model_stamps(two_versions_project)
    for stamp, k in ((older, OLDER_K), (newer, NEWER_K)):
        version = ModelVersion(store, stamp)
        assert version.version == stamp and version.bundle.k == k
        assert len(version.dataset("segment_profiles")) == k
        assert version.dataset("customer_segments")["segment"].nunique() == k
        points = version.dataset("segment_map_points")
        assert points.loc[points["kind"] == "centroid", "segment"].tolist() == list(range(k))
        assert version.dataset("k_selection").query("is_chosen")["k"].item() == k
        margins = version.training_margins()
        assert len(margins) == version.bundle.card["training_rows"]
        assert (margins[1:] >= margins[:-1]).all(), "sorted, for the percentile lookup"
    assert version.dataset("segment_profiles") is version.dataset("segment_profiles"), "read once"
    with pytest.raises(VersionMismatchError, match="not a dataset of a model version"):
        store.load_versioned("customer_features", older)


def test_a_half_finished_run_is_skipped_by_default_and_refused_when_picked(half_run_project):
    store = ModelStore(half_run_project)
    stamps = [v.stamp for v in store.versions()]
    assert stamps[0] == HALF_RUN_STAMP, f"the half run must be listed: {stamps}"
    missing = store.versions()[0].missing
    assert {"kmeans_model", "model_card", "segment_profiles", "segmentation_report"} <= set(
        missing
    ), missing
    assert "scaler" not in missing

    bundle = store.load()
    assert bundle.version == stamps[1], "the default must be the newest COMPLETE stamp"
    with pytest.raises(VersionMismatchError, match=r"incomplete \(no .*kmeans_model"):
        store.load(HALF_RUN_STAMP)


def test_scaler_model_and_card_of_different_runs_are_refused(two_versions_project: Path):
    store = ModelStore(two_versions_project)
    newer, older = (store.load(s) for s in model_stamps(two_versions_project))
    with pytest.raises(VersionMismatchError, match=r"k=5.*has 6"):
        check_consistent("mixed", older.scaler, older.model, newer.card)
    check_consistent(newer.version, newer.scaler, newer.model, newer.card)  # same run: fine


def test_no_trained_model_names_the_command_to_run(fresh_project: Path):
    store = ModelStore(fresh_project)
    assert store.versions() == []
    with pytest.raises(NoModelError, match="`kedro run`"):
        store.load()


def test_unknown_version_is_refused(two_versions_project: Path):
    with pytest.raises(VersionMismatchError, match="does not exist"):
        ModelStore(two_versions_project).load("1999-01-01T00.00.00.000Z")


def test_a_truncated_model_file_raises_artifact_error(truncated_model_project: Path):
    with pytest.raises(ArtifactError, match="unreadable"):
        ModelStore(truncated_model_project).load()


def test_project_root_env_var_overrides_and_bad_folders_are_refused(tmp_path, monkeypatch):
    monkeypatch.delenv(PROJECT_ENV_VAR, raising=False)
    assert project_root(PROJECT_ROOT) == PROJECT_ROOT.resolve()
    monkeypatch.setenv(PROJECT_ENV_VAR, str(tmp_path))
    with pytest.raises(ProjectNotFoundError, match=PROJECT_ENV_VAR):
        project_root(PROJECT_ROOT)


def test_app_code_never_opens_model_files_by_path_or_unpickles():
    sources = sorted((PROJECT_ROOT / "src" / "customer_segmentation" / "serving").glob("*.py"))
    sources += sorted((PROJECT_ROOT / "app").rglob("*.py"))
    assert len(sources) > 10, sources
    pattern = re.compile(r"06_models|\bpickle\b|joblib|read_pickle|\.skops\b")
    offenders = [
        f"{path.relative_to(PROJECT_ROOT)}:{number}"
        for path in sources
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if pattern.search(line)
    ]
    assert not offenders, f"the app must load models through the catalog only: {offenders}"
