"""Crash safety at the store, through the CLI: a database locked by another program and a full disk.

Each failure reaches the dispatcher as one sentence on stderr with a non-zero exit and no traceback,
and leaves no booking, customer, outbox row or audit entry half-written. (A sync killed mid-round is
covered by the soak, tests/reliability/test_soak_short.py and `make soak`.)
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event

from tests.cli.conftest import Result, _cli_env, cli

__all__ = ["_cli_env", "cli"]

Cli = Callable[..., Result]
TABLES = ("bookings", "customers", "outbox", "audit_log")


@pytest.fixture
def office(cli: Cli, tmp_path: Path) -> Path:
    added = cli("tech", "add", "Maria Lopez", "--email", "maria@example.com", "--timezone", "America/Chicago")
    assert added.code == 0, added.err
    booked = _book(cli, "Before")
    assert booked.code == 0, booked.err
    return tmp_path / "cli.db"


def _book(cli: Cli, customer: str, notes: str = "") -> Result:
    return cli(
        "book", "--tech", "Maria Lopez", "--customer", customer, "--service", "AC repair",
        "--start", "2030-11-05T09:00", "--duration", "60", "--force", *(("--notes", notes) if notes else ()),
    )  # fmt: skip


def _counts(db: Path) -> dict[str, int]:
    with contextlib.closing(sqlite3.connect(db)) as conn:
        return {table: conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0] for table in TABLES}


def _one_sentence(result: Result) -> str:
    text = result.err.strip()
    assert result.code != 0
    assert "Traceback" not in result.err and result.out == ""
    assert text.startswith("crewboard: ") and "\n" not in text and text.endswith(".")
    return text


@contextlib.contextmanager
def _write_lock(db: Path) -> Iterator[None]:
    """Another program holding SQLite's write lock on the database for as long as the block runs."""
    other = sqlite3.connect(db, isolation_level=None, timeout=1)
    try:
        other.execute("BEGIN IMMEDIATE")
        other.execute("UPDATE technicians SET name = name")
        yield
    finally:
        other.execute("ROLLBACK")
        other.close()


@pytest.mark.slow
def test_a_locked_database_gets_one_sentence_and_writes_nothing(cli: Cli, office: Path) -> None:
    before = _counts(office)
    with _write_lock(office):
        refused = _book(cli, "Locked Out")
    text = _one_sentence(refused)
    assert "locked by another program" in text
    assert _counts(office) == before
    again = _book(cli, "Locked Out")  # the lock is gone: the same booking goes through whole
    assert again.code == 0, again.err
    after = _counts(office)
    assert after["bookings"] == before["bookings"] + 1 and after["customers"] == before["customers"] + 1


@pytest.fixture
def full_disk(office: Path) -> Iterator[Callable[[bool], None]]:
    """Every new SQLite connection capped at the database's current size (PRAGMA max_page_count)."""
    state = {"full": False}

    def on_connect(dbapi_connection: Any, record: Any) -> None:
        if state["full"] and isinstance(dbapi_connection, sqlite3.Connection):
            pages = dbapi_connection.execute("PRAGMA page_count").fetchone()[0]
            dbapi_connection.execute(f"PRAGMA max_page_count = {pages}")

    event.listen(Engine, "connect", on_connect)

    def set_full(full: bool) -> None:
        state["full"] = full

    yield set_full
    event.remove(Engine, "connect", on_connect)


def test_a_full_disk_gets_one_sentence_and_writes_nothing(
    cli: Cli, office: Path, full_disk: Callable[[bool], None]
) -> None:
    before = _counts(office)
    full_disk(True)
    refused = _book(cli, "No Room", notes="x" * 200_000)  # needs new pages the disk has no room for
    text = _one_sentence(refused)
    assert "is full" in text
    assert _counts(office) == before
    with contextlib.closing(sqlite3.connect(office)) as conn:
        assert conn.execute("SELECT count(*) FROM customers WHERE name = 'No Room'").fetchone()[0] == 0
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    full_disk(False)
    again = _book(cli, "No Room", notes="x" * 200_000)
    assert again.code == 0, again.err
    assert _counts(office)["bookings"] == before["bookings"] + 1
