"""Shared fixtures: project copies in temporary folders, runs on demo and real data.

Every run happens in a copy of the project (``conf/``, ``pyproject.toml``, the demo table), so
tests never touch the working tree's ``data/`` and can run in any order.
"""

from __future__ import annotations

import fcntl
import importlib.util
import json
import logging
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

import pandas as pd
import pytest
from contract_api import RawCustomerFile, prepare_customers
from kedro.config import OmegaConfigLoader
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project

from customer_segmentation.core import engine
from customer_segmentation.core.features import feature_frame, reference_date
from customer_segmentation.kedro_io import summary as summary_hook
from customer_segmentation.params import PipelineParams, validate

os.environ.setdefault("KEDRO_DISABLE_TELEMETRY", "1")
os.environ.setdefault("MPLBACKEND", "Agg")

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = PROJECT_ROOT.parent / "shared" / "data"
REAL_FILES = ("customer_segmentation.csv", "marketing_campaign.csv")


def real_file(name: str) -> Path:
    """A real Kaggle table from ``../shared/data`` (CI lays it beside the clone)."""
    path = SHARED_DATA / name
    if not path.exists():
        pytest.fail(f"real table {path} not found: ../shared/data must sit beside the clone")
    return path


def copy_project(target: Path) -> Path:
    """Copy what a run needs (conf, pyproject, demo data, empty data layers) to ``target``."""
    target.mkdir(parents=True, exist_ok=True)
    shutil.copy(PROJECT_ROOT / "pyproject.toml", target / "pyproject.toml")
    shutil.copy(PROJECT_ROOT / ".telemetry", target / ".telemetry")
    (target / "src").mkdir(exist_ok=True)  # Kedro checks it exists; the package is installed
    shutil.copytree(PROJECT_ROOT / "conf", target / "conf", ignore=shutil.ignore_patterns("local"))
    (target / "conf" / "local").mkdir(exist_ok=True)
    for layer in sorted((PROJECT_ROOT / "data").iterdir()):
        if layer.is_dir():  # not a run's lock file (a developer's own kedro run leaves one)
            (target / "data" / layer.name).mkdir(parents=True, exist_ok=True)
    shutil.copy(
        PROJECT_ROOT / "data" / "01_raw" / "demo_customers.csv",
        target / "data" / "01_raw" / "demo_customers.csv",
    )
    return target


def shared_root(factory: pytest.TempPathFactory) -> Path:
    """The test session's temporary folder that every pytest-xdist worker sees (each worker's
    own ``basetemp`` is a folder in it).
    """
    base = factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


