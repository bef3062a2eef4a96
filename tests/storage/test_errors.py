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


@pytest.mark.parametrize(
    ("message", "sentence"),
    [
        (
            'connection failed: connection to server at "10.0.0.5", port 5432 failed: Connection refused\n'
            "\tIs the server running on that host and accepting TCP/IP connections?",
            "The database cannot be reached; check that its PostgreSQL server is running "
            "and that the host name and port are right.",
        ),
        (
            "failed to resolve host 'db.office': [Errno -2] Name or service not known",
            "The database cannot be reached; check that its PostgreSQL server is running "
            "and that the host name and port are right.",
        ),
        (
            'connection failed: connection to server at "10.0.0.5", port 5432 failed: '
            'FATAL:  password authentication failed for user "ana"',
            "The database refused the login; check the user name and password (in the URL or in ~/.pgpass).",
        ),
        (
            'connection failed: connection to server at "10.0.0.5", port 5432 failed: FATAL:  role "zed" does not exist',
            "The database refused the login; check the user name and password (in the URL or in ~/.pgpass).",
        ),
        (
            'connection failed: connection to server at "10.0.0.5", port 5432 failed: '
            'FATAL:  database "crewbord" does not exist',
            "The database does not exist on its server; check its name or create it (createdb NAME).",
        ),
        (
            "consuming input failed: server closed the connection unexpectedly",
            "The connection to the database was lost; check the network and try again.",
        ),
        ("canceling statement due to lock timeout", "The database is locked by another program; close it and try again."),
    ],
)  # fmt: skip
def test_postgresql_failures_read_as_sentences(message: str, sentence: str) -> None:
    error = storage_error_for(OSError(message))
    assert error is not None
    assert str(error) == sentence


def test_a_missing_table_on_postgresql_is_a_bug_not_a_missing_database() -> None:
    assert storage_error_for(OSError('relation "bookings" does not exist')) is None
    assert storage_error_for(OSError('column "finish" does not exist')) is None


def test_the_location_is_named_when_known() -> None:
    error = storage_error_for(sqlite3.OperationalError("database or disk is full"), "/srv/crewboard.db")
    assert error is not None
    assert (
        str(error)
        == "The disk holding the database /srv/crewboard.db is full; free some space and try again."
    )


def test_bugs_are_not_translated() -> None:
    assert storage_error_for(sqlite3.IntegrityError("UNIQUE constraint failed: outbox.id")) is None
    assert storage_error_for(sqlite3.OperationalError("no such column: bookings.finish")) is None
