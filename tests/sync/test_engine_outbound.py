"""Bookings to calendars: every booking change reaches the tech's calendar once, whatever fails."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from app.domain.model import AccountStatus, Audience, Calendar, ConflictStatus, OutboxItem
from app.domain.time import Interval
from app.services.bookings import BookingEdit
from sync.engine import SyncEngine
from sync.engine.outbound import BACKOFF_BASE, BACKOFF_CAP
from sync.providers.content import booking_title
from sync.providers.errors import Transient
from sync.providers.protocol import ChangeBatch
from tests.sync.conftest import NOW, PRIMARY, World, timed


def pending(world: World) -> list[OutboxItem]:
    with world.uow() as uow:
        return uow.outbox.pending()


async def test_a_booking_becomes_an_event_with_all_its_fields(world: World, engine: SyncEngine) -> None:
    booking = world.book(hours=3, minutes=90, notes="Bring the ladder")
    report = await engine.run_once()

    events = world.booking_events()
    assert len(events) == 1
    event = events[0]
    assert event.booking_id == booking.id
    assert event.when.start == booking.start
    assert booking.start is not None and event.when.end == booking.start + timedelta(minutes=90)
    assert event.title == "AC repair — Ada Park"
    content = world.phone.written[-1]
    assert content.customer.name == "Ada Park"
    assert content.customer.address == "12 Elm St"
    assert content.customer.phone == "555-0100"
    assert content.booking.notes == "Bring the ladder"
    assert content.booking.duration == timedelta(minutes=90)
    assert content.tech.color == world.tech.tech.color
    assert content.link == ""  # no office service with a public address: no job page to link
    assert content.category is None
    assert pending(world) == []
    with world.uow() as uow:
        link = uow.links.for_booking(booking.id)
        assert link is not None and link.remote_id == event.remote_id and link.etag == event.etag
    assert report.writes == 1 and report.bookings_synced == 1 and report.ok
    # A second round finds nothing to do and writes nothing.
    calls = len(world.phone.calls)
    again = await engine.run_once()
    assert again.writes == 0
    assert [c for c in world.phone.calls[calls:] if c != "read_changes"] == []


async def test_moves_reassignments_and_cancellations_follow(world: World, engine: SyncEngine) -> None:
    luis = world.add_tech("Luis")
    booking = world.book(hours=3)
    await engine.run_once()

    moved = world.services.bookings.move(booking.id, NOW + timedelta(hours=5))
    await engine.run_once()
    [event] = world.booking_events()
    assert event.when.start == moved.start

    world.services.bookings.reassign(booking.id, "Luis")
    await engine.run_once()
    assert world.booking_events() == []
    [event] = world.booking_events(luis)
    assert event.when.start == moved.start

    world.services.bookings.cancel(booking.id)
    await engine.run_once()
    assert world.booking_events(luis) == []
    assert pending(world) == []
    with world.uow() as uow:
        assert uow.links.for_booking(booking.id) is None


async def test_an_outage_keeps_bookings_and_retries_with_backoff(world: World, engine: SyncEngine) -> None:
    world.phone.fail_next("transient", 4, methods=["create_event"])
    booking = world.book()
    assert world.booking(booking.id).id == booking.id  # saved whatever the calendar does

    for attempt in range(1, 5):
        report = await engine.run_once()
        assert world.booking_events() == []
        assert world.tech.account.id in report.errors
        [item] = pending(world)
        assert item.attempts == attempt
        assert item.last_error is not None and "temporary problem" in item.last_error
        assert item.next_attempt is not None
        wait = item.next_attempt - world.clock.now()
        assert timedelta(0) <= wait <= timedelta(seconds=min(BACKOFF_CAP, BACKOFF_BASE * 2 ** (attempt - 1)))
        with world.uow() as uow:
            health = uow.health.get(world.tech.account.id)
            assert health is not None and health.failing_since == NOW
        # Not due yet: a round before the retry time sends nothing.
        if wait > timedelta(0):
            world.clock.advance(wait / 2)
            await engine.run_once()
            assert world.booking_events() == []
        world.clock.current = item.next_attempt

    await engine.run_once()
    assert len(world.booking_events()) == 1
    assert pending(world) == []
    assert world.phone.calls.count("create_event") == 5
    with world.uow() as uow:
        health = uow.health.get(world.tech.account.id)
        assert health is not None and health.failing_since is None and health.last_error is None


async def test_rate_limits_wait_as_long_as_the_provider_asks(world: World, engine: SyncEngine) -> None:
    world.phone.fail_next("rate_limited", 1, methods=["create_event"], retry_after=30)
    world.book()
    await engine.run_once()
    [item] = pending(world)
    assert item.next_attempt == world.clock.now() + timedelta(seconds=30)
    world.clock.advance(timedelta(seconds=29))
    await engine.run_once()
    assert world.booking_events() == []
    world.clock.advance(timedelta(seconds=1))
    await engine.run_once()
    assert len(world.booking_events()) == 1


async def test_lost_answers_never_double_an_event(world: World, engine: SyncEngine) -> None:
    world.phone.lose_answers(1, methods=["create_event"])
    booking = world.book()
    await engine.run_once()
    assert len(world.booking_events()) == 1  # made, but we never heard back
    [item] = pending(world)
    world.clock.current = item.next_attempt or world.clock.now()
    await engine.run_once()
    assert len(world.booking_events()) == 1
    assert pending(world) == []

    # An update and a delete whose answers are lost are confirmed on the next pass as well.
    world.phone.lose_answers(1, methods=["update_event"])
    world.services.bookings.move(booking.id, NOW + timedelta(hours=6))
    await engine.run_once()
    world.clock.advance(timedelta(minutes=5))
    await engine.run_once()
    [event] = world.booking_events()
    assert event.when.start == NOW + timedelta(hours=6)
    assert world.booking(booking.id).start == NOW + timedelta(hours=6)  # not "moved back by the tech"

    world.phone.lose_answers(1, methods=["delete_event"])
    world.services.bookings.cancel(booking.id)
    await engine.run_once()
    world.clock.advance(timedelta(minutes=5))
    await engine.run_once()
    assert world.booking_events() == []
    assert pending(world) == []
    with world.uow() as uow:
        conflicts = uow.conflicts.list()
    assert conflicts == []


async def test_a_lost_create_found_after_a_crash_is_adopted(world: World, engine: SyncEngine) -> None:
    """The create reached the provider but the process died before it recorded anything."""
    booking = world.book()
    world.phone.lose_answers(1, methods=["create_event"])
    world.phone.fail_next("transient", 1, methods=["read_changes"])  # the mirror cannot help either
    await engine.run_once()
    world.clock.advance(timedelta(minutes=5))
    world.phone.fail_next("transient", 1, methods=["read_changes"])
    await engine.run_once()
    assert "find_booking_event" in world.phone.calls
    [event] = world.booking_events()
    with world.uow() as uow:
        link = uow.links.for_booking(booking.id)
    assert link is not None and link.remote_id == event.remote_id


async def test_a_changed_event_is_read_again_and_planned_again(world: World, engine: SyncEngine) -> None:
    booking = world.book()
    await engine.run_once()
    [event] = world.booking_events()

    # The tech renames the event just as the dispatcher's edit goes out: If-Match fails (412).
    world.phone.before_update.append(lambda: world.phone.edit_event(PRIMARY, event.remote_id, title="mine"))
    world.services.bookings.edit(booking.id, BookingEdit(notes="Second visit"))
    report = await engine.run_once()

    [after] = world.booking_events()
    assert after.title == booking_title(world.booking(booking.id), world.phone.written[-1].customer)
    assert world.phone.written[-1].booking.notes == "Second visit"
    calls = world.phone.calls
    first_update = calls.index("update_event")
    assert "read_changes" in calls[first_update:]  # read again after the 412
    assert calls.count("update_event") == 2
    assert pending(world) == []
    assert report.ok


async def test_an_expired_sign_in_asks_for_a_reconnect_and_keeps_everything(
    world: World, engine: SyncEngine
) -> None:
    early = world.book()
    await engine.run_once()
    world.phone.revoke()
    later = world.book(hours=6)
    report = await engine.run_once()

    assert world.account_status() is AccountStatus.NEEDS_RECONNECT
    assert world.tech.account.id in report.errors
    assert world.booking(later.id).start is not None  # the booking is saved
    assert len(pending(world)) == 1  # its write waits
    with world.uow() as uow:
        assert uow.links.for_booking(early.id) is not None  # nothing forgotten
        notices = [n for n in uow.notifications.list() if n.audience is Audience.DISPATCHER]
        assert any("reconnected" in n.subject for n in notices)
    # While it waits, the account is left alone.
    calls = len(world.phone.calls)
    await engine.run_once()
    assert world.phone.calls[calls:] == []

    # The tech signs in again: the queued write goes out.
    world.phone.reconnect()
    with world.uow() as uow:
        account = uow.accounts.get(world.tech.account.id)
        assert account is not None
        uow.accounts.update(replace(account, status=AccountStatus.CONNECTED))
        uow.commit()
    world.clock.advance(timedelta(minutes=2))
    await engine.run_once()
    assert {e.booking_id for e in world.booking_events()} == {early.id, later.id}
    assert pending(world) == []


async def test_every_write_goes_out_exactly_once_through_mixed_faults(
    world: World, engine: SyncEngine
) -> None:
    bookings = [world.book(hours=2 + 2 * i, customer=f"Customer {i}") for i in range(6)]
    world.phone.fail_next(Transient("down", status=503), 3)
    world.phone.lose_answers(2, methods=["create_event"])
    for _ in range(12):
        await engine.run_once()
        world.clock.advance(timedelta(minutes=6))
    events = world.booking_events()
    assert sorted(e.booking_id for e in events if e.booking_id) == sorted(b.id for b in bookings)
    assert pending(world) == []


def read_untagged(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """Reads leave out the booking tag, as Graph's delta feed does: an event we made but never
    heard back about reads as one of the tech's own (only a recorded link names it ours)."""
    phone = world.phone
    read_changes = phone.read_changes

    async def untagged(calendar: Calendar, cursor: str | None, window: Interval) -> ChangeBatch:
        batch = await read_changes(calendar, cursor, window)
        return replace(batch, events=tuple(replace(e, booking_id=None) for e in batch.events))

    monkeypatch.setattr(phone, "read_changes", untagged)


