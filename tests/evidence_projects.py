"""Project copies for the evidence per segment (imported as fixtures by the test modules).

Each copies the session's ``real_project`` (one full run on the real table) and changes files
of its one model version, so no further Kedro run is needed: a version saved before the
pipelines computed the evidence, and a version trained on a table without campaign columns.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conftest import built_once, load_catalog
from model_projects import copy_run, model_stamps

from customer_segmentation.core import outcomes
from customer_segmentation.serving.evidence import STABILITY_COLUMNS
from customer_segmentation.serving.versions import EVIDENCE_DATASETS


def stored_file(project: Path, name: str) -> Path:
    """Where dataset ``name`` of the project's one model version is stored."""
    (path,) = load_catalog(project)[name].list_versions(full_path=True)
    return Path(path)


@pytest.fixture(scope="session")
def pre_evidence_project(real_project: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The real run as a version saved before issue 15 would be: no evidence dataset under its
    stamp, and ``segment_profiles`` without the stability columns.
    """

    def build(project: Path) -> None:
        copy_run(real_project, project)
        (stamp,) = model_stamps(project)
        for name in EVIDENCE_DATASETS:
            folder = stored_file(project, name).parent
            assert folder.name == stamp, f"{name} is not stored under its stamp: {folder}"
            shutil.rmtree(folder)
        profiles_path = stored_file(project, "segment_profiles")
        profiles = load_catalog(project).load("segment_profiles", version=stamp)
        profiles.drop(columns=list(STABILITY_COLUMNS)).to_csv(profiles_path, index=False)

    return built_once(tmp_path_factory, "pre_evidence", build)


@pytest.fixture(scope="session")
def no_campaigns_project(real_project: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The real run with the ``segment_outcomes`` a table without campaign columns gives: no
    rows (``outcomes.segment_outcomes`` measures nothing when every flag is absent).
    """

    def build(project: Path) -> None:
        copy_run(real_project, project)
        outcomes.empty_outcomes().to_csv(stored_file(project, "segment_outcomes"), index=False)

    return built_once(tmp_path_factory, "no_campaigns", build)