def built_once(factory: pytest.TempPathFactory, kind: str, build: Callable[[Path], Any]) -> Path:
    """A project ``build(path)`` makes at ``path``, built once per test session for every
    worker: the first to ask builds it under a lock, the others wait and use it. Tests read it
    and never write into it (they copy it to change it).
    """
    root = shared_root(factory) / kind
    root.mkdir(parents=True, exist_ok=True)
    project = root / "project"
    with (root / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # let go when the file closes
        if not (root / ".built").exists():
            shutil.rmtree(project, ignore_errors=True)  # a build that failed in another worker
            build(project)
            (root / ".built").touch()
    return project


def nested(params: dict[str, Any] | None) -> dict[str, Any]:
    """``{"clustering.n_clusters": 5}`` -> ``{"clustering": {"n_clusters": 5}}``, as the CLI
    turns ``--params clustering.n_clusters=5`` into runtime parameters."""
    result: dict[str, Any] = {}
    for key, value in (params or {}).items():
        *parents, leaf = key.split(".")
        node = result
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return result


def run_summary(project: Path) -> list[str]:
    """What the project's last :func:`run_project` logged at its end
    (``customer_segmentation.kedro_io.summary``): its summary, or the line naming the node that
    failed. Kept beside the project, so a test reads it in any worker of the session.
    """
    return json.loads(_summary_file(project).read_text())


def _summary_file(project: Path) -> Path:
    return project.with_name(f"{project.name}.run-summary.json")


class _Summary(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


# The pipelines that decide which customers are clean and in which segment: the default run
# without ``reporting`` and ``crm_export``, which read those tables and change none of them.
TRAINING_PIPELINES = ["data_processing", "feature_engineering", "model_selection", "clustering"]


def run_project(
    project: Path,
    pipeline: str | list[str] | None = None,
    params: dict[str, Any] | None = None,
    env: str | None = None,
) -> dict[str, Any]:
    """``kedro run`` (optionally ``--pipeline`` one or several, ``--params`` with dotted keys,
    ``--env``) on a project copy, in-process."""
    params = nested(params)
    bootstrap_project(project)
    cwd = Path.cwd()
    os.chdir(project)  # relative paths in the catalog resolve against the project
    summary = _Summary()
    summary_hook.logger.addHandler(summary)
    try:
        with KedroSession.create(
            project_path=project, runtime_params=params or {}, env=env
        ) as session:
            names = [pipeline] if isinstance(pipeline, str) else pipeline
            return session.run(pipeline_names=names)
    finally:
        summary_hook.logger.removeHandler(summary)
        _summary_file(project).write_text(json.dumps(summary.messages))
        os.chdir(cwd)


class PandasCatalog:
    """A catalog whose tables load as pandas (the local engine's are Polars), as the app's
    model store gives them; everything else is the catalog's own.
    """

    def __init__(self, catalog: Any) -> None:
        self._catalog = catalog

    def load(self, name: str, version: str | None = None) -> Any:
        return engine.to_pandas_table(self._catalog.load(name, version=version))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._catalog, name)

    def __getitem__(self, name: str) -> Any:
        return self._catalog[name]

    def __contains__(self, name: str) -> bool:
        return name in self._catalog


def load_catalog(project: Path, params: dict[str, Any] | None = None, env: str | None = None):
    """The project's catalog, as the app and notebooks get it (see :class:`PandasCatalog` for
    the local engine's tables; :func:`native_catalog` gives the catalog itself).
    """
    return PandasCatalog(native_catalog(project, params, env))


def native_catalog(project: Path, params: dict[str, Any] | None = None, env: str | None = None):
    """The project's catalog, loading each engine's native frames."""
    params = nested(params)
    bootstrap_project(project)
    cwd = Path.cwd()
    os.chdir(project)
    try:
        with KedroSession.create(
            project_path=project, runtime_params=params or {}, env=env
        ) as session:
            return session.load_context().catalog
    finally:
        os.chdir(cwd)


def raw_params() -> dict[str, Any]:
    """The parameters in ``conf/base`` as the configuration holds them (plain dicts)."""
    loader = OmegaConfigLoader(str(PROJECT_ROOT / "conf"), base_env="base", default_run_env="local")
    return loader["parameters"]


def project_params() -> dict[str, Any]:
    """The parameters in ``conf/base`` as the pipelines get them (``params:<pipeline>``: each
    pipeline's block validated into its model, as Kedro does before a run).
    """
    return validate(raw_params())


def changed(params: PipelineParams, **changes: Any) -> PipelineParams:
    """``params`` with some fields changed, validated again (as ``--params`` would be)."""
    return type(params).model_validate({**params.model_dump(), **changes})


@pytest.fixture(scope="session")
def params() -> dict[str, Any]:
    """``project_params()`` once per session (the models are frozen)."""
    return project_params()


@pytest.fixture(scope="session")
def demo_features(params: dict[str, Any]) -> pd.DataFrame:
    """Engineered features of the shipped demo table, computed in memory (no Kedro run)."""
    path = PROJECT_ROOT / "data" / "01_raw" / "demo_customers.csv"
    clean = prepare_customers(
        RawCustomerFile(path.name, path.read_bytes()), params["data_processing"]
    ).clean
    settings = params["feature_engineering"]
    ref = reference_date(clean, settings.reference_date)
    return engine.to_pandas(feature_frame(engine.lazy(clean), ref, settings.partner_statuses))


@pytest.fixture(scope="session")
def demo_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project copy after one full ``kedro run`` on the shipped demo data."""
    return built_once(tmp_path_factory, "demo_project", lambda p: run_project(copy_project(p)))


@pytest.fixture(scope="session")
def real_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project copy after one full run on ``../shared/data/customer_segmentation.csv``."""
    real = {"raw_customers_path": str(real_file(REAL_FILES[0]))}
    return built_once(
        tmp_path_factory, "real_project", lambda p: run_project(copy_project(p), params=real)
    )


CANONICAL_TABLES = (
    "customers",
    "rejected_customers",
    "data_quality_report",
    "customer_features",
    "k_selection",
    "sweep_centres",
    "customer_segments",
)


@pytest.fixture(scope="session")
def canonical(real_project: Path) -> dict[str, Any]:
    """What the full run on the canonical file (``real_project``) produced."""
    catalog = load_catalog(real_project)
    return {name: catalog.load(name) for name in CANONICAL_TABLES}


def assert_same_as_canonical(
    customers: pd.DataFrame,
    rejected: pd.DataFrame,
    report: dict[str, Any],
    segments: pd.DataFrame,
    canonical: dict[str, Any],
    name: str,
) -> None:
    """The same clean customers, rejected IDs, report counts and segment for every ID as the
    run on the canonical file (``name`` says which source differs in the messages).
    """
    expected = canonical["customers"]
    assert list(customers.columns) == list(expected.columns), f"{name}: columns differ"
    assert (customers["Dt_Customer"] == expected["Dt_Customer"]).all(), (
        f"{name}: Dt_Customer differs from the canonical file (tenures would shift)"
    )
    pd.testing.assert_frame_equal(customers, expected, check_dtype=False, obj=f"{name} customers")
    assert sorted(rejected["ID"].astype(int)) == sorted(
        canonical["rejected_customers"]["ID"].astype(int)
    ), f"{name}: different rows rejected"
    expected_report = canonical["data_quality_report"]
    for key in ("rows_in", "rows_clean", "rows_rejected", "rejected_by_reason"):
        assert report[key] == expected_report[key], f"{name}: report {key} differs"
    merged = segments.merge(canonical["customer_segments"], on="ID", suffixes=("", "_canonical"))
    assert len(merged) == len(canonical["customer_segments"]) == len(segments), (
        f"{name}: not the same customers segmented"
    )
    moved = merged.loc[merged["segment"] != merged["segment_canonical"], "ID"]
    assert moved.empty, (
        f"{name}: {len(moved)} customers in another segment, e.g. IDs {list(moved[:5])}"
    )


@pytest.fixture
def fresh_project(tmp_path: Path) -> Path:
    """An untouched project copy (no run yet)."""
    return copy_project(tmp_path / "project")


@pytest.fixture
def catalog_of() -> Callable[..., Any]:
    """``catalog_of(project)`` loads a project copy's catalog."""
    return load_catalog


def project_config(env: str) -> Any:
    """The project's configuration loader for ``env``, as ``settings.py`` builds it for a run
    (``oc.env`` read in every file: ``conf/spark`` takes the cluster from the environment).
    """
    from customer_segmentation import settings  # noqa: PLC0415

    return settings.CONFIG_LOADER_CLASS(
        str(PROJECT_ROOT / "conf"), env=env, **settings.CONFIG_LOADER_ARGS
    )


def require_spark(module: str = "pyspark", java: str = "java") -> None:
    """PySpark and Java must be there for the Spark tests: fail under CI, skip elsewhere."""
    missing = [
        what
        for what, found in (
            (f"{module} (pip install -e '.[spark]')", importlib.util.find_spec(module)),
            (f"{java} (Java 17: apt-get install openjdk-17-jre-headless)", shutil.which(java)),
        )
        if found is None
    ]
    if missing:
        required(f"{' and '.join(missing)} absent", "Spark")


def required(message: str, group: str) -> NoReturn:
    """A tool a test group needs is missing (``message``): the test fails under CI, which must
    run every group, and skips elsewhere.
    """
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{message}; CI must run the {group} tests")
    pytest.skip(f"{message}; {group} tests skipped outside CI")


@pytest.fixture(scope="session")
def spark() -> None:
    """The Spark tests' requirement (:func:`require_spark`), checked before anything starts."""
    require_spark()


@pytest.fixture(scope="session")
def spark_session(spark: None) -> Any:
    """One Spark session for the unit tests marked ``spark``, configured as
    ``kedro run --env spark`` configures it (``conf/spark/spark.yml``, through the project's
    hook).
    """
    from customer_segmentation.kedro_io.hooks import start_spark  # noqa: PLC0415

    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    return start_spark(project_config("spark")["spark"])


# pytest-xdist (``-n auto --dist loadgroup`` in pyproject.toml): the tests that start a server
# or a JVM, or share a costly module fixture (the benchmark's run), run in one worker each, so
# it starts once; every other test goes to the next free worker.
GROUPS: dict[str, tuple[set[str], str | None, str | None]] = {
    # group: (fixtures, marker, module file)
    "spark": ({"spark", "spark_session"}, "spark", None),
    "postgres": ({"postgres_url"}, "postgres", None),
    "browser": ({"chromium"}, "browser", None),
    "benchmark": (set(), None, "test_benchmark.py"),
}


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook reads the groups
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark each test of a server, a JVM or a shared module fixture with its xdist group."""
    for item in items:
        for group, (fixtures, marker, module) in GROUPS.items():
            if (
                (marker and item.get_closest_marker(marker))
                or fixtures & set(item.fixturenames)
                or item.path.name == module
            ):
                item.add_marker(pytest.mark.xdist_group(group))
                break
