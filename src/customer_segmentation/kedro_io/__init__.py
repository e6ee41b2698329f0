"""The Kedro adapters: datasets, model versioning, hooks, the config loader, the figure workers.

They connect the core to Kedro's catalog and runs; they may import ``core`` and ``report``,
never ``serving``, ``pipelines`` or the app.
"""
