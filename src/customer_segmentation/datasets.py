"""Kedro datasets of the project.

* :class:`FigureDataset` saves a matplotlib figure as PNG (versioned like
  ``matplotlib.MatplotlibDataset``, so ``kedro viz`` previews it) and loads the PNG bytes back,
  so the report and the app show figures other nodes drew, without drawing them again.
* :class:`HtmlReportDataset` saves the report text and writes the save version (the model
  version's stamp, shared by every dataset of the model) where the report holds
  ``report.RUN_STAMP``.
* :class:`RawCustomerFileDataset` hands the raw export to the pipeline (a local file by its
  path, streamed by the reader; a remote one as bytes), so that the pipeline and the app's
  upload page parse it with the same code (``contract``).
* :class:`SkopsDataset` stores scikit-learn objects in skops' format, versioned. Loading
  never executes code from the file: only types known to be safe (skops' defaults for
  scikit-learn and NumPy, plus the ``trusted`` list) are rebuilt; anything else is refused.
* :class:`SQLCustomerTableDataset` reads the customer table from a SQL database (SQLAlchemy
  and Polars), its values typed, for the same data contract as a file (``kedro run --env
  database``); :class:`SQLTableDataset` writes the engine's native tables (Polars, Spark) to a
  database table, as ``pandas.SQLTableDataset`` writes pandas. Neither ever shows the
  database's password: messages name the database by its URL without it (:func:`safe_url`).
"""

from __future__ import annotations

import io
import logging
from copy import deepcopy
from pathlib import Path, PurePosixPath
from typing import Any, ClassVar

import fsspec
import matplotlib
import numpy as np
import sqlalchemy as sa
from kedro.io.core import (
    AbstractDataset,
    AbstractVersionedDataset,
    DatasetError,
    Version,
    get_filepath_str,
    get_protocol_and_path,
)
from kedro_datasets.matplotlib import MatplotlibDataset
from kedro_datasets.pandas import SQLTableDataset as PandasSQLTableDataset
from kedro_datasets.text import TextDataset
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image
from PIL.PngImagePlugin import PngInfo
from sqlalchemy.engine import URL, make_url

from customer_segmentation import engine
from customer_segmentation.contract import RawCustomerFile, RawTable, typed_table
from customer_segmentation.report import RUN_STAMP

logger = logging.getLogger(__name__)

UNVERSIONED = "unversioned"
CREDENTIALS_FILE = "conf/local/credentials.yml"
# URL query keys whose values are never shown (drivers that take the password as a parameter).
_SECRET_QUERY_KEYS = ("password", "passwd", "pwd", "secret", "token")
_TABLES_SHOWN = 10  # table names listed when the one asked for is not there


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
        path = get_filepath_str(PurePosixPath(self._filepath), self._protocol)
        if not self._fs.exists(path):
            raise DatasetError(
                f"customer table {path!r} does not exist; pass another with "
                f"`kedro run --params {self._parameter}=PATH`"
            )
        if self._engine == "spark":
            return RawCustomerFile(str(self._filepath), path=path, engine="spark")
        if self._protocol == "file":  # streamed from disk by the reader, not held in memory
            return RawCustomerFile(str(self._filepath), path=path)
        with self._fs.open(path, "rb") as handle:
            return RawCustomerFile(str(self._filepath), handle.read())

    def save(self, data: RawCustomerFile) -> None:
        """The raw export is never written by the pipeline."""
        raise DatasetError("raw_customers is read-only")

    def _exists(self) -> bool:
        return self._fs.exists(get_filepath_str(PurePosixPath(self._filepath), self._protocol))


def safe_url(url: URL) -> str:
    """A database URL as messages show it: no password (``***``) and no query parameter that
    may hold a secret.
    """
    secret = [k for k in url.query if any(word in k.lower() for word in _SECRET_QUERY_KEYS)]
    return url.difference_update_query(secret).render_as_string(hide_password=True)


