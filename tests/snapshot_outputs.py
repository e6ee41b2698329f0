"""What a ``kedro run`` on the real table produced, as small comparable files: the snapshot that
pins the outputs across the redesign (issue 28).

``python tests/snapshot_outputs.py PROJECT`` writes the snapshot of a project copy after a run
on ``../shared/data/customer_segmentation.csv`` to ``tests/snapshots/real_table/``; the test
``tests/test_snapshot.py`` runs the project again and compares with :func:`compare`. The
clean table is kept as a digest and column sums (the real rows are not redistributed), the
rejects as their rows, IDs, codes and reasons, the segments of every customer, the model's
tables, and every number of the HTML report's text.
"""

from __future__ import annotations

import hashlib
import html
import json
import re
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

SNAPSHOT = Path(__file__).resolve().parent / "snapshots" / "real_table"
# Model tables compared cell by cell (floats to a relative 1e-9).
TABLES = (
    "customer_segments",
    "segment_profiles",
    "k_selection",
    "clustering_comparison",
    "segment_stability",
    "segment_outcomes",
    "rfm_crosstab",
    "spending_mix",
    "feature_summary",
    "category_counts",
    "missing_values",
    "removed_outliers",
)
REJECT_COLUMNS = ("source_row", "ID", "reason_code", "reason")
# Keys of the quality report that name where the file was (a temporary folder).
_PLACE = ("source",)
# What later issues added to the outputs on purpose, left out of the comparison with the
# snapshot of ae1d035 (their own tests check them): table -> columns, or document -> keys.
ADDED = {
    "customer_features": ("customer_key",),  # issue 29: who a customer is beyond ID
    "customer_segments": ("customer_key",),
    "data_quality_report": ("input",),  # issue 29: the input's identity (size, SHA-256)
    "model_card": ("input",),
    # issue 33 adds method_comparison, its figure and segment_membership (tests/core/modeling);
    # the report's "Other methods" section and its parameters are left out of the numbers.
    # issue 32 adds reporting.eda.correlation_sample_size (the correlations' seeded sample; the
    # real table's 2,212 customers are all in it): the parameter is left out of the numbers.
}
_STAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}\.\d{2}\.\d{2}\.\d{3}Z")
_NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?%?")


def _digest(table: pd.DataFrame) -> str:
    """A digest of a table's values (floats to 12 significant digits), in ``ID`` order."""
    ordered = table.sort_values("ID").reset_index(drop=True)
    text = ordered.to_csv(index=False, float_format="%.12g", date_format="%Y-%m-%d")
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _summary(table: pd.DataFrame) -> dict[str, Any]:
    numeric = table.select_dtypes("number")
    return {
        "rows": len(table),
        "columns": [str(c) for c in table.columns],
        "sums": {str(c): float(numeric[c].astype("float64").sum()) for c in numeric.columns},
        "digest": _digest(table),
    }


def report_numbers(text: str) -> list[str]:
    """Every number of the report's visible text (images, styles and the stamp left out)."""
    text = re.sub(r"<img[^>]*>", " ", text)
    text = re.sub(r"<style.*?</style>", " ", text, flags=re.DOTALL)
    text = re.sub(r"<script.*?</script>", " ", text, flags=re.DOTALL)
    text = re.sub(r'<section id="methods">.*?</section>', " ", text, flags=re.DOTALL)  # ADDED
    text = html.unescape(re.sub(r"<[^>]+>", " ", text))
    text = _STAMP.sub(" ", text)
    text = re.sub(r'"source": "[^"]*"', " ", text)
    text = re.sub(r'"input": \{[^}]*\}', " ", text)  # ADDED
    text = re.sub(r'"methods": \{[^}]*\}', " ", text)  # ADDED: issue 33's parameters
    text = re.sub(r'"correlation_sample_size": \d+', " ", text)  # ADDED: issue 32
    text = re.sub(r"Source \S+:", " ", text)
    return _NUMBER.findall(text)


def _load(catalog: Any, name: str) -> Any:
    """A table or document of the run, without what :data:`ADDED` lists for it."""
    value = catalog.load(name)
    added = list(ADDED.get(name, ()))
    if isinstance(value, pd.DataFrame):
        return value.drop(columns=added).reset_index(drop=True)
    return {k: v for k, v in value.items() if k not in added}


