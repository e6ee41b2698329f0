"""Kedro datasets of the project.

* :class:`FigureDataset` saves a matplotlib figure as PNG (versioned, with the preview
  ``matplotlib.MatplotlibDataset`` gives ``kedro viz``) and loads the PNG bytes back, so the
  report and the app show figures other nodes drew, without drawing them again.
* :class:`HtmlReportDataset` saves the report text and writes the save version (the model
  version's stamp, shared by every dataset of the model) where the report holds
  ``report.RUN_STAMP``.
* :class:`RawCustomerFileDataset` hands the raw export to the pipeline (a local file by its
  path, streamed by the reader; a remote one as bytes), so that the pipeline and the app's
  upload page parse it with the same code (``contract``). With ``engine: spark`` it also hands
  over the run's Spark session: the contract never starts an engine.
* :class:`LazyParquetDataset` is ``polars.LazyPolarsDataset`` for Parquet that streams a lazy
  table to its file (``sink_parquet``) instead of gathering it in memory first: nodes of a large
  table return it lazy (the contract's spilled slices, the features) and memory never holds it
  whole.
* :class:`SkopsDataset` stores scikit-learn objects in skops' format, versioned. Loading
  never executes code from the file: only types known to be safe (skops' defaults for
  scikit-learn and NumPy, plus the ``trusted`` list) are rebuilt; anything else is refused.

The database datasets live in :mod:`customer_segmentation.kedro_io.sql_datasets`.

Building these datasets imports no engine, matplotlib, scikit-learn or SQLAlchemy: ``kedro viz
build`` builds every dataset of the catalog and must stay light (issue 17,
``tests/test_light_commands.py``). Each library is imported by the method that uses it.
"""

from __future__ import annotations

import base64
import io
import logging
from copy import deepcopy
from functools import partial
from pathlib import PurePosixPath
from typing import Any

import fsspec
from kedro.io.core import (
    AbstractDataset,
    AbstractVersionedDataset,
    DatasetError,
    Version,
    get_filepath_str,
    get_protocol_and_path,
)
from kedro_datasets._typing import ImagePreview
from kedro_datasets.polars import LazyPolarsDataset
from kedro_datasets.text import TextDataset

from customer_segmentation.kedro_io import figure_workers
from customer_segmentation.kedro_io.lazy_types import Figure, RawCustomerFile
from customer_segmentation.report import RUN_STAMP

logger = logging.getLogger(__name__)

UNVERSIONED = "unversioned"


class ArtifactError(DatasetError):
    """A stored model artifact is missing, unreadable, or holds types that are not trusted."""


class RawCustomerFileDataset(AbstractDataset[None, RawCustomerFile]):
    """Read-only: a customer export (a local file by path, a remote one as bytes)."""

    def __init__(
        self,
        *,
        filepath: str,
        engine: str = "polars",
        parameter: str = "raw_customers_path",
        metadata: dict[str, Any] | None = None,
    ) -> None:
        """Point at one export; ``filepath`` may be any fsspec path; ``engine`` reads it
        (``polars``, or ``spark`` in ``conf/spark``: Spark reads the path itself);
        ``parameter``: the runtime parameter that names the file (for the message when it
        does not exist).
        """
        protocol, path = get_protocol_and_path(filepath)
        self._engine = engine
        self._parameter = parameter
        self._protocol = protocol
        self._filepath = path
        self._fs = fsspec.filesystem(protocol)
        self.metadata = metadata

    def _describe(self) -> dict[str, Any]:
        return {"filepath": self._filepath, "protocol": self._protocol, "engine": self._engine}

    def load(self) -> RawCustomerFile:
        """The export (a missing file gets a message naming the parameter to set)."""
        from customer_segmentation.core import contract  # noqa: PLC0415 - it imports the engines

        path = get_filepath_str(PurePosixPath(self._filepath), self._protocol)
        if not self._fs.exists(path):
            raise DatasetError(
                f"customer table {path!r} does not exist; pass another with "
                f"`kedro run --params {self._parameter}=PATH`"
            )
        if self._engine == "spark":  # read by the run's session (kedro_io.hooks.SparkHooks)
            from pyspark.sql import SparkSession  # noqa: PLC0415 - only with --env spark

            session = SparkSession.getActiveSession() or SparkSession.builder.getOrCreate()
            return contract.RawCustomerFile(
                str(self._filepath), path=path, engine="spark", spark=session
            )
        if self._protocol == "file":  # streamed from disk by the reader, not held in memory
            return contract.RawCustomerFile(str(self._filepath), path=path)
        with self._fs.open(path, "rb") as handle:
            return contract.RawCustomerFile(str(self._filepath), handle.read())

    def save(self, data: RawCustomerFile) -> None:
        """The raw export is never written by the pipeline."""
        raise DatasetError("raw_customers is read-only")

    def _exists(self) -> bool:
        return self._fs.exists(get_filepath_str(PurePosixPath(self._filepath), self._protocol))


