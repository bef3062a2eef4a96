"""Wiring for headless commands: open the store and build the use cases on top of it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from app.about import AboutFacts, about_facts
from app.services.container import Services


@contextmanager
def open_services(db_url: str | None, desk: str | None = None) -> Iterator[Services]:
    """Services over the database named by `--db`, CREWBOARD_DB or the default; closed on exit.

    `desk` names this program in the change feed and the audit log (`--desk`, else CREWBOARD_DESK,
    else user@host).
    """
    from storage.database import database_url, open_database
    from storage.feed_watch import StoreFeed

    database = open_database(database_url(db_url), desk=desk)
    try:
        yield Services.build(database.unit_of_work, feed=StoreFeed(database))
    finally:
        database.dispose()


def about_store(db_url: str | None) -> AboutFacts:
    """`--version` and Help ▸ About for the store `db_url` names (else CREWBOARD_DB, settings, default)."""
    from storage.database import database_url, describe

    return about_facts(describe(database_url(db_url)))


def is_office_store(db_url: str | None) -> bool:
    """Whether the store `db_url` names (else CREWBOARD_DB, settings, default) is an office's PostgreSQL.

    On an office store the office service (`crewboard serve`) owns calendar sync; desks only write.
    """
    from storage.database import database_url
    from storage.store_choice import is_office_url

    return is_office_url(database_url(db_url))
