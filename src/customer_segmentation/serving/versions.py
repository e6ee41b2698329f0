"""A model version as the app and notebooks see it: loaded through the Kedro catalog, by stamp.

The app never opens a model file by its path. :class:`ModelStore` starts a Kedro session on
the project (``bootstrap_project`` + ``KedroSession.create``), keeps its catalog, and reads one
*model version* (``customer_segmentation.kedro_io.versioning``): every dataset the ``clustering`` and
``reporting`` pipelines wrote for one fitted model, under one stamp.

* :meth:`ModelStore.versions` lists every stamp any model dataset has, newest first, saying
  which datasets each holds (a run that failed halfway leaves an incomplete stamp);
* :meth:`ModelStore.load` loads the scaler, model and model card of one *complete* stamp
  (default: the newest) and refuses an incomplete stamp, or one whose artifacts disagree;
* :meth:`ModelStore.load_versioned` reads any other table or figure of a stamp, so a page that
  shows an older model shows that model's profiles, segments and figures, never the newest
  run's.

*Evidence datasets* (:data:`EVIDENCE_DATASETS`: each segment's bootstrap stability, its campaign
outcomes, the RFM comparison) came later than the first model versions: a stamp is complete
without them, and :meth:`ModelVersion.optional` gives ``None`` for a version saved before the
pipelines wrote them, so a page says they are not available for it. A run of today's pipelines
cannot leave them out and still be complete: the report, which every complete stamp has, reads
them all.

Safe under concurrency: the Streamlit server answers every session from its own thread, and
neither Kedro's project bootstrap (process-wide settings) nor its catalog (datasets materialised
on first use) is safe to build or read in parallel. :func:`shared_store` builds one store per
project and process, under one lock, and the store materialises every model dataset before it
is handed out, so no session ever sees a half-built catalog; :func:`shared_version` loads each
model version once and keeps the most recently used ones.

Errors a user can act on: :class:`ProjectNotFoundError` (wrong project folder),
:class:`NoModelError` (nothing trained yet: run ``kedro run``), :class:`VersionMismatchError`
(incomplete or inconsistent stamp) and ``datasets.ArtifactError`` (unreadable or untrusted file).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from customer_segmentation.core import engine, segments
from customer_segmentation.kedro_io import versioning
from customer_segmentation.kedro_io.datasets import ArtifactError
from customer_segmentation.params import as_model

logger = logging.getLogger(__name__)

PROJECT_ENV_VAR = "CUSTOMER_SEGMENTATION_PROJECT"
# Kedro's bootstrap and session set process-wide state: one at a time.
_KEDRO_LOCK = threading.Lock()
# The model itself: what predicting needs, checked to belong together.
MODEL_ARTIFACTS: tuple[str, ...] = ("scaler", "kmeans_model", "model_card")
# Model datasets a complete version may lack: versions saved before the pipelines wrote them
# (issue 15) still open, and the app says "not available for this version".
EVIDENCE_DATASETS: tuple[str, ...] = (
    "segment_stability",
    "segment_outcomes",
    "segment_outcomes_plot",
    "rfm_segments",
    "rfm_crosstab",
    "rfm_crosstab_plot",
    # issue 16: what the model keeps to judge new customers, and its migration from the last
    "drift_reference",
    "segment_migration",
    # issue 33: seven methods beside K-Means, and each customer's probability of belonging
    "method_comparison",
    "method_comparison_plot",
    "segment_membership",
)
TRAIN_COMMAND = "kedro run"
MEMBERSHIP = "segment_membership"


class ProjectNotFoundError(FileNotFoundError):
    """The folder given as the project is not a Kedro project."""


class NoModelError(LookupError):
    """No run has saved a complete model yet; the message says which command trains one."""


class VersionMismatchError(ValueError):
    """A stamp lacks one of scaler, model and model card, or they do not belong together."""


@dataclass(frozen=True)
class VersionInfo:
    """One model version's stamp, the datasets a complete version has, those it holds, and the
    evidence datasets it may lack (:data:`EVIDENCE_DATASETS`).
    """

    stamp: str
    present: tuple[str, ...]
    required: tuple[str, ...] = field(repr=False)
    optional: tuple[str, ...] = field(default=(), repr=False)

    @property
    def complete(self) -> bool:
        """True when every model dataset exists under this stamp."""
        return set(self.required) <= set(self.present)

    @property
    def missing(self) -> tuple[str, ...]:
        """The model datasets this stamp lacks."""
        return tuple(name for name in self.required if name not in self.present)

    @property
    def lacking_evidence(self) -> tuple[str, ...]:
        """The evidence datasets this stamp lacks (all of them for a version saved before the
        pipelines wrote them).
        """
        return tuple(name for name in self.optional if name not in self.present)


@dataclass(frozen=True)
class ModelBundle:
    """Scaler, model and model card of one model version, and what is derived from them once
    (:meth:`derived`: the app's compiled one-customer scorer, its map layers...).
    """

    version: str
    scaler: Any
    model: Any
    card: dict[str, Any] = field(repr=False)
    # One Gaussian per segment (``segment_membership``), for a probability of belonging;
    # ``None`` for a version saved before the pipelines fitted it.
    membership: dict[str, Any] | None = field(default=None, repr=False)
    _kept: dict[str, Any] = field(default_factory=dict, init=False, repr=False, compare=False)
    _lock: Any = field(default_factory=threading.RLock, init=False, repr=False, compare=False)

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled (to an upload worker) without what was derived from it."""
        return (ModelBundle, (self.version, self.scaler, self.model, self.card, self.membership))

    def derived(self, key: str, compute: Callable[[], Any]) -> Any:
        """``compute()`` once per version (later calls, from any thread, get the same object)."""
        with self._lock:
            if key not in self._kept:
                self._kept[key] = compute()
            return self._kept[key]

    @property
    def reference_date(self) -> pd.Timestamp:
        """The date the model's ages and tenures were measured at (from the model card)."""
        return pd.Timestamp(self.card["reference_date"])

    @property
    def k(self) -> int:
        """The number of segments."""
        return int(self.card["k"])

    def segment_table(self) -> pd.DataFrame:
        """The card's segments: ``segment``, ``name``, ``behaviour``, ``description``,
        ``action``, ``size``, ``share``.
        """
        return segments.segment_table(self.card)

    def segment_names(self) -> dict[int, str]:
        """Segment number -> name."""
        return segments.segment_names(self.card)


def project_root(default: Path | str) -> Path:
    """The Kedro project the app reads: ``$CUSTOMER_SEGMENTATION_PROJECT`` when set, else
    ``default`` (the app passes the repository root it lives in).

    Raises:
        ProjectNotFoundError: the folder has no ``pyproject.toml`` with a ``[tool.kedro]`` table.
    """
    chosen = os.environ.get(PROJECT_ENV_VAR) or str(default)
    path = Path(chosen).expanduser().resolve()
    marker = path / "pyproject.toml"
    if not marker.is_file() or "[tool.kedro]" not in marker.read_text(encoding="utf-8"):
        raise ProjectNotFoundError(
            f"{path} is not a Kedro project (no pyproject.toml with [tool.kedro]); set "
            f"{PROJECT_ENV_VAR} to the folder of the customer-segmentation project"
        )
    return path


class ModelStore:
    """The catalog and parameters of one project, and the model versions it holds."""

    def __init__(self, project: Path | str) -> None:
        """Start a Kedro session on ``project`` and keep its catalog, parameters and the names
        of the model datasets; every model dataset is materialised here, so later reads only
        copy datasets and never change the catalog.

        Telemetry is switched off before Kedro starts. Relative paths in the catalog resolve
        against the project (Kedro makes them absolute), so the working directory does not
        matter.
        """
        os.environ.setdefault("KEDRO_DISABLE_TELEMETRY", "1")
        from kedro.framework.session import KedroSession  # noqa: PLC0415 - after the env var
        from kedro.framework.startup import bootstrap_project  # noqa: PLC0415

        self.project = Path(project).resolve()
        with _KEDRO_LOCK:
            bootstrap_project(self.project)
            with KedroSession.create(project_path=self.project) as session:
                context = session.load_context()
                self.catalog = context.catalog
                self.params: dict[str, Any] = dict(context.params)
            self.model_datasets: tuple[str, ...] = tuple(sorted(versioning.model_datasets()))
            for name in self.model_datasets:
                versioning.versioned(self.catalog, name)  # materialised now, not on first use
        self.evidence_datasets: tuple[str, ...] = tuple(
            n for n in self.model_datasets if n in EVIDENCE_DATASETS
        )
        self.required_datasets: tuple[str, ...] = tuple(
            n for n in self.model_datasets if n not in EVIDENCE_DATASETS
        )
        self.app = as_model("app", self.params["app"])
        self._lock = threading.Lock()
        self._listed: tuple[list[VersionInfo] | None, float] = (None, 0.0)
        logger.info("Model store opened on project %s", self.project)

    # ---------------------------------------------------------------- versions

    def _stamps(self, name: str) -> list[str]:
        try:
            with self._lock:
                return versioning.stamps(self.catalog, name)
        except versioning.ModelVersionError as error:
            raise VersionMismatchError(f"the catalog of {self.project}: {error}") from error

    def versions(self) -> list[VersionInfo]:
        """Every stamp any model dataset has, newest first, with the datasets it holds.

        Listed again at most every ``app.versions_refresh_seconds`` (every session asks on
        every rerun): a run that finishes shows up within that time.
        """
        with self._lock:
            listed, at = self._listed
            if listed is not None and time.monotonic() - at < self.app.versions_refresh_seconds:
                return listed
        found = self._list_versions()
        with self._lock:
            self._listed = (found, time.monotonic())
        return found

    def _list_versions(self) -> list[VersionInfo]:
        held = {name: set(self._stamps(name)) for name in self.model_datasets}
        stamps = sorted(set().union(*held.values()), reverse=True)
        return [
            VersionInfo(
                stamp,
                tuple(n for n in self.model_datasets if stamp in held[n]),
                self.required_datasets,
                self.evidence_datasets,
            )
            for stamp in stamps
        ]

    def version_info(self, stamp: str) -> VersionInfo | None:
        """What :meth:`versions` says of ``stamp`` (``None`` when it does not exist)."""
        return next((v for v in self.versions() if v.stamp == stamp), None)

    def latest_complete(self) -> str | None:
        """The newest complete stamp, or ``None``."""
        return next((v.stamp for v in self.versions() if v.complete), None)

    # ------------------------------------------------------------------ models

    def load_versioned(self, name: str, stamp: str) -> Any:
        """Dataset ``name`` of model version ``stamp`` (a table, a figure's PNG bytes, ...).

        Raises:
            VersionMismatchError: ``name`` is not a model dataset.
            ArtifactError: it is missing or unreadable under ``stamp``.
        """
        from kedro.io import Version  # noqa: PLC0415

        if name not in self.model_datasets:
            raise VersionMismatchError(
                f"{name} is not a dataset of a model version; those are: "
                f"{', '.join(self.model_datasets)}"
            )
        with self._lock:
            dataset = self.catalog.get(name, version=Version(stamp, None))
        try:
            return engine.to_pandas_table(dataset.load())
        except ArtifactError:
            raise
        except Exception as error:
            raise ArtifactError(
                f"{name} of model version {stamp} is unreadable: {error}"
            ) from error

    def load(self, version: str | None = None) -> ModelBundle:
        """Scaler, model and model card of one complete model version.

        Args:
            version: a stamp from :meth:`versions`; ``None`` means the newest complete one.

        Raises:
            NoModelError: no complete stamp exists (nothing trained yet).
            VersionMismatchError: the stamp is unknown, incomplete, or its artifacts disagree.
            ArtifactError: an artifact is unreadable or holds untrusted types.
        """
        known = {v.stamp: v for v in self.versions()}
        if version is None:
            version = next((s for s, v in known.items() if v.complete), None)
            if version is None:
                partial = f" ({len(known)} incomplete run(s) found)" if known else ""
                raise NoModelError(
                    f"No trained model in {self.project}{partial}. Train one with "
                    f"`{TRAIN_COMMAND}` in that folder (or `{TRAIN_COMMAND} --params "
                    "raw_customers_path=PATH` for your own export), then reload this page."
                )
        info = known.get(version)
        if info is None:
            raise VersionMismatchError(
                f"version {version} does not exist in {self.project}; available: "
                f"{', '.join(known) or 'none'}"
            )
        if not info.complete:
            raise VersionMismatchError(
                f"version {version} is incomplete (no {', '.join(info.missing)}): that run did "
                "not finish, so its datasets cannot be used together; finish it with "
                f"`kedro run --pipeline reporting --params model_version={version}` or pick "
                "another version"
            )
        scaler, model, card = (self.load_versioned(name, version) for name in MODEL_ARTIFACTS)
        check_consistent(version, scaler, model, card)
        membership = (
            self.load_versioned(MEMBERSHIP, version) if MEMBERSHIP in info.present else None
        )
        logger.info("Loaded model version %s (k=%s)", version, card["k"])
        return ModelBundle(
            version=version, scaler=scaler, model=model, card=card, membership=membership
        )

    def figure_names(self) -> list[str]:
        """Every figure dataset (``datasets.FigureDataset``) of a model version."""
        return [
            name
            for name in self.model_datasets
            if str(self.catalog.get_type(name) or "").endswith("FigureDataset")
        ]


def check_consistent(version: str, scaler: Any, model: Any, card: dict[str, Any]) -> None:
    """Refuse scaler, model and card that do not belong to one run.

    Raises:
        VersionMismatchError: the card's ``k`` or ``features`` differ from the model's, or the
            scaler was fitted on other features.
    """
    features = [str(f) for f in card["features"]]
    model_features = [str(f) for f in model.feature_names_in_]
    scaler_features = [str(f) for f in scaler.feature_names_in_]
    problems = []
    if int(card["k"]) != int(model.n_clusters):
        problems.append(f"the card says k={card['k']}, the model has {model.n_clusters}")
    if len(card["segments"]) != int(model.n_clusters):
        problems.append("the card describes another number of segments than the model has")
    if model_features != features:
        problems.append(f"the model was fitted on {model_features}, the card lists {features}")
    if scaler_features != features:
        problems.append(f"the scaler was fitted on {scaler_features}, the card lists {features}")
    if problems:
        raise VersionMismatchError(
            f"version {version}: scaler, model and model card do not belong together ("
            + "; ".join(problems)
            + ")"
        )


class ModelVersion:
    """One complete model version and its tables, each read once (thread-safe) and kept.

    The app keeps one per version it shows, so every page of a version reads that version's
    profiles, segments, map and figures, never another run's.
    """

    def __init__(self, store: ModelStore, version: str | None = None) -> None:
        """Load the scaler, model and card of ``version`` (default: the newest complete)."""
        self.store = store
        self.bundle = store.load(version)
        self.version = self.bundle.version

    def derived(self, key: str, compute: Callable[[], Any]) -> Any:
        """``compute()`` once per version (later calls, from any thread, get the same object):
        what every session of this version shares, such as its tables and the app's map.
        """
        return self.bundle.derived(key, compute)

    def dataset(self, name: str) -> Any:
        """Model dataset ``name`` of this version (read on first use)."""
        return self.derived(name, lambda: self.store.load_versioned(name, self.version))

    def holds(self, name: str) -> bool:
        """Whether this version has dataset ``name`` (a version saved before the pipelines wrote
        an evidence dataset lacks it). Asked of :meth:`ModelStore.versions`, so a dataset a later
        ``kedro run --pipeline reporting`` adds to this version shows up within
        ``app.versions_refresh_seconds``.
        """
        info = self.store.version_info(self.version)
        return info is not None and name in info.present

    def optional(self, name: str) -> Any | None:
        """Model dataset ``name`` of this version, or ``None`` when the version lacks it (an
        evidence dataset of a version saved before the pipelines wrote it).

        Raises:
            VersionMismatchError: ``name`` is not a model dataset.
            ArtifactError: it exists but is unreadable.
        """
        if name not in self.store.model_datasets:
            raise VersionMismatchError(
                f"{name} is not a dataset of a model version; those are: "
                f"{', '.join(self.store.model_datasets)}"
            )
        return self.dataset(name) if self.holds(name) else None

    def training_margins(self) -> np.ndarray:
        """The training customers' margins (``customer_segments``), sorted ascending."""
        return self.derived(
            "training_margins",
            lambda: np.sort(self.dataset("customer_segments")["margin"].to_numpy()),
        )


_STORES: dict[Path, ModelStore] = {}
_STORES_LOCK = threading.Lock()
_VERSIONS: OrderedDict[tuple[Path, str], ModelVersion] = OrderedDict()
_VERSIONS_LOCK = threading.Lock()


def shared_store(project: Path | str) -> ModelStore:
    """The one :class:`ModelStore` of ``project`` in this process, built on first use; threads
    asking at the same moment wait for it and all get the same, complete store.
    """
    path = Path(project).resolve()
    with _STORES_LOCK:
        if path not in _STORES:
            _STORES[path] = ModelStore(path)
        return _STORES[path]


def shared_version(project: Path | str, version: str) -> ModelVersion:
    """The one :class:`ModelVersion` of ``version`` in this process, loaded on first use; the
    ``app.kept_versions`` most recently used are kept (each holds its model and tables).
    """
    store = shared_store(project)
    key = (store.project, version)
    with _VERSIONS_LOCK:
        if key in _VERSIONS:
            _VERSIONS.move_to_end(key)
            return _VERSIONS[key]
        loaded = ModelVersion(store, version)
        _VERSIONS[key] = loaded
        while len(_VERSIONS) > store.app.kept_versions:
            _VERSIONS.popitem(last=False)
        return loaded
