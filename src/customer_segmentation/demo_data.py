"""Generate the demo customer table that ships with the project.

The table has the exact schema of the Kaggle export (29 columns, ``dd-mm-yyyy`` dates) and the
traits of the real one: a few missing incomes, an extreme income, impossible birth years, odd
marital statuses and constant ``Z_*`` columns. Customers are drawn from six planted types, so
tests can check that clustering finds what was planted.

    python -m customer_segmentation.demo_data --rows 2240 --seed 42 \
        --out data/01_raw/demo_customers.csv
"""

from __future__ import annotations

import argparse
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from customer_segmentation import schema

logger = logging.getLogger(__name__)

FIRST_DATE = pd.Timestamp("2012-07-30")
LAST_DATE = pd.Timestamp("2014-06-29")
# Rows converted to Arrow at a time when writing (bounds the writer's extra memory).
WRITE_CHUNK_ROWS = 500_000


@dataclass(frozen=True)
class PlantedType:
    """Mean and spread of one planted customer type on the model's seven features."""

    name: str
    share: float
    age: tuple[float, float]
    income: tuple[float, float]
    spending: tuple[float, float]
    store: tuple[float, float]
    web: tuple[float, float]
    visits: tuple[float, float]
    recency: tuple[float, float]
    kids: float  # mean number of kids at home
    teens: float
    mix: tuple[float, ...]  # Dirichlet weights over the six Mnt* columns
    campaign_rate: float


PLANTED_TYPES: tuple[PlantedType, ...] = (
    PlantedType(
        "Affluent Multi-Channel Spenders",
        0.15,
        (52, 10),
        (82_000, 9_000),
        (1_500, 350),
        (9, 2),
        (6, 2),
        (2.5, 1.2),
        (30, 15),
        0.05,
        0.3,
        (12, 2, 9, 2, 1.5, 1.5),
        0.35,
    ),
    PlantedType(
        "Senior Low-Activity Customers",
        0.15,
        (68, 5),
        (52_000, 10_000),
        (250, 120),
        (4, 1.5),
        (2.5, 1.2),
        (4, 1.5),
        (75, 12),
        0.1,
        0.6,
        (10, 1, 5, 1, 1, 2),
        0.06,
    ),
    PlantedType(
        "Young Budget Web Browsers",
        0.20,
        (32, 6),
        (28_000, 7_000),
        (60, 40),
        (3, 1),
        (2, 1),
        (8, 1.5),
        (35, 18),
        0.9,
        0.1,
        (5, 2, 4, 2, 2, 4),
        0.05,
    ),
    PlantedType(
        "Established Store Shoppers",
        0.18,
        (55, 8),
        (62_000, 8_000),
        (700, 200),
        (10, 2),
        (4, 1.5),
        (4, 1.5),
        (45, 20),
        0.2,
        0.8,
        (11, 1.5, 5, 1.5, 1, 1.5),
        0.12,
    ),
    PlantedType(
        "Online Deal Seekers",
        0.17,
        (45, 8),
        (48_000, 8_000),
        (450, 150),
        (4, 1.5),
        (8, 2),
        (7, 1.5),
        (50, 20),
        0.5,
        0.7,
        (9, 1, 4, 1, 1, 3),
        0.15,
    ),
    PlantedType(
        "Lapsing Middle-Income Families",
        0.15,
        (45, 8),
        (40_000, 8_000),
        (120, 60),
        (3.5, 1.2),
        (2.5, 1),
        (6, 1.5),
        (85, 8),
        1.0,
        0.9,
        (6, 2, 4, 2, 2, 3),
        0.05,
    ),
)


def generate_customers(rows: int, seed: int) -> tuple[pd.DataFrame, pd.Series]:
    """Draw ``rows`` customers in the Kaggle schema.

    Returns:
        The table (all 29 columns, ``Dt_Customer`` as ``dd-mm-yyyy`` strings, ``Income`` as
        float with NaN where missing) and the planted type name of each row, indexed by ``ID``.
    """
    rng = np.random.default_rng(seed)
    shares = np.array([t.share for t in PLANTED_TYPES])
    kind = rng.choice(len(PLANTED_TYPES), size=rows, p=shares / shares.sum())
    # The draws in one fixed order: the same seed gives the same customers.
    columns = _behaviour(rng, kind)
    days = (LAST_DATE - FIRST_DATE).days
    joined = FIRST_DATE + pd.to_timedelta(rng.integers(0, days + 1, size=rows), unit="D")
    columns[schema.DATE_COLUMN] = _format_dates(joined)
    columns.update(_household_and_campaigns(rng, kind))
    # Built in the export's column order directly: no second copy of the table.
    table = pd.DataFrame({c: columns.pop(c) for c in schema.KAGGLE_COLUMNS})
    _plant_real_traits(table, rng)
    planted = pd.Series(
        _words([t.name for t in PLANTED_TYPES])[kind], index=table[schema.ID], name="planted"
    )
    return table, planted


def _per_type(kind: np.ndarray, attribute: str) -> np.ndarray:
    """Each row's planted type's ``attribute``."""
    return np.array([getattr(t, attribute) for t in PLANTED_TYPES])[kind]


