"""What the first lines of a text export tell: its encoding, delimiter, header and columns.

The file's first megabyte is inspected in Python (encoding with or without byte-order mark,
delimiter by the header's column names, required columns, a different table such as "Mall
Customers"); the engine then reads the whole file with what was found (:mod:`reading` with
Polars, :mod:`spark` with Spark).
"""

from __future__ import annotations

import codecs
import csv
from dataclasses import dataclass
from typing import Any

from customer_segmentation import schema
from customer_segmentation.core.contract import containers
from customer_segmentation.core.contract.errors import CustomerDataError

DELIMITERS = (",", "\t", ";", "|")
DELIMITER_NAMES = {",": "comma", "\t": "tab", ";": "semicolon", "|": "pipe"}
_MALL_CUSTOMERS_COLUMNS = {"customerid", "gender", "annual income (k$)", "spending score (1-100)"}
HEAD_BYTES = 1 << 20  # what is inspected before the engine reads the file
# A file is binary, not a text table with some corrupted lines, when this share of its first
# block is control bytes (NUL and the other C0 codes but tab, line feed and carriage return, and
# DEL): random bytes hold about 12 %, a text export none but its corrupted lines' few.
BINARY_SHARE = 0.05
_CONTROL_BYTES = bytes(b for b in range(32) if b not in (9, 10, 13)) + b"\x7f"
_HEADER_SHOWN = 12  # header fields quoted in a "missing columns" message


def detect_encoding(content: bytes, source: str, complete: bool = True) -> str:
    """The encoding of ``content`` (the file's head when not ``complete``); a binary file (more
    than :data:`BINARY_SHARE` of its first block control bytes) is refused: a text file with a
    few corrupted lines is read, and those lines rejected (``rules.CONTROL_CHARACTERS``).
    """
    if content.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if content.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    sample = content[: 1 << 20]
    if control_share(sample) > BINARY_SHARE:
        raise CustomerDataError(
            f"{source}: this is a binary file, not a text table; expected a CSV/TSV export "
            "of the customer table"
        )
    try:
        final = complete and len(sample) == len(content)
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=final)
    except UnicodeDecodeError:
        return "cp1252" if _decodes(sample, "cp1252") else "latin-1"
    return "utf-8"


def control_share(sample: bytes) -> float:
    """The share of control bytes in ``sample`` (0 for an empty one)."""
    if not sample:
        return 0.0
    return 1 - len(sample.translate(None, _CONTROL_BYTES)) / len(sample)


def _decodes(sample: bytes, encoding: str) -> bool:
    try:
        sample.decode(encoding)
    except UnicodeDecodeError:
        return False
    return True


def normalise_name(name: str) -> str:
    """A header field as compared with the column names (trimmed, unquoted, lower case)."""
    return name.strip().strip('"').strip("'").strip().lstrip("\ufeff").lower()


CANONICAL = {c.lower(): c for c in (*schema.REQUIRED_COLUMNS, *schema.OPTIONAL_COLUMNS)}


def _header_fields(first_line: str, delimiter: str) -> list[str]:
    return next(csv.reader([first_line], delimiter=delimiter), [])


def _detect_delimiter(first_line: str, source: str) -> tuple[str, list[str]]:
    best, best_hits, best_fields = ",", -1, []
    for delimiter in DELIMITERS:
        fields = _header_fields(first_line, delimiter)
        hits = sum(normalise_name(f) in CANONICAL for f in fields)
        if hits > best_hits:
            best, best_hits, best_fields = delimiter, hits, fields
    if best_hits <= 0:
        names = {normalise_name(f) for d in DELIMITERS for f in _header_fields(first_line, d)}
        expected = ", ".join(schema.REQUIRED_COLUMNS)
        if len(_MALL_CUSTOMERS_COLUMNS & names) >= 3:
            raise CustomerDataError(
                f"{source}: this is the 'Mall Customers' table (CustomerID, Gender, Age, "
                "Annual Income, Spending Score), not the customer-personality table this "
                f"project segments; expected columns: {expected}"
            )
        raise CustomerDataError(
            f"{source}: the first line has none of the customer table's columns "
            f"(it starts {first_line[:80]!r}); expected a header with: {expected}"
        )
    return best, best_fields


def check_header(fields: list[str], source: str) -> set[str]:
    """The canonical columns among a header's ``fields``.

    Raises:
        CustomerDataError: a required column is missing, or a column appears twice.
    """
    header = [normalise_name(str(f)) for f in fields]
    present = {CANONICAL[h] for h in header if h in CANONICAL}
    missing = [c for c in schema.REQUIRED_COLUMNS if c not in present]
    if missing:
        found = ", ".join(str(f).strip() for f in fields[:_HEADER_SHOWN])
        more = f" and {len(fields) - _HEADER_SHOWN} more" if len(fields) > _HEADER_SHOWN else ""
        raise CustomerDataError(
            f"{source}: {len(missing)} required column(s) missing: {', '.join(missing)} "
            f"(the header has: {found}{more})"
        )
    duplicated = sorted({h for h in header if header.count(h) > 1 and h in CANONICAL})
    if duplicated:
        raise CustomerDataError(
            f"{source}: column(s) appear more than once in the header: {', '.join(duplicated)}"
        )
    return present


@dataclass(frozen=True)
class Layout:
    """What the first lines of an export tell: encoding, delimiter, header, columns."""

    encoding: str
    delimiter: str
    fields: list[str]
    present: set[str]
    line_ends: str  # "LF", "CRLF" or "CR" (old Mac exports: the reader is told)

    @property
    def ignored(self) -> list[str]:
        """Header fields that are not columns of the customer table."""
        return [str(f).strip() for f in self.fields if normalise_name(f) not in CANONICAL]


def inspect(content: bytes, source: str, complete: bool = True) -> Layout:
    """Check the header; ``content`` may be only the file's head (``complete=False``)."""
    if not content.strip():
        raise CustomerDataError(
            f"{source}: the file is empty; expected the customer table with a header line"
        )
    encoding = detect_encoding(content, source, complete)
    text_sample = content[: 1 << 16].decode(encoding, errors="replace")
    text_sample = text_sample.lstrip("\ufeff")
    lines = [ln for ln in text_sample.splitlines() if ln.strip()]
    if not lines:
        raise CustomerDataError(
            f"{source}: the file holds no text (only a byte-order mark or blank space); "
            "expected the customer table with a header line"
        )
    delimiter, fields = _detect_delimiter(lines[0], source)
    present = check_header(fields, source)
    if "\n" not in text_sample and "\r" in text_sample:
        line_ends = "CR"
    else:
        line_ends = "CRLF" if "\r\n" in text_sample else "LF"
    return Layout(encoding, delimiter, fields, present, line_ends)


def read_info(content: bytes, source: str, layout: Layout) -> dict[str, Any]:
    """What reading found, for the data-quality report."""
    return {
        "source": source,
        "format": containers.TEXT,
        "encoding": layout.encoding,
        "byte_order_mark": layout.encoding in ("utf-8-sig", "utf-16"),
        "delimiter": DELIMITER_NAMES[layout.delimiter],
        "line_ends": layout.line_ends,
        "ignored_columns": layout.ignored,
        "absent_optional_columns": [c for c in schema.OPTIONAL_COLUMNS if c not in layout.present],
    }


def canonical_names(layout: Layout) -> list[str]:
    """The header's fields under their canonical names (``_ignored_<i>`` for other columns)."""
    return [
        CANONICAL.get(normalise_name(field), f"_ignored_{i}")
        for i, field in enumerate(layout.fields)
    ]
