"""Build the SQLAlchemy engine with the connection settings Crewboard relies on.

SQLite gets write-ahead logging (readers never wait for the writer), enforced foreign keys
(off by default in SQLite) and a busy timeout, on every new connection. Python's sqlite3 module
starts transactions only before data changes and runs DDL outside them; we turn that off and
send BEGIN ourselves so a unit of work reads one snapshot and a migration is all or nothing.

PostgreSQL (an office's shared store) is reached through psycopg 3. Writers there run one at a
time, as on SQLite: see `WRITER` and `_configure_postgresql`.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from sqlalchemy import URL, Connection, Engine, create_engine, event
from sqlalchemy.engine import ExceptionContext, make_url
from sqlalchemy.pool import ConnectionPoolEntry

from app.errors import InvalidInput
from storage.errors import storage_error_for

DEFAULT_BUSY_TIMEOUT_MS = 5000
# How long to wait for a PostgreSQL server to answer before saying it cannot be reached.
CONNECT_TIMEOUT_S = 10

# Execution option naming the kind of SQLite transaction to begin ("IMMEDIATE" takes the write
# lock at once, so a migration cannot find its snapshot outdated halfway through).
BEGIN_MODE = "crewboard_sqlite_begin"
# Execution option marking a PostgreSQL transaction as a writer: it takes WRITER_LOCK_KEY first.
WRITER = "crewboard_writer"
# The transaction-scoped advisory lock every PostgreSQL writer holds ("crew" in ASCII). Other
# locks (the sync owner's, say) must use other keys.
WRITER_LOCK_KEY = 0x63726577

POSTGRESQL_DRIVER = "psycopg"


def is_sqlite(url: str | URL) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def is_postgresql(url: str | URL) -> bool:
    return make_url(url).get_backend_name() == "postgresql"


def normalized_url(url: str) -> str:
    """`url` with PostgreSQL spelled for psycopg 3: `postgresql://` and `postgres://` name no driver.

    SQLAlchemy would pick psycopg2 for a bare `postgresql://`; Crewboard ships psycopg 3 only, so
    a URL naming another driver is refused with a sentence rather than a missing-module traceback.
    """
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres", f"postgres+{POSTGRESQL_DRIVER}"):
        return parsed.set(drivername=f"postgresql+{POSTGRESQL_DRIVER}").render_as_string(hide_password=False)
    if (
        parsed.get_backend_name() in ("postgresql", "postgres")
        and parsed.get_driver_name() != POSTGRESQL_DRIVER
    ):
        raise InvalidInput(
            f"Crewboard reaches PostgreSQL through psycopg 3, not {parsed.get_driver_name()}; "
            "write the URL as postgresql://USER@HOST/DATABASE."
        )
    return url


def writer_options(url: str | URL) -> dict[str, Any]:
    """Execution options that make a connection's transactions writers on `url`'s database."""
    if is_sqlite(url):
        return {BEGIN_MODE: "IMMEDIATE"}
    return {WRITER: True}


def reader_options(url: str | URL) -> dict[str, Any]:
    """Execution options for read-only units: one snapshot, no lock, never waits for writers.

    SQLite's deferred BEGIN already reads one snapshot. PostgreSQL's READ COMMITTED would take a
    new snapshot per statement, so readers ask for REPEATABLE READ (a snapshot for the whole
    transaction; read-only transactions there never fail to serialize).
    """
    if is_sqlite(url):
        return {}
    return {"isolation_level": "REPEATABLE READ", "postgresql_readonly": True}


def build_engine(url: str, busy_timeout_ms: int = DEFAULT_BUSY_TIMEOUT_MS) -> Engine:
    """An engine for `url` whose database failures arrive as StorageError where they are environmental."""
    if is_sqlite(url):
        engine = create_engine(url, connect_args={"check_same_thread": False})
        _configure_sqlite(engine, busy_timeout_ms)
    elif is_postgresql(url):
        parsed = make_url(normalized_url(url))
        engine = create_engine(
            parsed.difference_update_query(["options"]),
            pool_pre_ping=True,
            isolation_level="READ COMMITTED",
            connect_args=_postgresql_connect_args(parsed, busy_timeout_ms),
        )
        _configure_postgresql(engine)
    else:
        engine = create_engine(url, pool_pre_ping=True)
    event.listen(engine, "handle_error", _translate_error)
    return engine


def _postgresql_connect_args(url: URL, busy_timeout_ms: int) -> dict[str, Any]:
    """libpq settings: a connect timeout, and a lock timeout equal to SQLite's busy timeout.

    A writer waiting longer than that for the writer lock gives up with "lock timeout", which
    reads as errors.LOCKED. Server options and a connect timeout given in the URL are kept.
    """
    given = url.query.get("options", ())
    options = [given] if isinstance(given, str) else list(given)
    arguments: dict[str, Any] = {"options": " ".join([*options, f"-c lock_timeout={int(busy_timeout_ms)}"])}
    if "connect_timeout" not in url.query:
        arguments["connect_timeout"] = CONNECT_TIMEOUT_S
    return arguments


def _configure_sqlite(engine: Engine, busy_timeout_ms: int) -> None:
    def on_connect(dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
        assert isinstance(dbapi_connection, sqlite3.Connection)
        dbapi_connection.isolation_level = None  # we send BEGIN ourselves, see on_begin
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
            cursor.execute("PRAGMA foreign_keys = ON")
            cursor.execute("PRAGMA journal_mode = WAL")
        finally:
            cursor.close()

    def on_begin(connection: Connection) -> None:
        mode = str(connection.get_execution_options().get(BEGIN_MODE, ""))
        if mode not in ("", "DEFERRED", "IMMEDIATE", "EXCLUSIVE"):
            raise ValueError(f"unknown SQLite transaction mode {mode!r}")
        connection.exec_driver_sql(f"BEGIN {mode}".strip())

    event.listen(engine, "connect", on_connect)
    event.listen(engine, "begin", on_begin)


def _configure_postgresql(engine: Engine) -> None:
    """Writers take one transaction-scoped advisory lock first: PostgreSQL's BEGIN IMMEDIATE.

    Use cases read and then write (a booking's version, the outbox, the sync lock row, a conflict
    check); two of them interleaving under READ COMMITTED would lose an update. SERIALIZABLE would
    instead fail one of them, and every caller would need a retry loop; row locks (SELECT ... FOR
    UPDATE) would have to be added to every read-then-write path and do not cover rows not yet
    inserted. One lock held from the transaction's first statement to its end gives exactly
    SQLite's single-writer semantics, so code proven on one database is right on the other.
    Writers stay in READ COMMITTED on purpose: each statement after the lock sees everything the
    previous writer committed (REPEATABLE READ would keep the snapshot taken while waiting).
    The lock goes with the transaction, also when its connection dies. Readers take no lock.
    """

    def on_begin(connection: Connection) -> None:
        if connection.get_execution_options().get(WRITER):
            connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({WRITER_LOCK_KEY})")

    event.listen(engine, "begin", on_begin)


def _translate_error(context: ExceptionContext) -> None:
    if context.is_pre_ping:
        return  # a pooled connection found dead at checkout: SQLAlchemy replaces it, nobody need know
    error = storage_error_for(context.original_exception)
    if error is not None:
        raise error from context.sqlalchemy_exception or context.original_exception
