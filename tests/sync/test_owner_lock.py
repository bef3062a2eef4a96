"""The office's sync ownership on PostgreSQL (sync.engine.lock.OwnerLock over a real server): one
owner at a time, the next one named who has it, and a lost lock connection is lost ownership."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import make_url

from app.domain.time import FixedClock
from app.services.sync_owner import SyncOwnerService
from storage.database import Database, open_database
from storage.session_lock import SessionLock
from sync.engine.errors import EngineLocked
from sync.engine.lock import OwnerLock, sync_lock_for


@pytest.fixture
def database(pg_url: str) -> Iterator[Database]:
    opened = open_database(pg_url)
    try:
        yield opened
    finally:
        opened.dispose()


def _owner(database: Database, clock: FixedClock, pid: int) -> OwnerLock:
    return OwnerLock(database.unit_of_work, clock, SessionLock(database.url), pid=pid, host="office-pc")


def _cut(url: str, pid: int) -> None:
    """End the server's session of the lock connection whose backend is `pid`, as a network cut would."""
    parsed = make_url(url)
    with psycopg.connect(
        host=parsed.host, port=parsed.port, user=parsed.username, dbname=parsed.database, autocommit=True
    ) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))


def _backend(url: str) -> int:
    parsed = make_url(url)
    with psycopg.connect(
        host=parsed.host, port=parsed.port, user=parsed.username, dbname=parsed.database, autocommit=True
    ) as admin:
        row = admin.execute(
            "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted AND database = "
            "(SELECT oid FROM pg_database WHERE datname = current_database())"
        ).fetchone()
    assert row is not None
    return int(row[0])


def test_one_owner_at_a_time_and_the_next_takes_over_when_it_lets_go(
    database: Database, clock: FixedClock
) -> None:
    first, second = _owner(database, clock, 101), _owner(database, clock, 202)
    first.acquire()
    with pytest.raises(EngineLocked) as refused:
        second.acquire()
    assert refused.value.holder == "crewboard serve (pid 101 on host office-pc)"
    owner = SyncOwnerService(database.unit_of_work, clock).current()
    assert owner is not None and owner.pid == 101 and owner.since == clock.now()

    first.release()
    second.acquire()
    owner = SyncOwnerService(database.unit_of_work, clock).current()
    assert owner is not None and owner.pid == 202
    second.release()
    assert SyncOwnerService(database.unit_of_work, clock).current() is None


def test_a_cut_lock_connection_is_lost_ownership_at_the_next_check(
    database: Database, clock: FixedClock
) -> None:
    owner, standby = _owner(database, clock, 101), _owner(database, clock, 202)
    owner.acquire()
    assert owner.check()
    _cut(database.url, _backend(database.url))
    assert not owner.check() and not owner.held  # it stops syncing from here on
    standby.acquire()  # the server let go of the lock with the session: the standby takes it
    with pytest.raises(EngineLocked) as refused:
        owner.ensure()  # the old owner's next round finds it taken, and who by
    assert refused.value.holder == "crewboard serve (pid 202 on host office-pc)"
    standby.release()


def test_sqlite_keeps_its_lock_row(tmp_path: Path, clock: FixedClock) -> None:
    url = f"sqlite:///{tmp_path / 'desk.db'}"
    database = open_database(url)
    try:
        lock = sync_lock_for(url, database.unit_of_work, clock, "crewboard sync")
        assert not isinstance(lock, OwnerLock)
        lock.acquire()
        assert lock.held
        lock.release()
    finally:
        database.dispose()
