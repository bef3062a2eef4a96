"""Another program holding the store's write lock, as a long sync write would, on either database."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator

import psycopg
from sqlalchemy import make_url

from storage.engine import WRITER_LOCK_KEY, is_sqlite


def libpq_url(url: str) -> str:
    """A SQLAlchemy PostgreSQL URL as psycopg itself takes it."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@contextlib.contextmanager
def write_lock_held_elsewhere(url: str) -> Iterator[None]:
    """Hold the lock every writer of `url` takes (SQLite's write lock, or the writer advisory lock)."""
    if is_sqlite(url):
        other = sqlite3.connect(make_url(url).database or "", isolation_level=None, timeout=0)
        try:
            other.execute("BEGIN IMMEDIATE")
            yield
        finally:
            other.rollback()
            other.close()
        return
    with psycopg.connect(libpq_url(url)) as connection:
        connection.execute("SELECT pg_advisory_xact_lock(%s)", (WRITER_LOCK_KEY,))
        try:
            yield
        finally:
            connection.rollback()
