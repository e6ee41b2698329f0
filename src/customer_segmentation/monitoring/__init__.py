"""Monitoring a fitted model on new customers: feature and segment-share drift against the
training data (``drift``) and customers' moves between segments (``migration``).
"""
