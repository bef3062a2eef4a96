"""A poll that finds nothing changed costs the store one cursor update for the whole round, or nothing."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from sqlalchemy import event

from app.domain.model import ConflictKind, ConflictStatus
from sync.engine import SyncEngine
from tests.sync.conftest import NOW, PRIMARY, SECOND, World, timed


@contextmanager
def statements(world: World) -> Iterator[list[tuple[str, bool]]]:
    """The SQL sent while the block runs: (statement, whether it ran for many rows)."""
    seen: list[tuple[str, bool]] = []

    def note(conn: Any, cursor: Any, statement: str, params: Any, context: Any, executemany: bool) -> None:
        seen.append((statement, executemany))

    event.listen(world.database.engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(world.database.engine, "before_cursor_execute", note)


def cursor_of(world: World, calendar_remote_id: str) -> str | None:
    tech = world.tech
    calendar_id = tech.primary.id if calendar_remote_id == PRIMARY else tech.second.id
    with world.uow() as uow:
        calendar = uow.calendars.get(calendar_id)
        assert calendar is not None
        cursor: str | None = calendar.sync_cursor
        return cursor


async def test_a_quiet_round_reads_nothing_but_cursors_and_stores_them_at_once(
    world: World, engine: SyncEngine
) -> None:
    lee = world.add_tech("Lee")
    world.phone.add_event(PRIMARY, timed(NOW + timedelta(hours=4)), title="Dentist")
    await engine.run_once()
    before = cursor_of(world, PRIMARY)

    # A change in Maria's other calendar moves her feed's position, so the primary's quiet read
    # brings a new cursor; Lee's calendars bring the cursors they had.
    world.phone.add_event(SECOND, timed(NOW + timedelta(days=2)), title="School run")
    lee.phone.add_event(SECOND, timed(NOW + timedelta(days=3)), title="Gym")
    await engine.run_once()
    with statements(world) as seen:
        await engine.run_once()
    moved = cursor_of(world, PRIMARY)
    assert moved is not None and moved != before

    per_calendar = [s for s, _ in seen if "remote_events" in s or "busy_blocks" in s]
    assert per_calendar == []  # no context fetch, no mirror, no busy-block rebuild
    assert sum("conflicts" in s for s, _ in seen) == 1  # the round's one look at open overlaps
    assert [s for s, _ in seen if s.lstrip().upper().startswith("UPDATE CALENDARS")] == []  # none moved

    # One statement stores every cursor a quiet round moved.
    world.phone.add_event(SECOND, timed(NOW + timedelta(days=4)), title="Recital")
    lee.phone.add_event(SECOND, timed(NOW + timedelta(days=5)), title="Run")
    await engine.run_once()
    world.phone.add_event(SECOND, timed(NOW + timedelta(days=6)), title="Swim")
    with statements(world) as seen:
        await engine.run_once()
    updates = [(s, many) for s, many in seen if s.lstrip().upper().startswith("UPDATE CALENDARS")]
    assert len(updates) == 2  # the quiet primary's cursor in one, the changed calendar's with its read
    assert cursor_of(world, PRIMARY) != moved


async def test_an_overlap_closes_on_a_quiet_read_when_its_job_moves_on_the_board(
    world: World, engine: SyncEngine
) -> None:
    booking = world.book(hours=3)
    await engine.run_once()
    world.phone.add_event(PRIMARY, timed(NOW + timedelta(hours=3, minutes=30)), title="Dentist")
    await engine.run_once()
    with world.uow() as uow:
        [conflict] = [c for c in uow.conflicts.open() if c.kind is ConflictKind.OVERLAP]

    # Nothing changes on the calendar; the dispatcher moves the job to the next day.
    world.services.bookings.move(booking.id, NOW + timedelta(days=1, hours=3), force=True)
    await engine.run_once()
    with world.uow() as uow:
        closed = uow.conflicts.get(conflict.id)
    assert closed is not None and closed.status is ConflictStatus.RESOLVED
    assert closed.resolved_by == "sync"


async def test_a_cursor_changed_meanwhile_is_not_overwritten(world: World) -> None:
    calendar = world.tech.primary
    with world.uow() as uow:
        uow.calendars.move_cursors({calendar.id: (None, "2026-11-02|a")})
        uow.commit()
    with world.uow() as uow:
        # A read that started from "a" moves it; one that started from an older cursor does not.
        uow.calendars.move_cursors({calendar.id: ("2026-11-02|old", "2026-11-02|stale")})
        uow.commit()
    assert cursor_of(world, PRIMARY) == "2026-11-02|a"
    with world.uow() as uow:
        uow.calendars.move_cursors({calendar.id: ("2026-11-02|a", "2026-11-02|b")})
        uow.commit()
    assert cursor_of(world, PRIMARY) == "2026-11-02|b"