class LazyParquetDataset(LazyPolarsDataset):
    """``polars.LazyPolarsDataset`` (Parquet) that writes a lazy table as a stream.

    ``LazyPolarsDataset`` gathers a ``LazyFrame`` in memory before writing it; this one sinks it
    to a local file (``LazyFrame.sink_parquet``: Polars' streaming engine reads, computes and
    writes a batch at a time, in the table's row order). A ``DataFrame``, another format, or a
    remote path (s3, gcs, ...) is written as ``LazyPolarsDataset`` writes it. Loading is
    ``LazyPolarsDataset``'s: a lazy scan.
    """

    def save(self, data: Any) -> None:
        """Write ``data``; a ``LazyFrame`` to a local Parquet file is streamed."""
        import polars as pl  # noqa: PLC0415 - the local engine

        if not (
            isinstance(data, pl.LazyFrame)
            and self._file_format == "parquet"
            and self._protocol == "file"
            and not self._save_args.get("use_pyarrow")
        ):
            super().save(data)
            return
        save_path = get_filepath_str(self._get_save_path(), self._protocol)
        self._fs.makedirs(str(PurePosixPath(save_path).parent), exist_ok=True)
        data.sink_parquet(save_path, **self._save_args)
        self._fs.invalidate_cache(save_path)


def _skops_io() -> Any:
    """``skops.io``, imported when an artifact is read or written: skops imports scikit-learn
    and SciPy, which building the catalog (``kedro viz build``) does not need.
    """
    import skops.io  # noqa: PLC0415

    return skops.io


class _VersionedFile(AbstractVersionedDataset[Any, Any]):
    """A versioned file on any fsspec filesystem: what :class:`SkopsDataset` and
    :class:`FigureDataset` share (where the file is, whether it exists, the cache).
    """

    def _at(
        self,
        filepath: str,
        version: Version | None,
        credentials: dict[str, Any] | None,
        fs_args: dict[str, Any],
    ) -> None:
        """Point at ``filepath`` on its filesystem (folders made on save for a local one)."""
        protocol, path = get_protocol_and_path(filepath, version)
        fs_args = dict(fs_args)
        if protocol == "file":
            fs_args.setdefault("auto_mkdir", True)
        self._protocol = protocol
        self._fs = fsspec.filesystem(protocol, **(credentials or {}), **fs_args)
        AbstractVersionedDataset.__init__(
            self,
            filepath=PurePosixPath(path),
            version=version,
            exists_function=self._fs.exists,
            glob_function=self._fs.glob,
        )

    def _exists(self) -> bool:
        try:
            load_path = get_filepath_str(self._get_load_path(), self._protocol)
        except DatasetError:
            return False
        return self._fs.exists(load_path)

    def _release(self) -> None:
        super()._release()
        self._invalidate_cache()

    def _invalidate_cache(self) -> None:
        self._fs.invalidate_cache(get_filepath_str(self._filepath, self._protocol))


