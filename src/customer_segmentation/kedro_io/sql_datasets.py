"""Kedro datasets that read and write SQL databases (``kedro run --env database``).

* :class:`SQLCustomerTableDataset` reads the customer table from a SQL database (SQLAlchemy
  and Polars), its values typed, for the same data contract as a file; :class:`SQLTableDataset`
  writes the engine's native tables (Polars, Spark) to a database table, as
  ``pandas.SQLTableDataset`` writes pandas. Neither ever shows the database's password:
  messages name the database by its URL without it (:func:`safe_url`).

Apart from :mod:`customer_segmentation.kedro_io.datasets` because SQLAlchemy and pandas load with this
module: the other environments' catalogs (and ``kedro viz build``) never import it.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path
from typing import Any, ClassVar

import sqlalchemy as sa
from kedro.io.core import AbstractDataset, DatasetError
from kedro_datasets.pandas import SQLTableDataset as PandasSQLTableDataset
from sqlalchemy.engine import URL, make_url

from customer_segmentation.core import engine
from customer_segmentation.core.contract import RawTable, typed_table

logger = logging.getLogger(__name__)

CREDENTIALS_FILE = "conf/local/credentials.yml"
# URL query keys whose values are never shown (drivers that take the password as a parameter).
_SECRET_QUERY_KEYS = ("password", "passwd", "pwd", "secret", "token")
_TABLES_SHOWN = 10  # table names listed when the one asked for is not there


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
            f"it in {CREDENTIALS_FILE} (see docs/databases.md)"
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

    def __init__(
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
        return typed_table(
            frame, {"source": self.source, "format": kind, "input": _identity(frame)}
        )

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


def _identity(frame: Any) -> dict[str, Any]:
    """What tells this table from another: the SHA-256 of its rows as CSV, sorted (a database
    returns rows in no set order), and their size.
    """
    text = frame.sort(frame.columns, nulls_last=True).write_csv().encode("utf-8")
    return {"bytes": len(text), "sha256": hashlib.sha256(text).hexdigest()}
