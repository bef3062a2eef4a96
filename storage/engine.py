"""Build the SQLAlchemy engine with the connection settings Crewboard relies on.

SQLite gets write-ahead logging (readers never wait for the writer), enforced foreign keys
(off by default in SQLite) and a busy timeout, on every new connection. Python's sqlite3 module
starts transactions only before data changes and runs DDL outside them; we turn that off and
send BEGIN ourselves so a unit of work reads one snapshot and a migration is all or nothing.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import ExceptionContext, make_url
from sqlalchemy.pool import ConnectionPoolEntry

from storage.errors import storage_error_for

DEFAULT_BUSY_TIMEOUT_MS = 5000

# Execution option naming the kind of SQLite transaction to begin ("IMMEDIATE" takes the write
# lock at once, so a migration cannot find its snapshot outdated halfway through).
BEGIN_MODE = "crewboard_sqlite_begin"


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def build_engine(url: str, busy_timeout_ms: int = DEFAULT_BUSY_TIMEOUT_MS) -> Engine:
    """An engine for `url` whose database failures arrive as StorageError where they are environmental."""
    if is_sqlite(url):
        engine = create_engine(url, connect_args={"check_same_thread": False})
        _configure_sqlite(engine, busy_timeout_ms)
    else:
        engine = create_engine(url, pool_pre_ping=True)
    event.listen(engine, "handle_error", _translate_error)
    return engine


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


def _translate_error(context: ExceptionContext) -> None:
    error = storage_error_for(context.original_exception)
    if error is not None:
        raise error from context.sqlalchemy_exception or context.original_exception
