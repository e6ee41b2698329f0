"""Streamlit glue shared by the pages: cached project/model loading and the sidebar.

Logic lives in the package (``customer_segmentation.model_store`` and ``app_logic``); this module
only caches it (``st.cache_resource`` for the catalog and models, ``st.cache_data`` for tables)
and draws the version picker and the model card panel.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from customer_segmentation.datasets import ArtifactError
from customer_segmentation.model_store import (
    TRAIN_COMMAND,
    ModelBundle,
    ModelStore,
    NoModelError,
    ProjectNotFoundError,
    VersionInfo,
    VersionMismatchError,
    project_root,
)

# The app lives in <repo>/app/, so the project is the folder above (unless the env var says
# otherwise).
REPO_ROOT = Path(__file__).resolve().parents[1]
VERSION_KEY = "model_version"
_STATE_KEY = "_model_state"


@dataclass
class ModelState:
    """What the sidebar resolved for this rerun: the store, the chosen bundle or an error."""

    project: Path | None = None
    store: ModelStore | None = None
    bundle: ModelBundle | None = None
    error: str | None = None


@st.cache_resource(show_spinner="Opening the Kedro project…")
def get_store(project: str) -> ModelStore:
    return ModelStore(project)


@st.cache_resource(show_spinner="Loading the model…", max_entries=8)
def get_bundle(project: str, version: str) -> ModelBundle:
    return get_store(project).load(version)


@st.cache_data(show_spinner=False, max_entries=16)
def get_table(project: str, name: str, newest_stamp: str | None) -> pd.DataFrame | None:
    """A table of the latest run; ``newest_stamp`` only keys the cache (a new run, new key)."""
    return get_store(project).load_table(name)


def _label(info: VersionInfo, default: str | None) -> str:
    text = info.stamp
    if info.stamp == default:
        text += " (latest)"
    if not info.complete:
        text += f" (incomplete: no {', '.join(info.missing)})"
    return text


def _resolve() -> ModelState:
    state = ModelState()
    try:
        state.project = project_root(REPO_ROOT)
        state.store = get_store(str(state.project))
    except ProjectNotFoundError as error:
        state.error = str(error)
        return state
    versions = state.store.versions()
    complete = [v.stamp for v in versions if v.complete]
    if not complete:
        try:
            state.store.load()  # raises NoModelError with the command to run
        except NoModelError as error:
            state.error = str(error)
        return state
    default = complete[0]
    labels = {v.stamp: _label(v, default) for v in versions}
    stamps = list(labels)
    if st.session_state.get(VERSION_KEY) not in labels:
        st.session_state[VERSION_KEY] = default
    chosen = st.sidebar.selectbox(
        "Model version (run stamp)",
        stamps,
        format_func=labels.get,
        key=VERSION_KEY,
        help="Every `kedro run` saves scaler, model and model card under one stamp.",
    )
    try:
        state.bundle = get_bundle(str(state.project), chosen)
    except (VersionMismatchError, ArtifactError) as error:
        state.error = f"Model version {chosen} cannot be used: {error}"
    return state


def model_card_panel(bundle: ModelBundle) -> None:
    """Version stamp, k, features, training rows and quality figures of the loaded model."""
    card = bundle.card
    with st.sidebar.container(key="model_card"):
        st.markdown("**Model card**")
        st.markdown(
            f"- version: `{bundle.version}`\n"
            f"- algorithm: {card.get('algorithm', '?')}, **k = {card['k']}**\n"
            f"- trained on {card.get('training_rows', 0):,} customers\n"
            f"- reference date: {card.get('reference_date')}\n"
            f"- silhouette: {card.get('silhouette', float('nan')):.3f} "
            f"(on {card.get('silhouette_rows', 0):,} rows)\n"
            f"- inertia: {card.get('inertia', float('nan')):,.0f}\n"
            f"- features: {', '.join(card['features'])}"
        )


def sidebar() -> ModelState:
    """Draw the version picker and model card; remember the result for the pages."""
    state = _resolve()
    if state.bundle is not None:
        model_card_panel(state.bundle)
    elif state.error:
        st.sidebar.error(state.error)
    if state.project is not None:
        st.sidebar.caption(f"Project: `{state.project}`")
    st.session_state[_STATE_KEY] = state
    return state


def require_model() -> tuple[ModelStore, ModelBundle]:
    """The store and model of this rerun, or an explanation and a stop."""
    state: ModelState | None = st.session_state.get(_STATE_KEY)
    if state is None or state.bundle is None or state.store is None:
        message = state.error if state and state.error else "No model is loaded."
        st.error(message, icon=":material/error:")
        if state is None or state.store is None or "No trained model" in message:
            st.markdown(
                f"Train a model first: in the project folder run\n\n```bash\n{TRAIN_COMMAND}\n```"
                "\n\nthen reload this page."
            )
        st.stop()
    return state.store, state.bundle


def newest_stamp(store: ModelStore) -> str | None:
    """The newest model stamp (keys cached tables to the latest run)."""
    versions = store.versions()
    return versions[0].stamp if versions else None


def table(store: ModelStore, name: str) -> pd.DataFrame | None:
    """A table of the latest run, cached until a new run appears."""
    return get_table(str(store.project), name, newest_stamp(store))


def params(store: ModelStore, pipeline: str) -> dict[str, Any]:
    """``params:<pipeline>`` of the project."""
    return dict(store.params.get(pipeline, {}))
