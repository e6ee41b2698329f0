"""Predict a customer: a form of raw fields -> segment, name, action, how clearly, why, where."""

from __future__ import annotations

import app_state
import pandas as pd
import streamlit as st

from customer_segmentation import app_logic, schema

st.title("Predict a customer's segment")
store, bundle = app_state.require_model()
card = bundle.card
ref_date = bundle.reference_date
defaults = app_logic.form_defaults(app_state.table(store, "customers"), ref_date)
data_rules = app_state.params(store, "data_processing")
used = set(card["features"])


def _help(*columns: str) -> str:
    shown = [c for c in columns if c in used]
    return f"Used by the model ({', '.join(shown)})." if shown else "Not used by this model."


st.caption(
    f"Model `{bundle.version}` (k = {card['k']}). Ages and tenure are measured at the model's "
    f"reference date, {ref_date.date()}. Start values are the medians of the training customers."
)
spend_columns = set(schema.SPEND_COLUMNS)
SPEND_TITLES = {
    "MntWines": "Wine",
    "MntFruits": "Fruit",
    "MntMeatProducts": "Meat",
    "MntFishProducts": "Fish",
    "MntSweetProducts": "Sweets",
    "MntGoldProds": "Gold",
}
left, right = st.columns(2)
age_mode = left.radio("Age given as", ["Age", "Birth year"], horizontal=True, key="age_mode")
spend_modes = ["Per product category", "Total"]
if used & spend_columns:  # a per-category feature: the total alone would not do
    spend_modes = spend_modes[:1]
spend_mode = right.radio("Spending given as", spend_modes, horizontal=True, key="spend_mode")

values: dict[str, object] = {}
with st.form("customer"):
    st.subheader("Who")
    c1, c2, c3 = st.columns(3)
    if age_mode == "Age":
        values["Age"] = c1.number_input(
            f"Age (at {ref_date.date()})",
            min_value=0,
            value=int(defaults["Age"]),
            step=1,
            key="Age",
            help=_help("Age"),
        )
    else:
        values["Year_Birth"] = c1.number_input(
            "Birth year",
            min_value=int(data_rules["min_birth_year"]),
            value=int(defaults["Year_Birth"]),
            step=1,
            key="Year_Birth",
            help=_help("Age"),
        )
    values["Income"] = c2.number_input(
        "Yearly household income",
        min_value=0.0,
        value=float(defaults["Income"]),
        step=1000.0,
        key="Income",
        help=_help("Income"),
    )
    values["Recency"] = c3.number_input(
        "Days since the last purchase",
        min_value=0,
        value=int(defaults["Recency"]),
        step=1,
        key="Recency",
        help=_help("Recency"),
    )

    st.subheader("Spending (last two years)")
    if spend_mode == "Total":
        values["Total_Spending"] = st.number_input(
            "Total spending on all products",
            min_value=0.0,
            value=float(defaults["Total_Spending"]),
            step=10.0,
            key="Total_Spending",
            help=_help("Total_Spending", "Avg_Spend_Per_Purchase"),
        )
    else:
        spend_cols = st.columns(len(schema.SPEND_COLUMNS))
        for column, place in zip(schema.SPEND_COLUMNS, spend_cols, strict=True):
            values[column] = place.number_input(
                SPEND_TITLES[column],
                min_value=0.0,
                value=float(defaults[column]),
                step=10.0,
                key=column,
                help=_help(column, "Total_Spending"),
            )

    st.subheader("Purchases and visits")
    counts = [*schema.PURCHASE_COLUMNS, "NumWebVisitsMonth"]
    titles = {
        "NumDealsPurchases": "Purchases with a discount",
        "NumWebPurchases": "Web purchases",
        "NumCatalogPurchases": "Catalogue purchases",
        "NumStorePurchases": "Store purchases",
        "NumWebVisitsMonth": "Web visits per month",
    }
    for column, place in zip(counts, st.columns(len(counts)), strict=True):
        values[column] = place.number_input(
            titles[column],
            min_value=0,
            value=int(defaults[column]),
            step=1,
            key=column,
            help=_help(column),
        )

    with st.expander("Household, education, tenure and campaigns"):
        h1, h2, h3, h4 = st.columns(4)
        values["Kidhome"] = h1.number_input(
            "Children at home", min_value=0, value=int(defaults["Kidhome"]), key="Kidhome"
        )
        values["Teenhome"] = h2.number_input(
            "Teenagers at home", min_value=0, value=int(defaults["Teenhome"]), key="Teenhome"
        )
        values["Marital_Status"] = h3.selectbox(
            "Marital status",
            schema.MARITAL_STATUSES,
            index=schema.MARITAL_STATUSES.index(defaults["Marital_Status"])
            if defaults["Marital_Status"] in schema.MARITAL_STATUSES
            else 0,
            key="Marital_Status",
        )
        values["Education"] = h4.selectbox(
            "Education",
            schema.EDUCATION_LEVELS,
            index=schema.EDUCATION_LEVELS.index(defaults["Education"])
            if defaults["Education"] in schema.EDUCATION_LEVELS
            else 0,
            key="Education",
        )
        values[schema.DATE_COLUMN] = st.date_input(
            "Customer since",
            value=defaults[schema.DATE_COLUMN],
            min_value=pd.Timestamp(data_rules["min_customer_date"]).date(),
            max_value=ref_date.date(),
            key=schema.DATE_COLUMN,
        )
        accepted = st.multiselect(
            "Campaigns accepted",
            schema.CAMPAIGN_COLUMNS,
            format_func=lambda c: f"Campaign {c.removeprefix('AcceptedCmp')}",
            key="campaigns",
        )
        values.update({c: int(c in accepted) for c in schema.CAMPAIGN_COLUMNS})
    submitted = st.form_submit_button("Predict segment", type="primary")

