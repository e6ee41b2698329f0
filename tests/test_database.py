"""``kedro run --env database``: the customer table read from a SQL database, its values typed,
gives the same customers, rejects and segments as the canonical file, and the segments are
written back to the database's ``customer_segments`` table for a CRM.

SQLite needs nothing more. The PostgreSQL test (``-m postgres``) starts Debian's server itself,
listening on a Unix socket only; under CI (``CI=true``) missing server binaries fail the run,
elsewhere the test skips.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import sqlalchemy as sa
from conftest import (
    REAL_FILES,
    assert_same_as_canonical,
    copy_project,
    load_catalog,
    native_catalog,
    real_file,
    required,
    run_project,
)
from kedro.io import DatasetError

from customer_segmentation import schema
from customer_segmentation.core import segments
from customer_segmentation.core.contract import RawTable
from customer_segmentation.kedro_io.config_loader import ProjectConfigLoader
from customer_segmentation.kedro_io.sql_datasets import SQLCustomerTableDataset, safe_url

POSTGRES_ROOT = Path("/usr/lib/postgresql")
POSTGRES_DATABASE = "customers"
CRM_COLUMNS = [
    "ID",
    "segment",
    "segment_name",
    "distance",
    "runner_up",
    "runner_up_name",
    "runner_up_distance",
    "margin",
]


def typed_real_table() -> pd.DataFrame:
    """The canonical file as a database holds it: dates as dates, numbers as numbers (a
    missing income as NULL).
    """
    table = pd.read_csv(real_file(REAL_FILES[0]))
    table["Dt_Customer"] = pd.to_datetime(table["Dt_Customer"], format="%d-%m-%Y").dt.date
    return table


def write_table(url: str, name: str, table: pd.DataFrame, types: dict[str, Any]) -> None:
    """``table`` as the database table ``name``, its columns of the SQL ``types``."""
    database = sa.create_engine(url)
    try:
        table.to_sql(name, database, index=False, dtype=types)
    finally:
        database.dispose()


def sqlite_types(table: pd.DataFrame) -> dict[str, Any]:
    """DATE, REAL for the income, TEXT for categories, INTEGER for every other column."""
    types: dict[str, Any] = {column: sa.Integer() for column in table.columns}
    types.update({column: sa.Text() for column in schema.CATEGORY_COLUMNS})
    return types | {"Income": sa.Float(), "Dt_Customer": sa.Date()}


def write_credentials(project: Path, url: str) -> None:
    """``conf/local/credentials.yml`` of a project copy, as docs/databases.md tells a user to write."""
    (project / "conf" / "local" / "credentials.yml").write_text(
        f'customers_db:\n  con: "{url}"\n', encoding="utf-8"
    )


def read_crm_table(url: str) -> pd.DataFrame:
    """The ``customer_segments`` table the run wrote to the database."""
    database = sa.create_engine(url)
    try:
        with database.connect() as connection:
            return pd.read_sql_table("customer_segments", connection)
    finally:
        database.dispose()


def assert_run_matches_canonical(
    project: Path, url: str, canonical: dict[str, Any], name: str
) -> dict[str, Any]:
    """The database run's tables against the canonical file's run, and the segments written
    back to the database; returns the run's data-quality report.
    """
    catalog = load_catalog(project, env="database")
    report = catalog.load("data_quality_report")
    rejected = catalog.load("rejected_customers")
    assert_same_as_canonical(
        catalog.load("customers"),
        rejected,
        report,
        catalog.load("customer_segments"),
        canonical,
        name,
    )
    reasons = rejected.astype({"ID": int}).set_index("ID")["reason_code"].sort_index()
    expected = (
        canonical["rejected_customers"]
        .astype({"ID": int})
        .set_index("ID")["reason_code"]
        .sort_index()
    )
    pd.testing.assert_series_equal(reasons, expected, obj=f"{name}: rejection reasons")
    assert report["format"] == "database table", report

    written = read_crm_table(url)
    assert list(written.columns) == CRM_COLUMNS, f"{name}: columns {list(written.columns)}"
    merged = written.merge(canonical["customer_segments"], on="ID", suffixes=("", "_canonical"))
    assert len(merged) == len(written) == len(canonical["customer_segments"]), (
        f"{name}: the database's customer_segments lacks segmented customers"
    )
    moved = merged.loc[merged["segment"] != merged["segment_canonical"], "ID"]
    assert moved.empty, f"{name}: {len(moved)} customers in another segment in the database"
    names = segments.segment_names(catalog.load("model_card"))
    assert (written["segment_name"] == written["segment"].map(names)).all(), (
        f"{name}: segment names in the database differ from the model card's"
    )
    return report


# ---------------------------------------------------------------- SQLite


@pytest.fixture(scope="module")
def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A SQLite file holding the real table as ``customers``, typed."""
    path = tmp_path_factory.mktemp("sqlite") / "crm.db"
    url = f"sqlite:///{path}"
    table = typed_real_table()
    write_table(url, "customers", table, sqlite_types(table))
    return url


