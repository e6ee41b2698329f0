"""``scoring``: a new export scored with an existing model version, and its drift."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
