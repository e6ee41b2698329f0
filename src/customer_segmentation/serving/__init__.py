"""The serving layer: a model version as one unit, and what is asked of it (predict one
customer, score a table, explain, the evidence of a version), used by both the Streamlit app and
the ``scoring`` pipeline. Nothing here imports Streamlit.
"""
