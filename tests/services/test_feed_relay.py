"""Another program's commits reach this program's bus as the usual events; our own do not repeat."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

import pytest

from app.bus import (
    BookingChanged,
    Bus,
    BusyChanged,
    ConflictChanged,
    Event,
    TechsChanged,
)
from app.domain.ids import ConflictId, new_id
from app.domain.model import Conflict, ConflictKind, ConflictStatus
from app.domain.time import FixedClock
from app.services.bookings import NewBooking
from app.services.change_feed import FollowTiming
from app.services.container import Services
from app.services.feed_relay import ELSEWHERE, FeedRelay
from storage import Database, open_database
from storage.feed_watch import StoreFeed

AT_NINE = datetime(2026, 11, 3, 15, 0, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Desks:
    here: Services  # this program: the relay publishes on its bus
    here_db: Database
    there: Services  # another program on the same store


@pytest.fixture
def desks(db_url: str, clock: FixedClock) -> Iterator[Desks]:
    here_db = open_database(db_url, desk="back-office")
    there_db = open_database(db_url, desk="front-desk")
    try:
        yield Desks(
            Services.build(here_db.unit_of_work, clock, Bus(), feed=StoreFeed(here_db)),
            here_db,
            Services.build(there_db.unit_of_work, clock, Bus(), feed=StoreFeed(there_db)),
        )
    finally:
        here_db.dispose()
        there_db.dispose()


def _relay(desks: Desks) -> FeedRelay:
    assert desks.here.feed is not None
    return FeedRelay(desks.here.feed, desks.here.uow, desks.here.bus, FollowTiming(heartbeat_s=300.0))


def _after(desks: Desks, seq: int) -> list[Event]:
    assert desks.here.feed is not None
    return _relay(desks).events_for(desks.here.feed.since(seq))


def test_another_programs_changes_become_the_usual_events(desks: Desks) -> None:
    assert desks.here.feed is not None
    start = desks.here.feed.last_seq()
    maria = desks.there.techs.add("Maria Lopez", "maria@example.com", "America/Chicago")
    job = desks.there.bookings.create(
        NewBooking("Harbor Dental", "AC repair", timedelta(hours=1), AT_NINE, tech="Maria Lopez")
    )
    desks.there.time_off.add_span(
        "Maria Lopez", AT_NINE + timedelta(days=1), AT_NINE + timedelta(days=1, hours=2)
    )
    conflict = Conflict(ConflictId(new_id()), job.id, maria.id, ConflictKind.OVERLAP, AT_NINE)
    with desks.there.uow() as uow:
        uow.conflicts.add(conflict)
        uow.commit()
    events = _after(desks, start)
    assert events == [
        TechsChanged((maria.id,)),
        BookingChanged(job.id, (), ELSEWHERE),
        BusyChanged((maria.id,)),
        ConflictChanged(conflict.id, job.id, True),
    ]
    resolved_at = desks.here.feed.last_seq()
    with desks.there.uow() as uow:
        uow.conflicts.update(replace(conflict, status=ConflictStatus.RESOLVED))
        uow.commit()
    assert _after(desks, resolved_at) == [ConflictChanged(conflict.id, job.id, False)]


def test_our_own_commits_are_not_told_twice(desks: Desks) -> None:
    assert desks.here.feed is not None
    start = desks.here.feed.last_seq()
    desks.here.techs.add("Sam Okafor", "sam@example.com", "America/Denver")
    assert desks.here.feed.since(start)  # recorded in the feed for everybody else ...
    assert _after(desks, start) == []  # ... but this program's bus already heard it


async def test_the_relay_publishes_as_commits_arrive(desks: Desks) -> None:
    heard: asyncio.Queue[TechsChanged] = asyncio.Queue()
    loop = asyncio.get_running_loop()
    desks.here.bus.subscribe(TechsChanged, heard.put_nowait)  # published on the relay's loop
    assert desks.here.feed is not None
    relay = asyncio.ensure_future(_relay(desks).run(since=desks.here.feed.last_seq()))
    try:
        maria = await loop.run_in_executor(
            None, lambda: desks.there.techs.add("Maria Lopez", "maria@example.com", "America/Chicago")
        )
        assert await asyncio.wait_for(heard.get(), 30) == TechsChanged((maria.id,))
    finally:
        relay.cancel()
        with pytest.raises(asyncio.CancelledError):
            await relay
