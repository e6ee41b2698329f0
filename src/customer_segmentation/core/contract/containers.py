"""What a customer file is, told by its first bytes (not its name), and how to open it.

* a text export (CSV, TSV...): read by :mod:`reading`;
* compressed: gzip, bz2, xz, or a zip archive holding one table (a zip with several names
  them in the error); what is inside is recognised again, so a zipped workbook works too;
* an Excel workbook (``.xlsx``, and the old ``.xls``): the first sheet that has the required
  columns, every cell read as text (date cells as ``yyyy-mm-dd``), named in the report;
* Parquet: typed columns, turned into the text the rules read (:func:`reading.typed_table`).

The data-quality report says what was found (``format``, ``compression``, ``zip_member``,
``sheet``); :func:`describe` puts it in words for the report and the app.
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import zipfile
from collections.abc import Callable
from pathlib import PurePosixPath
from typing import Any

from customer_segmentation.core.contract.errors import CustomerDataError
from customer_segmentation.core.contract.source import RawCustomerFile

TEXT, GZIP, BZIP2, XZ, ZIP, PARQUET, XLS = "text", "gzip", "bz2", "xz", "zip", "parquet", "xls"
WORKBOOK = "xlsx"
_MAGIC = (
    (b"\x1f\x8b", GZIP),
    (b"BZh", BZIP2),
    (b"\xfd7zXZ\x00", XZ),
    (b"PK\x03\x04", ZIP),
    (b"PK\x05\x06", ZIP),  # an empty archive
    (b"PAR1", PARQUET),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", XLS),  # OLE2: the old binary Excel format
)
DECOMPRESS: dict[str, Callable[[bytes], bytes]] = {
    GZIP: gzip.decompress,
    BZIP2: bz2.decompress,
    XZ: lzma.decompress,
}
OPEN_COMPRESSED: dict[str, Callable[..., Any]] = {GZIP: gzip.open, BZIP2: bz2.open, XZ: lzma.open}
# File name endings an upload may have (the content decides what it is, not the name).
FILE_SUFFIXES = ("csv", "tsv", "txt", "gz", "bz2", "xz", "zip", "xlsx", "xls", "parquet")
FORMAT_NAMES = {
    TEXT: "text",
    PARQUET: "Parquet",
    WORKBOOK: "Excel workbook",
    XLS: "Excel 97-2003 workbook",
    "database table": "a database table",
    "database query": "a database query",
}


def kind_of(head: bytes) -> str:
    """What the file is, from its first bytes: one of ``text``, ``gzip``, ``bz2``, ``xz``,
    ``zip``, ``parquet``, ``xls`` (a zip is told apart from a workbook by :func:`zip_kind`).
    """
    for magic, kind in _MAGIC:
        if head.startswith(magic):
            return kind
    return TEXT


def decompress(raw: RawCustomerFile, kind: str) -> bytes:
    """The whole content of a gzip, bz2 or xz file."""
    try:
        return DECOMPRESS[kind](raw.content)
    except (OSError, EOFError, ValueError, lzma.LZMAError) as error:  # bz2: ValueError
        raise CustomerDataError(
            f"{raw.name}: a {kind}-compressed file that cannot be decompressed ({error}); "
            "is it complete?"
        ) from error


def decompressed_head(raw: RawCustomerFile, kind: str, size: int) -> tuple[bytes, bool]:
    """The first ``size`` bytes of a compressed file's content, and whether that is all."""
    source: Any = raw.path if raw.path is not None else io.BytesIO(raw.content)
    with OPEN_COMPRESSED[kind](source, "rb") as handle:
        head = handle.read(size + 1)
    return head[:size], len(head) <= size


def _members(archive: zipfile.ZipFile) -> list[str]:
    """The files of an archive that can be tables (no folders, macOS resource forks or
    hidden files).
    """
    return [
        name
        for name in archive.namelist()
        if not name.endswith("/")
        and not name.startswith("__MACOSX/")
        and not PurePosixPath(name).name.startswith(".")
    ]


