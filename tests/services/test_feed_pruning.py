"""A feed pruned behind a listener: the owner prunes in short batches, and whoever fell behind is told
to re-read everything (a desk's screens, `crewboard changes`, the service's flush) rather than skip."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta

import pytest

from app.bus import AccountsChanged, Bus, BusyChanged, Event, HealthChanged, NotificationAdded, TechsChanged
from app.domain.changes import Change
from app.domain.ids import NotificationId, new_id
from app.domain.model import Audience, Notification
from app.domain.time import FixedClock
from app.services.change_feed import ChangeFeedListener, FollowTiming, Missed
from app.services.container import Services
from app.services.feed_relay import FeedRelay
from storage import Database, open_database
from storage.feed_watch import StoreFeed
from sync.engine.feed_pruning import FeedPruner
from sync.feed_wake import FeedWake
from tests.storage.conftest import T0, account

DAY = timedelta(hours=24)
QUIET = FollowTiming(heartbeat_s=300.0)  # only a commit (never the heartbeat) delivers promptly
STEP_LIMIT_S = 30  # bounds each step only so that a broken build cannot hang


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(T0)


@dataclass(frozen=True, slots=True)
class Desks:
    here: Services  # this program: follows the feed
    here_db: Database
    there: Services  # another program writing to the same store
    there_db: Database


@pytest.fixture
def desks(db_url: str, clock: FixedClock) -> Iterator[Desks]:
    """Two programs on one store; both date their feed entries by `clock`."""
    here_db = open_database(db_url, desk="back-office", clock=clock)
    there_db = open_database(db_url, desk="front-desk", clock=clock)
    try:
        yield Desks(
            Services.build(here_db.unit_of_work, clock, Bus(), feed=StoreFeed(here_db)),
            here_db,
            Services.build(there_db.unit_of_work, clock, Bus(), feed=StoreFeed(there_db)),
            there_db,
        )
    finally:
        here_db.dispose()
        there_db.dispose()


def _write(db: Database, count: int) -> list[int]:
    """`count` commits of one entry each, from `db`'s program; their numbers."""
    numbers = []
    for _ in range(count):
        with db.unit_of_work() as uow:
            uow.settings.put("office.name", f"Harbor HVAC {new_id()}")
            uow.commit()
            numbers.append(uow.changes.last_seq())
    return numbers


def _kept(db: Database) -> list[int]:
    with db.unit_of_work(read_only=True) as uow:
        return [change.seq for change in uow.changes.since(0, 10_000)]


class _Calls:
    """The engine's database thread, as the pruner sees it: counts each transaction it ran."""

    def __init__(self) -> None:
        self.deleted: list[int] = []

    async def __call__(self, work: Callable[[], int]) -> int:
        deleted = await asyncio.to_thread(work)
        self.deleted.append(deleted)
        return deleted


async def test_the_owner_prunes_in_short_batches_spread_over_rounds(desks: Desks, clock: FixedClock) -> None:
    numbers = _write(desks.there_db, 23)
    clock.advance(DAY * 2)
    pruner = FeedPruner(desks.here.uow, clock, keep=1, batch=5, max_batches=2, every=timedelta(minutes=10))
    calls = _Calls()
    await pruner.upkeep(False, calls)  # a program that does not own sync never prunes
    assert calls.deleted == []
    await pruner.upkeep(True, calls)
    assert calls.deleted == [5, 5]  # one transaction per batch, at most two a round
    assert pruner.due()  # more is due: the next round goes on
    await pruner.upkeep(True, calls)
    await pruner.upkeep(True, calls)
    assert calls.deleted == [5, 5, 5, 5, 2]
    assert _kept(desks.here_db) == numbers[-1:]
    assert not pruner.due()  # done until the next prune is due
    await pruner.upkeep(True, calls)
    assert len(calls.deleted) == 5
    clock.advance(timedelta(minutes=10))
    assert pruner.due()


