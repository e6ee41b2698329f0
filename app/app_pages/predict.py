"""Predict a customer: a form of raw fields -> segment, name, action, how clearly, why, where."""

from __future__ import annotations

import app_state
import streamlit as st

from customer_segmentation import schema
from customer_segmentation.core import maps
from customer_segmentation.serving import charts, evidence, form, predict

st.title("Predict a customer's segment")
store, model = app_state.require_model()
bundle = model.bundle
card = bundle.card
ref_date = bundle.reference_date
defaults = form.form_defaults(bundle)
data_rules = store.params["data_processing"]
used = set(card["features"])
LABELS = form.FIELD_LABELS


def _help(*columns: str) -> str:
    shown = [c for c in columns if c in used]
    return f"Used by the model ({', '.join(shown)})." if shown else "Not used by this model."


st.caption(
    f"Model `{model.version}` (k = {card['k']}). Ages and tenure are measured at the model's "
    f"reference date, {ref_date.date()}. Start values are those of the model's typical "
    "training customer (medians). The answer goes through the same data contract as a file."
)
spend_columns = set(schema.SPEND_COLUMNS)
left, right = st.columns(2)
age_mode = left.radio("Age given as", ["Age", "Birth year"], horizontal=True, key="age_mode")
spend_modes = ["Per product category", "Total"]
if used & spend_columns:  # a per-category feature: the total alone would not do
    spend_modes = spend_modes[:1]
spend_mode = right.radio("Spending given as", spend_modes, horizontal=True, key="spend_mode")

values: dict[str, object] = {}


def field(place, column: str, step: float, *used_by: str, label: str | None = None) -> None:
    """A number input for ``column``, starting at the typical customer's value; whole numbers
    unless ``step`` is a float.
    """
    values[column] = place.number_input(
        label or LABELS[column],
        value=type(step)(defaults[column]),
        step=step,
        key=column,
        help=_help(*(used_by or (column,))),
    )


with st.form("customer"):
    st.subheader("Who")
    c1, c2, c3 = st.columns(3)
    if age_mode == "Age":
        field(c1, "Age", 1, label=f"Age (at {ref_date.date()})")
    else:
        field(c1, "Year_Birth", 1, "Age")
    field(c2, "Income", 1000.0)
    field(c3, "Recency", 1)

    st.subheader("Spending (last two years)")
    if spend_mode == "Total":
        field(st, "Total_Spending", 10, "Total_Spending", "Avg_Spend_Per_Purchase")
    else:
        for column, place in zip(
            schema.SPEND_COLUMNS, st.columns(len(schema.SPEND_COLUMNS)), strict=True
        ):
            field(place, column, 10, column, "Total_Spending")

    st.subheader("Purchases and visits")
    counts = [*schema.PURCHASE_COLUMNS, "NumWebVisitsMonth"]
    for column, place in zip(counts, st.columns(len(counts)), strict=True):
        field(place, column, 1)

    with st.expander("Household, education, tenure and campaigns"):
        h1, h2, h3, h4 = st.columns(4)
        field(h1, "Kidhome", 1)
        field(h2, "Teenhome", 1)
        for column, place, choices in (
            ("Marital_Status", h3, schema.MARITAL_STATUSES),
            ("Education", h4, schema.EDUCATION_LEVELS),
        ):
            values[column] = place.selectbox(
                LABELS[column],
                choices,
                index=choices.index(defaults[column]) if defaults[column] in choices else 0,
                key=column,
            )
        values[schema.DATE_COLUMN] = st.date_input(
            LABELS[schema.DATE_COLUMN],
            value=defaults[schema.DATE_COLUMN],
            min_value=data_rules.min_customer_date,
            max_value=ref_date.date(),
            key=schema.DATE_COLUMN,
        )
        accepted = st.multiselect(
            "Campaigns accepted",
            schema.CAMPAIGN_COLUMNS,
            format_func=LABELS.get,
            key="campaigns",
        )
        values.update({c: int(c in accepted) for c in schema.CAMPAIGN_COLUMNS})
    submitted = st.form_submit_button("Predict segment", type="primary")