def _scrubbed(text: str, url: URL) -> str:
    """``text`` with every secret of ``url`` (password, secret query values) blanked."""
    secrets = [url.password] if url.password else []
    secrets += [
        str(value)
        for key, value in url.query.items()
        if any(word in key.lower() for word in _SECRET_QUERY_KEYS)
    ]
    for secret in secrets:
        if secret:
            text = text.replace(str(secret), "***")
    return text


def _database_url(credentials: dict[str, Any] | None) -> URL:
    """The SQLAlchemy URL under the credentials' ``con``."""
    con = (credentials or {}).get("con")
    if not con:
        raise DatasetError(
            f"the database credentials have no `con`: write the database's SQLAlchemy URL under "
            f"it in {CREDENTIALS_FILE} (see the README, 'Reading from a database')"
        )
    try:
        return make_url(str(con))
    except sa.exc.ArgumentError:
        raise DatasetError(
            f"the `con` of the database credentials in {CREDENTIALS_FILE} is not a SQLAlchemy "
            "URL (dialect+driver://user:password@host/database, e.g. sqlite:///data/crm.db)"
        ) from None  # the message SQLAlchemy gives could quote the URL


def _create_engine(url: URL, engine_args: dict[str, Any]) -> sa.Engine:
    """A SQLAlchemy engine for ``url``; a missing driver names what to install."""
    try:
        return sa.create_engine(url, **engine_args)
    except (ImportError, sa.exc.NoSuchModuleError) as error:
        raise DatasetError(
            f"no driver for {safe_url(url)} ({_scrubbed(str(error), url)}): PostgreSQL needs "
            "psycopg, `pip install -e '.[database]'`; other databases need their SQLAlchemy "
            "driver"
        ) from None


def _database_error(error: sa.exc.SQLAlchemyError, what: str, url: URL) -> DatasetError:
    """A database failure as one message that names ``what`` failed and what to check, with
    the driver's own words but never a secret of ``url``.
    """
    original = getattr(error, "orig", None) or error
    lines = [ln.strip() for ln in str(original).splitlines() if ln.strip()]
    detail = _scrubbed(" ".join(ln for ln in lines if not ln.startswith("(Background")), url)
    if isinstance(error, sa.exc.OperationalError | sa.exc.InterfaceError):
        advice = (
            "check that the database server is running and reachable from here, and the `con` "
            f"URL (driver, user, host, database) in {CREDENTIALS_FILE}"
        )
    else:
        advice = "check the table name or the query, and the user's rights on it"
    return DatasetError(f"could not {what} in {safe_url(url)}: {detail}; {advice}")


