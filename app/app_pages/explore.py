"""Explore segments: names and profiles, figures and model-selection tables from the catalog."""

from __future__ import annotations

import app_state
import streamlit as st

st.title("Explore the segments")
store, bundle = app_state.require_model()
card = bundle.card
latest = app_state.newest_stamp(store)

# Figures named here come first, in this order; any other figure in the catalog follows.
FIGURES = {
    "segment_map": "Segments on the first two principal components",
    "income_vs_spending": "Income against total spending, by segment",
    "elbow_plot": "Choosing k: the elbow and the quality criteria",
    "k_distance_plot": "DBSCAN: the k-distance curve that sets eps",
    "kmeans_vs_dbscan_map": "K-Means against DBSCAN on the same customers",
}
TABLES = {
    "k_selection": "Choosing k: criteria for every k of the sweep",
    "clustering_comparison": "K-Means against DBSCAN",
}

st.subheader(f"The {card['k']} segments of model `{bundle.version}`")
st.dataframe(
    bundle.segment_table(),
    hide_index=True,
    column_config={"share": st.column_config.NumberColumn(format="percent")},
    key="segments_table",
)

not_latest = bundle.version != latest
if not_latest:
    st.info(
        f"You are looking at an older model ({bundle.version}). Tables below come from the latest "
        f"run ({latest}); figures come from the selected run where it drew them.",
        icon=":material/history:",
    )

profiles = app_state.table(store, "segment_profiles")
st.subheader("Segment profiles")
if profiles is None:
    st.caption("`segment_profiles` has not been written yet (run `kedro run`).")
else:
    if len(profiles) != card["k"]:
        st.warning(
            f"The profiles describe {len(profiles)} segments (latest run), the selected model "
            f"has {card['k']}."
        )
    st.dataframe(profiles, hide_index=True, key="profiles_table")

st.subheader("Figures")
names = [n for n in FIGURES if n in store.figure_names()]
names += [n for n in store.figure_names() if n not in FIGURES]
shown = 0
for name in names:
    found = store.figure_png(name, bundle.version)
    if found is None:
        continue
    png, stamp = found
    caption = FIGURES.get(name, name.replace("_", " ").capitalize())
    if stamp is not None and stamp != bundle.version:
        caption += f" (from run {stamp}: the selected run did not draw it)"
    elif stamp is None and not_latest:
        caption += " (latest run)"
    st.image(png, caption=caption)
    shown += 1
if not shown:
    st.caption("No figure has been drawn yet (run `kedro run`).")

for name, title in TABLES.items():
    frame = app_state.table(store, name)
    if frame is None:
        continue
    st.subheader(title)
    st.dataframe(frame, hide_index=True, key=f"{name}_table")

with st.expander("The full model card"):
    st.json(card)
