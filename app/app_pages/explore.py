"""Explore segments: names, profiles, figures and model-selection tables of the chosen version."""

from __future__ import annotations

import app_state
import streamlit as st

st.title("Explore the segments")
store, model = app_state.require_model()
card = model.bundle.card

# Figures named here come first, in this order; any other figure of the version follows.
FIGURES = {
    "segment_map": "Segments on the first two principal components",
    "segment_profile_heatmap": "How each segment differs from the average customer",
    "segment_distributions": "The model's features by segment",
    "income_vs_spending": "Income against total spending, by segment",
    "spending_mix_plot": "Spending by product and purchases by channel",
    "elbow_plot": "Choosing k: the elbow and the quality criteria",
    "k_distance_plot": "DBSCAN: the k-distance curve that sets eps",
    "kmeans_vs_dbscan_map": "K-Means against DBSCAN on the same customers",
}
TABLES = {
    "k_selection": "Choosing k: criteria for every k of the sweep",
    "clustering_comparison": "K-Means against DBSCAN",
}

st.subheader(f"The {card['k']} segments of model `{model.version}`")
st.dataframe(
    model.bundle.segment_table(),
    hide_index=True,
    column_config={"share": st.column_config.NumberColumn(format="percent")},
    key="segments_table",
)

st.subheader("Segment profiles")
st.dataframe(model.dataset("segment_profiles"), hide_index=True, key="profiles_table")

st.subheader("Figures")
names = [n for n in FIGURES if n in store.figure_names()]
names += [n for n in store.figure_names() if n not in FIGURES]
for name in names:
    st.image(model.dataset(name), caption=FIGURES.get(name, name.replace("_", " ").capitalize()))

for name, title in TABLES.items():
    st.subheader(title)
    st.dataframe(model.dataset(name), hide_index=True, key=f"{name}_table")

with st.expander("The full model card"):
    st.json(card)
