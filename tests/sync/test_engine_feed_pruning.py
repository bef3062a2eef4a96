"""The engine that owns sync prunes the change feed between its rounds; one that stands by never does."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from app.bus import Bus
from app.domain.ids import new_id
from app.domain.model import CalendarAccount
from app.domain.time import FixedClock
from storage import Database, open_database
from sync.engine import SyncEngine
from sync.engine.feed_pruning import Call, FeedPruner
from sync.engine.lock import EngineLock
from tests.sync.conftest import NOW

STEP_LIMIT_S = 30  # bounds the wait only so that a broken build cannot hang


class _Telling(FeedPruner):
    """A pruner that says when the engine has asked for its upkeep (after a round)."""

    def __init__(self, database: Database, clock: FixedClock, **options: Any) -> None:
        super().__init__(database.unit_of_work, clock, **options)
        self.asked = asyncio.Event()

    async def upkeep(self, owner: bool, call: Call) -> None:
        await super().upkeep(owner, call)
        self.asked.set()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture
def dated(tmp_path: Path, clock: FixedClock) -> Iterator[Database]:
    """A store whose feed entries are dated by `clock`; no calendars, so a round only takes the lock."""
    database = open_database(f"sqlite:///{tmp_path / 'crewboard.db'}", clock=clock)
    yield database
    database.dispose()


def _no_provider(account: CalendarAccount) -> Any:
    raise AssertionError("no calendar is connected")


def _engine(database: Database, clock: FixedClock, pid: int) -> SyncEngine:
    lock = EngineLock(database.unit_of_work, clock, "crewboard sync", pid=pid, host="office-pc")
    return SyncEngine(database.unit_of_work, _no_provider, clock, Bus(), poll_seconds=3600, lock=lock)


def _write(database: Database, count: int) -> list[int]:
    numbers = []
    for _ in range(count):
        with database.unit_of_work() as uow:
            uow.settings.put("office.name", f"Harbor HVAC {new_id()}")
            uow.commit()
            numbers.append(uow.changes.last_seq())
    return numbers


def _kept(database: Database) -> list[int]:
    with database.unit_of_work(read_only=True) as uow:
        return [change.seq for change in uow.changes.since(0, 10_000)]


async def _first_round(engine: SyncEngine, pruner: _Telling) -> None:
    """Run `engine` until its first round asked for the upkeep."""
    stop = asyncio.Event()
    runner = asyncio.create_task(engine.run_forever(stop))
    try:
        await asyncio.wait_for(pruner.asked.wait(), STEP_LIMIT_S)
    finally:
        stop.set()
        await runner


async def test_the_owner_prunes_the_feed_between_rounds(dated: Database, clock: FixedClock) -> None:
    old = _write(dated, 8)
    clock.advance(timedelta(days=2))
    recent = _write(dated, 2)
    engine = _engine(dated, clock, pid=1)
    pruner = engine.feed_pruner = _Telling(dated, clock, keep=1, batch=3)
    try:
        await _first_round(engine, pruner)
    finally:
        await engine.aclose()
    assert pruner.batches == 3  # 3 + 3 + 2 old entries, one short transaction each
    kept = _kept(dated)
    assert kept[0] == old[-1] + 1 == recent[0]
    assert kept == list(range(kept[0], kept[0] + len(kept)))  # unbroken, up to the round's own entries


async def test_an_engine_standing_by_leaves_the_feed_alone(dated: Database, clock: FixedClock) -> None:
    owner = _engine(dated, clock, pid=1)
    standby = _engine(dated, clock, pid=2)
    try:
        await owner.run_once()  # takes the lock, and keeps it (a heartbeat is fresh for a minute)
        numbers = _write(dated, 5)
        clock.advance(timedelta(seconds=30))
        pruner = standby.feed_pruner = _Telling(dated, clock, keep=1, batch=3, retention=timedelta(0))
        await _first_round(standby, pruner)
        assert standby.locked_by == owner.holder
    finally:
        await owner.aclose()
        await standby.aclose()
    assert pruner.batches == 0
    assert _kept(dated)[-len(numbers) :] == numbers
    assert len(_kept(dated)) > len(numbers)  # nothing older went either
