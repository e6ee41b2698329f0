"""customer-segmentation: explained, versioned customer segments (a Kedro project)."""

__version__ = "0.1"
