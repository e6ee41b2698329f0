"""Streamlit glue shared by the pages: the project's model versions and the sidebar.

Logic lives in the package's serving layer (``customer_segmentation.serving``); this module
draws the version picker and the model card panel. The store and
each model version are built once per server process and shared by every session
(``serving.versions.shared_store`` and ``shared_version``: thread-safe, unlike building Kedro's catalog
per session); every page reads the selected version's own tables through its ``ModelVersion``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import streamlit as st

from customer_segmentation.kedro_io.datasets import ArtifactError
from customer_segmentation.serving.versions import (
    TRAIN_COMMAND,
    ModelStore,
    ModelVersion,
    NoModelError,
    ProjectNotFoundError,
    VersionInfo,
    VersionMismatchError,
    project_root,
    shared_store,
    shared_version,
)

# The app lives in <repo>/app/, so the project is the folder above (unless the env var says
# otherwise).
REPO_ROOT = Path(__file__).resolve().parents[1]
VERSION_KEY = "model_version"
_STATE_KEY = "_model_state"


@dataclass
class ModelState:
    """What the sidebar resolved for this rerun: the store, the chosen version or an error."""

    project: Path | None = None
    store: ModelStore | None = None
    model: ModelVersion | None = None
    error: str | None = None


def _label(info: VersionInfo, default: str | None) -> str:
    text = info.stamp
    if info.stamp == default:
        text += " (latest)"
    if not info.complete:
        text += f" (incomplete: no {', '.join(info.missing)})"
    elif info.lacking_evidence:
        text += " (saved before segment evidence)"
    return text


def _resolve() -> ModelState:
    state = ModelState()
    try:
        state.project = project_root(REPO_ROOT)
        with st.spinner("Opening the Kedro project…"):
            state.store = shared_store(state.project)
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
    if st.session_state.get(VERSION_KEY) not in labels:
        st.session_state[VERSION_KEY] = default
    chosen = st.sidebar.selectbox(
        "Model version (run stamp)",
        list(labels),
        format_func=labels.get,
        key=VERSION_KEY,
        help="Every dataset of a model (scaler, model, segments, profiles, figures, report) "
        "carries its stamp; every page shows the chosen one's.",
    )
    try:
        with st.spinner("Loading the model…"):
            state.model = shared_version(state.project, chosen)
    except (VersionMismatchError, ArtifactError) as error:
        state.error = f"Model version {chosen} cannot be used: {error}"
    return state


def model_card_panel(model: ModelVersion) -> None:
    """Version stamp, k, features, training rows and quality figures of the loaded model."""
    card = model.bundle.card
    with st.sidebar.container(key="model_card"):
        st.markdown("**Model card**")
        st.markdown(
            f"- version: `{model.version}`\n"
            f"- algorithm: {card['algorithm']}, **k = {card['k']}**\n"
            f"- trained on {card['training_rows']:,} customers\n"
            f"- reference date: {card['reference_date']}\n"
            f"- silhouette: {card['silhouette']:.3f} (on {card['silhouette_rows']:,} rows)\n"
            f"- inertia: {card['inertia']:,.0f}\n"
            f"- features: {', '.join(card['features'])}"
        )


def sidebar() -> ModelState:
    """Draw the version picker and model card; remember the result for the pages."""
    state = _resolve()
    if state.model is not None:
        model_card_panel(state.model)
    elif state.error:
        st.sidebar.error(state.error)
    if state.project is not None:
        st.sidebar.caption(f"Project: `{state.project}`")
    st.session_state[_STATE_KEY] = state
    return state


def other_version(stamp: str) -> ModelVersion:
    """Model version ``stamp`` of this rerun's project (shared like the sidebar's), or an
    explanation and a stop.
    """
    state: ModelState = st.session_state[_STATE_KEY]
    try:
        with st.spinner(f"Loading model version {stamp}…"):
            return shared_version(state.project, stamp)
    except (VersionMismatchError, ArtifactError) as error:
        st.error(f"Model version {stamp} cannot be used: {error}", icon=":material/error:")
        st.stop()


def require_model() -> tuple[ModelStore, ModelVersion]:
    """The store and model version of this rerun, or an explanation and a stop."""
    state: ModelState | None = st.session_state.get(_STATE_KEY)
    if state is None or state.model is None or state.store is None:
        message = state.error if state and state.error else "No model is loaded."
        st.error(message, icon=":material/error:")
        if state is None or state.store is None or "No trained model" in message:
            st.markdown(
                f"Train a model first: in the project folder run\n\n```bash\n{TRAIN_COMMAND}\n```"
                "\n\nthen reload this page."
            )
        st.stop()
    return state.store, state.model
