"""Containers (``contract/containers.py``): compressed files, zip archives, workbooks and
Parquet are recognised by their first bytes; one that cannot hold the table is refused with
what is wrong."""

from __future__ import annotations

import gzip
import zipfile
from io import BytesIO

import pandas as pd
import pytest
from conftest import REAL_FILES, real_file
from contract_rows import refusal


@pytest.fixture(scope="module")
def real_bytes() -> bytes:
    return real_file(REAL_FILES[0]).read_bytes()


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def test_zip_with_several_files_names_them(real_bytes):
    message = refusal(_zip({"customers.csv": real_bytes, "readme.txt": b"hello"}), "x.zip")
    assert "2 files" in message, message
    assert "customers.csv" in message, message
    assert "readme.txt" in message, message


def test_empty_zip_says_it_holds_no_file():
    assert "holds no file" in refusal(_zip({}), "x.zip")


def test_truncated_gzip_says_it_cannot_be_decompressed(real_bytes):
    message = refusal(gzip.compress(real_bytes)[:5000], "export.csv.gz")
    assert "gzip-compressed file that cannot be decompressed" in message, message


def test_workbook_without_the_table_names_each_sheet_and_its_problem():
    buffer = BytesIO()
    with pd.ExcelWriter(buffer, engine="xlsxwriter") as writer:
        pd.DataFrame({"Note": ["hello"]}).to_excel(writer, sheet_name="Notes", index=False)
        pd.DataFrame({"ID": [1], "Income": [5.0]}).to_excel(writer, sheet_name="Two", index=False)
    message = refusal(buffer.getvalue(), "book.xlsx")
    assert "no sheet holding the customer table" in message, message
    assert "sheet 'Notes'" in message, message
    assert "sheet 'Two'" in message, message
    assert "Year_Birth" in message, f"the missing columns should be named: {message}"


def test_parquet_without_a_required_column_names_it(real_bytes):
    table = pd.read_csv(BytesIO(real_bytes)).drop(columns=["Recency"])
    buffer = BytesIO()
    table.to_parquet(buffer, index=False)
    message = refusal(buffer.getvalue(), "customers.parquet")
    assert "1 required column(s) missing: Recency" in message, message


def test_broken_parquet_says_it_cannot_be_read():
    message = refusal(b"PAR1" + b"\x00" * 100, "customers.parquet")
    assert "Parquet file that cannot be read" in message, message
