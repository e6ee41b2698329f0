"""Reading an export (``contract/layout.py``, ``contract/reading.py``, ``contract/spark.py``):
file-level refusals, one clear message saying what is wrong and what was expected; the engine
reads with what the file's first lines told."""

from __future__ import annotations

import codecs

import pytest
from conftest import REAL_FILES, copy_project, real_file, run_project
from contract_api import CustomerDataError, RawCustomerFile, read_customer_table
from contract_rows import refusal

from customer_segmentation import schema
from customer_segmentation.core.contract import read_file

MALL_CUSTOMERS = (
    b"CustomerID,Gender,Age,Annual Income (k$),Spending Score (1-100)\n"
    b"1,Male,19,15,39\n2,Male,21,15,81\n3,Female,20,16,6\n"
)


@pytest.fixture(scope="module")
def real_bytes() -> bytes:
    return real_file(REAL_FILES[0]).read_bytes()


@pytest.mark.parametrize(
    "content",
    [b"", b"   \r\n\n\t ", codecs.BOM_UTF8, codecs.BOM_UTF8 + b"\r\n", "\ufeff".encode("utf-16")],
    ids=["zero_bytes", "blank_lines", "bom_only", "bom_and_newline", "utf16_bom_only"],
)
def test_empty_file_says_it_is_empty_and_what_was_expected(content):
    message = refusal(content)
    assert "empty" in message or "no text" in message, message
    assert "header" in message, f"should say a header line was expected: {message}"


def test_header_only_file_says_there_are_no_rows(real_bytes):
    message = refusal(real_bytes.splitlines()[0] + b"\r\n")
    assert "no data rows" in message, message


def test_mall_customers_table_is_named_and_the_expected_columns_listed():
    message = refusal(MALL_CUSTOMERS, "Mall_Customers.csv")
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
    message = refusal(content)
    assert expected in message, message
    assert "customer table" in message, message


def test_every_missing_required_column_is_named_in_one_message(real_bytes):
    lines = real_bytes.decode().splitlines()
    header = lines[0].split(",")
    dropped = ["Income", "Dt_Customer", "MntWines", "NumWebVisitsMonth"]
    keep = [i for i, name in enumerate(header) if name not in dropped]
    content = "\n".join(",".join(line.split(",")[i] for i in keep) for line in lines[:50])

    message = refusal(content.encode())

    assert f"{len(dropped)} required column(s) missing" in message, message
    for column in dropped:
        assert column in message, f"{column} should be named: {message}"
    assert "the header has: ID, Year_Birth" in message, "the message should show the header read"


def test_duplicated_column_is_refused(real_bytes):
    lines = real_bytes.decode().splitlines()[:5]
    content = lines[0] + ",income\n" + "\n".join(f"{line},1" for line in lines[1:])
    message = refusal(content.encode())
    assert "more than once" in message and "income" in message, message


def test_unbalanced_quote_is_refused_with_the_row(real_bytes):
    content = real_bytes[:3000].rsplit(b"\n", 1)[0] + b'\n"5524,1957,Graduation\n'
    message = refusal(content)
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
    with pytest.raises(Exception) as caught:  # Kedro wraps node errors
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
    message = refusal(b"\n".join(lines))
    assert "not a regular table" in message and "more fields than the header" in message, message


class _Stop(Exception):
    """Raised by the fake Spark reader once it has been called."""


class _FakeSparkReader:
    def __init__(self) -> None:
        self.calls: list[tuple[str, dict]] = []

    def csv(self, path: str, **options):
        self.calls.append((path, options))
        raise _Stop


class _FakeSession:
    def __init__(self) -> None:
        self.read = _FakeSparkReader()


def test_the_spark_engine_reads_with_the_session_it_is_handed(real_bytes, tmp_path):
    """The contract never starts or configures an engine: Spark's reader is the handed-over
    session's, given what the file's first lines told (delimiter, encoding, every column a
    string).
    """
    path = tmp_path / "customers.csv"
    path.write_bytes(real_bytes.replace(b",", b";"))
    session = _FakeSession()

    with pytest.raises(_Stop):
        read_file(RawCustomerFile(path.name, path=path, engine="spark", spark=session))

    ((read_path, options),) = session.read.calls
    assert read_path == str(path)
    assert options["sep"] == ";" and options["encoding"] == "utf-8", options
    assert options["header"] is True and options["mode"] == "FAILFAST", options


def test_the_spark_engine_needs_a_session():
    with pytest.raises(ValueError, match="Spark session is handed over"):
        RawCustomerFile("customers.csv", path="customers.csv", engine="spark")
