"""Calendars to Crewboard: what the tech does on their phone blocks, frees and moves the right things."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from app.bus import BusyChanged, ConflictChanged, NotificationAdded
from app.domain.model import (
    Audience,
    Conflict,
    ConflictKind,
    ConflictStatus,
    EventTime,
    Resolution,
    Response,
    ShowAs,
)
from app.domain.time import Interval
from app.services.bookings import BookingEdit
from sync.engine import SyncEngine
from tests.sync.conftest import CHICAGO, NOW, PRIMARY, SECOND, World, timed


def busy(world: World) -> list[tuple[object, object, str | None]]:
    with world.uow() as uow:
        blocks = uow.busy.for_techs([world.tech.tech.id], _horizon())
    return [(b.interval.start, b.interval.end, b.title) for b in blocks]


def _horizon() -> Interval:
    return Interval(NOW - timedelta(days=30), NOW + timedelta(days=200))


def conflicts(world: World, kind: ConflictKind | None = None) -> list[Conflict]:
    with world.uow() as uow:
        found = uow.conflicts.list()
    return [c for c in found if kind is None or c.kind is kind]


async def test_a_personal_event_blocks_and_deleting_it_frees_the_slot(
    world: World, engine: SyncEngine
) -> None:
    start = NOW + timedelta(days=1)
    event = world.phone.add_event(PRIMARY, timed(start, 60), title="Dentist")
    await engine.run_once()
    assert busy(world) == [(start, start + timedelta(hours=1), "Dentist")]
    day = world.services.schedule.day(world.tech.tech.name, start.date())
    assert any(b.title == "Dentist" for b in day.busy)

    world.phone.remove_event(PRIMARY, event.remote_id)
    await engine.run_once()
    assert busy(world) == []


async def test_blocking_rules_follow_the_techs_settings(world: World, engine: SyncEngine) -> None:
    day = NOW + timedelta(days=2)
    world.phone.add_event(PRIMARY, timed(day, 30), title="Lunch", show_as=ShowAs.FREE)
    world.phone.add_event(
        PRIMARY, timed(day + timedelta(hours=1)), title="Maybe", response=Response.TENTATIVE
    )
    world.phone.add_event(PRIMARY, timed(day + timedelta(hours=2)), title="No", response=Response.DECLINED)
    world.phone.add_event(PRIMARY, timed(day + timedelta(hours=3)), title="Secret", private=True)
    world.phone.add_event(SECOND, timed(day + timedelta(hours=4)), title="Soccer")
    world.phone.add_event(
        PRIMARY,
        EventTime(start_date=date(2026, 11, 10), end_date=date(2026, 11, 11)),
        title="PTO",
    )
    await engine.run_once()
    titles = sorted(str(t) for _, _, t in busy(world))
    assert titles == ["None", "PTO"]  # the private event blocks without its title
    [pto] = [b for b in busy(world) if b[2] == "PTO"]
    assert pto[0].isoformat() == "2026-11-10T06:00:00+00:00"  # Chicago's midnight

    # The tech counts tentative invitations, and marks the family calendar: the blocks follow.
    with world.uow() as uow:
        tech = uow.techs.get(world.tech.tech.id)
        assert tech is not None
        uow.techs.update(replace(tech, tentative_blocks=True))
        uow.commit()
    world.services.accounts.set_calendar_blocks(world.tech.second.id, True)
    await engine.run_once()
    titles = sorted(str(t) for _, _, t in busy(world))
    assert titles == ["Maybe", "None", "PTO", "Soccer"]


async def test_a_weekly_meeting_blocks_every_monday_across_dst(world: World, engine: SyncEngine) -> None:
    world.clock.current = NOW - timedelta(days=10)  # the week before the US clocks change
    start = datetime(2026, 10, 26, 9, 0, tzinfo=ZoneInfo(CHICAGO))  # a Monday in daylight time
    world.phone.add_event(
        PRIMARY,
        EventTime(start=start, end=start + timedelta(hours=1), timezone=CHICAGO),
        title="Weekly",
        recurrence=("RRULE:FREQ=WEEKLY;BYDAY=MO",),
    )
    await engine.run_once()
    weekly = [b for b in busy(world) if b[2] == "Weekly"]
    assert len(weekly) >= 17
    for block_start, _, _ in weekly:
        assert isinstance(block_start, datetime)
        local = block_start.astimezone(ZoneInfo(CHICAGO))
        assert (local.weekday(), local.hour) == (0, 9)
    offsets = {b[0].utcoffset() for b in weekly if isinstance(b[0], datetime)}
    assert {b[0].hour for b in weekly if isinstance(b[0], datetime)} == {14, 15}  # 9:00 CDT and CST
    assert offsets == {timedelta(0)}


async def test_a_personal_event_over_a_booking_opens_one_conflict_and_tells_two_people(
    world: World, engine: SyncEngine
) -> None:
    heard: list[object] = []
    world.bus.subscribe(ConflictChanged, heard.append)
    world.bus.subscribe(NotificationAdded, heard.append)
    booking = world.book(hours=3)
    await engine.run_once()
    event = world.phone.add_event(PRIMARY, timed(NOW + timedelta(hours=3, minutes=30)), title="Dentist")
    await engine.run_once()

    [conflict] = conflicts(world, ConflictKind.OVERLAP)
    assert conflict.booking_id == booking.id and conflict.status is ConflictStatus.OPEN
    assert conflict.other_title == "Dentist" and conflict.remote_id == event.remote_id
    assert world.booking(booking.id).start == booking.start  # the booking never moves for it
    with world.uow() as uow:
        notices = uow.notifications.list()
    assert sorted(n.audience.value for n in notices) == [Audience.DISPATCHER.value, Audience.TECH.value]
    assert sum(isinstance(h, NotificationAdded) for h in heard) == 2
    assert sum(isinstance(h, ConflictChanged) for h in heard) == 1

    # The title as the tech wrote it, and the tech's primary calendar named once.
    body = notices[0].body
    assert body.startswith(f"'Dentist' in {world.tech.tech.name}'s calendar overlaps the ")
    assert ".." not in body

    # Reading again, incrementally or in full after the cursor expired, changes nothing.
    await engine.run_once()
    world.phone.expire_cursors()
    await engine.run_once()
    assert len(conflicts(world)) == 1
    with world.uow() as uow:
        assert len(uow.notifications.list()) == 2

    # The tech moves the dentist away before anyone acts: the conflict closes by itself.
    world.phone.edit_event(PRIMARY, event.remote_id, when=timed(NOW + timedelta(days=3)))
    await engine.run_once()
    [closed] = conflicts(world)
    assert closed.status is ConflictStatus.RESOLVED and closed.resolved_by == "sync"
    assert "moved away" in closed.detail


async def test_keeping_a_booking_over_a_personal_event_stays_decided(
    world: World, engine: SyncEngine
) -> None:
    booking = world.book(hours=3)
    world.phone.add_event(PRIMARY, timed(NOW + timedelta(hours=3)), title="Gym")
    await engine.run_once()
    [conflict] = conflicts(world)
    decided = world.services.conflicts.keep(conflict.id[:6], actor="Dana")
    assert decided.resolution is Resolution.KEEP and decided.resolved_by == "Dana"
    assert decided.resolved_at == world.clock.now()
    assert world.booking(booking.id).forced
    world.phone.expire_cursors()
    await engine.run_once()
    assert [c.status for c in conflicts(world)] == [ConflictStatus.RESOLVED]


async def test_the_tech_moving_a_booking_event_moves_the_booking(world: World, engine: SyncEngine) -> None:
    moved: list[BusyChanged] = []
    world.bus.subscribe(BusyChanged, moved.append)
    booking = world.book(hours=3, minutes=60)
    await engine.run_once()
    [event] = world.booking_events()
    new_start = NOW + timedelta(hours=5)
    world.phone.edit_event(PRIMARY, event.remote_id, when=timed(new_start, 90))
    await engine.run_once()

    after = world.booking(booking.id)
    assert after.start == new_start and after.duration == timedelta(minutes=90)
    assert after.version == booking.version + 1
    with world.uow() as uow:
        actions = [a.action for a in uow.audit.recent()]
        assert uow.outbox.pending() == []
    assert "booking.moved_by_tech" in actions
    assert conflicts(world) == []
    calls = len(world.phone.calls)
    await engine.run_once()
    assert [c for c in world.phone.calls[calls:] if c != "read_changes"] == []  # nothing written back


async def test_both_sides_changing_a_booking_is_a_conflict_a_person_decides(
    world: World, engine: SyncEngine
) -> None:
    booking = world.book(hours=3)
    await engine.run_once()
    [event] = world.booking_events()
    world.services.bookings.move(booking.id, NOW + timedelta(hours=4))
    world.phone.edit_event(PRIMARY, event.remote_id, when=timed(NOW + timedelta(hours=7)))
    await engine.run_once()

    [conflict] = conflicts(world, ConflictKind.EDITED_BOTH)
    assert conflict.other_start == NOW + timedelta(hours=7)
    assert world.booking(booking.id).start == NOW + timedelta(hours=4)  # nothing overwritten
    assert world.booking_events()[0].when.start == NOW + timedelta(hours=7)
    # Until someone decides, sync leaves the booking alone.
    await engine.run_once()
    assert world.booking_events()[0].when.start == NOW + timedelta(hours=7)

    world.services.conflicts.keep(conflict.id)
    await engine.run_once()
    [event] = world.booking_events()
    assert event.when.start == NOW + timedelta(hours=4)
    assert world.booking(booking.id).start == NOW + timedelta(hours=4)
    with world.uow() as uow:
        assert uow.outbox.pending() == []


async def test_a_deleted_booking_event_is_flagged_and_the_booking_kept(
    world: World, engine: SyncEngine
) -> None:
    booking = world.book(hours=3)
    await engine.run_once()
    [event] = world.booking_events()
    world.phone.remove_event(PRIMARY, event.remote_id)
    await engine.run_once()

    [conflict] = conflicts(world, ConflictKind.EVENT_DELETED)
    assert world.booking(booking.id).is_live
    assert world.booking_events() == []
    with world.uow() as uow:
        notices = uow.notifications.list()
    assert [n.audience for n in notices] == [Audience.DISPATCHER]
    await engine.run_once()
    assert world.booking_events() == []  # not silently recreated

    world.services.conflicts.keep(conflict.id)
    await engine.run_once()
    [again] = world.booking_events()
    assert again.booking_id == booking.id and again.remote_id != event.remote_id


async def test_a_deleted_booking_event_can_be_rescheduled_instead(world: World, engine: SyncEngine) -> None:
    luis = world.add_tech("Luis")
    booking = world.book(hours=3)
    await engine.run_once()
    [event] = world.booking_events()
    world.phone.remove_event(PRIMARY, event.remote_id)
    await engine.run_once()
    [conflict] = conflicts(world)
    world.services.conflicts.reassign(conflict.id, "Luis")
    await engine.run_once()
    assert world.booking_events() == []
    [moved] = world.booking_events(luis)
    assert moved.booking_id == booking.id


async def test_an_expired_cursor_reads_everything_again_without_doubling(
    world: World, engine: SyncEngine
) -> None:
    booking = world.book(hours=3)
    world.phone.add_event(PRIMARY, timed(NOW + timedelta(days=1)), title="Dentist")
    world.phone.add_event(
        PRIMARY,
        timed(NOW + timedelta(days=1, hours=3)),
        title="Standup",
        recurrence=("RRULE:FREQ=DAILY;COUNT=5",),
    )
    await engine.run_once()
    before = busy(world)
    with world.uow() as uow:
        mirrored = uow.remote_events.for_calendar(world.tech.primary.id)

    world.phone.expire_cursors()
    report = await engine.run_once()
    assert "read_changes" in world.phone.calls
    assert report.ok
    assert busy(world) == before
    with world.uow() as uow:
        assert uow.remote_events.for_calendar(world.tech.primary.id) == mirrored
        link = uow.links.for_booking(booking.id)
    assert len(world.booking_events()) == 1 and link is not None
    assert conflicts(world) == []


async def test_the_mass_delete_guard_keeps_the_mirror_and_asks_someone(
    world: World, engine: SyncEngine
) -> None:
    for day in range(6):
        world.phone.add_event(PRIMARY, timed(NOW + timedelta(days=day + 1)), title=f"Thing {day}")
    await engine.run_once()
    before = busy(world)
    assert len(before) == 6
    for event in world.phone.events(PRIMARY):
        world.phone.remove_event(PRIMARY, event.remote_id)
    world.phone.expire_cursors()
    report = await engine.run_once()

    assert report.refused and not report.ok
    assert busy(world) == before
    with world.uow() as uow:
        audit = [a for a in uow.audit.recent() if a.action == "sync.mass_delete_refused"]
        health = uow.health.get(world.tech.account.id)
        notices = uow.notifications.list()
    assert len(audit) == 1
    assert health is not None and health.last_error is not None and "read back empty" in health.last_error
    assert [n.audience for n in notices] == [Audience.DISPATCHER]
    await engine.run_once()
    with world.uow() as uow:
        assert len(uow.notifications.list()) == 1  # told once, not on every poll

    # Someone checked: the deletions are real.
    engine.accept_mass_delete = True
    await engine.run_once()
    assert busy(world) == []


async def test_the_guard_refuses_a_batch_deleting_most_booking_events(
    world: World, engine: SyncEngine
) -> None:
    bookings = [world.book(hours=2 + 2 * i, customer=f"Customer {i}") for i in range(6)]
    await engine.run_once()
    for event in world.booking_events():
        world.phone.remove_event(PRIMARY, event.remote_id)
    report = await engine.run_once()
    assert report.refused
    assert conflicts(world) == []
    with world.uow() as uow:
        assert all(uow.links.for_booking(b.id) is not None for b in bookings)


async def test_bookings_edited_during_sync_are_not_overwritten_by_the_tech_move(
    world: World, engine: SyncEngine
) -> None:
    booking = world.book(hours=3)
    await engine.run_once()
    world.services.bookings.edit(booking.id, BookingEdit(notes="Call first"))
    await engine.run_once()
    [event] = world.booking_events()
    assert world.phone.written[-1].booking.notes == "Call first"
    assert event.when.start == booking.start


async def test_booking_events_read_back_without_their_tag_stay_ours(world: World, engine: SyncEngine) -> None:
    """Graph's delta feed leaves out the extended property carrying the booking id."""
    phone = world.phone
    original = phone.read_changes

    async def untagged(calendar, cursor, window):  # type: ignore[no-untyped-def]
        batch = await original(calendar, cursor, window)
        return replace(batch, events=tuple(replace(e, booking_id=None) for e in batch.events))

    phone.read_changes = untagged  # type: ignore[method-assign]
    booking = world.book(hours=3)
    await engine.run_once()
    [event] = world.booking_events()
    phone.edit_event(PRIMARY, event.remote_id, when=timed(NOW + timedelta(hours=6)))
    await engine.run_once()
    world.phone.expire_cursors()
    await engine.run_once()

    assert busy(world) == []  # the job's own event does not block the job's time
    assert conflicts(world) == []
    assert world.booking(booking.id).start == NOW + timedelta(hours=6)