if submitted:
    try:
        prediction = predict.predict_customer(
            values,
            bundle,
            data_rules,
            model.training_margins(),
            model.dataset("segment_map_projection"),
        )
    except form.FormRejected as error:
        st.session_state.pop("prediction", None)
        st.error(f"The data contract refuses this customer: {error}", icon=":material/block:")
        st.stop()
    st.session_state["prediction"] = (model.version, prediction)

stored = st.session_state.get("prediction")
if stored is None or stored[0] != model.version:
    st.info("Fill in the form and press **Predict segment**.")
    st.stop()
prediction: predict.Prediction = stored[1]

with st.container(key="prediction", border=True):
    st.subheader(f"Segment {prediction.segment}: {prediction.name}")
    st.write(prediction.description)
    st.info(f"**Suggested action:** {prediction.action}", icon=":material/campaign:")
    stable = evidence.stability_sentence(model.dataset("segment_profiles"), prediction.segment)
    responds = evidence.campaign_evidence(
        model.optional("segment_outcomes"), prediction.segment, store.params["reporting"].outcomes.z
    )
    with st.container(key="segment_evidence"):
        st.markdown(
            "**How stable is this segment?** "
            + (stable or evidence.not_available("Its stability", model.version))
        )
        st.markdown(
            "**Will it respond?** "
            + (responds or evidence.not_available("Its campaign evidence", model.version))
        )

if not prediction.out_of_range.empty:
    lines = [
        f"- {r.feature} = {r.value:,.1f} (training range {r.min:,.1f} … {r.max:,.1f})"
        for r in prediction.out_of_range.itertuples()
    ]
    st.warning(
        "Outside what the model was trained on (used as given, not clipped; the segment is "
        "less certain):\n" + "\n".join(lines),
        icon=":material/warning:",
    )

st.subheader("How clearly does the customer belong?")
m1, m2, m3, m4 = st.columns(4)
m1.metric("Distance to own centroid", f"{prediction.distance:.2f}")
m2.metric(
    f"Runner-up: segment {prediction.runner_up}",
    f"{prediction.runner_up_distance:.2f}",
    help=prediction.runner_up_name,
)
m3.metric("Runner-up is farther by", f"{prediction.margin:.0%}")
m4.metric(
    "Probability of belonging",
    "not available" if prediction.membership is None else f"{prediction.membership:.0%}",
    help="A Gaussian mixture with one component per segment (its share, mean and covariance).",
)
st.caption(
    f"Distances in standardised feature units. The runner-up is {prediction.runner_up_name}. "
    "A margin near 0% means the customer sits on the border between the two. More clear-cut "
    f"than {prediction.margin_percentile:.0%} of the training customers."
)
if prediction.membership is None:
    st.caption(evidence.not_available("The probability of belonging", model.version))

st.subheader("What pulled the customer into this segment")
st.vega_lite_chart(spec=charts.pull_spec(prediction.explanation), width="stretch")
st.caption(
    "Each feature's pull is its share of (squared distance to the runner-up − squared distance "
    "to the own centroid): positive pulls towards this segment, negative towards the runner-up."
)
st.dataframe(
    prediction.explanation,
    hide_index=True,
    column_config={
        c: st.column_config.NumberColumn(format="%.2f")
        for c in ("value", "scaled", "own_centroid", "runner_up_centroid", "pull")
    },
)

st.subheader("Where the customer sits on the segment map")
base = model.derived(
    "map_spec",
    lambda: charts.map_spec(
        maps.map_layers(
            model.dataset("segment_map_points"),
            bundle.segment_names(),
            maps.axis_labels(model.dataset("segment_map_projection")),
        )
    ),
)
st.vega_lite_chart(
    spec=charts.with_customer(base, prediction.position), width="stretch", key="segment_map"
)
st.caption(
    "The model version's PCA map (the report's): sampled training customers, the centroids (+) "
    "and this customer (diamond). Hover for details; scroll to zoom."
)
