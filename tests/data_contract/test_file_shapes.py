"""Every shape the real table comes in reads to the same customers and the same segments.

Each shape is written by the test from ``../shared/data/customer_segmentation.csv`` (the
canonical file) into ``tmp_path``. The shape goes through the pipeline's own nodes
(``check_customers`` -> ``engineer_features`` -> ``fit_segmentation`` with the canonical
``k_selection``), and the result is compared with the ``real_project`` run on the canonical
file (``canonical`` and ``assert_same_as_canonical`` in conftest). Two shapes also go through a
full ``kedro run --params raw_customers_path=...``.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from typing import Any

import pandas as pd
import pytest
from conftest import (
    REAL_FILES,
    assert_same_as_canonical,
    copy_project,
    load_catalog,
    real_file,
    run_project,
)
from contract_api import RawCustomerFile

from customer_segmentation import engine
from customer_segmentation.pipelines.clustering.nodes import fit_segmentation
from customer_segmentation.pipelines.data_processing.nodes import check_customers
from customer_segmentation.pipelines.feature_engineering.nodes import engineer_features

EXCEL_EPOCH = pd.Timestamp("1899-12-30")


@pytest.fixture(scope="module")
def canonical_text() -> pd.DataFrame:
    """The canonical file as strings, exactly as written."""
    return pd.read_csv(real_file(REAL_FILES[0]), dtype=str, keep_default_na=False)


def _dates(text: pd.DataFrame) -> pd.Series:
    return pd.to_datetime(text["Dt_Customer"], format="%d-%m-%Y")


def _with_dates(text: pd.DataFrame, values: pd.Series) -> pd.DataFrame:
    shaped = text.copy()
    shaped["Dt_Customer"] = values
    return shaped


def _csv(text: pd.DataFrame, **options: Any) -> bytes:
    encoding = options.pop("encoding", "utf-8")
    return text.to_csv(index=False, **options).encode(encoding)


def _no_leading_zero(numbers: pd.Series) -> pd.Series:
    return numbers.astype(int).astype(str)


# name -> (function of the canonical text table giving the file's bytes, expected detection)
SHAPES: dict[str, tuple[Callable[[pd.DataFrame], bytes], dict[str, Any]]] = {
    "tab_separated": (lambda t: _csv(t, sep="\t"), {"delimiter": "tab"}),
    "semicolon_separated": (lambda t: _csv(t, sep=";"), {"delimiter": "semicolon"}),
    "fully_quoted": (lambda t: _csv(t, quoting=csv.QUOTE_ALL), {"delimiter": "comma"}),
    "bom_and_crlf": (
        lambda t: _csv(t, encoding="utf-8-sig", lineterminator="\r\n"),
        {"byte_order_mark": True, "line_ends": "CRLF"},
    ),
    "lf_line_ends": (lambda t: _csv(t, lineterminator="\n"), {"line_ends": "LF"}),
    "utf16_with_bom": (lambda t: _csv(t, sep="\t", encoding="utf-16"), {"encoding": "utf-16"}),
    "day_first_slashes": (
        lambda t: _csv(_with_dates(t, _dates(t).dt.strftime("%d/%m/%Y"))),
        {"date_order": "day_first"},
    ),
    "month_first_m_d_yyyy": (
        lambda t: _csv(
            _with_dates(
                t,
                _no_leading_zero(_dates(t).dt.month)
                + "/"
                + _no_leading_zero(_dates(t).dt.day)
                + "/"
                + _dates(t).dt.strftime("%Y"),
            )
        ),
        {
            "date_order": "month_first",
            "date_order_decided_by": "values above 12 in the second place",
        },
    ),
    "d_mon_yy": (
        lambda t: _csv(
            _with_dates(
                t, _no_leading_zero(_dates(t).dt.day) + "-" + _dates(t).dt.strftime("%b-%y")
            )
        ),
        {},
    ),
    "excel_serial_dates": (
        lambda t: _csv(_with_dates(t, (_dates(t) - EXCEL_EPOCH).dt.days.astype(str))),
        {"excel_serial_dates": 2240},
    ),
    "columns_reordered_with_extras": (
        lambda t: _csv(
            t[list(reversed(t.columns))].assign(Notes="called, no answer", Region=" North ")
        ),
        {"ignored_columns": ["Notes", "Region"]},
    ),
    "messy_categories": (
        lambda t: _csv(
            t.assign(
                Education=" " + t["Education"].str.upper() + " ",
                Marital_Status=t["Marital_Status"].str.lower() + "  ",
            )
        ),
        {},
    ),
    "semicolon_quoted_bom_crlf_month_first": (
        lambda t: _csv(
            _with_dates(t, _dates(t).dt.strftime("%m/%d/%Y")),
            sep=";",
            quoting=csv.QUOTE_ALL,
            encoding="utf-8-sig",
            lineterminator="\r\n",
        ),
        {"delimiter": "semicolon", "byte_order_mark": True, "date_order": "month_first"},
    ),
}


def _segments_of(raw: RawCustomerFile, params: dict[str, Any], canonical: dict[str, Any]):
    customers, rejected, report = check_customers(raw, params["data_processing"])
    _, model_input, _ = engineer_features(customers, params["feature_engineering"])
    _, _, segments = fit_segmentation(
        model_input, canonical["k_selection"], params["clustering"], canonical["sweep_centres"]
    )
    return (
        engine.to_pandas_table(customers),
        engine.to_pandas_table(rejected),
        report,
        engine.to_pandas_table(segments),
    )


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_shape_gives_the_canonical_customers_and_segments(
    shape, canonical_text, canonical, params, tmp_path
):
    write, expected_detection = SHAPES[shape]
    path = tmp_path / f"{shape}.csv"
    path.write_bytes(write(canonical_text))
    raw = RawCustomerFile(path.name, path.read_bytes())

    customers, rejected, report, segments = _segments_of(raw, params, canonical)

    for key, value in expected_detection.items():
        assert report.get(key) == value, f"{shape}: report[{key!r}] is {report.get(key)!r}"
    assert_same_as_canonical(customers, rejected, report, segments, canonical, shape)


@pytest.mark.slow
@pytest.mark.parametrize("shape", ["semicolon_quoted_bom_crlf_month_first", "excel_serial_dates"])
def test_full_kedro_run_on_a_shape_gives_the_canonical_segments(
    shape, canonical_text, canonical, tmp_path
):
    path = tmp_path / f"{shape}.csv"
    path.write_bytes(SHAPES[shape][0](canonical_text))
    project = copy_project(tmp_path / "project")

    run_project(project, params={"raw_customers_path": str(path)})

    catalog = load_catalog(project)
    assert_same_as_canonical(
        catalog.load("customers"),
        catalog.load("rejected_customers"),
        catalog.load("data_quality_report"),
        catalog.load("customer_segments"),
        canonical,
        shape,
    )
    assert catalog.load("customer_features").equals(canonical["customer_features"]), (
        f"{shape}: features differ from the canonical run"
    )