async def test_a_full_read_speaks_only_for_its_window(world: World, engine: SyncEngine) -> None:
    """A job two days ago is outside the read window: a full read does not see it, and must not
    take that for "the tech deleted it" (a provider's window-bounded read, such as Graph's
    calendarView delta, never returns it)."""
    past = world.book(hours=-48, force=True)
    await engine.run_once()
    assert len(world.booking_events()) == 1
    world.phone.expire_cursors()
    report = await engine.run_once()
    assert report.ok
    assert conflicts(world) == []
    with world.uow() as uow:
        assert uow.links.for_booking(past.id) is not None
        assert any(e.booking_id == past.id for e in uow.remote_events.for_calendar(world.tech.primary.id))


async def test_the_read_window_rolls_forward_every_day(world: World, engine: SyncEngine) -> None:
    """Change feeds keep the window they started with; a new day starts a full read on today's window."""
    far = NOW + timedelta(days=125)  # beyond the first day's 120-day horizon
    world.phone.add_event(PRIMARY, timed(far), title="Trade show")
    await engine.run_once()
    assert busy(world) == []
    with world.uow() as uow:
        calendar = uow.calendars.get(world.tech.primary.id)
    assert calendar is not None and calendar.sync_cursor is not None
    assert calendar.sync_cursor.startswith(NOW.date().isoformat())
    world.clock.advance(timedelta(days=6))
    await engine.run_once()
    assert busy(world) == [(far, far + timedelta(hours=1), "Trade show")]
    assert conflicts(world) == []


