"""Following the change feed: another program's commits arrive in order, also after a lost connection."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from types import TracebackType

import psycopg
import pytest

from app.domain.changes import Change, ChangeKind
from app.domain.time import FixedClock
from app.errors import StorageError
from app.services.change_feed import BATCH, ChangeFeedListener, FeedWakeups, FollowTiming
from app.services.container import Services
from storage import Database, open_database
from storage.engine import is_postgresql
from storage.feed_watch import APPLICATION_NAME, StoreFeed

# Long enough that only a wake-up (never the heartbeat) can explain a prompt delivery; the
# per-step wait_for bounds only keep a broken build from hanging.
SLOW_HEARTBEAT = FollowTiming(heartbeat_s=300.0, retry_s=0.01, retry_max_s=0.05)
STEP_LIMIT_S = 30


@pytest.fixture
def other_desk(db_url: str, clock: FixedClock) -> Iterator[Services]:
    """The use cases of a second program on the same store (its own engine and connections)."""
    database = open_database(db_url, desk="front-desk")
    try:
        yield Services.build(database.unit_of_work, clock)
    finally:
        database.dispose()


@pytest.fixture
def this_desk(db_url: str) -> Iterator[Database]:
    database = open_database(db_url, desk="back-office")
    try:
        yield database
    finally:
        database.dispose()


def _add_tech(services: Services, name: str) -> str:
    return services.techs.add(name, f"{name.split()[0].lower()}@example.com", "America/Chicago").id


async def _next(changes: AsyncIterator[list[Change]]) -> list[Change]:
    return await asyncio.wait_for(anext(changes), STEP_LIMIT_S)


class _Watched:
    """The store's feed, telling the test when the listener has started waiting for a wake-up."""

    def __init__(self, store: StoreFeed) -> None:
        self._store = store
        self.waiting = asyncio.Event()

    def last_seq(self) -> int:
        return self._store.last_seq()

    def since(self, seq: int, limit: int = BATCH) -> list[Change]:
        return self._store.since(seq, limit)

    def written_here(self, seq: int) -> bool:
        return self._store.written_here(seq)

    def wakeups(self) -> FeedWakeups:
        return _Telling(self._store.wakeups(), self.waiting)


class _Telling:
    def __init__(self, inner: FeedWakeups, waiting: asyncio.Event) -> None:
        self._inner = inner
        self._waiting = waiting

    async def __aenter__(self) -> _Telling:
        await self._inner.__aenter__()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._inner.__aexit__(exc_type, exc, tb)

    async def wait(self, timeout: float) -> bool:
        self._waiting.set()
        return await self._inner.wait(timeout)


async def test_a_commit_elsewhere_wakes_the_waiting_listener(
    this_desk: Database, other_desk: Services
) -> None:
    store = _Watched(StoreFeed(this_desk))
    listener = ChangeFeedListener(store, SLOW_HEARTBEAT)
    changes = listener.follow()
    first = asyncio.ensure_future(_next(changes))
    await asyncio.wait_for(store.waiting.wait(), STEP_LIMIT_S)
    tech_id = await asyncio.to_thread(_add_tech, other_desk, "Ana Ruiz")
    batch = await first
    assert [(c.kind, c.item_id, c.desk) for c in batch] == [(ChangeKind.TECH, tech_id, "front-desk")]
    await changes.aclose()


async def test_entries_written_while_nobody_reads_arrive_in_order(
    this_desk: Database, other_desk: Services
) -> None:
    listener = ChangeFeedListener(StoreFeed(this_desk), SLOW_HEARTBEAT)
    start = await listener.last_seq()
    ids = [await asyncio.to_thread(_add_tech, other_desk, f"Tech {n}") for n in range(5)]
    changes = listener.follow(since=start)
    batch = await _next(changes)
    assert [c.item_id for c in batch] == ids
    assert [c.seq for c in batch] == list(range(start + 1, start + 6))
    await changes.aclose()