def collect(catalog: Any) -> dict[str, Any]:
    """The snapshot of a project whose catalog (loading pandas tables) is ``catalog``, without
    what later issues added on purpose (:data:`ADDED`).
    """
    report = _load(catalog, "data_quality_report")
    for key in _PLACE:
        report.pop(key, None)
    found: dict[str, Any] = {
        "customers": _summary(catalog.load("customers")),
        "customer_features": _summary(_load(catalog, "customer_features")),
        "data_quality_report": report,
        "model_card": _load(catalog, "model_card"),
        "rejected_customers": catalog.load("rejected_customers")[list(REJECT_COLUMNS)],
        "report_numbers": report_numbers(catalog.load("segmentation_report")),
    }
    for name in TABLES:
        found[name] = _load(catalog, name)
    return found


def write(found: dict[str, Any], folder: Path = SNAPSHOT) -> None:
    """The snapshot as files: tables as CSV, the rest as JSON."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, value in found.items():
        if isinstance(value, pd.DataFrame):
            value.to_csv(folder / f"{name}.csv", index=False, float_format="%.17g")
        else:
            (folder / f"{name}.json").write_text(
                json.dumps(value, indent=1, sort_keys=True, default=str) + "\n"
            )


def read(folder: Path = SNAPSHOT) -> dict[str, Any]:
    """The snapshot written by :func:`write`."""
    found: dict[str, Any] = {}
    for path in sorted(folder.iterdir()):
        if path.suffix == ".csv":
            found[path.stem] = pd.read_csv(path, keep_default_na=False, na_values=[""])
        elif path.suffix == ".json":
            found[path.stem] = json.loads(path.read_text())
    return found


def _same_values(name: str, got: Any, expected: Any, path: str = "") -> list[str]:
    """Where two JSON-like values differ (floats to a relative 1e-9)."""
    where = f"{name}{path}"
    if isinstance(expected, dict):
        if not isinstance(got, dict) or set(got) != set(expected):
            return [f"{where}: keys {sorted(got) if isinstance(got, dict) else got!r}"]
        return [p for k in expected for p in _same_values(name, got[k], expected[k], f"{path}.{k}")]
    if isinstance(expected, list):
        if not isinstance(got, list | tuple) or len(got) != len(expected):
            return [f"{where}: {got!r} != {expected!r}"]
        return [
            p
            for i, (g, e) in enumerate(zip(got, expected, strict=True))
            for p in _same_values(name, g, e, f"{path}[{i}]")
        ]
    if isinstance(expected, float) and isinstance(got, int | float):
        if not np.isclose(got, expected, rtol=1e-9, atol=1e-12, equal_nan=True):
            return [f"{where}: {got!r} != {expected!r}"]
        return []
    return [] if got == expected else [f"{where}: {got!r} != {expected!r}"]


def _same_table(name: str, got: pd.DataFrame, expected: pd.DataFrame) -> list[str]:
    got = pd.read_csv(  # the same reading as the snapshot's, so types agree
        __import__("io").StringIO(got.to_csv(index=False, float_format="%.17g")),
        keep_default_na=False,
        na_values=[""],
    )
    try:
        pd.testing.assert_frame_equal(
            got, expected, check_dtype=False, rtol=1e-9, atol=1e-12, obj=name
        )
    except AssertionError as error:
        return [str(error)]
    return []


def compare(found: dict[str, Any], expected: dict[str, Any]) -> list[str]:
    """Every difference between a run's snapshot and the stored one (empty: the same)."""
    problems = []
    for name, value in expected.items():
        if name not in found:
            problems.append(f"{name}: not in the run's outputs")
        elif isinstance(value, pd.DataFrame):
            problems += _same_table(name, found[name], value)
        else:
            plain = json.loads(json.dumps(found[name], sort_keys=True, default=str))
            problems += _same_values(name, plain, value)
    return problems


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from conftest import load_catalog

    write(collect(load_catalog(Path(sys.argv[1]))))
