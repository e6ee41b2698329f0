"""A model version is one unit: everything that describes a fitted model carries its stamp, k is
decided once, and parameters are checked before anything runs.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import copy_project, load_catalog, run_project
from kedro.io import AbstractVersionedDataset
from kedro.validation.exceptions import ParameterValidationError
from model_projects import NEWER_K, OLDER_K, copy_run, model_stamps, two_versions_project

from customer_segmentation.kedro_io import versioning
from customer_segmentation.pipeline_registry import model_datasets
from customer_segmentation.serving.versions import ModelStore

__all__ = ["two_versions_project"]  # the shared fixture, used below

# What every model version must answer the same way, whatever is asked of it.
DESCRIBE_K = {
    "segment_profiles": len,
    "customer_segments": lambda table: table["segment"].nunique(),
    "model_card": lambda card: card["k"],
    "spending_mix": len,
    "clustering_comparison": lambda table: int(table.set_index("method").loc["kmeans", "clusters"]),
    "k_selection": lambda table: int(table.loc[table["is_chosen"], "k"].item()),
}


def _k_everywhere(catalog, stamp: str) -> dict[str, int]:
    found = {
        name: describe(catalog.load(name, version=stamp)) for name, describe in DESCRIBE_K.items()
    }
    found["kmeans_model"] = catalog.load("kmeans_model", version=stamp).n_clusters
    report = catalog.load("segmentation_report", version=stamp)
    found["report title"] = int(re.search(r"report: (\d+) segments</title>", report).group(1))
    assert f'id="run-stamp">{stamp}<' in report, "the report names its model version"
    return found


def test_every_model_dataset_is_versioned_in_the_catalog(demo_project: Path):
    catalog = load_catalog(demo_project)
    names = model_datasets()
    assert {"k_selection", "scaler", "kmeans_model", "model_card", "customer_segments"} <= names
    assert {"segment_profiles", "clustering_comparison", "spending_mix"} <= names
    assert {"segmentation_report", "elbow_plot", "segment_map", "eda_distributions"} <= names
    for name in sorted(names):
        dataset = catalog.get(name)
        assert isinstance(dataset, AbstractVersionedDataset) and dataset._version, name
    stamps = {name: model_stamps_of(catalog, name) for name in names}
    assert len(set(map(tuple, stamps.values()))) == 1, f"one stamp for all: {stamps}"


def model_stamps_of(catalog, name: str) -> list[str]:
    return catalog.get(name).list_versions(full_path=False)


def test_each_stamp_describes_its_own_model(two_versions_project: Path):
    """`kedro run` (k=6) then a run with k=5: each stamp's tables, model, card, figures and
    report say 6 and 5 respectively, and the default load is the newer one.
    """
    catalog = load_catalog(two_versions_project)
    newer, older = model_stamps(two_versions_project)

    assert set(_k_everywhere(catalog, older).values()) == {OLDER_K}, _k_everywhere(catalog, older)
    assert set(_k_everywhere(catalog, newer).values()) == {NEWER_K}, _k_everywhere(catalog, newer)
    assert catalog.load("segment_profiles").shape[0] == NEWER_K, "the latest is the default"
    store = ModelStore(two_versions_project)
    assert [v.stamp for v in store.versions() if v.complete] == [newer, older]


def test_a_reporting_run_describes_the_model_it_reports_on(two_versions_project, tmp_path):
    """`--pipeline clustering --params clustering.n_clusters=4`, then `--pipeline reporting`:
    the report, the profiles and the k record all say 4, under the new model's stamp; the
    older versions are untouched.
    """
    project = copy_run(two_versions_project, tmp_path / "project")
    before = model_stamps(project)

    run_project(project, pipeline="clustering", params={"clustering.n_clusters": 4})
    stamp = model_stamps(project)[0]
    assert stamp not in before
    assert ModelStore(project).latest_complete() == before[0], "not complete before reporting"
    run_project(project, pipeline="reporting")

    catalog = load_catalog(project)
    assert set(_k_everywhere(catalog, stamp).values()) == {4}, _k_everywhere(catalog, stamp)
    assert model_stamps(project) == [stamp, *before], "reporting adds no model version"
    assert ModelStore(project).latest_complete() == stamp
    assert set(_k_everywhere(catalog, before[1]).values()) == {OLDER_K}


def test_reporting_again_replaces_a_version_and_a_failed_run_leaves_it_as_it_was(
    two_versions_project, tmp_path, monkeypatch
):
    project = copy_run(two_versions_project, tmp_path / "project")
    newer, older = model_stamps(project)
    catalog = load_catalog(project)
    report_path = Path(
        next(
            p
            for p in catalog.get("segmentation_report").list_versions(full_path=True)
            if older in p
        )
    )
    written = report_path.stat().st_mtime_ns

    run_project(project, pipeline="reporting", params={"model_version": older})
    assert report_path.stat().st_mtime_ns > written, "the older version's report was rewritten"
    assert set(_k_everywhere(load_catalog(project), older).values()) == {OLDER_K}
    assert not list(project.rglob("*.replaced")), "replaced outputs are dropped after success"

    rewritten = report_path.read_bytes()
    from customer_segmentation.report import report  # noqa: PLC0415

    def broken(**inputs):
        raise RuntimeError("the report template broke")

    monkeypatch.setattr(report, "render", broken)  # the last node fails, after the others saved
    with pytest.raises(RuntimeError, match="template broke"):
        run_project(project, pipeline="reporting", params={"model_version": older})
    assert report_path.read_bytes() == rewritten, "a failed rerun restores the version"
    assert not list(project.rglob("*.replaced"))
    assert set(_k_everywhere(load_catalog(project), older).values()) == {OLDER_K}


def test_an_unknown_model_version_is_refused_listing_the_available_ones(
    two_versions_project, tmp_path
):
    project = copy_run(two_versions_project, tmp_path / "project")
    with pytest.raises(versioning.ModelVersionError, match="does not exist; available: 20"):
        run_project(project, pipeline="reporting", params={"model_version": "1999-01-01"})
    with pytest.raises(versioning.ModelVersionError, match="this run trains a new model"):
        run_project(project, pipeline="clustering", params={"model_version": "1999-01-01"})


def test_a_bad_parameter_stops_the_run_before_any_node_and_saves_nothing(fresh_project: Path):
    result = subprocess.run(
        [sys.executable, "-m", "kedro", "run", "--params", "clustering.n_clusters=abc"],
        cwd=fresh_project,
        capture_output=True,
        text=True,
        check=False,
    )
    output = re.sub(r"\s+", " ", result.stdout + result.stderr)
    assert result.returncode != 0
    assert "clustering.n_clusters = 'abc'" in output, output[-2000:]
    assert "Running node" not in output and "Completed node" not in output
    written = [p for p in (fresh_project / "data").rglob("*") if p.is_file()]
    assert [p.name for p in written] == ["demo_customers.csv"], written


@pytest.mark.parametrize(
    ("override", "named"),
    [
        ({"model_selection.sample_size": -5}, "model_selection.sample_size = -5"),
        ({"clustering.init": "random"}, "clustering.init = 'random'"),
        ({"reporting.tsne.perplexity": 0}, "reporting.tsne.perplexity = 0"),
        ({"feature_engineering.model_features": ["Age", "Wealth"]}, "unknown feature(s) Wealth"),
    ],
)
def test_other_bad_parameters_are_named_too(override: dict, named: str, tmp_path: Path):
    project = copy_project(tmp_path / "project")
    with pytest.raises(ParameterValidationError) as error:
        run_project(project, params=override)
    assert named in str(error.value), str(error.value)
    assert not [p for p in (project / "data").rglob("*") if p.is_file() and "01_raw" not in str(p)]
