"""The read window: what it no longer covers is neither "read back empty" nor deleted.

A full read (a new day's window, an expired cursor) returns only what overlaps its window. Events
known to lie before it were not read: they must not count towards the mass-delete guard, and the
board keeps showing them (the mirror and the busy blocks of days already past stay as last seen).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from app.domain.ids import BookingId
from app.domain.time import Interval
from sync.engine import SyncEngine
from tests.sync.conftest import CHICAGO, NOW, PRIMARY, SECOND, World, timed

TZ = ZoneInfo(CHICAGO)


def _blocks(world: World) -> list[tuple[datetime, str | None]]:
    with world.uow() as uow:
        found = uow.busy.for_techs(
            [world.tech.tech.id], Interval(NOW - timedelta(days=30), NOW + timedelta(days=200))
        )
    return sorted((b.interval.start, b.title) for b in found)


def _linked(world: World, bookings: list[BookingId]) -> bool:
    with world.uow() as uow:
        mirrored = {e.booking_id for e in uow.remote_events.for_calendar(world.tech.primary.id)}
        return all(uow.links.for_booking(b) is not None and b in mirrored for b in bookings)


def _at(day: datetime, hour: int, minute: int = 0) -> datetime:
    """`hour`:`minute` in Chicago on the local date of `day`, as UTC."""
    local = day.astimezone(TZ).date()
    return datetime(local.year, local.month, local.day, hour, minute, tzinfo=TZ).astimezone(UTC)


def _week_of_jobs(world: World, first: datetime, count: int = 10) -> list[BookingId]:
    """`count` jobs, two a day from the local day of `first`, 09:00 and 13:00 Chicago."""
    ids = []
    for n in range(count):
        day = first + timedelta(days=n // 2)
        start = _at(day, 9 if n % 2 == 0 else 13)
        hours = (start - NOW).total_seconds() / 3600
        ids.append(world.book(hours=hours, customer=f"Customer {n}", force=True).id)
    return ids


async def test_jobs_all_in_the_past_read_back_empty_without_tripping_the_guard(
    world: World, engine: SyncEngine
) -> None:
    """A week of jobs, then the window moves past all of them: the full read finds nothing, and
    that is not "the calendar suddenly read back empty"."""
    jobs = _week_of_jobs(world, NOW + timedelta(days=1))  # Tue..Sat
    dentist = _at(NOW + timedelta(days=2), 15)
    world.phone.add_event(PRIMARY, timed(dentist), title="Dentist")
    report = await engine.run_once()
    assert report.ok, report.errors
    before = _blocks(world)
    assert (dentist, "Dentist") in before

    world.clock.advance(timedelta(days=8))  # the next Tuesday: everything known is days behind
    report = await engine.run_once()
    assert report.ok, report.errors
    assert not report.refused
    assert _linked(world, jobs)
    assert _blocks(world) == before  # the past week still shows the dentist
    with world.uow() as uow:
        assert not [a for a in uow.audit.recent() if a.action == "sync.mass_delete_refused"]
        assert uow.notifications.list() == []
        assert uow.conflicts.open() == []


async def test_a_weekly_meeting_keeps_its_past_mondays_when_the_window_moves(
    world: World, engine: SyncEngine
) -> None:
    """A series is expanded from the window's start: its occurrences already past stay on the board,
    and job events left behind by the window do not count as "would lose N job events"."""
    jobs = _week_of_jobs(world, NOW + timedelta(days=1), count=6)
    meeting = _at(NOW, 7, 30)
    world.phone.add_event(
        PRIMARY, timed(meeting, 45), title="Team meeting", recurrence=("RRULE:FREQ=WEEKLY;BYDAY=MO",)
    )
    await engine.run_once()
    mondays = [start for start, title in _blocks(world) if title == "Team meeting"]
    assert mondays[0] == meeting

    world.clock.advance(timedelta(days=9))
    report = await engine.run_once()
    assert report.ok, report.errors
    assert not report.refused
    assert _linked(world, jobs)
    after = [start for start, title in _blocks(world) if title == "Team meeting"]
    assert after[:2] == [meeting, meeting + timedelta(days=7)]
    assert set(mondays) <= set(after)


async def test_past_days_keep_the_calendar_time_crewboard_knew(world: World, engine: SyncEngine) -> None:
    """A few personal events (too few for the guard) leave the window: the board still shows them
    on their days; an event the tech deletes inside the window still frees its time."""
    tuesday = NOW + timedelta(days=1)
    world.phone.add_event(PRIMARY, timed(_at(tuesday, 10)), title="Dentist")
    world.phone.add_event(PRIMARY, timed(_at(tuesday, 15), 90), title="Parent-teacher conference")
    later = world.phone.add_event(PRIMARY, timed(_at(NOW + timedelta(days=10), 9)), title="Haircut")
    await engine.run_once()
    past = [(_at(tuesday, 10), "Dentist"), (_at(tuesday, 15), "Parent-teacher conference")]
    assert _blocks(world) == [*past, (_at(NOW + timedelta(days=10), 9), "Haircut")]

    world.clock.advance(timedelta(days=3))  # Tuesday is now outside the window
    assert (await engine.run_once()).ok
    world.phone.remove_event(PRIMARY, later.remote_id)
    assert (await engine.run_once()).ok
    assert _blocks(world) == past
    day = world.services.schedule.day(world.tech.tech.name, tuesday.astimezone(TZ).date())
    assert sorted(b.title or "" for b in day.busy) == ["Dentist", "Parent-teacher conference"]


async def test_a_calendar_turned_off_takes_its_past_series_off_the_board_too(
    world: World, engine: SyncEngine
) -> None:
    """Past occurrences are kept as last built only while the rules that built them still hold."""
    world.services.accounts.set_calendar_blocks(world.tech.second.id, True)
    world.phone.add_event(
        SECOND, timed(_at(NOW, 17), 60), title="Soccer practice", recurrence=("RRULE:FREQ=WEEKLY;BYDAY=MO",)
    )
    await engine.run_once()
    world.clock.advance(timedelta(days=9))
    await engine.run_once()
    assert (_at(NOW, 17), "Soccer practice") in _blocks(world)

    world.services.accounts.set_calendar_blocks(world.tech.second.id, False)
    await engine.run_once()
    assert _blocks(world) == []


async def test_jobs_in_the_future_deleted_at_once_still_trip_the_guard(
    world: World, engine: SyncEngine
) -> None:
    jobs = _week_of_jobs(world, NOW + timedelta(days=1))
    await engine.run_once()
    for event in world.phone.events(PRIMARY):
        world.phone.remove_event(PRIMARY, event.remote_id)
    world.phone.expire_cursors()
    report = await engine.run_once()
    assert report.refused and "read back empty while 10 events were known" in report.refused[0]
    assert _linked(world, jobs)

    world.clock.advance(timedelta(days=1))  # a new window does not make it less suspicious
    report = await engine.run_once()
    assert report.refused
    assert _linked(world, jobs)


async def test_the_window_rolls_at_the_techs_midnight_and_leaves_yesterday_standing(
    world: World, engine: SyncEngine
) -> None:
    """Sunday's jobs are in Monday's window (all of yesterday) and leave it at Tuesday 00:00 in
    Chicago, where the window rolls with a full read that must not take them for deleted."""
    world.clock.current = _at(NOW - timedelta(days=1), 6)  # Sunday 06:00 in Chicago
    jobs = []
    for n in range(6):
        start = _at(NOW - timedelta(days=1), 10 + n)
        jobs.append(world.book(hours=(start - NOW).total_seconds() / 3600, customer=f"C{n}", force=True).id)
    lunch = _at(NOW - timedelta(days=1), 17)
    world.phone.add_event(PRIMARY, timed(lunch), title="Family lunch")
    assert (await engine.run_once()).ok
    before = _blocks(world)

    world.clock.current = _at(NOW, 23, 50)  # Monday 23:50 in Chicago, already Tuesday in UTC
    report = await engine.run_once()
    assert report.ok and not report.refused
    assert _cursor_day(world) == "2026-11-02"

    world.clock.advance(timedelta(minutes=20))  # Tuesday 00:10 in Chicago: the window rolls
    calls = len(world.phone.calls)
    report = await engine.run_once()
    assert report.ok and not report.refused, report.refused
    assert _cursor_day(world) == "2026-11-03"
    assert "read_changes" in world.phone.calls[calls:]
    assert _linked(world, jobs)
    assert _blocks(world) == before


def _cursor_day(world: World) -> str:
    with world.uow() as uow:
        calendar = uow.calendars.get(world.tech.primary.id)
    assert calendar is not None and calendar.sync_cursor is not None
    return str(calendar.sync_cursor).split("|", 1)[0]