class SQLCustomerTableDataset(AbstractDataset[None, RawTable]):
    """Read-only: the customer table in a SQL database, its values typed (dates as dates,
    numbers as numbers), as the data contract's table (``contract.typed_table``).
    """

    # Polars infers each column's type from every row, not the first 100 (a column empty in
    # the first rows, such as Income, would otherwise be typed null and its later values fail).
    DEFAULT_LOAD_ARGS: ClassVar[dict[str, Any]] = {"infer_schema_length": None}

    def __init__(  # noqa: PLR0913
        self,
        *,
        credentials: dict[str, Any],
        table_name: str | None = None,
        sql: str | None = None,
        load_args: dict[str, Any] | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        """Args:
        credentials: ``con``, the database's SQLAlchemy URL; other keys go to
            ``sqlalchemy.create_engine``.
        table_name: the table to read (all its columns; matched to the customer table's column
            names case-insensitively).
        sql: or a query whose result is the customer table (one of the two).
        load_args: passed to ``polars.read_database`` (e.g. ``schema_overrides``).
        metadata: free-form (kedro-viz layer).
        """
        if bool(table_name) == bool(sql):
            raise DatasetError("SQLCustomerTableDataset reads either a table_name or a sql query")
        self._url = _database_url(credentials)
        self._engine_args = {k: v for k, v in credentials.items() if k != "con"}
        self._table_name = table_name
        self._sql = sql
        self._what = f"table {table_name}" if table_name else "a query"
        self._load_args = {**self.DEFAULT_LOAD_ARGS, **(load_args or {})}
        self.metadata = metadata

    @property
    def source(self) -> str:
        """What is read, for messages and the data-quality report (no password)."""
        return f"{self._what} in {safe_url(self._url)}"

    def _describe(self) -> dict[str, Any]:
        return {
            "table_name": self._table_name,
            "sql": self._sql,
            "url": safe_url(self._url),
            "load_args": self._load_args,
        }

    def load(self) -> RawTable:
        """The table as the contract's strings, ``info`` saying where it came from.

        Raises:
            DatasetError: the database is unreachable, the table is not there, or the query
                fails (naming the table and the URL without password, and what to check).
            CustomerDataError: the table lacks required columns.
        """
        import polars as pl  # noqa: PLC0415 - the local engine, loaded when a table is read

        self._check_sqlite_file()
        database = _create_engine(self._url, self._engine_args)
        try:
            with database.connect() as connection:
                frame = pl.read_database(
                    self._query(connection), connection=connection, **self._load_args
                )
        except sa.exc.SQLAlchemyError as error:
            raise _database_error(error, f"read {self._what}", self._url) from None
        finally:
            database.dispose()
        logger.info("Read %d rows of %s", frame.height, self.source)
        kind = "database table" if self._table_name else "database query"
        return typed_table(frame, {"source": self.source, "format": kind})

    def _query(self, connection: sa.Connection) -> Any:
        """``SELECT`` of the table, its column types reflected (so SQLite's dates arrive as
        dates), or the query as given.
        """
        if self._sql:
            return sa.text(self._sql)
        try:
            table = sa.Table(self._table_name, sa.MetaData(), autoload_with=connection)
        except sa.exc.NoSuchTableError:
            names = sorted(sa.inspect(connection).get_table_names())
            more = " ..." if len(names) > _TABLES_SHOWN else ""
            found = f"{', '.join(names[:_TABLES_SHOWN])}{more}" if names else "none"
            raise DatasetError(
                f"{self.source}: there is no table {self._table_name!r} (the database's "
                f"tables: {found}); name "
                "the table with `kedro run --env database --params raw_customers_table=NAME`, "
                f"or check that the `con` URL in {CREDENTIALS_FILE} is the database holding it"
            ) from None
        return sa.select(table)

    def _check_sqlite_file(self) -> None:
        """A SQLite file must exist: connecting to a missing one would create it empty."""
        database = self._url.database
        if (
            self._url.get_backend_name() == "sqlite"
            and database
            and database != ":memory:"
            and not database.startswith("file:")
            and not Path(database).exists()
        ):
            raise DatasetError(
                f"{self.source}: the SQLite file {database} does not exist (relative paths start "
                f"at the project folder); check the `con` URL in {CREDENTIALS_FILE}"
            )

    def save(self, data: None) -> None:
        """The customer table is never written by the pipeline."""
        raise DatasetError("raw_customers is read-only")

    def _exists(self) -> bool:
        self._check_sqlite_file()
        database = _create_engine(self._url, self._engine_args)
        try:
            with database.connect() as connection:
                return self._sql is not None or sa.inspect(connection).has_table(self._table_name)
        except sa.exc.SQLAlchemyError as error:
            raise _database_error(error, "connect", self._url) from None
        finally:
            database.dispose()


class SQLTableDataset(PandasSQLTableDataset):
    """``pandas.SQLTableDataset`` that also writes the engine's native tables (a Polars
    DataFrame; a Spark DataFrame, gathered to the driver), so the nodes return the run's native
    frames. Database failures name the table and the URL, never the password.
    """

    def save(self, data: Any) -> None:
        """Write ``data`` (pandas, Polars or Spark) as the table (``save_args``: ``if_exists``
        ...).
        """
        table = engine.to_pandas_table(data)
        url = make_url(self._connection_str)
        try:
            super().save(table)
        except sa.exc.SQLAlchemyError as error:
            raise _database_error(error, f"write table {self._save_args['name']}", url) from None
        logger.info(
            "Wrote %d rows to table %s in %s", len(table), self._save_args["name"], safe_url(url)
        )


def _skops_io() -> Any:
    """``skops.io``, imported when an artifact is read or written: skops imports scikit-learn
    and SciPy, which building the catalog (``kedro viz build``) does not need.
    """
    import skops.io  # noqa: PLC0415

    return skops.io


class SkopsDataset(AbstractVersionedDataset[Any, Any]):
    """A scikit-learn object in skops' format, loaded without executing code."""

    def __init__(  # noqa: PLR0913
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
        protocol, path = get_protocol_and_path(filepath, version)
        fs_args = deepcopy(fs_args) or {}
        if protocol == "file":
            fs_args.setdefault("auto_mkdir", True)
        self._protocol = protocol
        self._fs = fsspec.filesystem(protocol, **(credentials or {}), **fs_args)
        self._trusted = list(trusted or [])
        self.metadata = metadata
        super().__init__(
            filepath=PurePosixPath(path),
            version=version,
            exists_function=self._fs.exists,
            glob_function=self._fs.glob,
        )

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
        except Exception as error:  # noqa: BLE001 - any parse failure means a broken file
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
        except Exception as error:  # noqa: BLE001
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
        self._fs.invalidate_cache(get_filepath_str(self._filepath, self._protocol))

    def _exists(self) -> bool:
        try:
            load_path = get_filepath_str(self._get_load_path(), self._protocol)
        except DatasetError:
            return False
        return self._fs.exists(load_path)

    def _release(self) -> None:
        super()._release()
        self._fs.invalidate_cache(get_filepath_str(self._filepath, self._protocol))


class FigureDataset(MatplotlibDataset):
    """``matplotlib.MatplotlibDataset`` that can also be loaded: returns the PNG bytes.

    A PNG whose only save argument is ``dpi`` is drawn once (:func:`png`), not twice.
    """

    def _save_to_fs(self, full_key_path: str, plot: Figure) -> None:
        """Write ``plot`` as :func:`png` draws it, or by ``savefig`` for other save arguments."""
        if set(self._save_args) != {"dpi"} or not full_key_path.lower().endswith(".png"):
            super()._save_to_fs(full_key_path, plot)
            return
        data = png(plot, dpi=self._save_args["dpi"])
        with self._fs.open(full_key_path, **self._fs_open_args_save) as file:
            file.write(data)

    def load(self) -> bytes:  # type: ignore[override]
        """The saved image's bytes (the version asked for, or the latest)."""
        load_path = get_filepath_str(self._get_load_path(), self._protocol)
        with self._fs.open(load_path, mode="rb") as file:
            return file.read()


class HtmlReportDataset(TextDataset):
    """``text.TextDataset`` that replaces ``RUN_STAMP`` by the save version."""

    def save(self, data: str) -> None:
        """Write ``data`` with the stamp filled in (``unversioned`` when not versioned)."""
        stamp = self.resolve_save_version() if self._version is not None else None
        save_path = get_filepath_str(self._get_save_path(), self._protocol)
        with self._fs.open(save_path, **self._fs_open_args_save) as file:
            file.write(data.replace(RUN_STAMP, stamp or UNVERSIONED))
        self._invalidate_cache()


def png(figure: Figure, dpi: float) -> bytes:
    """PNG bytes of a figure at ``dpi``.

    The pixels are those of ``figure.savefig(format="png", dpi=dpi)``
    (``tests/test_report.py``), but the figure is drawn once: ``savefig`` draws a figure
    with a layout engine (constrained layout) a first time without rendering, then again.
    """
    dpi_before, canvas_before = figure.dpi, figure.canvas
    canvas = FigureCanvasAgg(figure)
    figure.set_dpi(dpi)
    try:
        canvas.draw()
        pixels = Image.fromarray(np.asarray(canvas.buffer_rgba()))
    finally:  # as savefig: the figure keeps its own dpi and canvas
        figure.set_dpi(dpi_before)
        figure.set_canvas(canvas_before)
    info = PngInfo()
    info.add_text(
        "Software", f"Matplotlib version{matplotlib.__version__}, https://matplotlib.org/"
    )
    buffer = io.BytesIO()
    pixels.save(buffer, format="png", dpi=(dpi, dpi), pnginfo=info)
    return buffer.getvalue()