async def test_cancelling_a_job_settles_its_conflict_and_removes_its_event(
    world: World, engine: SyncEngine
) -> None:
    booking = world.book(hours=3)
    await engine.run_once()
    [event] = world.booking_events()
    world.services.bookings.move(booking.id, NOW + timedelta(hours=4))
    world.phone.edit_event(PRIMARY, event.remote_id, when=timed(NOW + timedelta(hours=7)))
    await engine.run_once()
    [conflict] = conflicts(world, ConflictKind.EDITED_BOTH)

    world.services.bookings.cancel(booking.id)
    await engine.run_once()
    assert world.booking_events() == []
    [settled] = conflicts(world, ConflictKind.EDITED_BOTH)
    assert settled.id == conflict.id
    assert (settled.status, settled.resolution) == (ConflictStatus.RESOLVED, Resolution.CANCELLED)
    with world.uow() as uow:
        assert uow.outbox.pending() == []


async def test_a_booking_event_moved_and_renamed_moves_the_booking_and_gets_its_title_back(
    world: World, engine: SyncEngine
) -> None:
    booking = world.book(hours=3, minutes=60)
    await engine.run_once()
    [event] = world.booking_events()
    title = event.title
    new_start = NOW + timedelta(hours=6)
    world.phone.edit_event(PRIMARY, event.remote_id, when=timed(new_start, 60), title="my own name for it")
    await engine.run_once()

    assert world.booking(booking.id).start == new_start  # the time is the tech's
    [event] = world.booking_events()
    assert (event.title, event.when.start) == (title, new_start)  # the text is the booking's
    with world.uow() as uow:
        assert uow.outbox.pending() == []
    assert conflicts(world) == []