@pytest.mark.slow
def test_kedro_run_on_sqlite_gives_the_canonical_segments_and_writes_them_back(
    sqlite_url, canonical, tmp_path
):
    project = copy_project(tmp_path / "project")
    write_credentials(project, sqlite_url)

    run_project(project, env="database")

    report = assert_run_matches_canonical(project, sqlite_url, canonical, "sqlite")
    assert report["source"] == f"table customers in {sqlite_url}", report["source"]
    html = next(
        (project / "data" / "database" / "08_reporting").glob("segmentation_report.html/*/*")
    )
    assert "read as a database table" in html.read_text(encoding="utf-8")
    assert not any((project / "data" / "07_model_output").iterdir()), (
        "the database run must write under data/database/, not over the file run's data/"
    )


def test_a_table_that_is_not_there_is_named_with_the_parameter_to_set(sqlite_url, tmp_path):
    project = copy_project(tmp_path / "project")
    write_credentials(project, sqlite_url)
    catalog = native_catalog(project, params={"raw_customers_table": "clients"}, env="database")

    with pytest.raises(DatasetError) as caught:
        catalog.load("raw_customers")

    message = str(caught.value)
    assert "there is no table 'clients'" in message, message
    assert "customers" in message.split("tables:")[1], "the database's tables should be listed"
    assert "raw_customers_table=NAME" in message, message


def test_the_table_reads_typed_from_a_query_too(sqlite_url):
    dataset = SQLCustomerTableDataset(
        credentials={"con": sqlite_url},
        sql='SELECT * FROM customers WHERE "ID" IN (5524, 2174)',
    )

    raw = dataset.load()

    assert isinstance(raw, RawTable)
    strings = raw.strings.collect().to_native()
    assert strings["Dt_Customer"].to_list() == ["2012-09-04", "2014-03-08"]
    assert strings["Income"].to_list() == ["58138", "46344"], "whole floats read as the file's"
    assert raw.info["format"] == "database query" and raw.info["source"].startswith("a query")


def test_a_missing_sqlite_file_is_named_and_not_created(tmp_path):
    missing = tmp_path / "nowhere" / "crm.db"
    dataset = SQLCustomerTableDataset(
        credentials={"con": f"sqlite:///{missing}"}, table_name="customers"
    )

    with pytest.raises(DatasetError, match="does not exist"):
        dataset.load()
    assert not missing.exists()


def test_the_password_is_never_shown(caplog):
    """An unreachable server: the message names the table, user and host, not the password."""
    password = "S3cret-pw"
    dataset = SQLCustomerTableDataset(
        credentials={"con": f"postgresql+psycopg://crm_user:{password}@127.0.0.1:1/crm"},
        table_name="customers",
    )

    with caplog.at_level(logging.DEBUG), pytest.raises(DatasetError) as caught:
        dataset.load()

    message = str(caught.value)
    assert "table customers" in message and "crm_user:***@127.0.0.1:1/crm" in message, message
    assert "server is running" in message, message
    for shown in (message, str(dataset), caplog.text, str(caught.value.__context__)):
        assert password not in shown


def test_safe_url_drops_secrets_in_the_query():
    url = sa.engine.make_url("mssql+pyodbc://me:pw1@host/db?driver=X&PWD=pw2&api_token=pw3")

    shown = safe_url(url)

    assert "me:***@host/db" in shown and "driver=X" in shown, shown
    assert not any(secret in shown for secret in ("pw1", "pw2", "pw3")), shown


def test_one_of_table_name_or_sql():
    with pytest.raises(DatasetError, match="either a table_name or a sql"):
        SQLCustomerTableDataset(credentials={"con": "sqlite://"}, table_name="a", sql="SELECT 1")
    with pytest.raises(DatasetError, match="no `con`"):
        SQLCustomerTableDataset(credentials={}, table_name="customers")


def test_credentials_come_from_conf_local_in_every_environment(tmp_path):
    """``kedro run --env database`` reads conf/local/credentials.yml (Kedro alone reads only
    base and the run environment); the environment's own credentials win key by key.
    """
    conf = tmp_path / "conf"
    for env in ("base", "local", "database"):
        (conf / env).mkdir(parents=True)
    (conf / "local" / "credentials.yml").write_text("db: {con: 'sqlite:///a'}\nother: {x: 1}\n")
    (conf / "database" / "credentials.yml").write_text("other: {x: 2}\n")

    def credentials(env: str | None) -> dict[str, Any]:
        loader = ProjectConfigLoader(str(conf), env=env, base_env="base", default_run_env="local")
        return loader["credentials"]

    assert credentials("database") == {"db": {"con": "sqlite:///a"}, "other": {"x": 2}}
    assert credentials(None) == {"db": {"con": "sqlite:///a"}, "other": {"x": 1}}