async def test_a_listener_behind_the_prune_is_told_before_the_oldest_kept(
    desks: Desks, clock: FixedClock
) -> None:
    numbers = _write(desks.there_db, 6)
    clock.advance(DAY * 2)
    recent = _write(desks.there_db, 2)
    pruner = FeedPruner(desks.here.uow, clock, keep=1)
    assert await pruner.prune(_Calls()) == len(numbers)
    assert desks.here.feed is not None
    follower = ChangeFeedListener(desks.here.feed, QUIET).follow(since=numbers[2])
    try:
        gap = await asyncio.wait_for(anext(follower), STEP_LIMIT_S)
        assert gap == Missed(after=numbers[2], oldest=recent[0])
        batch = await asyncio.wait_for(anext(follower), STEP_LIMIT_S)
        assert isinstance(batch, list)
        assert [change.seq for change in batch] == recent  # then the oldest kept, in order
    finally:
        await follower.aclose()


async def test_a_listener_that_rereads_everything_skips_to_the_newest(
    desks: Desks, clock: FixedClock
) -> None:
    _write(desks.there_db, 4)
    clock.advance(DAY * 2)
    recent = _write(desks.there_db, 3)
    await _prune_all_due(desks, clock)
    assert desks.here.feed is not None
    follower = ChangeFeedListener(desks.here.feed, QUIET).follow(since=1, skip_missed=True)
    try:
        gap = await asyncio.wait_for(anext(follower), STEP_LIMIT_S)
        assert gap == Missed(after=1, oldest=recent[0])
        later = asyncio.ensure_future(anext(follower))
        newer = await asyncio.to_thread(_write, desks.there_db, 1)
        batch = await asyncio.wait_for(later, STEP_LIMIT_S)
        assert isinstance(batch, list)
        assert [change.seq for change in batch] == newer  # nothing it re-read is told again
    finally:
        await follower.aclose()


async def _prune_all_due(desks: Desks, clock: FixedClock) -> None:
    await FeedPruner(desks.here.uow, clock, keep=1).prune(_Calls())


async def test_a_desk_behind_the_prune_reloads_every_screen(desks: Desks, clock: FixedClock) -> None:
    maria = desks.there.techs.add("Maria Lopez", "maria@example.com", "America/Chicago")
    desks.there.techs.add(
        "Sam Okafor", "sam@example.com", "America/Denver"
    )  # no calendar: no AccountsChanged
    calendar_account = account(maria.id)
    alert = Notification(
        id=NotificationId(new_id()),
        audience=Audience.DISPATCHER,
        recipient="dispatch@example.com",
        subject="Maria Lopez's calendar cannot be reached",
        body="Since 09:00.",
        created=T0,
    )
    with desks.there.uow() as uow:
        uow.accounts.add(calendar_account)
        uow.notifications.add(alert)
        uow.commit()
    assert desks.here.feed is not None
    asleep_since = desks.here.feed.last_seq()
    _write(desks.there_db, 3)  # what the desk slept through
    clock.advance(DAY * 2)
    _write(desks.there_db, 1)
    await _prune_all_due(desks, clock)

    heard: asyncio.Queue[Event] = asyncio.Queue()
    for kind in (TechsChanged, BusyChanged, AccountsChanged, HealthChanged, NotificationAdded):
        desks.here.bus.subscribe(kind, heard.put_nowait)  # published on the relay's loop
    relay = asyncio.ensure_future(
        FeedRelay(desks.here.feed, desks.here.uow, desks.here.bus, QUIET).run(asleep_since)
    )
    try:
        told = [await asyncio.wait_for(heard.get(), STEP_LIMIT_S) for _ in range(4)]
    finally:
        relay.cancel()
        with pytest.raises(asyncio.CancelledError):
            await relay
    assert told == [
        TechsChanged(()),  # naming no tech: any tech, so the board reads everything again
        BusyChanged(()),
        AccountsChanged(maria.id),
        NotificationAdded(alert.id),
    ]
    assert heard.empty()


def test_the_service_behind_the_prune_flushes_every_queued_write(desks: Desks) -> None:
    assert desks.here.feed is not None
    wake = FeedWake(desks.here.feed, lambda: None)
    assert wake.wants_flush(Missed(after=3, oldest=40))
    assert not wake.wants_flush(list[Change]())
