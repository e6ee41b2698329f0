"""Customer segments app: `streamlit run app/streamlit_app.py` from the repository root.

A small router: the sidebar (model version and card) is shared, each page lives in app_pages/.
Set CUSTOMER_SEGMENTATION_PROJECT to read another project folder than this repository.
"""

from __future__ import annotations

import sys
from pathlib import Path

import streamlit as st

APP_DIR = Path(__file__).resolve().parent
if str(APP_DIR) not in sys.path:  # pages import app_state whatever the working directory
    sys.path.insert(0, str(APP_DIR))

import app_state  # noqa: E402

st.set_page_config(page_title="Customer segments", page_icon=":material/groups:", layout="wide")

navigation = st.navigation(
    [
        st.Page(
            APP_DIR / "app_pages" / "predict.py",
            title="Predict a customer",
            icon=":material/person_search:",
            default=True,
        ),
        st.Page(
            APP_DIR / "app_pages" / "score.py", title="Score a file", icon=":material/upload_file:"
        ),
        st.Page(
            APP_DIR / "app_pages" / "explore.py",
            title="Explore segments",
            icon=":material/insights:",
        ),
        st.Page(
            APP_DIR / "app_pages" / "compare.py",
            title="Compare versions",
            icon=":material/compare_arrows:",
        ),
    ]
)
app_state.sidebar()
navigation.run()
