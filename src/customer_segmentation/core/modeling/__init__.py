"""Clustering: samples (``sampling``), partition quality (``metrics``), the k sweep and the
decision on k (``selection``), the final K-Means (``kmeans``), DBSCAN beside it (``dbscan``),
the model card (``card``).
"""
