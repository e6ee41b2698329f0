"""The trained model as the app sees it: scaler, K-Means and model card from the Kedro catalog.

The app never opens a model file by its path. :class:`ModelStore` starts a Kedro session on
the project (``bootstrap_project`` + ``KedroSession.create``), keeps its catalog, and loads the
versioned ``scaler``, ``kmeans_model`` and ``model_card`` of one run stamp together:

* :meth:`ModelStore.versions` lists every stamp any of the three has, newest first, saying which
  artifacts each stamp holds (a run that failed halfway may leave a scaler but no model);
* :meth:`ModelStore.load` loads one stamp (default: the newest *complete* one) and refuses a stamp
  that lacks an artifact, or whose three artifacts disagree (k, features), with a message.

Errors a user can act on: :class:`ProjectNotFoundError` (wrong project folder),
:class:`NoModelError` (nothing trained yet: run ``kedro run``), :class:`VersionMismatchError`
(incomplete or inconsistent stamp) and ``datasets.ArtifactError`` (unreadable or untrusted file).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from customer_segmentation.datasets import ArtifactError

logger = logging.getLogger(__name__)

PROJECT_ENV_VAR = "CUSTOMER_SEGMENTATION_PROJECT"
# The three datasets written together by one run of ``clustering``.
MODEL_DATASETS: tuple[str, ...] = ("scaler", "kmeans_model", "model_card")
TRAIN_COMMAND = "kedro run"


class ProjectNotFoundError(FileNotFoundError):
    """The folder given as the project is not a Kedro project."""


class NoModelError(LookupError):
    """No run has saved a complete model yet; the message says which command trains one."""


class VersionMismatchError(ValueError):
    """A stamp lacks one of scaler, model and model card, or they do not belong together."""


@dataclass(frozen=True)
class VersionInfo:
    """One run stamp and which of ``MODEL_DATASETS`` it holds."""

    stamp: str
    present: tuple[str, ...]

    @property
    def complete(self) -> bool:
        """True when the scaler, the model and the model card all exist for this stamp."""
        return set(MODEL_DATASETS) <= set(self.present)

    @property
    def missing(self) -> tuple[str, ...]:
        """The model datasets this stamp lacks."""
        return tuple(name for name in MODEL_DATASETS if name not in self.present)


@dataclass(frozen=True)
class ModelBundle:
    """Scaler, model and model card of one run stamp."""

    version: str
    scaler: Any
    model: Any
    card: dict[str, Any] = field(repr=False)

    @property
    def reference_date(self) -> pd.Timestamp:
        """The date the model's ages and tenures were measured at (from the model card)."""
        return pd.Timestamp(self.card["reference_date"])

    def segment_table(self) -> pd.DataFrame:
        """The card's segments: ``segment``, ``name``, ``behaviour``, ``description``,
        ``action``, ``size``, ``share``.
        """
        return pd.DataFrame(self.card["segments"])

    def segment_names(self) -> dict[int, str]:
        """Segment number -> name."""
        return {int(s["segment"]): str(s["name"]) for s in self.card["segments"]}


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
        """Start a Kedro session on ``project`` and keep its catalog and parameters.

        Telemetry is switched off before Kedro starts. Relative paths in the catalog resolve
        against the project (Kedro makes them absolute), so the working directory does not
        matter.
        """
        os.environ.setdefault("KEDRO_DISABLE_TELEMETRY", "1")
        from kedro.framework.session import KedroSession  # noqa: PLC0415 - after the env var
        from kedro.framework.startup import bootstrap_project  # noqa: PLC0415

        self.project = Path(project).resolve()
        bootstrap_project(self.project)
        with KedroSession.create(project_path=self.project) as session:
            context = session.load_context()
            self.catalog = context.catalog
            self.params: dict[str, Any] = dict(context.params)
        logger.info("Model store opened on project %s", self.project)

    # ---------------------------------------------------------------- versions

    def _stamps(self, name: str) -> list[str]:
        dataset = self.catalog.get(name)
        if dataset is None:
            raise VersionMismatchError(f"the catalog of {self.project} has no dataset {name!r}")
        try:
            return list(dataset.list_versions(full_path=False))
        except Exception as error:  # noqa: BLE001 - any listing failure means no versions
            logger.warning("Cannot list versions of %s: %s", name, error)
            return []

    def versions(self) -> list[VersionInfo]:
        """Every run stamp of ``scaler``, ``kmeans_model`` or ``model_card``, newest first."""
        held = {name: set(self._stamps(name)) for name in MODEL_DATASETS}
        stamps = sorted(set().union(*held.values()), reverse=True)
        return [
            VersionInfo(stamp, tuple(n for n in MODEL_DATASETS if stamp in held[n]))
            for stamp in stamps
        ]

    def latest_complete(self) -> str | None:
        """The newest stamp with all three artifacts, or ``None``."""
        return next((v.stamp for v in self.versions() if v.complete), None)

    # ------------------------------------------------------------------ models

    def _load_versioned(self, name: str, stamp: str) -> Any:
        from kedro.io import Version  # noqa: PLC0415

        dataset = self.catalog.get(name, version=Version(stamp, None))
        try:
            return dataset.load()
        except ArtifactError:
            raise
        except Exception as error:  # noqa: BLE001 - JSON errors etc. get the same treatment
            raise ArtifactError(f"{name} of run {stamp} is unreadable: {error}") from error

    def load(self, version: str | None = None) -> ModelBundle:
        """Scaler, model and model card of one run stamp.

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
                "not finish, so its scaler, model and model card cannot be used together"
            )
        scaler = self._load_versioned("scaler", version)
        model = self._load_versioned("kmeans_model", version)
        card = self._load_versioned("model_card", version)
        check_consistent(version, scaler, model, card)
        logger.info("Loaded model version %s (k=%s)", version, card.get("k"))
        return ModelBundle(version=version, scaler=scaler, model=model, card=card)

    # ------------------------------------------------------- tables and figures

    def has(self, name: str) -> bool:
        """True when the catalog has ``name`` and it has been written."""
        return name in self.catalog and self.catalog.exists(name)

    def load_table(self, name: str) -> pd.DataFrame | None:
        """A non-versioned table of the latest run (``None`` when absent or not written)."""
        if not self.has(name):
            return None
        return self.catalog.load(name)

    def figure_names(self) -> list[str]:
        """Every figure dataset (``report_html.FigureDataset``) in the catalog."""
        return [
            name
            for name in self.catalog.keys()
            if str(self.catalog.get_type(name) or "").endswith("FigureDataset")
        ]

    def figure_png(self, name: str, version: str | None = None) -> tuple[bytes, str | None] | None:
        """The PNG bytes of a figure dataset, for the run ``version`` when that run drew it,
        else its latest version.

        Returns:
            The bytes and the stamp they come from (``None`` for an unversioned figure), or
            ``None`` when the figure has not been drawn.
        """
        from kedro.io import AbstractVersionedDataset  # noqa: PLC0415

        dataset = self.catalog.get(name)
        if dataset is None or not self.catalog.exists(name):
            return None
        stamp: str | None = None
        if isinstance(dataset, AbstractVersionedDataset):
            available = list(dataset.list_versions(full_path=False))
            if not available:
                return None
            stamp = version if version in available else available[0]
        return self.catalog.load(name, version=stamp), stamp


def check_consistent(version: str, scaler: Any, model: Any, card: dict[str, Any]) -> None:
    """Refuse scaler, model and card that do not belong to one run.

    Raises:
        VersionMismatchError: the card's ``k`` or ``features`` differ from the model's, or the
            scaler was fitted on other features.
    """
    features = [str(f) for f in card.get("features", [])]
    model_features = [str(f) for f in getattr(model, "feature_names_in_", [])]
    scaler_features = [str(f) for f in getattr(scaler, "feature_names_in_", features)]
    problems = []
    if int(card.get("k", -1)) != int(getattr(model, "n_clusters", -2)):
        problems.append(f"the card says k={card.get('k')}, the model has {model.n_clusters}")
    if len(card.get("segments", [])) != int(getattr(model, "n_clusters", -2)):
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
