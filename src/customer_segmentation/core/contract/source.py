"""A customer export as the contract receives it: bytes of an upload, or a file on disk that
the engine reads itself.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any


class RawCustomerFile:
    """A customer export and the name to use for it in messages: the bytes of an upload, or
    a local file, read from disk by the engine.
    """

    def __init__(
        self,
        name: str,
        content: bytes | None = None,
        *,
        path: str | Path | None = None,
        engine: str = "polars",
        spark: Any = None,
    ):
        """Give either ``content`` or ``path``; ``engine`` (``polars`` or ``spark``) reads it.
        ``spark``: the Spark session to read with (``engine="spark"`` only): the caller that
        knows the run's engine (the Kedro dataset) hands it over; the contract never starts
        one.
        """
        if (content is None) == (path is None):
            raise ValueError("RawCustomerFile needs either content or path")
        if engine not in ("polars", "spark"):
            raise ValueError(f"unknown engine {engine!r}: polars or spark")
        if engine == "spark" and path is None:
            raise ValueError("the Spark engine reads a file by its path, not bytes")
        if (engine == "spark") != (spark is not None):
            raise ValueError("a Spark session is handed over with engine='spark', and only then")
        self.name = name
        self.path = Path(path) if path is not None else None
        self.engine = engine
        self.spark = spark
        self._content = content

    @property
    def content(self) -> bytes:
        """All the bytes (read from disk on every call for a file)."""
        if self._content is not None:
            return self._content
        return self.path.read_bytes()  # type: ignore[union-attr]

    def head(self, size: int) -> tuple[bytes, bool]:
        """The first ``size`` bytes, and whether they are the whole file."""
        if self._content is not None:
            return self._content[:size], len(self._content) <= size
        with self.path.open("rb") as handle:  # type: ignore[union-attr]
            head = handle.read(size + 1)
        return head[:size], len(head) <= size

    def identity(self) -> dict[str, Any]:
        """What tells this export from another: its size and the SHA-256 of its bytes (a
        file is streamed from disk, never held).
        """
        if self._content is not None:
            size, digest = len(self._content), hashlib.sha256(self._content)
        else:
            with self.path.open("rb") as handle:  # type: ignore[union-attr]
                digest = hashlib.file_digest(handle, "sha256")
            size = self.path.stat().st_size  # type: ignore[union-attr]
        return {"bytes": size, "sha256": digest.hexdigest()}
