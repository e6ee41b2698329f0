"""Monitoring a model over time: drift of new customers and migration between model versions."""
