"""Every shape the real table comes in reads to the same customers and the same segments.

Each shape is written by the test from ``../shared/data/customer_segmentation.csv`` (the
canonical file) into ``tmp_path``. The shape goes through the pipeline's own nodes
(``check_customers`` -> ``engineer_features`` -> ``fit_segmentation`` with the canonical
``k_selection``), and the result is compared with the ``real_project`` run on the canonical
file (``canonical`` and ``assert_same_as_canonical`` in conftest). Two shapes also go through a
full ``kedro run --params raw_customers_path=...``.
"""

from __future__ import annotations

import bz2
import csv
import gzip
import io
import lzma
import zipfile
from collections.abc import Callable
from typing import Any

import pandas as pd
import pytest
from conftest import (
    REAL_FILES,
    TRAINING_PIPELINES,
    assert_same_as_canonical,
    copy_project,
    load_catalog,
    real_file,
    run_project,
)
from contract_api import RawCustomerFile

from customer_segmentation.core import engine
from customer_segmentation.pipelines.clustering.nodes import fit_segmentation
from customer_segmentation.pipelines.data_processing.nodes import check_customers
from customer_segmentation.pipelines.feature_engineering.nodes import engineer_features
from customer_segmentation.serving.score import scored_frame
from customer_segmentation.serving.versions import ModelStore

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


def _typed(text: pd.DataFrame) -> pd.DataFrame:
    """The canonical table with typed columns, as Parquet or a workbook holds it: numbers as
    numbers (a missing Income as null), dates as dates.
    """
    typed = text.copy()
    for column in typed.columns:
        if column == "Dt_Customer":
            typed[column] = _dates(text)
        elif column not in ("Education", "Marital_Status"):
            typed[column] = pd.to_numeric(text[column].replace("", None))
    return typed


def _european(numbers: pd.Series, thousands: str = ".") -> pd.Series:
    """Numbers as a spreadsheet in most of Europe writes them: ``58.138,00``."""
    present = numbers != ""
    written = pd.to_numeric(numbers[present]).map(lambda x: f"{x:,.2f}")
    european = written.str.replace(",", "_").str.replace(".", ",").str.replace("_", thousands)
    return numbers.where(~present, european)


def _parquet(table: pd.DataFrame) -> bytes:
    table = table.assign(Dt_Customer=table["Dt_Customer"].dt.date)  # a DATE column
    buffer = io.BytesIO()
    table.to_parquet(buffer, index=False)
    return buffer.getvalue()


def _workbook(sheets: dict[str, pd.DataFrame]) -> bytes:
    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer, engine="xlsxwriter") as writer:
        for name, table in sheets.items():
            table.to_excel(writer, sheet_name=name, index=False)
    return buffer.getvalue()


# A flag column -> how it writes 1 and 0.
FLAG_WORDS = {
    **dict.fromkeys(("AcceptedCmp1", "AcceptedCmp2", "AcceptedCmp3"), ("Yes", "No")),
    "AcceptedCmp4": ("TRUE", "FALSE"),
    "AcceptedCmp5": ("true", "false"),
    "Complain": ("Y", "N"),
    "Response": ("y", "n"),
}


def _flag_words(text: pd.DataFrame) -> pd.DataFrame:
    return text.assign(
        **{c: text[c].map({"1": one, "0": zero}) for c, (one, zero) in FLAG_WORDS.items()}
    )


