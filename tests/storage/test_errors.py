"""Environmental database failures become one sentence; anything else stays a bug."""

from __future__ import annotations

import sqlite3

import pytest

from storage.errors import storage_error_for


@pytest.mark.parametrize(
    ("message", "sentence"),
    [
        ("database is locked", "The database is locked by another program; close it and try again."),
        ("database or disk is full", "The disk holding the database is full; free some space and try again."),
        (
            "attempt to write a readonly database",
            "The database is read-only; allow writing to it or open a copy.",
        ),
        ("disk I/O error", "The disk holding the database reported an error; check the disk and try again."),
    ],
)
def test_known_failures_read_as_sentences(message: str, sentence: str) -> None:
    error = storage_error_for(sqlite3.OperationalError(message))
    assert error is not None
    assert str(error) == sentence


def test_the_location_is_named_when_known() -> None:
    error = storage_error_for(sqlite3.OperationalError("database or disk is full"), "/srv/crewboard.db")
    assert error is not None
    assert (
        str(error)
        == "The disk holding the database /srv/crewboard.db is full; free some space and try again."
    )


def test_bugs_are_not_translated() -> None:
    assert (
        storage_error_for(sqlite3.IntegrityError("UNIQUE constraint failed: outbox.idempotency_key")) is None
    )
    assert storage_error_for(sqlite3.OperationalError("no such column: bookings.finish")) is None