class _CutOnce:
    """The store's feed, whose first wake-up source fails as a dropped connection would."""

    def __init__(self, store: StoreFeed) -> None:
        self._store = store
        self.cut = asyncio.Event()
        self.waiting = asyncio.Event()
        self._cuts_left = 1

    def last_seq(self) -> int:
        return self._store.last_seq()

    def since(self, seq: int, limit: int = BATCH) -> list[Change]:
        return self._store.since(seq, limit)

    def written_here(self, seq: int) -> bool:
        return self._store.written_here(seq)

    def wakeups(self) -> FeedWakeups:
        if self._cuts_left:
            self._cuts_left -= 1
            return _Failing(self.cut, self.waiting)
        return self._store.wakeups()


class _Failing:
    def __init__(self, cut: asyncio.Event, waiting: asyncio.Event) -> None:
        self._cut = cut
        self._waiting = waiting

    async def __aenter__(self) -> _Failing:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        return None

    async def wait(self, timeout: float) -> bool:
        self._waiting.set()
        await self._cut.wait()
        raise StorageError("The change feed of the test store cannot be read (connection cut).")


async def test_a_lost_feed_reconnects_and_catches_up(this_desk: Database, other_desk: Services) -> None:
    store = _CutOnce(StoreFeed(this_desk))
    heard: list[StorageError | None] = []
    listener = ChangeFeedListener(store, SLOW_HEARTBEAT, on_connection=heard.append)
    changes = listener.follow(since=await listener.last_seq())
    pending = asyncio.ensure_future(_next(changes))
    await asyncio.wait_for(store.waiting.wait(), STEP_LIMIT_S)
    missed = [await asyncio.to_thread(_add_tech, other_desk, f"Missed {n}") for n in range(3)]
    # The listener read before these commits and waits; its wake-up source dies without a notice.
    store.cut.set()
    batch = await pending
    assert [c.item_id for c in batch] == missed
    assert [type(problem) for problem in heard] == [StorageError, type(None)]
    later = await asyncio.to_thread(_add_tech, other_desk, "After the cut")
    assert [c.item_id for c in await _next(changes)] == [later]
    await changes.aclose()


async def test_postgresql_listener_survives_its_connection_being_killed(
    this_desk: Database, other_desk: Services
) -> None:
    if not is_postgresql(this_desk.url):
        pytest.skip("only PostgreSQL has a connection of its own to kill")
    listener = ChangeFeedListener(StoreFeed(this_desk), SLOW_HEARTBEAT)
    changes = listener.follow(since=await listener.last_seq())
    pending = asyncio.ensure_future(_next(changes))
    admin_url = this_desk.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(admin_url, autocommit=True) as admin:
        while not _kill_feed_connections(admin):
            await asyncio.sleep(0.01)  # the listener connects in the background
    missed = await asyncio.to_thread(_add_tech, other_desk, "While reconnecting")
    assert [c.item_id for c in await pending] == [missed]
    await changes.aclose()


def _kill_feed_connections(admin: psycopg.Connection[tuple[object, ...]]) -> int:
    killed = admin.execute(
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
        "WHERE application_name = %s AND datname = current_database()",
        (APPLICATION_NAME,),
    ).fetchone()
    return int(str(killed[0])) if killed else 0


async def test_sqlite_wakes_for_a_file_whose_path_holds_uri_characters(tmp_path: Path) -> None:
    folder = tmp_path / "office #1? 50%"
    folder.mkdir()
    path = str(folder / "crewboard.db")
    here, there = open_database(path, desk="back-office"), open_database(path, desk="front-desk")
    try:
        async with StoreFeed(here).wakeups() as wakeups:
            assert await wakeups.wait(0.0) is False
            with there.unit_of_work() as uow:
                uow.settings.put("office.name", "Harbor HVAC")
                uow.commit()
            assert await wakeups.wait(STEP_LIMIT_S) is True
    finally:
        here.dispose()
        there.dispose()
