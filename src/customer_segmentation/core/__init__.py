"""The domain core: the data contract, features, segments, scoring, outcomes, RFM, maps, EDA,
modelling and monitoring, as engine expressions (narwhals) and plain functions.

Nothing here imports Kedro or Streamlit; it may import ``schema`` and ``params`` (the floor
below) and nothing above it (``report``, ``kedro_io``, ``serving``, ``pipelines``, the app).
"""
