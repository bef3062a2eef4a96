"""Reading the change feed from outside a unit of work, and being woken when it grows.

How a program learns that another one committed differs by database:

- PostgreSQL: a dedicated connection LISTENs on `change_feed.CHANNEL`; every commit that wrote
  feed entries NOTIFYs it. Between notices the connection is checked with a cheap query, so a
  connection that died quietly (a laptop asleep, a cable pulled) shows up as StorageError.
- SQLite has no notices. `PRAGMA data_version` on one connection changes whenever *another*
  connection (in this program or any other) commits to the file, and costs no lock or disk read;
  the watcher asks it a few times a second.

A wake-up says only "look again": the reader always reads every entry after the last number it
saw, so notices that were missed, merged or spurious never lose or repeat an entry.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import Any

import psycopg
from psycopg import sql
from sqlalchemy.engine import make_url

from app.domain.changes import Change
from app.errors import StorageError
from storage.change_feed import CHANNEL
from storage.database import Database, describe
from storage.engine import CONNECT_TIMEOUT_S, is_sqlite

# How often SQLite's data_version is asked; a desk sees another's change within this (p95 target 300 ms).
SQLITE_POLL_S = 0.05
APPLICATION_NAME = "crewboard-feed"


class PostgresWakeups:
    """Woken by NOTIFY on a connection of its own (named crewboard-feed, for whoever reads pg_stat_activity)."""

    def __init__(self, conninfo: str, where: str) -> None:
        self._conninfo = conninfo
        self._where = where
        self._connection: psycopg.AsyncConnection[Any] | None = None

    async def __aenter__(self) -> PostgresWakeups:
        with _unreachable(self._where):
            self._connection = await psycopg.AsyncConnection.connect(self._conninfo, autocommit=True)
            await self._connection.execute(sql.SQL("LISTEN {}").format(sql.Identifier(CHANNEL)))
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._connection is not None:
            connection, self._connection = self._connection, None
            await connection.close()

    async def wait(self, timeout: float) -> bool:
        connection = self._connection
        if connection is None:
            raise RuntimeError("enter the wake-ups (async with) before waiting on them")
        woken = False
        with _unreachable(self._where):
            # Run the generator to its end (it stops after one notice or at the timeout): leaving
            # it early would keep the connection's lock until the generator is collected.
            async for _ in connection.notifies(timeout=timeout, stop_after=1):
                woken = True
            if not woken:
                # No notice: make sure that is not because the connection died without a word.
                await connection.execute("SELECT 1")
        return woken


class SqliteWakeups:
    """Woken when PRAGMA data_version changes: another connection committed to the file."""

    def __init__(self, path: str, where: str) -> None:
        self._path = path
        self._where = where
        self._connection: sqlite3.Connection | None = None
        self._version: int | None = None

    async def __aenter__(self) -> SqliteWakeups:
        with _unreachable(self._where):
            # A URI (percent-encoded: a path may hold "?" or "#") opening the file read-only.
            uri = f"{Path(self._path).resolve().as_uri()}?mode=ro"
            self._connection = sqlite3.connect(uri, uri=True, check_same_thread=False)
            self._version = self._data_version()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._connection is not None:
            connection, self._connection = self._connection, None
            connection.close()

    async def wait(self, timeout: float) -> bool:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            with _unreachable(self._where):
                version = self._data_version()
            if version != self._version:
                self._version = version
                return True
            left = deadline - loop.time()
            if left <= 0:
                return False
            await asyncio.sleep(min(SQLITE_POLL_S, left))

    def _data_version(self) -> int:
        if self._connection is None:
            raise RuntimeError("enter the wake-ups (async with) before waiting on them")
        return int(self._connection.execute("PRAGMA data_version").fetchone()[0])


@contextmanager
def _unreachable(where: str) -> Iterator[None]:
    try:
        yield
    except (psycopg.Error, sqlite3.Error, OSError) as error:
        raise StorageError(f"The change feed of {where} cannot be read ({_reason(error)}).") from error


def _reason(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__


class StoreFeed:
    """The change feed of one open database: implements app.services.change_feed.ChangeFeedStore."""

    def __init__(self, database: Database) -> None:
        self._database = database

    def last_seq(self) -> int:
        with self._database.unit_of_work(read_only=True) as uow:
            return uow.changes.last_seq()

    def since(self, seq: int, limit: int = 1000) -> list[Change]:
        with self._database.unit_of_work(read_only=True) as uow:
            return uow.changes.since(seq, limit)

    def written_here(self, seq: int) -> bool:
        """Whether this program committed entry `seq` itself (through this open database)."""
        return seq in self._database.own_entries

    def wakeups(self) -> PostgresWakeups | SqliteWakeups:
        url = self._database.url
        where = describe(url)
        if is_sqlite(url):
            path = make_url(url).database
            if not path:
                raise StorageError(f"The change feed of {where} needs a database file.")
            return SqliteWakeups(path, where)
        engine = self._database.engine
        _, dialect_arguments = engine.dialect.create_connect_args(engine.url)
        # The connection settings only (the dialect adds Python objects, such as an adapters map).
        arguments = {key: value for key, value in dialect_arguments.items() if isinstance(value, str | int)}
        arguments.setdefault("connect_timeout", CONNECT_TIMEOUT_S)
        arguments["application_name"] = APPLICATION_NAME
        return PostgresWakeups(psycopg.conninfo.make_conninfo("", **arguments), where)