class SkopsDataset(_VersionedFile):
    """A scikit-learn object in skops' format, loaded without executing code."""

    def __init__(
        self,
        *,
        filepath: str,
        trusted: list[str] | None = None,
        version: Version | None = None,
        credentials: dict[str, Any] | None = None,
        fs_args: dict[str, Any] | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        """Args:
        filepath: where the ``.skops`` file lives (versioned folders go under it).
        trusted: extra fully qualified type names to accept beyond skops' safe defaults.
        version: Kedro version (``None`` load means the latest).
        credentials, fs_args: passed to fsspec.
        metadata: free-form (kedro-viz layer).
        """
        self._at(filepath, version, credentials, fs_args or {})
        self._trusted = list(trusted or [])
        self.metadata = metadata

    def _describe(self) -> dict[str, Any]:
        return {"filepath": self._filepath, "trusted": self._trusted, "version": self._version}

    def load(self) -> Any:
        """Rebuild the object; refuse a missing, truncated or tampered file with a clear message."""
        try:
            load_path = get_filepath_str(self._get_load_path(), self._protocol)
        except DatasetError as error:
            raise ArtifactError(
                f"no saved model artifact at {self._filepath}: run `kedro run` to train one "
                f"({error})"
            ) from error
        if not self._fs.exists(load_path):
            raise ArtifactError(
                f"model artifact {load_path} does not exist (deleted, or a version that was "
                "never saved); run `kedro run` to train one"
            )
        with self._fs.open(load_path, "rb") as handle:
            content = handle.read()
        sio = _skops_io()
        try:
            untrusted = sio.get_untrusted_types(data=content)
        except Exception as error:
            raise ArtifactError(
                f"model artifact {load_path} is unreadable (truncated or not a skops file): "
                f"{error}. Run `kedro run` to train a new version"
            ) from error
        refused = sorted(set(untrusted) - set(self._trusted))
        if refused:
            raise ArtifactError(
                f"model artifact {load_path} was refused: it holds types that are not "
                f"trusted and could run code: {', '.join(refused)}"
            )
        try:
            return sio.loads(content, trusted=self._trusted or None)
        except Exception as error:
            raise ArtifactError(f"model artifact {load_path} is unreadable: {error}") from error

    def save(self, data: Any) -> None:
        """Write the object in skops' format under a new version folder.

        The bytes go to a ``.partial`` file first, renamed into place once complete, so a run
        that dies while writing never leaves a truncated artifact under the final name.
        """
        save_path = get_filepath_str(self._get_save_path(), self._protocol)
        content = _skops_io().dumps(data)
        partial_path = f"{save_path}.partial"
        with self._fs.open(partial_path, "wb") as handle:
            handle.write(content)
        self._fs.mv(partial_path, save_path)
        self._invalidate_cache()


class FigureDataset(_VersionedFile):
    """A matplotlib figure saved as an image (PNG), versioned; loading returns the image's bytes.

    It saves as ``matplotlib.MatplotlibDataset`` saves one figure, and ``kedro viz`` previews it
    the same way (:meth:`preview`), but matplotlib is imported only when a figure is saved. A PNG
    whose only save argument is ``dpi`` is drawn once (:func:`figure_workers.png`), not twice,
    and during a run in a figure worker process (:mod:`figure_workers`).
    """

    def __init__(
        self,
        *,
        filepath: str,
        save_args: dict[str, Any] | None = None,
        version: Version | None = None,
        credentials: dict[str, Any] | None = None,
        fs_args: dict[str, Any] | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        """Args:
        filepath: where the image lives (versioned folders go under it); any fsspec path.
        save_args: passed to ``Figure.savefig`` (``dpi``, ``format``, ``bbox_inches`` ...).
        version: Kedro version (``None`` load means the latest).
        credentials, fs_args: passed to fsspec (``fs_args.open_args_save`` to its ``open``).
        metadata: free-form (kedro-viz layer, preview).
        """
        fs_args = deepcopy(fs_args) or {}
        self._fs_open_args_save = {"mode": "wb", **fs_args.pop("open_args_save", {})}
        self._at(filepath, version, credentials, fs_args)
        self._save_args = dict(save_args or {})
        self.metadata = metadata

    def _describe(self) -> dict[str, Any]:
        return {
            "filepath": self._filepath,
            "protocol": self._protocol,
            "save_args": self._save_args,
            "version": self._version,
        }

    def save(self, data: Figure) -> None:
        """Write ``data`` as :func:`figure_workers.png` draws it (in a figure worker during a
        run), or by ``savefig`` for other save arguments.
        """
        save_path = get_filepath_str(self._get_save_path(), self._protocol)
        if set(self._save_args) == {"dpi"} and save_path.lower().endswith(".png"):
            dpi = self._save_args["dpi"]
            if self._loads_what_it_saves() and figure_workers.WORKERS.submit(
                save_path, data, dpi, partial(self._write, save_path)
            ):
                return
            content = figure_workers.png(data, dpi=dpi)
        else:
            buffer = io.BytesIO()
            data.savefig(buffer, **self._save_args)
            content = buffer.getvalue()
        self._write(save_path, content)

    def _loads_what_it_saves(self) -> bool:
        """Whether a load finds this save without looking at the disk (unversioned, or pinned
        to a version as ``versioning.ModelVersionHook`` pins every model dataset), so that it
        can wait for a figure still being drawn. A dataset that loads the newest version on
        disk would find an older one meanwhile: its figures are drawn at once.
        """
        return self._version is None or self._version.load is not None

    def _write(self, save_path: str, content: bytes) -> None:
        with self._fs.open(save_path, **self._fs_open_args_save) as file:
            file.write(content)
        self._invalidate_cache()

    def load(self) -> bytes:
        """The saved image's bytes (the version asked for, or the latest); a figure of this run
        still being drawn is waited for.
        """
        load_path = get_filepath_str(self._get_load_path(), self._protocol)
        figure_workers.WORKERS.wait(load_path)
        with self._fs.open(load_path, mode="rb") as file:
            return file.read()

    def preview(self) -> ImagePreview:
        """The image for ``kedro viz``, base64-encoded."""
        return ImagePreview(base64.b64encode(self.load()).decode("utf-8"))


class HtmlReportDataset(TextDataset):
    """``text.TextDataset`` that replaces ``RUN_STAMP`` by the save version."""

    def save(self, data: str) -> None:
        """Write ``data`` with the stamp filled in (``unversioned`` when not versioned)."""
        stamp = self.resolve_save_version() if self._version is not None else None
        save_path = get_filepath_str(self._get_save_path(), self._protocol)
        with self._fs.open(save_path, **self._fs_open_args_save) as file:
            file.write(data.replace(RUN_STAMP, stamp or UNVERSIONED))
        self._invalidate_cache()
