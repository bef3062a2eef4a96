"""The health panel's latency series come from what a real engine run records, not from fixtures."""

from __future__ import annotations

from datetime import timedelta

from app.services.sync_outcomes import READ_APPLIED, LatencyDirection, LatencySource, SyncOutcomeQueries
from sync.engine import SyncEngine
from tests.sync.conftest import NOW, PRIMARY, World, timed


def _read_records(world: World) -> list[dict[str, str]]:
    with world.uow() as uow:
        return [e.extra for e in uow.audit.recent() if e.action == READ_APPLIED]


async def test_a_calendar_change_read_by_the_engine_shows_in_the_read_series(
    world: World, engine: SyncEngine
) -> None:
    await engine.run_once()  # the first read: what is there was not changed since a read
    assert _read_records(world) == []

    world.clock.advance(timedelta(minutes=5))
    world.phone.add_event(PRIMARY, timed(NOW + timedelta(days=1)), title="Dentist")
    world.phone.add_event(PRIMARY, timed(NOW + timedelta(days=2)), title="School run")
    world.clock.advance(timedelta(seconds=40))
    await engine.run_once()

    # One record for the read that applied both changes, not one per event.
    assert len(_read_records(world)) == 1
    reads = SyncOutcomeQueries(world.database.unit_of_work, world.clock).latency().of(LatencyDirection.READ)
    assert [(s.delay, s.source, s.account_id) for s in reads] == [
        (timedelta(seconds=40), LatencySource.AUDIT, world.tech.account.id)
    ]

    world.clock.advance(timedelta(minutes=1))
    await engine.run_once()  # nothing changed: nothing recorded
    assert len(_read_records(world)) == 1


async def test_the_engines_own_writes_are_timed_from_their_outbox_row_and_not_read_back(
    world: World, engine: SyncEngine
) -> None:
    await engine.run_once()
    queued = world.clock.now()
    booking = world.book(hours=3)
    world.clock.advance(timedelta(seconds=7))
    await engine.run_once()
    world.clock.advance(timedelta(minutes=1))
    await engine.run_once()  # reads our own event back

    report = SyncOutcomeQueries(world.database.unit_of_work, world.clock).latency()
    assert [(s.delay, s.source, s.booking_id) for s in report.of(LatencyDirection.WRITE)] == [
        (timedelta(seconds=7), LatencySource.AUDIT, booking.id)
    ]
    assert report.of(LatencyDirection.READ) == ()
    with world.uow() as uow:
        [write] = [e for e in uow.audit.recent() if e.action == "sync.event_created"]
    assert write.extra["queued_at"] == queued.isoformat()