def _zipped(content: bytes, name: str = "customers.csv") -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(name, content)
        archive.writestr("__MACOSX/._customers.csv", b"resource fork")
    return buffer.getvalue()


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
    "european_decimal_comma": (
        lambda t: _csv(
            t.assign(Income=_european(t["Income"]), MntWines=_european(t["MntWines"])), sep=";"
        ),
        {
            "decimal_marks": {
                "Income": "decimal comma: 2,216 values show it (0 a decimal point)",
                "MntWines": "decimal comma: 2,240 values show it (0 a decimal point)",
            }
        },
    ),
    "european_space_thousands_in_a_workbook": (
        lambda t: _workbook({"Export": t.assign(Income=_european(t["Income"], " "))}),
        {"decimal_marks": {"Income": "decimal comma: 2,216 values show it (0 a decimal point)"}},
    ),
    # 0/1 flags written as words by a CRM or a spreadsheet, decided per column (issue 29).
    "flags_as_words": (
        lambda t: _csv(_flag_words(t)),
        {"flags_read_from_words": dict.fromkeys(FLAG_WORDS, 2240)},
    ),
    # Containers: recognised by their first bytes (every file here is named .csv).
    "gzip_compressed": (lambda t: gzip.compress(_csv(t)), {"compression": "gzip"}),
    "bz2_compressed": (lambda t: bz2.compress(_csv(t, sep="\t")), {"compression": "bz2"}),
    "xz_compressed": (lambda t: lzma.compress(_csv(t)), {"compression": "xz"}),
    "zip_with_one_table": (
        lambda t: _zipped(_csv(t, sep=";")),
        {"compression": "zip", "zip_member": "customers.csv", "delimiter": "semicolon"},
    ),
    "parquet_typed": (lambda t: _parquet(_typed(t)), {"format": "parquet"}),
    "xlsx_date_cells": (
        lambda t: _workbook({"Customers": _typed(t)}),
        {"format": "xlsx", "sheet": "Customers"},
    ),
    "xlsx_text_dates_second_sheet": (
        lambda t: _workbook({"Read me": pd.DataFrame({"Note": ["export of 2014"]}), "Data": t}),
        {"format": "xlsx", "sheet": "Data", "date_order": "day_first"},
    ),
    "xlsx_in_zip": (
        lambda t: _zipped(_workbook({"Sheet1": _typed(t)}), "customers.xlsx"),
        {"format": "xlsx", "compression": "zip", "sheet": "Sheet1"},
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
def test_kedro_run_on_a_shape_gives_the_canonical_segments(
    shape, canonical_text, canonical, tmp_path
):
    """``kedro run`` of the pipelines that decide the segments (``TRAINING_PIPELINES``) on the
    shape, through the catalog: the canonical customers, rejects, features and segments.
    """
    path = tmp_path / f"{shape}.csv"
    path.write_bytes(SHAPES[shape][0](canonical_text))
    project = copy_project(tmp_path / "project")

    run_project(project, TRAINING_PIPELINES, params={"raw_customers_path": str(path)})

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


CORRUPTED = (5, 300, 301, 1200, 2239)  # rows (0-based) of customers the canonical run keeps


def test_corrupted_lines_are_rejected_and_the_rest_read_as_before(
    canonical_text, canonical, params, real_project
):
    """A few lines with NUL and other control bytes (a partly corrupted transfer) among good
    rows: not a binary file; each is a rejected row with its own reason, every other row reads
    as in the canonical file and gets the canonical model's segment.
    """
    lines = _csv(canonical_text).split(b"\n")
    for row in CORRUPTED:  # line 0 is the header
        fields = lines[row + 1].split(b",")
        fields[4] = fields[4][:2] + b"\x00\x00\x1a" + fields[4][2:]  # inside Income
        lines[row + 1] = b",".join(fields)
    raw = RawCustomerFile("corrupted.csv", b"\n".join(lines))

    customers, rejected, report, _ = _segments_of(raw, params, canonical)

    ids = set(canonical_text.loc[list(CORRUPTED), "ID"].astype(int))
    corrupt = rejected[rejected["reason_code"] == "control_characters"]
    assert set(corrupt["ID"].astype(int)) == ids, "each corrupted line is a rejected row"
    assert corrupt["reason"].str.contains("control characters").all()
    assert not corrupt["Income"].str.contains("\x00").any(), "the rejects stay readable text"
    assert report["rows_in"] == report["rows_clean"] + report["rows_rejected"] == 2240
    assert report["rejected_by_reason"]["control_characters"] == len(CORRUPTED)
    expected = canonical["customers"][~canonical["customers"]["ID"].isin(ids)]
    pd.testing.assert_frame_equal(
        customers.reset_index(drop=True), expected.reset_index(drop=True), check_dtype=False
    )
    scored = engine.to_pandas(
        scored_frame(engine.lazy(customers), ModelStore(real_project).load())
    ).merge(canonical["customer_segments"], on="ID", suffixes=("", "_canonical"))
    assert len(scored) == 2212 - len(CORRUPTED)
    assert (scored["segment"] == scored["segment_canonical"]).all(), "the canonical segments"
