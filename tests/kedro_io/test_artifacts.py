"""Model artifacts: stored with skops, loaded without running code from the file.

A tampered, truncated or missing ``scaler``/``kmeans_model`` is refused with a clear message,
in Python and in the CLI; a run that fails halfway leaves the previous version loadable.
"""

from __future__ import annotations

import io
import json
import os
import pickle
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
import skops.io as sio
from conftest import load_catalog, run_project
from kedro.io.core import DatasetError, Version
from sklearn.preprocessing import StandardScaler

from customer_segmentation.kedro_io.datasets import ArtifactError, SkopsDataset


@pytest.fixture
def scaler() -> StandardScaler:
    return StandardScaler().fit(np.arange(12.0).reshape(6, 2))


@pytest.fixture
def dataset(tmp_path: Path) -> SkopsDataset:
    return _versioned(tmp_path / "models" / "scaler.skops")


def _versioned(path: Path | str, load: str | None = None) -> SkopsDataset:
    """As the catalog builds it for ``versioned: true`` (``load=None``: the latest)."""
    return SkopsDataset(filepath=str(path), version=Version(load, None))


def _stored_file(dataset: SkopsDataset, scaler: StandardScaler) -> Path:
    dataset.save(scaler)
    (path,) = Path(str(dataset._filepath)).glob("*/scaler.skops")
    return path


def _with_schema(content: bytes, edit) -> bytes:
    """A copy of a skops zip whose ``schema.json`` went through ``edit``."""
    source = zipfile.ZipFile(io.BytesIO(content))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as target:
        for name in source.namelist():
            data = source.read(name)
            if name == "schema.json":
                schema = json.loads(data)
                edit(schema)
                data = json.dumps(schema).encode()
            target.writestr(name, data)
    return buffer.getvalue()