# ---------------------------------------------------------------- PostgreSQL


def require_postgres(root: Path = POSTGRES_ROOT) -> Path:
    """The newest PostgreSQL server's ``bin`` folder: fail under CI, skip elsewhere."""
    found = sorted(root.glob("*/bin/initdb"), key=lambda p: int(p.parts[-3]))
    if found:
        return found[-1].parent
    required(
        f"PostgreSQL's server binaries are absent ({root}/*/bin/initdb; apt-get install "
        "postgresql)",
        "PostgreSQL",
    )


def test_ci_cannot_skip_the_postgres_tests(monkeypatch, tmp_path):
    """Without the server binaries the PostgreSQL tests fail under CI=true and skip elsewhere."""
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI must run the PostgreSQL tests"):
        require_postgres(tmp_path)
    monkeypatch.setenv("CI", "false")
    with pytest.raises(pytest.skip.Exception, match="skipped outside CI"):
        require_postgres(tmp_path)


def _as_server_user(command: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: as root, run the command as the ``postgres`` user."""
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


def _run(command: list[str], what: str, log: Path | None = None) -> None:
    result = subprocess.run(command, capture_output=True, text=True, check=False, timeout=120)
    if result.returncode != 0:
        server_log = log.read_text() if log is not None and log.exists() else ""
        pytest.fail(f"{what} failed: {result.stdout}{result.stderr}{server_log}")


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A PostgreSQL server of this session, listening only on a Unix socket in a temporary
    folder, with an empty database; stopped (and its folder removed) at the end.
    """
    binaries = require_postgres()
    # Not under pytest's temporary root: that is private to this user, and the server runs
    # as `postgres` when the tests run as root.
    root = Path(tempfile.mkdtemp(prefix="customer-segmentation-pg-"))
    data, sockets, log = root / "data", root / "socket", root / "server.log"
    sockets.mkdir()
    if os.geteuid() == 0:
        for path in (root, sockets):
            shutil.chown(path, user="postgres")
    started = False
    try:
        _run(
            _as_server_user(
                [str(binaries / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust"]
                + ["-E", "UTF8", "--no-locale", "--no-sync"]
            ),
            "initdb",
        )
        options = f"-k {sockets} -c listen_addresses='' -c fsync=off"
        start = [str(binaries / "pg_ctl"), "-D", str(data), "-l", str(log), "-w", "-o", options]
        _run(_as_server_user([*start, "start"]), "pg_ctl start", log)
        started = True
        _run(
            [str(binaries / "createdb"), "-h", str(sockets), "-U", "postgres", POSTGRES_DATABASE],
            "createdb",
            log,
        )
        yield f"postgresql+psycopg://postgres@/{POSTGRES_DATABASE}?host={sockets}"
    finally:
        if started:
            stop = [str(binaries / "pg_ctl"), "-D", str(data), "-m", "fast", "stop"]
            subprocess.run(_as_server_user(stop), capture_output=True, check=False, timeout=120)
        shutil.rmtree(root, ignore_errors=True)


def postgres_types(table: pd.DataFrame) -> dict[str, Any]:
    """INTEGER, TEXT for categories, DATE, NUMERIC(12, 2) for the income and DOUBLE PRECISION
    for one amount (a whole number the database holds as a float), under lower-case names as
    PostgreSQL tables usually have them.
    """
    types: dict[str, Any] = {column: sa.Integer() for column in table.columns}
    types.update({column: sa.Text() for column in schema.CATEGORY_COLUMNS})
    types.update(Income=sa.Numeric(12, 2), Dt_Customer=sa.Date(), MntGoldProds=sa.Double())
    return {column.lower(): sql_type for column, sql_type in types.items()}


@pytest.mark.slow
@pytest.mark.postgres
def test_kedro_run_on_postgresql_gives_the_canonical_segments_and_writes_them_back(
    postgres_url, canonical, tmp_path
):
    table = typed_real_table()
    write_table(
        postgres_url,
        "crm_customers",
        table.rename(columns=str.lower),
        postgres_types(table),
    )
    project = copy_project(tmp_path / "project")
    write_credentials(project, postgres_url)

    run_project(project, env="database", params={"raw_customers_table": "crm_customers"})

    report = assert_run_matches_canonical(project, postgres_url, canonical, "postgresql")
    assert (
        report["source"] == f"table crm_customers in {safe_url(sa.engine.make_url(postgres_url))}"
    )