async def test_a_create_retried_by_a_later_change_adopts_what_the_calendar_holds(
    world: World, engine: SyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Soak seed 629670582: the create's answer is lost; while its row waits for its retry, the
    dispatcher moves the job and the tech drags the (never confirmed) event elsewhere. The move's row
    must not create "again" and record the event found there as showing the booking."""
    read_untagged(world, monkeypatch)
    booking = world.book(hours=3)
    world.phone.lose_answers(1, methods=["create_event"])
    await engine.run_once()
    [made] = world.booking_events()  # made, but we never heard back
    [first] = pending(world)
    assert first.attempts == 1 and first.next_attempt is not None and first.next_attempt > world.clock.now()

    world.services.bookings.move(booking.id, NOW + timedelta(hours=5))  # a fresh row, due at once
    world.phone.edit_event(PRIMARY, made.remote_id, when=timed(NOW + timedelta(hours=6), 90))
    await engine.run_once()
    for _ in range(3):
        world.clock.advance(timedelta(minutes=5))
        await engine.run_once()

    [event] = world.booking_events()
    assert event.remote_id == made.remote_id
    assert world.booking(booking.id).start == NOW + timedelta(hours=5)
    assert event.when.start == NOW + timedelta(hours=5)  # the board's time, not the stale one
    assert pending(world) == []
    with world.uow() as uow:
        link = uow.links.for_booking(booking.id)
        assert link is not None and link.etag == event.etag
        mirrored = uow.remote_events.get(world.tech.primary.id, event.remote_id)
        assert mirrored is not None and mirrored.when.start == event.when.start
        # Read untagged, the event passed for the tech's own over the job for a while; no more.
        assert [c for c in uow.conflicts.list() if c.status is ConflictStatus.OPEN] == []


async def test_a_create_answered_with_an_older_event_writes_the_booking_over_it(
    world: World, engine: SyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A create whose answer is the event an earlier create made (Google's 409, Graph's repeated
    transactionId) shows what that event holds now, not what was sent: it is recorded as found and
    the booking is written over it, never recorded as if it already showed the booking."""
    read_untagged(world, monkeypatch)
    booking = world.book(hours=3)
    world.phone.lose_answers(1, methods=["create_event"])
    await engine.run_once()
    [made] = world.booking_events()
    # Nothing remembers that create (a store restored from a backup taken before it went out),
    # and the tech drags the event.
    with world.uow() as uow:
        [row] = uow.outbox.pending()
        uow.outbox.update(replace(row, attempts=0, next_attempt=world.clock.now(), last_error=None))
        uow.commit()
    world.phone.edit_event(PRIMARY, made.remote_id, when=timed(NOW + timedelta(hours=6), 90))
    await engine.run_once()
    for _ in range(2):
        world.clock.advance(timedelta(minutes=5))
        await engine.run_once()

    [event] = world.booking_events()
    assert event.when.start == NOW + timedelta(hours=3) == world.booking(booking.id).start
    assert pending(world) == []
    with world.uow() as uow:
        link = uow.links.for_booking(booking.id)
        assert link is not None and link.etag == event.etag
        assert [c for c in uow.conflicts.list() if c.status is ConflictStatus.OPEN] == []
