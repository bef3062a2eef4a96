"""The engine as it runs: one per database, flushing at once on a booking change, reading on request."""

from __future__ import annotations

import asyncio
import threading
from datetime import timedelta

import pytest

from app.bus import BusyChanged
from app.domain.time import Interval
from sync.engine import EngineLocked, SyncEngine
from sync.engine.lock import EngineLock
from tests.sync.conftest import NOW, PRIMARY, World, timed


def desktop_lock(world: World, pid: int = 4242) -> EngineLock:
    return EngineLock(
        world.database.unit_of_work, world.clock, "Crewboard desktop", pid=pid, host="office-pc"
    )


async def test_a_second_engine_stays_read_only_and_names_the_holder(world: World, engine: SyncEngine) -> None:
    booking = world.book()
    await engine.run_once()
    other = world.engine(lock=desktop_lock(world))
    world.services.bookings.move(booking.id, NOW + timedelta(hours=5))

    with pytest.raises(EngineLocked) as raised:
        await other.run_once()
    assert engine.holder in str(raised.value)
    assert "read-only" in str(raised.value)
    assert other.locked_by == engine.holder
    assert world.booking_events()[0].when.start != NOW + timedelta(hours=5)  # it wrote nothing

    # The holder stops: the other takes over.
    await engine.aclose()
    await other.run_once()
    assert world.booking_events()[0].when.start == NOW + timedelta(hours=5)
    assert other.locked_by is None


async def test_a_lock_whose_heartbeat_stopped_goes_stale(world: World) -> None:
    first = world.engine(lock=desktop_lock(world, pid=1))
    second = world.engine(lock=desktop_lock(world, pid=2))
    await first.run_once()
    world.clock.advance(timedelta(seconds=30))
    with pytest.raises(EngineLocked):
        await second.run_once()
    world.clock.advance(timedelta(seconds=31))  # more than a minute since the last heartbeat
    await second.run_once()
    with pytest.raises(EngineLocked) as raised:
        await first.run_once()  # its lock was taken: it says so instead of syncing on
    assert "pid 2 on host office-pc" in str(raised.value)


async def test_the_holder_keeps_its_lock_alive(world: World) -> None:
    first = world.engine(lock=desktop_lock(world, pid=1))
    second = world.engine(lock=desktop_lock(world, pid=2))
    for _ in range(6):
        await first.run_once()  # a round every 20 s renews the heartbeat
        world.clock.advance(timedelta(seconds=20))
    with pytest.raises(EngineLocked):
        await second.run_once()


async def test_run_forever_flushes_at_once_and_reads_on_request(world: World) -> None:
    engine = world.engine(poll_seconds=3600)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    busy_seen = asyncio.Event()
    world.bus.subscribe(BusyChanged, lambda _e: loop.call_soon_threadsafe(busy_seen.set))
    runner = asyncio.create_task(engine.run_forever(stop))
    try:
        await asyncio.wait_for(busy_seen.wait(), 10)  # the first round read the calendars

        # A booking saved on another thread (as the GUI's worker does) goes out without a poll.
        saved = threading.Thread(target=world.book)
        saved.start()
        saved.join()
        await asyncio.wait_for(world.phone.wrote.wait(), 10)
        assert len(world.booking_events()) == 1
        busy_seen.clear()

        # A push notice asks for one calendar: the new event blocks without waiting for the poll.
        world.phone.add_event(PRIMARY, timed(NOW + timedelta(days=1)), title="Dentist")
        threading.Thread(target=engine.request_read, args=(world.tech.primary.id,)).start()
        await asyncio.wait_for(busy_seen.wait(), 10)
        with world.uow() as uow:
            blocks = uow.busy.for_techs([world.tech.tech.id], Interval(NOW, NOW + timedelta(days=3)))
        assert [b.title for b in blocks] == ["Dentist"]
    finally:
        stop.set()
        await asyncio.wait_for(runner, 10)
    with world.uow() as uow:
        assert uow.sync_lock.current() is None  # released on a clean stop
