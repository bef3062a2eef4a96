"""What the benchmarks that run on both stores share: a PostgreSQL database, and a row per store."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import TypeVar

from tests.bench.common import Figure
from tests.pg import fresh_database, migrate_template, start_server, stopped_if_we_die

T = TypeVar("T")


@contextlib.contextmanager
def postgresql_database() -> Iterator[str]:
    """The URL of a fresh, migrated database on a PostgreSQL server started for the bench (and
    stopped after it, even when the bench itself is killed)."""
    server = start_server()
    try:
        with stopped_if_we_die(server):
            migrate_template(server)
            with fresh_database(server) as url:
                yield url
    finally:
        server.stop()


def row_for(
    store: str, measure: Callable[[], T], figure: Callable[[str, T | None, str | None], Figure]
) -> Figure:
    """The store's row: `figure` of what `measure` found, or of nothing and why, when it failed (a
    broken run leaves its row, marked, not a crash)."""
    try:
        found = measure()
    except Exception as error:
        return figure(store, None, f"{type(error).__name__}: {error}")
    return figure(store, found, None)