class _RunsCode:
    """A pickle that would create ``marker`` when unpickled."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_saved_scaler_round_trips_and_no_partial_file_is_left(dataset, scaler):
    path = _stored_file(dataset, scaler)
    loaded = _versioned(dataset._filepath).load()
    assert np.allclose(loaded.mean_, scaler.mean_) and np.allclose(loaded.scale_, scaler.scale_)
    assert [p.name for p in path.parent.iterdir()] == ["scaler.skops"], "no .partial left"


@pytest.mark.parametrize(
    ("tamper", "named"),
    [
        (lambda s: s.update({"__module__": "os", "__class__": "system"}), "os.system"),
        (
            lambda s: s["content"]["content"]["with_mean"].update(
                {"__module__": "builtins", "__class__": "eval", "__loader__": "TypeNode"}
            ),
            "builtins.eval",
        ),
    ],
    ids=["object_replaced_by_os_system", "field_replaced_by_builtins_eval"],
)
def test_tampered_schema_is_refused_naming_the_type(dataset, scaler, tamper, named):
    path = _stored_file(dataset, scaler)
    path.write_bytes(_with_schema(path.read_bytes(), tamper))

    with pytest.raises(ArtifactError) as caught:
        _versioned(dataset._filepath).load()

    message = str(caught.value)
    assert "was refused" in message and named in message, message
    assert str(path) in message, "the message names the file"


@pytest.mark.parametrize("payload", [eval, os.system], ids=["eval", "os_system"])
def test_skops_file_holding_a_dangerous_function_is_refused(dataset, scaler, payload):
    path = _stored_file(dataset, scaler)
    path.write_bytes(sio.dumps(payload))

    with pytest.raises(ArtifactError, match="not trusted and could run code"):
        _versioned(dataset._filepath).load()


def test_pickle_in_place_of_the_artifact_is_refused_without_running_it(dataset, scaler, tmp_path):
    marker = tmp_path / "pwned"
    path = _stored_file(dataset, scaler)
    path.write_bytes(pickle.dumps(_RunsCode(marker)))

    with pytest.raises(ArtifactError, match="unreadable \\(truncated or not a skops file\\)"):
        _versioned(dataset._filepath).load()
    assert not marker.exists(), "loading must never execute the pickle"


@pytest.mark.parametrize("keep", [0, 10, 0.5, -22])
def test_truncated_artifact_is_refused(dataset, scaler, keep):
    path = _stored_file(dataset, scaler)
    content = path.read_bytes()
    cut = int(len(content) * keep) if isinstance(keep, float) else keep
    path.write_bytes(content[:cut])

    with pytest.raises(ArtifactError, match="unreadable \\(truncated or not a skops file\\)"):
        _versioned(dataset._filepath).load()


def test_missing_artifact_says_to_train_one(dataset):
    with pytest.raises(ArtifactError, match="no saved model artifact .* run `kedro run`"):
        dataset.load()


def test_missing_version_is_named(dataset, scaler):
    _stored_file(dataset, scaler)
    with pytest.raises(ArtifactError, match="2001-01-01T00.00.00.000Z.*does not exist"):
        _versioned(dataset._filepath, "2001-01-01T00.00.00.000Z").load()


def test_artifact_error_is_a_dataset_error_so_kedro_keeps_the_message():
    assert issubclass(ArtifactError, DatasetError)


# -- through the project: catalog, CLI, failed runs ------------------------------------------


@pytest.fixture
def trained(demo_project: Path, tmp_path: Path) -> Path:
    """A private copy of the demo project after its full run (safe to tamper with)."""
    return Path(shutil.copytree(demo_project, tmp_path / "trained"))


def _latest(project: Path, name: str) -> Path:
    versions = sorted((project / "data" / "06_models" / f"{name}.skops").iterdir())
    return versions[-1] / f"{name}.skops"


def test_catalog_refuses_a_tampered_model(trained):
    path = _latest(trained, "kmeans_model")
    path.write_bytes(sio.dumps(eval))

    with pytest.raises(DatasetError) as caught:  # the catalog re-raises "<name>: <message>"
        load_catalog(trained).load("kmeans_model")

    assert isinstance(caught.value.__cause__, ArtifactError), repr(caught.value.__cause__)
    assert str(caught.value).startswith("kmeans_model: model artifact"), str(caught.value)
    assert "was refused" in str(caught.value) and "builtins.eval" in str(caught.value)


@pytest.mark.slow
def test_cli_stops_with_the_refusal_message(trained):
    path = _latest(trained, "kmeans_model")
    path.write_bytes(_with_schema(path.read_bytes(), lambda s: s.update({"__module__": "os"})))
    env = {**os.environ, "KEDRO_DISABLE_TELEMETRY": "1", "COLUMNS": "400", "NO_COLOR": "1"}

    done = subprocess.run(
        [sys.executable, "-m", "kedro", "run", "--from-nodes", "build_model_card"],
        cwd=trained,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

    output = " ".join((done.stdout + done.stderr).split())
    assert done.returncode != 0, "the run must fail"
    assert "was refused: it holds types that are not trusted" in output, output[-2000:]
    assert "os.KMeans" in output, "the refused type is named"


@pytest.mark.slow
def test_run_failing_halfway_leaves_the_previous_version_loadable(trained, monkeypatch):
    catalog = load_catalog(trained)
    (before,) = catalog["kmeans_model"].list_versions(full_path=False)
    centres = catalog.load("kmeans_model").cluster_centers_
    card = catalog.load("model_card")

    def broken_model_card(*args):
        raise RuntimeError("disk full while writing the model card")

    monkeypatch.setattr(
        "customer_segmentation.pipelines.clustering.pipeline.model_card", broken_model_card
    )
    with pytest.raises(RuntimeError, match="disk full"):
        run_project(trained, pipeline="clustering", params={"clustering.n_clusters": 3})

    catalog = load_catalog(trained)
    models = catalog["kmeans_model"].list_versions(full_path=False)
    scalers = catalog["scaler"].list_versions(full_path=False)
    cards = catalog["model_card"].list_versions(full_path=False)
    assert len(models) == 2 and models[-1] == before, f"a partial stamp is left: {models}"
    partial = models[0]
    assert partial in scalers and partial not in cards, "partial stamp: scaler+model, no card"
    old = catalog.load("kmeans_model", version=before)
    assert np.array_equal(old.cluster_centers_, centres), "previous model still loads"
    assert catalog.load("scaler", version=before) is not None
    assert catalog.load("model_card") == card, "the newest model card is still the old one"
    assert catalog.load("kmeans_model").n_clusters == 3, "an unpinned load gets the partial stamp"
    leftovers = list((trained / "data" / "06_models").rglob("*.partial"))
    assert not leftovers, leftovers
