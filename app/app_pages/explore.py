"""Explore segments: names, profiles, the evidence per segment (stability, campaign outcomes,
RFM), figures and model-selection tables of the chosen version.
"""

from __future__ import annotations

import app_state
import streamlit as st

from customer_segmentation.core import outcomes
from customer_segmentation.serving import evidence

st.title("Explore the segments")
store, model = app_state.require_model()
card = model.bundle.card
names = model.bundle.segment_names()
stability_params = store.params["clustering"].segment_stability
reporting = store.params["reporting"]

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
# Figures shown in the evidence sections, not again among the figures.
OUTCOMES_FIGURE = "segment_outcomes_plot"
RFM_FIGURE = "rfm_crosstab_plot"
METHODS_FIGURE = "method_comparison_plot"
TABLES = {
    "k_selection": "Choosing k: criteria for every k of the sweep",
    "clustering_comparison": "K-Means against DBSCAN",
}
SHARE = st.column_config.NumberColumn(format="percent")

st.subheader(f"The {card['k']} segments of model `{model.version}`")
st.dataframe(
    model.bundle.segment_table(),
    hide_index=True,
    column_config={"share": SHARE},
    key="segments_table",
)

st.subheader("Segment profiles")
profiles = model.dataset("segment_profiles")
st.dataframe(profiles, hide_index=True, key="profiles_table")

st.subheader("Can I trust this segment?")
stability = evidence.stability_table(profiles)
if stability is None:
    st.info(evidence.not_available("Segment stability", model.version), icon=":material/info:")
else:
    st.markdown(
        evidence.stability_reading(
            profiles,
            stability_params.thresholds,
            stability_params.dissolution,
            stability_params.recovery,
        )
    )
    st.dataframe(
        stability,
        hide_index=True,
        column_config={
            "mean_jaccard": "mean Jaccard ± SE",
            "dissolved": SHARE,
            "recovered": SHARE,
        },
        key="stability_table",
    )

st.subheader("Will it respond?")
outcome_table = model.optional("segment_outcomes")
if outcome_table is None:
    st.info(evidence.not_available("Campaign evidence", model.version), icon=":material/info:")
elif outcome_table.empty:
    st.info(evidence.outcomes_note(outcome_table), icon=":material/info:")
else:
    if model.holds(OUTCOMES_FIGURE):
        st.image(
            model.dataset(OUTCOMES_FIGURE),
            caption="Response to the last campaign by segment, with its interval",
        )
    z = reporting.outcomes.z
    st.markdown(outcomes.next_campaign_sentence(outcome_table, z, names))
    note = evidence.outcomes_note(outcome_table)
    if note:
        st.info(note, icon=":material/info:")
    responses = evidence.response_table(outcome_table, names)
    if not responses.empty:
        st.dataframe(responses, hide_index=True, key="response_table")
        st.caption(evidence.overall_rates(outcome_table, z))

st.subheader("RFM beside K-Means")
crosstab = model.optional("rfm_crosstab")
if crosstab is None:
    st.info(evidence.not_available("The RFM comparison", model.version), icon=":material/info:")
else:
    st.markdown(evidence.rfm_reading(reporting.rfm.levels, card["features"]))
    if model.holds(RFM_FIGURE):
        st.image(model.dataset(RFM_FIGURE), caption="K-Means segments and RFM groups")
    rfm = evidence.rfm_table(crosstab, names)
    groups = [c for c in rfm.columns if c not in evidence.RFM_LEADING]
    st.dataframe(
        rfm,
        hide_index=True,
        column_config={"largest_group": "largest RFM group", **dict.fromkeys(groups, SHARE)},
        key="rfm_table",
    )

st.subheader("Figures")
held = [n for n in store.figure_names() if model.holds(n)]
shown_elsewhere = {OUTCOMES_FIGURE, RFM_FIGURE, METHODS_FIGURE}
for name in evidence.figure_order(held, list(FIGURES), shown_elsewhere):
    st.image(model.dataset(name), caption=FIGURES.get(name, name.replace("_", " ").capitalize()))

for name, title in TABLES.items():
    st.subheader(title)
    st.dataframe(model.dataset(name), hide_index=True, key=f"{name}_table")

st.subheader("Other methods: is K-Means the right tool?")
methods = model.optional("method_comparison")
if methods is None:
    st.info(evidence.not_available("The methods comparison", model.version), icon=":material/info:")
else:
    st.markdown(str(methods["verdict"].iloc[0]))
    st.dataframe(
        methods.drop(columns=["verdict"]),
        hide_index=True,
        column_config={"noise_share": SHARE, "smallest_share": SHARE},
        key="method_comparison_table",
    )
    if model.holds(METHODS_FIGURE):
        st.image(
            model.dataset(METHODS_FIGURE),
            caption="The criteria side by side, and each method's segments on the same customers",
        )

with st.expander("The full model card"):
    st.json(card)
