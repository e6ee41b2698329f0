"""The lightest Streamlit page that answers like the app: the load benchmark's calibration.

``benchmarks/app_load.py --calibrate`` drives it exactly as it drives the app, so the run shows
how much of the sessions' waiting the browsers themselves cause on the machine (they share its
cores with the server).
"""

import streamlit as st

st.title("Calibration page")
with st.form("customer"):
    number = st.number_input("A number", value=1)
    pressed = st.form_submit_button("Predict segment")
if pressed:
    with st.container(key="prediction"):
        st.subheader(f"Segment {number}: calibration")
