"""A model version is one unit: every dataset that describes a fitted model carries its stamp.

The *model datasets* are everything the ``clustering`` and ``reporting`` pipelines write
(:func:`model_datasets`): ``k_selection``, ``scaler``, ``kmeans_model``, ``customer_segments``,
``model_card``, ``clustering_comparison``, ``segment_profiles``, the spending mix, every figure,
the report. All are versioned in the catalog, and :class:`ModelVersionHook` makes every run
read and write them under one stamp:

* a run that trains a model (it writes ``kmeans_model``) writes all of them under its own save
  version, and reads back only that version;
* a run that does not train (``kedro run --pipeline reporting``) reads and writes them under
  the stamp of an existing model: ``--params model_version=STAMP``, or by default the newest
  stamp that has every model dataset the run reads. It replaces that model's earlier outputs
  (kept aside until the run succeeds, put back if it fails), so ``catalog.load(name,
  version=STAMP)`` always gives that model's tables.

A stamp is *complete* when every model dataset exists under it (:func:`complete_stamps`); the app
and the loader offer only complete stamps. A run that fails halfway leaves an incomplete one,
which ``kedro run --pipeline reporting`` (or the missing pipelines) can finish.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from pathlib import PurePath
from typing import Any

from kedro.framework.hooks import hook_impl
from kedro.io import AbstractVersionedDataset, MemoryDataset, Version
from kedro.pipeline import Pipeline

logger = logging.getLogger(__name__)

# The dataset whose save starts a new model version.
TRAINED_MODEL = "kmeans_model"
MODEL_VERSION_PARAM = "model_version"
_REPLACED = ".replaced"
# Given to the nodes that ask for them (memory datasets the hook fills): the run's model stamp,
# and the previous complete model version's segments, card, scaler and model (for
# ``segment_migration``; ``{"stamp": None}`` when there is none).
MODEL_STAMP = "model_version_stamp"
PREVIOUS_MODEL = "previous_model"
PREVIOUS_READS: tuple[str, ...] = ("customer_segments", "model_card", "scaler", "kmeans_model")


class ModelVersionError(ValueError):
    """A run asks for a model version that does not exist or cannot serve it."""


def model_datasets() -> frozenset[str]:
    """Every dataset of a model version in the project configured in this process: what its
    :class:`ModelVersionHook` (``settings.HOOKS``) was told the model pipelines write.

    Raises:
        ModelVersionError: the project's settings have no ``ModelVersionHook``.
    """
    from kedro.framework.project import settings  # noqa: PLC0415 - the configured project's

    hooks = [h for h in settings.HOOKS if isinstance(h, ModelVersionHook)]
    if not hooks:
        raise ModelVersionError("the project's settings.py registers no ModelVersionHook")
    return hooks[0].model_datasets


def versioned(catalog: Any, name: str) -> AbstractVersionedDataset:
    """The catalog's dataset ``name``, which must be versioned.

    Raises:
        ModelVersionError: it is not in the catalog or not versioned.
    """
    dataset = catalog.get(name)
    if not isinstance(dataset, AbstractVersionedDataset) or dataset._version is None:
        raise ModelVersionError(
            f"{name} belongs to the model version but is not a versioned dataset in the catalog "
            "(add `versioned: true` to its entry in conf/base/catalog.yml)"
        )
    return dataset


def stamps(catalog: Any, name: str) -> list[str]:
    """The stamps ``name`` has been saved under, newest first."""
    return list(versioned(catalog, name).list_versions(full_path=False))


def complete_stamps(catalog: Any, names: Iterable[str]) -> list[str]:
    """Stamps under which every one of ``names`` exists, newest first."""
    held = [set(stamps(catalog, name)) for name in names]
    if not held:
        return []
    return sorted(set.intersection(*held), reverse=True)


def _pin(dataset: AbstractVersionedDataset, stamp: str) -> None:
    """Load and save ``dataset`` under ``stamp`` only (what ``catalog.get(name, version=...)``
    gives a copy of, done to the catalog's own dataset so the runner uses it).
    """
    dataset._version = Version(stamp, stamp)
    dataset._clear_version_cache()


def path_at(dataset: AbstractVersionedDataset, stamp: str) -> str | None:
    """Where ``dataset`` is stored under ``stamp``, if it is."""
    found = [p for p in dataset.list_versions(full_path=True) if PurePath(p).parent.name == stamp]
    return found[0] if found else None


def previous_model(catalog: Any, stamp: str) -> dict[str, Any]:
    """The newest complete model version older than ``stamp``: its ``stamp`` and
    :data:`PREVIOUS_READS` loaded at it (``{"stamp": None}`` when there is none).
    """
    older = [s for s in complete_stamps(catalog, PREVIOUS_READS) if s < stamp]
    if not older:
        return {"stamp": None}
    found: dict[str, Any] = {"stamp": older[0]}
    for name in PREVIOUS_READS:
        found[name] = catalog.load(name, version=older[0])
    return found


class ModelVersionHook:
    """Reads and writes every model dataset of a run under one model version's stamp."""

    def __init__(self, model_datasets: Callable[[], Iterable[str]]) -> None:
        """``model_datasets``: gives the names of every model dataset (what the model pipelines
        write; ``settings.py`` passes the pipeline registry's), asked for once when needed.
        """
        self._find = model_datasets
        self._found: frozenset[str] | None = None
        self._set_aside: list[tuple[Any, str]] = []

    @property
    def model_datasets(self) -> frozenset[str]:
        """The names of every model dataset."""
        if self._found is None:
            self._found = frozenset(self._find())
        return self._found

    @hook_impl
    def before_pipeline_run(
        self, run_params: dict[str, Any], pipeline: Pipeline, catalog: Any
    ) -> None:
        """Pick the run's model version and pin every model dataset to it."""
        self._set_aside = []
        members = self.model_datasets & pipeline.datasets()
        if not members:
            return
        requested = (run_params.get("runtime_params") or {}).get(MODEL_VERSION_PARAM)
        trains = TRAINED_MODEL in pipeline.all_outputs()
        if trains:
            if requested:
                raise ModelVersionError(
                    f"--params {MODEL_VERSION_PARAM}={requested} picks an existing model for a "
                    "run that does not train one, but this run trains a new model; drop it, or "
                    "run only the pipelines after clustering (e.g. --pipeline reporting)"
                )
            stamp = str(run_params["run_id"])
        else:
            stamp = self._existing_stamp(catalog, members & pipeline.inputs(), requested)
        inputs = pipeline.inputs()
        if PREVIOUS_MODEL in inputs:  # read before the pins: the previous model's own stamp
            catalog[PREVIOUS_MODEL] = MemoryDataset(previous_model(catalog, stamp), "assign")
        if MODEL_STAMP in inputs:
            catalog[MODEL_STAMP] = stamp
        for name in sorted(members):
            _pin(versioned(catalog, name), stamp)
        if not trains:
            self._set_aside_outputs(catalog, members & pipeline.all_outputs(), stamp)
        logger.info("Model version %s (%s)", stamp, "new model" if trains else "existing model")

    @staticmethod
    def _existing_stamp(catalog: Any, reads: set[str], requested: str | None) -> str:
        known = stamps(catalog, TRAINED_MODEL)
        usable = complete_stamps(catalog, reads) if reads else known
        if requested:
            if requested not in known:
                raise ModelVersionError(
                    f"model version {requested} does not exist; available: "
                    f"{', '.join(known) or 'none (run `kedro run` first)'}"
                )
            if requested not in usable:
                lacking = [n for n in sorted(reads) if requested not in stamps(catalog, n)]
                raise ModelVersionError(
                    f"model version {requested} lacks {', '.join(lacking)} (its run did not "
                    "finish): run the pipelines that write them with --params "
                    f"{MODEL_VERSION_PARAM}={requested}, or pick another version"
                )
            return requested
        if not usable:
            raise ModelVersionError(
                f"no model version has {', '.join(sorted(reads))}: train one first with `kedro run`"
            )
        return usable[0]

    def _set_aside_outputs(self, catalog: Any, outputs: set[str], stamp: str) -> None:
        """Move the outputs this run will write again out of the way (kept until it succeeds)."""
        for name in sorted(outputs):
            dataset = versioned(catalog, name)
            path = path_at(dataset, stamp)
            if path is None:
                continue
            filesystem = dataset._fs
            filesystem.mv(path, path + _REPLACED)
            self._set_aside.append((filesystem, path))
            dataset._clear_version_cache()
        if self._set_aside:
            logger.info("Replacing %d dataset(s) of model version %s", len(self._set_aside), stamp)

    @hook_impl
    def after_pipeline_run(self) -> None:
        """The run succeeded: drop the replaced outputs."""
        for filesystem, path in self._set_aside:
            filesystem.rm(path + _REPLACED)
        self._set_aside = []

    @hook_impl
    def on_pipeline_error(self) -> None:
        """The run failed: put the replaced outputs back, so the version stays as it was."""
        for filesystem, path in self._set_aside:
            if filesystem.exists(path):
                filesystem.rm(path)
            filesystem.mv(path + _REPLACED, path)
        self._set_aside = []
