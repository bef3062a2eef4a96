"""Wiring for headless commands: open the store and build the use cases on top of it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from app.services.container import Services


@contextmanager
def open_services(db_url: str | None) -> Iterator[Services]:
    """Services over the database named by `--db`, CREWBOARD_DB or the default; closed on exit."""
    from storage.database import database_url, open_database

    database = open_database(database_url(db_url))
    try:
        yield Services.build(database.unit_of_work)
    finally:
        database.dispose()
