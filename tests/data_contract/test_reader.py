"""File-level refusals: one clear message saying what is wrong and what was expected."""

from __future__ import annotations

import codecs
import gzip
import zipfile
from io import BytesIO

import pandas as pd
import pytest
from conftest import REAL_FILES, copy_project, real_file, run_project
from contract_api import CustomerDataError, read_customer_table

from customer_segmentation import schema

MALL_CUSTOMERS = (
    b"CustomerID,Gender,Age,Annual Income (k$),Spending Score (1-100)\n"
    b"1,Male,19,15,39\n2,Male,21,15,81\n3,Female,20,16,6\n"
)


@pytest.fixture(scope="module")
def real_bytes() -> bytes:
    return real_file(REAL_FILES[0]).read_bytes()


def _refusal(content: bytes, source: str = "upload.csv") -> str:
    with pytest.raises(CustomerDataError) as caught:
        read_customer_table(content, source)
    message = str(caught.value)
    assert message.startswith(source), f"the message should name the file first: {message!r}"
    return message


@pytest.mark.parametrize(
    "content",
    [b"", b"   \r\n\n\t ", codecs.BOM_UTF8, codecs.BOM_UTF8 + b"\r\n", "\ufeff".encode("utf-16")],
    ids=["zero_bytes", "blank_lines", "bom_only", "bom_and_newline", "utf16_bom_only"],
)
def test_empty_file_says_it_is_empty_and_what_was_expected(content):
    message = _refusal(content)
    assert "empty" in message or "no text" in message, message
    assert "header" in message, f"should say a header line was expected: {message}"


def test_header_only_file_says_there_are_no_rows(real_bytes):
    message = _refusal(real_bytes.splitlines()[0] + b"\r\n")
    assert "no data rows" in message, message


def test_mall_customers_table_is_named_and_the_expected_columns_listed():
    message = _refusal(MALL_CUSTOMERS, "Mall_Customers.csv")
    assert "Mall Customers" in message, message
    assert all(column in message for column in schema.REQUIRED_COLUMNS), (
        f"every expected column should be listed: {message}"
    )


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"Dear customer,\nthank you for your order.\n", "none of the customer table's columns"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\x00\x00", "binary file, not a text table"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary file, not a text table"),
    ],
    ids=["prose", "pdf", "png"],
)
def test_not_a_table_says_what_was_expected(content, expected):
    message = _refusal(content)
    assert expected in message, message
    assert "customer table" in message, message


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def test_zip_with_several_files_names_them(real_bytes):
    message = _refusal(_zip({"customers.csv": real_bytes, "readme.txt": b"hello"}), "x.zip")
    assert "2 files" in message, message
    assert "customers.csv" in message, message
    assert "readme.txt" in message, message


def test_empty_zip_says_it_holds_no_file():
    assert "holds no file" in _refusal(_zip({}), "x.zip")


def test_truncated_gzip_says_it_cannot_be_decompressed(real_bytes):
    message = _refusal(gzip.compress(real_bytes)[:5000], "export.csv.gz")
    assert "gzip-compressed file that cannot be decompressed" in message, message


def test_workbook_without_the_table_names_each_sheet_and_its_problem():
    buffer = BytesIO()
    with pd.ExcelWriter(buffer, engine="xlsxwriter") as writer:
        pd.DataFrame({"Note": ["hello"]}).to_excel(writer, sheet_name="Notes", index=False)
        pd.DataFrame({"ID": [1], "Income": [5.0]}).to_excel(writer, sheet_name="Two", index=False)
    message = _refusal(buffer.getvalue(), "book.xlsx")
    assert "no sheet holding the customer table" in message, message
    assert "sheet 'Notes'" in message, message
    assert "sheet 'Two'" in message, message
    assert "Year_Birth" in message, f"the missing columns should be named: {message}"


def test_parquet_without_a_required_column_names_it(real_bytes):
    table = pd.read_csv(BytesIO(real_bytes)).drop(columns=["Recency"])
    buffer = BytesIO()
    table.to_parquet(buffer, index=False)
    message = _refusal(buffer.getvalue(), "customers.parquet")
    assert "1 required column(s) missing: Recency" in message, message


def test_broken_parquet_says_it_cannot_be_read():
    message = _refusal(b"PAR1" + b"\x00" * 100, "customers.parquet")
    assert "Parquet file that cannot be read" in message, message


def test_every_missing_required_column_is_named_in_one_message(real_bytes):
    lines = real_bytes.decode().splitlines()
    header = lines[0].split(",")
    dropped = ["Income", "Dt_Customer", "MntWines", "NumWebVisitsMonth"]
    keep = [i for i, name in enumerate(header) if name not in dropped]
    content = "\n".join(",".join(line.split(",")[i] for i in keep) for line in lines[:50])

    message = _refusal(content.encode())

    assert f"{len(dropped)} required column(s) missing" in message, message
    for column in dropped:
        assert column in message, f"{column} should be named: {message}"
    assert "the header has: ID, Year_Birth" in message, "the message should show the header read"


def test_duplicated_column_is_refused(real_bytes):
    lines = real_bytes.decode().splitlines()[:5]
    content = lines[0] + ",income\n" + "\n".join(f"{line},1" for line in lines[1:])
    message = _refusal(content.encode())
    assert "more than once" in message and "income" in message, message


def test_unbalanced_quote_is_refused_with_the_row(real_bytes):
    content = real_bytes[:3000].rsplit(b"\n", 1)[0] + b'\n"5524,1957,Graduation\n'
    message = _refusal(content)
    assert "not a regular table" in message, message


def test_optional_columns_may_be_absent_and_are_reported(real_bytes):
    text = real_bytes.decode().splitlines()
    header = text[0].split(",")
    keep = [i for i, name in enumerate(header) if name not in schema.OPTIONAL_COLUMNS]
    content = "\n".join(",".join(line.split(",")[i] for i in keep) for line in text)

    table, info = read_customer_table(content.encode(), "crm.csv")

    assert len(table) == 2240, "every data row read"
    assert info["absent_optional_columns"] == list(schema.OPTIONAL_COLUMNS)


@pytest.mark.slow
def test_cli_run_on_a_different_table_stops_with_the_message(tmp_path):
    path = tmp_path / "Mall_Customers.csv"
    path.write_bytes(MALL_CUSTOMERS)
    project = copy_project(tmp_path / "project")
    with pytest.raises(Exception) as caught:  # noqa: PT011 - Kedro wraps node errors
        run_project(project, pipeline="data_processing", params={"raw_customers_path": str(path)})
    chain, error = [], caught.value
    while error is not None:
        chain.append(error)
        error = error.__cause__ or error.__context__
    assert any(isinstance(e, CustomerDataError) for e in chain), chain
    assert "Mall Customers" in str(caught.value), str(caught.value)
    assert not list((project / "data" / "03_primary").glob("*.parquet")), "nothing written"


@pytest.mark.parametrize("line", [1, 3], ids=["first_data_line", "later_line"])
def test_line_with_more_fields_than_the_header_is_refused(real_bytes, line):
    lines = real_bytes.splitlines()[:6]
    lines[line] += b",surplus"
    message = _refusal(b"\n".join(lines))
    assert "not a regular table" in message and "more fields than the header" in message, message
