"""The engine's poll round with push first: quiet calendars with live channels wait for notices.

Time is the world's injected clock; `run_due` is one poll round as `run_forever` runs it.
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Any

from app.domain.model import Calendar
from app.domain.time import Interval
from sync.engine import SyncEngine
from sync.providers.protocol import ChangeBatch
from tests.sync.conftest import NOW, PRIMARY, SECOND, World, timed

ROUND = timedelta(seconds=10)


def count_reads(world: World) -> Counter[str]:
    """Counts read_changes per remote calendar id on the tech's phone."""
    reads: Counter[str] = Counter()
    phone = world.phone
    original = phone.read_changes

    async def counted(calendar: Calendar, cursor: str | None, window: Interval) -> ChangeBatch:
        reads[calendar.remote_id] += 1
        return await original(calendar, cursor, window)

    phone.read_changes = counted  # type: ignore[method-assign]
    return reads


def channels_live(world: World, engine: SyncEngine) -> None:
    for calendar in (world.tech.primary, world.tech.second):
        engine.polls.renewed(calendar.id, world.clock.now() + timedelta(days=7))


async def rounds(world: World, engine: SyncEngine, count: int, **_: Any) -> None:
    for _index in range(count):
        world.clock.advance(ROUND)
        await engine.run_due()


async def test_a_quiet_calendar_with_a_live_channel_is_checked_every_few_minutes(
    world: World, engine: SyncEngine
) -> None:
    reads = count_reads(world)
    await engine.run_once()
    channels_live(world, engine)
    await rounds(world, engine, 18)  # three minutes of 10 s rounds
    assert reads == Counter({PRIMARY: 1, SECOND: 1})
    await rounds(world, engine, 18)  # six minutes: past the 4-6 min check
    assert reads == Counter({PRIMARY: 2, SECOND: 2})


async def test_without_push_every_round_reads_every_calendar(world: World, engine: SyncEngine) -> None:
    reads = count_reads(world)
    await engine.run_once()
    await rounds(world, engine, 6)
    assert reads == Counter({PRIMARY: 7, SECOND: 7})


async def test_a_notice_reads_at_once_and_the_change_is_stored(world: World, engine: SyncEngine) -> None:
    reads = count_reads(world)
    await engine.run_once()
    channels_live(world, engine)
    world.clock.advance(timedelta(seconds=3))
    start = NOW + timedelta(days=1)
    world.phone.add_event(PRIMARY, timed(start, 60), title="Dentist")
    engine.polls.noticed(world.tech.primary.id)
    engine.request_read(world.tech.primary.id)
    await engine._run_requested()
    assert reads == Counter({PRIMARY: 2, SECOND: 1})
    with world.uow() as uow:
        blocks = uow.busy.for_techs([world.tech.tech.id], Interval(NOW, NOW + timedelta(days=2)))
    assert [b.title for b in blocks] == ["Dentist"]
    await rounds(world, engine, 6)
    assert engine.polls.live(world.tech.primary.id)  # the notice explained the change
    assert reads == Counter({PRIMARY: 2, SECOND: 1})


async def test_a_failed_renewal_returns_the_calendar_to_the_fast_poll_at_once(
    world: World, engine: SyncEngine
) -> None:
    reads = count_reads(world)
    await engine.run_once()
    channels_live(world, engine)
    await rounds(world, engine, 3)
    assert reads[PRIMARY] == 1
    engine.polls.failed(world.tech.primary.id)
    await rounds(world, engine, 1)
    assert reads == Counter({PRIMARY: 2, SECOND: 1})
    await rounds(world, engine, 2)
    assert reads == Counter({PRIMARY: 4, SECOND: 1})


async def test_a_change_the_channel_never_announced_returns_the_calendar_to_the_fast_poll(
    world: World, engine: SyncEngine
) -> None:
    reads = count_reads(world)
    await engine.run_once()
    channels_live(world, engine)
    world.phone.add_event(PRIMARY, timed(NOW + timedelta(days=1), 60), title="Dentist")  # no notice
    await rounds(world, engine, 36)  # the safety-net check finds it within six minutes
    assert not engine.polls.live(world.tech.primary.id)
    assert engine.polls.live(world.tech.second.id)
    before = reads[PRIMARY]
    await rounds(world, engine, 3)
    assert reads[PRIMARY] == before + 3