def _behaviour(rng: np.random.Generator, kind: np.ndarray) -> dict[str, Any]:
    """Age, income, spending per product, purchases, visits, recency and children, drawn
    around each row's planted type.
    """

    def draw(attribute: str, low: float, high: float) -> np.ndarray:
        mean, sd = _per_type(kind, attribute).T
        return np.clip(rng.normal(mean, sd), low, high)

    age = np.round(draw("age", 19, 80))
    income = np.round(draw("income", 4_000, 160_000))
    spending = draw("spending", 5, 2_600)
    weights = rng.gamma(_per_type(kind, "mix"))
    weights /= weights.sum(axis=1, keepdims=True)
    spend = np.floor(weights * spending[:, None]).astype("int64")
    store = np.round(draw("store", 0, 13)).astype("int64")
    web = np.round(draw("web", 0, 27)).astype("int64")
    return {
        "Year_Birth": (LAST_DATE.year - age).astype("int64"),
        "Income": income,
        **dict(zip(schema.SPEND_COLUMNS, spend.T, strict=True)),
        "NumStorePurchases": store,
        "NumWebPurchases": web,
        "NumWebVisitsMonth": np.round(draw("visits", 0, 20)).astype("int64"),
        "Recency": np.round(draw("recency", 0, 99)).astype("int64"),
        "NumCatalogPurchases": np.clip(rng.poisson(spending / 250), 0, 28).astype("int64"),
        "NumDealsPurchases": np.clip(rng.poisson(1 + (web + store) / 6), 0, 15).astype("int64"),
        "Kidhome": np.clip(rng.poisson(_per_type(kind, "kids")), 0, 2),
        "Teenhome": np.clip(rng.poisson(_per_type(kind, "teens")), 0, 2),
    }


def _household_and_campaigns(rng: np.random.Generator, kind: np.ndarray) -> dict[str, Any]:
    """Campaign flags, education, marital status, IDs, complaints and the last response."""
    rows = len(kind)
    rate = _per_type(kind, "campaign_rate")
    flags = {c: (rng.random(rows) < rate).astype("int64") for c in schema.CAMPAIGN_COLUMNS}
    # Drawing positions and looking the words up draws the same values as choosing among the
    # words, without a fixed-width unicode array per row (lean at 10^7 rows).
    education = _words(schema.EDUCATION_LEVELS)[
        rng.choice(len(schema.EDUCATION_LEVELS), size=rows, p=[0.03, 0.09, 0.5, 0.17, 0.21])
    ]
    statuses = ("Married", "Together", "Single", "Divorced", "Widow")
    marital = _words(statuses)[
        rng.choice(len(statuses), size=rows, p=[0.39, 0.26, 0.21, 0.1, 0.04])
    ]
    ids = rng.permutation(np.arange(rows * 5 + 20))[:rows].astype("int64")
    return {
        schema.ID: ids,
        "Education": education,
        "Marital_Status": marital,
        **flags,
        "Complain": (rng.random(rows) < 0.01).astype("int64"),
        "Z_CostContact": 3,
        "Z_Revenue": 11,
        "Response": (rng.random(rows) < rate * 0.8).astype("int64"),
    }


def _words(words: tuple[str, ...] | list[str]) -> np.ndarray:
    return np.array(words, dtype=object)


def _format_dates(dates: pd.DatetimeIndex) -> np.ndarray:
    codes, uniques = pd.factorize(dates)
    return np.asarray(uniques.strftime("%d-%m-%Y"))[codes]


def _plant_real_traits(table: pd.DataFrame, rng: np.random.Generator) -> None:
    """Add the known oddities of the real export, scaled to the table's size (each to distinct
    customers: in a table too small for them all, the later ones are planted fewer times).
    """
    rows = len(table)
    scale = max(1, rows // 2240)
    picks = rng.permutation(rows)
    at = 0

    def next_picks(count: int) -> np.ndarray:
        nonlocal at
        taken = picks[at : at + count]
        at += len(taken)
        return taken

    missing = next_picks(24 * scale)
    table.loc[missing, "Income"] = np.nan
    years = next_picks(3 * scale)
    table.loc[years, "Year_Birth"] = rng.choice([1893, 1899, 1900], len(years))
    odd = next_picks(7 * scale)
    table.loc[odd, "Marital_Status"] = rng.choice(["Alone", "Absurd", "YOLO"], len(odd))
    table.loc[next_picks(scale), "Income"] = 666_666


def write_customers(table: pd.DataFrame, path: Path) -> None:
    """Write the table as the Kaggle export does: comma-separated, no index, whole incomes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    out = table.assign(Income=table["Income"].astype("Int64"))
    options = pacsv.WriteOptions(include_header=False, quoting_style="none")
    with pa.OSFile(str(path), "wb") as sink:
        sink.write((",".join(out.columns) + "\n").encode())
        # Slices keep the Arrow copy small however long the table is.
        for start in range(0, len(out), WRITE_CHUNK_ROWS):
            chunk = out.iloc[start : start + WRITE_CHUNK_ROWS]
            arrow = pa.Table.from_pandas(chunk, preserve_index=False)
            pacsv.write_csv(arrow, sink, write_options=options)


def main(argv: list[str] | None = None) -> None:
    """Command line: write a demo table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2240)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--out", type=Path, default=Path("data/01_raw/demo_customers.csv"))
    args = parser.parse_args(argv)
    table, _ = generate_customers(args.rows, args.seed)
    write_customers(table, args.out)
    logger.info("Wrote %d customers to %s", len(table), args.out)


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    main()
