"""Project copies the app tests share (imported as fixtures by the test modules).

Each builds on the session fixture ``real_project`` (one full run on the real table) by copying
it, so nothing here writes into it: a second model with k=5 (two complete versions), a stamp
left halfway by a failed run, a truncated model file.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest
from conftest import built_once, load_catalog, run_project
from kedro.io import Version

OLDER_K, NEWER_K = 6, 5
# A stamp later than any run of the test session: a run that saved a scaler and then failed.
HALF_RUN_STAMP = "2999-01-01T00.00.00.000Z"


def copy_run(source: Path, target: Path) -> Path:
    """A copy of a project that has been run, data included."""
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("*.log"))
    return target


def model_stamps(project: Path) -> list[str]:
    """The project's model versions, newest first (from the catalog)."""
    return load_catalog(project)["kmeans_model"].list_versions(full_path=False)


@pytest.fixture(scope="session")
def two_versions_project(real_project: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The real run (k=6) plus a later model with k=5 (``clustering`` and ``reporting``: all a
    second ``kedro run`` would change on the same data).
    """

    def build(project: Path) -> None:
        copy_run(real_project, project)
        run_project(
            project,
            pipeline=["clustering", "reporting"],
            params={"clustering.n_clusters": NEWER_K},
        )

    return built_once(tmp_path_factory, "two_versions", build)


@pytest.fixture(scope="session")
def unrelated_versions_project(
    real_project: Path, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """The real run plus a later model trained on the demo table: its IDs overlap the real
    table's, but they name other people (other Year_Birth and Dt_Customer).
    """

    def build(project: Path) -> None:
        run_project(copy_run(real_project, project))  # the demo table

    return built_once(tmp_path_factory, "unrelated_versions", build)


@pytest.fixture(scope="session")
def half_run_project(real_project: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The real run plus a newer stamp holding only a scaler (a run that failed halfway)."""

    def build(project: Path) -> None:
        catalog = load_catalog(copy_run(real_project, project))
        scaler = catalog.load("scaler")
        catalog.get("scaler", version=Version(None, HALF_RUN_STAMP)).save(scaler)

    return built_once(tmp_path_factory, "half_run", build)


@pytest.fixture
def truncated_model_project(real_project: Path, tmp_path: Path) -> Path:
    """The real run with its model file cut in half (a broken copy or disk)."""
    project = copy_run(real_project, tmp_path / "project")
    catalog = load_catalog(project)
    stamp = catalog["kmeans_model"].list_versions(full_path=False)[0]
    path = Path(catalog["kmeans_model"].list_versions(full_path=True)[0])
    assert stamp in str(path)
    content = path.read_bytes()
    path.write_bytes(content[: len(content) // 2])
    return project


def pipeline_tables(project: Path) -> dict[str, pd.DataFrame]:
    """``customers``, ``customer_segments`` and ``rejected_customers`` of a run."""
    catalog = load_catalog(project)
    return {
        name: catalog.load(name)
        for name in ("customers", "customer_segments", "rejected_customers")
    }
