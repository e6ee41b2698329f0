"""Compare versions: how the segments moved from one model version to another, on the customers
both segmented (the newer version's saved ``segment_migration``, or the same comparison now).
"""

from __future__ import annotations

import app_state
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from customer_segmentation.core.monitoring import migration
from customer_segmentation.params import as_model
from customer_segmentation.serving import charts, monitoring

st.title("Compare model versions")
store, model = app_state.require_model()
complete = [v.stamp for v in store.versions() if v.complete]

if len(complete) < 2:
    st.info(
        f"Model version `{model.version}` is the only complete one: there is nothing to compare "
        "it with. Train another, e.g. with `kedro run --params clustering.n_clusters=5`, then "
        "reload this page.",
        icon=":material/info:",
    )
    saved = model.optional("segment_migration")
    if saved is not None:
        st.markdown(saved["sentence"])
    st.stop()

# Default: the sidebar's version and the one trained before it (or after it, for the oldest).
here = complete.index(model.version)
other = complete[here + 1] if here + 1 < len(complete) else complete[here - 1]
left, right = st.columns(2)
first = left.selectbox("Version", complete, index=here, key=f"compare_first:{model.version}")
second = right.selectbox(
    "Compared with", complete, index=complete.index(other), key=f"compare_second:{model.version}"
)
if first == second:
    st.warning("Pick two different model versions.", icon=":material/warning:")
    st.stop()

settings = as_model("monitoring", store.params["monitoring"]).migration
with st.spinner("Comparing the versions…"):
    comparison = monitoring.compare_versions(
        app_state.other_version(first), app_state.other_version(second), settings
    )
result = comparison.migration
st.subheader(f"From `{comparison.older}` to `{comparison.newer}`")
# What the reader must know before any figure: the customers' checks that failed.
for warning in migration.warnings(result):
    st.warning(warning, icon=":material/warning:")
st.markdown(migration.migration_sentence(result))
if result.get("matching") is not None:
    passed = [c["text"] for c in result["matching"]["checks"] if c["status"] == migration.PASSED]
    st.caption(" ".join([*passed, migration.inputs_sentence(result)]))
st.caption(
    f"Read from the `segment_migration` saved with `{comparison.newer}`."
    if comparison.saved
    else f"Computed now: `{comparison.newer}` was not saved with a comparison against "
    f"`{comparison.older}`."
)
c1, c2, c3, c4 = st.columns(4)
ari = result["adjusted_rand_index"]
c1.metric("Adjusted Rand index", "–" if ari is None else f"{ari:.2f}")
c2.metric("Customers in both", f"{result['customers_compared']:,}")
c3.metric("Segments kept", f"{result['n_kept']}")
c4.metric("Dissolved / new", f"{result['n_dissolved']} / {result['n_new']}")

st.subheader("Where each old segment's customers went")
st.vega_lite_chart(spec=charts.migration_heatmap_spec(result), width="stretch")
st.caption(
    "Rows: the older version's segments; columns: the newer version's. Each cell writes the "
    "customers; its colour is their share of the row's segment."
)
share = st.toggle("Show shares of the old segment", key="migration_shares")
st.dataframe(
    migration.contingency_matrix(result, "share_of_old" if share else "customers"),
    key="migration_table",
)

st.subheader("The flows")
labels, flows = migration.migration_flows(result)
figure = go.Figure(
    go.Sankey(
        node={"label": labels, "pad": 12},
        link={
            "source": flows["source"].tolist(),
            "target": flows["target"].tolist(),
            "value": flows["customers"].tolist(),
        },
    )
)
figure.update_layout(
    title_text=f"`{comparison.older}` (left) to `{comparison.newer}` (right)", height=480
)
st.plotly_chart(figure, width="stretch", key="migration_sankey")

st.subheader("Segments matched by their centres")
if result["note"]:
    st.info(result["note"], icon=":material/info:")
old_tab, new_tab = st.tabs([f"Model {comparison.older}", f"Model {comparison.newer}"])
old_tab.dataframe(
    pd.DataFrame(result["old_segments"], columns=list(migration.OLD_SEGMENT_COLUMNS)),
    hide_index=True,
    key="old_segments_table",
)
new_tab.dataframe(
    pd.DataFrame(result["new_segments"], columns=list(migration.NEW_SEGMENT_COLUMNS)),
    hide_index=True,
    key="new_segments_table",
)
st.caption(
    f"A Hungarian pair is the same segment (kept) when its centres lie at most "
    f"{result['match_distance']:g} apart: the {result['distance_unit']}."
)