def open_zip(raw: RawCustomerFile) -> zipfile.ZipFile:
    """The zip archive of ``raw``."""
    source: Any = raw.path if raw.path is not None else io.BytesIO(raw.content)
    try:
        return zipfile.ZipFile(source)
    except zipfile.BadZipFile as error:
        raise CustomerDataError(
            f"{raw.name}: a zip archive that cannot be opened ({error}); is it complete?"
        ) from error


def zip_kind(archive: zipfile.ZipFile) -> str:
    """``xlsx`` for an Excel workbook (a zip of XML parts), else ``zip``."""
    names = set(archive.namelist())
    if "[Content_Types].xml" in names and any(n.startswith("xl/") for n in names):
        return WORKBOOK
    return ZIP


def zip_member(archive: zipfile.ZipFile, source: str) -> tuple[str, bytes]:
    """The one table inside a zip archive: its name and bytes.

    Raises:
        CustomerDataError: the archive is empty or holds several files (named).
    """
    members = _members(archive)
    if not members:
        raise CustomerDataError(f"{source}: the zip archive holds no file; expected one table")
    if len(members) > 1:
        shown = ", ".join(members[:10]) + (
            f" and {len(members) - 10} more" if len(members) > 10 else ""
        )
        raise CustomerDataError(
            f"{source}: the zip archive holds {len(members)} files ({shown}); put only the "
            "customer table in it, or unzip it and pass that file"
        )
    return members[0], archive.read(members[0])


def read_workbook(raw: RawCustomerFile, kind: str, check_header: Callable[..., Any]) -> Any:
    """The first sheet of a workbook that has the required columns, every cell as text
    (numbers as written, ``58138`` not ``58138.0``; date cells as ``yyyy-mm-dd 00:00:00``),
    with the sheet's name.

    Args:
        check_header: :func:`reading.check_header` (raises on a sheet without the columns).

    Returns:
        ``(polars.DataFrame, sheet name)``.

    Raises:
        CustomerDataError: the workbook cannot be opened, or no sheet has the required
            columns (each sheet's problem is named).
    """
    import fastexcel  # noqa: PLC0415 - only for workbooks

    source: Any = str(raw.path) if raw.path is not None else raw.content
    try:
        workbook = fastexcel.read_excel(source)
    except Exception as error:  # fastexcel raises its own error types per failure
        raise CustomerDataError(
            f"{raw.name}: an Excel workbook that cannot be opened ({error})"
        ) from error
    problems = []
    for name in workbook.sheet_names:
        try:
            header = workbook.load_sheet(name, n_rows=0).to_polars().columns
        except Exception as error:  # an empty sheet has no header row
            problems.append(f"sheet {name!r}: {error}")
            continue
        try:
            check_header(header, f"sheet {name!r}")
        except CustomerDataError as error:
            problems.append(str(error))
            continue
        frame = workbook.load_sheet(name, dtypes="string").to_polars()
        return frame, name
    raise CustomerDataError(
        f"{raw.name}: an Excel workbook ({FORMAT_NAMES[kind]}) with no sheet holding the "
        f"customer table: {'; '.join(problems) or 'it has no sheets'}"
    )


def describe(report: dict[str, Any]) -> str:
    """How the source was read, in words: ``"comma-delimited text (utf-8)"``,
    ``"gzip-compressed comma-delimited text (utf-8)"``, ``"Excel workbook, sheet 'Customers'"``,
    ``"Parquet"``, ``"database table"``.
    """
    form = report.get("format", TEXT)
    if form == TEXT:
        words = f"{report['delimiter']}-delimited text ({report['encoding']})"
    else:
        words = FORMAT_NAMES.get(form, form)
    if report.get("sheet") is not None:
        words += f", sheet {report['sheet']!r}"
    if report.get("zip_member") is not None:
        words = f"{words} in a zip archive ({report['zip_member']})"
    elif report.get("compression"):
        words = f"{report['compression']}-compressed {words}"
    return words
