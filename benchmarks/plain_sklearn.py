"""The brief's work as one plain pandas + scikit-learn script: the benchmark's baseline.

Written as a careful data scientist would write it for a large table, without Kedro: a fast CSV
engine (pyarrow), vectorised cleaning and features, and seeded samples wherever the maths is
quadratic or a sample answers the question as well (silhouette, DBSCAN, the 2-D map, the elbow
sweep). The final K-Means is fitted on all rows, with scikit-learn's default threads (the
project holds BLAS to one thread; see ``benchmarks/README.md``). Every setting comes from the
project's parameters: ``benchmarks/run.py`` passes them, so the two sides do the same work. Only
the column names are the project's (``schema``); every rule is the script's own.

    python benchmarks/plain_sklearn.py customers.csv --out /tmp/plain --settings '{...}'
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path
from typing import Any

import joblib
import matplotlib
import numpy as np
import pandas as pd
from kneed import KneeLocator
from sklearn.cluster import DBSCAN, KMeans, MiniBatchKMeans
from sklearn.decomposition import PCA
from sklearn.metrics import silhouette_score
from sklearn.neighbors import NearestNeighbors
from sklearn.preprocessing import StandardScaler

from customer_segmentation.core import engine
from customer_segmentation.schema import SPEND_COLUMNS

matplotlib.use("Agg")
from matplotlib.figure import Figure

logger = logging.getLogger("plain_sklearn")

SPEND = list(SPEND_COLUMNS)
# Every setting (features, k, samples, seeds, bounds) comes from the project's parameters:
# benchmarks/run.py passes them as --settings (``run.plain_settings``).
SETTINGS = (
    "features",
    "seed",
    "k_min",
    "k_max",
    "n_clusters",
    "n_init",
    "sweep_n_init",
    "sweep_algorithm",
    "algorithm",
    "batch_size",
    "sweep_sample",
    "silhouette_sample",
    "dbscan_sample",
    "min_samples",
    "map_sample",
    "min_birth_year",
    "max_income",
)


def sample_rows(ids: np.ndarray, size: int, seed: int) -> np.ndarray:
    """Positions (ascending) of the seeded sample of ``size`` customers among ``ids``: the
    customers the pipeline samples for the same seed (the project's ``engine.sample``), so both
    sides measure the same rows.
    """
    frame = engine.lazy(pd.DataFrame({"ID": ids}))
    drawn = engine.to_pandas(engine.sample(frame, size, seed, "ID"))["ID"].to_numpy()
    return np.flatnonzero(np.isin(ids, drawn))


def load_and_clean(path: Path, settings: dict[str, Any]) -> pd.DataFrame:
    """Read the export and drop the rows the brief says to drop."""
    table = pd.read_csv(path, sep=settings.get("sep", ","), engine="pyarrow")
    table["Dt_Customer"] = pd.to_datetime(table["Dt_Customer"], format="%d-%m-%Y")
    keep = (
        table["Income"].notna()
        & (table["Year_Birth"] >= settings["min_birth_year"])
        & (table["Income"] <= settings["max_income"])
        & ~table["ID"].duplicated()
    )
    return table.loc[keep].reset_index(drop=True)


def add_features(table: pd.DataFrame) -> pd.DataFrame:
    """Age and Tenure at the latest customer date (not today), Total_Spending."""
    reference = table["Dt_Customer"].max()
    return table.assign(
        Age=reference.year - table["Year_Birth"],
        Total_Spending=table[SPEND].sum(axis=1),
        Tenure_Months=(reference - table["Dt_Customer"]).dt.days / (365.25 / 12),
    )


def make_kmeans(
    k: int, settings: dict[str, Any], seed: int, *, sweep: bool = False
) -> KMeans | MiniBatchKMeans:
    """K-Means or MiniBatchKMeans, as configured for the sweep or for the final fit."""
    prefix = "sweep_" if sweep else ""
    n_init = settings[f"{prefix}n_init"]
    if settings[f"{prefix}algorithm"] == "minibatch":
        return MiniBatchKMeans(
            k, n_init=n_init, batch_size=settings["batch_size"], random_state=seed
        )
    return KMeans(k, n_init=n_init, random_state=seed)


def elbow_sweep(scaled: np.ndarray, ids: np.ndarray, settings: dict[str, Any]) -> pd.DataFrame:
    """Inertia and sampled silhouette for every k, on a seeded sample of the rows."""
    seed = settings["seed"]
    rows = sample_rows(ids, settings["sweep_sample"], seed)
    sample = scaled[rows]
    sil_rows = sample_rows(ids[rows], settings["silhouette_sample"], seed)
    rows = []
    for k in range(settings["k_min"], settings["k_max"] + 1):
        model = make_kmeans(k, settings, seed, sweep=True).fit(sample)
        silhouette = silhouette_score(sample[sil_rows], model.labels_[sil_rows])
        rows.append({"k": k, "inertia": float(model.inertia_), "silhouette": float(silhouette)})
        logger.info("k=%d inertia %.0f silhouette %.3f", k, model.inertia_, silhouette)
    return pd.DataFrame(rows)


def dbscan_on_sample(
    scaled: np.ndarray, ids: np.ndarray, settings: dict[str, Any]
) -> dict[str, Any]:
    """DBSCAN on a seeded sample, eps at the knee of the k-distance curve."""
    sample = scaled[sample_rows(ids, settings["dbscan_sample"], settings["seed"])]
    min_samples = settings["min_samples"]
    distances = NearestNeighbors(n_neighbors=min_samples).fit(sample).kneighbors(sample)[0]
    curve = np.sort(distances[:, -1])
    knee = KneeLocator(np.arange(len(curve)), curve, curve="convex", direction="increasing").knee
    eps = float(curve[int(knee)]) if knee is not None else float(np.quantile(curve, 0.95))
    labels = DBSCAN(eps=eps, min_samples=min_samples).fit_predict(sample)
    return {
        "eps": eps,
        "clusters": int(len(set(labels) - {-1})),
        "noise_share": float(np.mean(labels == -1)),
    }


def segment_map(
    scaled: np.ndarray, labels: np.ndarray, ids: np.ndarray, settings: dict[str, Any]
) -> Figure:
    """PCA map of a seeded sample, coloured by segment."""
    keep = sample_rows(ids, settings["map_sample"], settings["seed"])
    coords = PCA(n_components=2, random_state=settings["seed"]).fit_transform(scaled[keep])
    fig = Figure(figsize=(8, 6))
    ax = fig.subplots()
    ax.scatter(coords[:, 0], coords[:, 1], c=labels[keep], s=6, cmap="tab10")
    ax.set(xlabel="PC1", ylabel="PC2", title="Segments")
    return fig


def run(path: Path, out: Path, settings: dict[str, Any]) -> dict[str, Any]:
    """Do the whole analysis, write the artefacts into ``out`` and return the figures."""
    out.mkdir(parents=True, exist_ok=True)
    steps: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        steps[name] = now - clock
        clock = now

    table = load_and_clean(path, settings)
    lap("read_and_clean")
    table = add_features(table)
    features = list(settings["features"])
    scaler = StandardScaler().fit(table[features])
    scaled = scaler.transform(table[features])
    lap("features_and_scaling")
    ids = table["ID"].to_numpy()
    sweep = elbow_sweep(scaled, ids, settings)
    knee = KneeLocator(sweep["k"], sweep["inertia"], curve="convex", direction="decreasing").knee
    lap("elbow_sweep")
    seed = settings["seed"]
    model = make_kmeans(settings["n_clusters"], settings, seed).fit(scaled)
    labels = model.labels_
    lap("final_kmeans")
    sil_rows = sample_rows(ids, settings["silhouette_sample"], seed)
    silhouette = float(silhouette_score(scaled[sil_rows], labels[sil_rows]))
    lap("silhouette")
    dbscan = dbscan_on_sample(scaled, ids, settings)
    lap("dbscan")
    segment_map(scaled, labels, ids, settings).savefig(out / "segment_map.png", dpi=110)
    lap("map")
    joblib.dump(scaler, out / "scaler.joblib")
    joblib.dump(model, out / "kmeans.joblib")
    pd.DataFrame({"ID": table["ID"].to_numpy(), "segment": labels}).to_parquet(
        out / "segments.parquet", index=False
    )
    sweep.to_csv(out / "elbow.csv", index=False)
    lap("save")
    figures = {
        "rows_in_clean": len(table),
        "knee": None if knee is None else int(knee),
        "k": settings["n_clusters"],
        "inertia": float(model.inertia_),
        "silhouette": silhouette,
        "sweep": sweep.to_dict(orient="records"),
        "dbscan": dbscan,
        "segment_sizes": np.bincount(labels).tolist(),
        "steps_seconds": steps,
    }
    (out / "figures.json").write_text(json.dumps(figures, indent=2))
    return figures


def main(argv: list[str] | None = None) -> None:
    """Command line: ``plain_sklearn.py CSV --out DIR --settings JSON``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("csv", type=Path)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument(
        "--settings", required=True, help="JSON object with every key of SETTINGS (run.py)"
    )
    args = parser.parse_args(argv)
    settings = json.loads(args.settings)
    missing = [key for key in SETTINGS if key not in settings]
    if missing:
        parser.error(f"--settings lacks {', '.join(missing)}")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    figures = run(args.csv, args.out, settings)
    print(
        f"plain: {figures['rows_in_clean']} clean rows, k={figures['k']}, "
        f"silhouette {figures['silhouette']:.3f}, steps "
        + ", ".join(f"{k} {v:.1f}s" for k, v in figures["steps_seconds"].items())
    )


if __name__ == "__main__":
    main()
