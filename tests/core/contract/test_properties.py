"""Property-based: whatever bytes arrive, the reader returns a valid table or raises
``CustomerDataError``, never another exception; and no row is ever lost."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import REAL_FILES, project_params, real_file
from contract_api import (
    CustomerDataError,
    RawCustomerFile,
    check_clean_table,
    prepare_customers,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from customer_segmentation import schema

PARAMS: dict[str, Any] = project_params()["data_processing"]
REAL_LINES: list[bytes] = real_file(REAL_FILES[0]).read_bytes().splitlines()
HEADER, BODY = REAL_LINES[0], REAL_LINES[1:]
FIELDS = HEADER.decode().split(",")

PROPERTY_SETTINGS = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,  # the same examples on every run: a red test stays red
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# Values seen in real exports and their usual corruptions.
TRICKY = st.sampled_from(
    [
        "",
        " ",
        "n/a",
        "NULL",
        "abc",
        "$58,138",
        "58.138,00",
        "-5",
        "1e308",
        "1e400",
        "inf",
        "-inf",
        "nan",
        "0x1F",
        "99999999999999999999999",
        "1.5",
        "31-02-2013",
        "29-02-2013",
        "12/25/2013",
        "4-Sep-12",
        "4-Foo-12",
        "00-00-0000",
        "41156",
        "99999",
        "2012-09-04 10:00",
        '"',
        '""',
        ",",
        ";",
        "\t",
        "\r",
        "\n",
        "\ufeff",
        "é",
        "\x00",
        " GRADUATION ",
        "yolo",
    ]
)


REFUSED, READ = "refused", "read"


def outcome(content: bytes) -> tuple[str, list[str]]:
    """What the contract makes of ``content``: ``refused`` (``CustomerDataError``) or ``read``
    (a result), and what breaks the contract in it (nothing, for the property to hold): a
    refusal names the file; a result accounts for every row, and its clean table passes the
    contract's own check (which raises otherwise).
    """
    try:
        result = prepare_customers(RawCustomerFile("fuzz.csv", content), PARAMS)
    except CustomerDataError as error:
        named = str(error).startswith("fuzz.csv")
        return REFUSED, [] if named else [f"message must name the file: {error}"]
    check_clean_table(result.clean, PARAMS)
    report = result.report
    holds = {
        "rows_in == rows_clean + rows_rejected": (
            report["rows_in"] == report["rows_clean"] + report["rows_rejected"]
        ),
        "one clean row per rows_clean": len(result.clean) == report["rows_clean"],
        "one reject per rows_rejected": len(result.rejected) == report["rows_rejected"],
        "every reject has a reason code": bool(result.rejected["reason_code"].ne("").all()),
        "rejected_by_reason adds up": (
            sum(report["rejected_by_reason"].values()) == report["rows_rejected"]
        ),
    }
    return READ, [f"{name}: {report}" for name, held in holds.items() if not held]


def check_outcome(content: bytes) -> None:
    """The contract: a valid result with every row accounted for, or CustomerDataError."""
    _, problems = outcome(content)
    assert not problems, problems


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        pytest.param(b"", REFUSED, id="empty_file"),
        pytest.param(b"%PDF-1.7\n\x00\x00", REFUSED, id="binary_file"),
        pytest.param(HEADER + b"\n", REFUSED, id="header_only"),
        pytest.param(b"\n".join([HEADER, *BODY[:10]]), READ, id="real_rows"),
        pytest.param(
            b"\n".join([HEADER, *BODY[:10], BODY[0].replace(b",", b",x", 1)]),
            READ,
            id="real_rows_and_a_broken_one",
        ),
    ],
)
def test_each_outcome_is_reached_by_an_example(content, expected):
    """Both outcomes the properties accept are reached: a refusal, and a result."""
    kind, problems = outcome(content)
    assert kind == expected, f"expected {expected}, got {kind}"
    assert not problems, problems


@PROPERTY_SETTINGS
@given(st.binary(max_size=400))
def test_random_bytes(content):
    check_outcome(content)


@PROPERTY_SETTINGS
@given(st.binary(max_size=300))
def test_random_bytes_after_a_real_header(content):
    check_outcome(HEADER + b"\n" + content)


@PROPERTY_SETTINGS
@given(
    st.lists(
        st.lists(st.one_of(TRICKY, st.text(max_size=8)), min_size=1, max_size=35),
        max_size=6,
    ),
    st.sampled_from([",", "\t", ";"]),
)
def test_random_text_rows_under_a_real_header(rows, delimiter):
    lines = [delimiter.join(FIELDS), *(delimiter.join(row) for row in rows)]
    check_outcome("\n".join(lines).encode("utf-8", errors="surrogatepass"))


@st.composite
def mutated_real_file(draw: st.DrawFn) -> bytes:
    """A slice of the real file with a few random edits to fields, bytes and layout."""
    start = draw(st.integers(0, len(BODY) - 12))
    rows = [line.decode().split(",") for line in BODY[start : start + draw(st.integers(1, 12))]]
    for _ in range(draw(st.integers(1, 6))):
        row = draw(st.integers(0, len(rows) - 1))
        column = draw(st.integers(0, len(FIELDS) - 1))
        action = draw(st.sampled_from(["set", "drop", "add", "copy_id"]))
        if action == "set" and column < len(rows[row]):
            rows[row][column] = draw(st.one_of(TRICKY, st.text(max_size=10)))
        elif action == "drop" and rows[row]:
            rows[row].pop(min(column, len(rows[row]) - 1))
        elif action == "add":
            rows[row].insert(column, draw(TRICKY))
        elif action == "copy_id":
            rows[row][0] = rows[0][0]
    header = list(FIELDS)
    if draw(st.booleans()):  # another column order, same for every line
        order = draw(st.permutations(range(len(FIELDS))))
        header = [header[i] for i in order]
        rows = [[r[i] for i in order if i < len(r)] + r[len(FIELDS) :] for r in rows]
    delimiter = draw(st.sampled_from([",", "\t", ";"]))
    quote = draw(st.booleans())
    cell = (lambda v: '"' + v.replace('"', '""') + '"') if quote else (lambda v: v)
    end = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    text = end.join(delimiter.join(cell(v) for v in line) for line in [header, *rows])
    content = text.encode(
        draw(st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "cp1252"])), "replace"
    )
    if draw(st.booleans()):  # a byte-level accident: cut, or a stray byte inserted
        position = draw(st.integers(0, len(content)))
        stray = draw(st.sampled_from([b"", b"\x00", b"\xff", b'"', b"\n", b"\xef\xbb\xbf"]))
        content = content[:position] + stray + content[position + (0 if stray else len(content)) :]
    return content


@PROPERTY_SETTINGS
@given(mutated_real_file())
def test_mutated_real_rows(content):
    check_outcome(content)


@pytest.mark.parametrize("delimiter", [",", "\t", ";"])
def test_unmutated_slice_reads_cleanly(delimiter):
    """The property's baseline: real rows without edits are all read, none rejected."""
    rows = [line.decode().split(",") for line in BODY[:10]]
    text = "\n".join(delimiter.join(r) for r in [FIELDS, *rows])
    result = prepare_customers(RawCustomerFile("fuzz.csv", text.encode()), PARAMS)
    assert result.report["rows_in"] == 10
    assert list(result.clean.columns) == list(schema.KAGGLE_COLUMNS)