if submitted:
    try:
        prediction = app_logic.predict_customer(
            values, bundle, app_state.table(store, "customer_segments")
        )
    except ValueError as error:
        st.error(f"Cannot predict: {error}")
        st.stop()
    st.session_state["prediction"] = (bundle.version, prediction)

stored = st.session_state.get("prediction")
if stored is None or stored[0] != bundle.version:
    st.info("Fill in the form and press **Predict segment**.")
    st.stop()
prediction: app_logic.Prediction = stored[1]

with st.container(key="prediction", border=True):
    st.subheader(f"Segment {prediction.segment}: {prediction.name}")
    st.write(prediction.description)
    st.info(f"**Suggested action:** {prediction.action}", icon=":material/campaign:")

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
m1, m2, m3 = st.columns(3)
m1.metric("Distance to own centroid", f"{prediction.distance:.2f}")
m2.metric(
    f"Runner-up: segment {prediction.runner_up}",
    f"{prediction.runner_up_distance:.2f}",
    help=prediction.runner_up_name,
)
m3.metric("Runner-up is farther by", f"{prediction.margin:.0%}")
clarity = (
    f" More clear-cut than {prediction.margin_percentile:.0%} of the training customers."
    if prediction.margin_percentile is not None
    else ""
)
st.caption(
    f"Distances in standardised feature units. The runner-up is {prediction.runner_up_name}. "
    f"A margin near 0% means the customer sits on the border between the two.{clarity}"
)

st.subheader("What pulled the customer into this segment")
pulls = prediction.explanation.set_index("feature")
st.bar_chart(pulls["pull"], horizontal=True, x_label="pull towards the own segment")
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
population = app_state.table(store, "customer_features")
if population is None:
    st.info("The map needs `customer_features`; run `kedro run` to draw it.")
else:
    reporting = app_state.params(store, "reporting")
    st.pyplot(
        app_logic.segment_map(
            population,
            bundle,
            int(reporting.get("map_sample_size", len(population))),
            int(reporting.get("random_state", card.get("random_state", 0))),
            prediction.features,
        )
    )
