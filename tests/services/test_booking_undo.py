"""Undoing a booking change: it goes back through the service (outbox, bus), never over a newer edit,
and never onto busy time without asking."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app.bus import BookingChanged
from app.domain.ids import AccountId, OutboxId
from app.domain.model import AccountStatus, BookingStatus, CalendarAccount, Provider
from app.errors import Outdated, Refused
from app.services.booking_changes import BookingChange, ChangeKind
from app.services.bookings import NewBooking
from app.services.container import Services

MON_9_CHICAGO = datetime(2026, 11, 2, 15, 0, tzinfo=UTC)


def _connected(services: Services) -> None:
    for name, email, tz in (
        ("Maria Lopez", "maria@example.com", "America/Chicago"),
        ("Sam Okafor", "sam@example.com", "America/Chicago"),
    ):
        tech = services.techs.add(name, email, tz, "mon-fri 08:00-17:00")
        with services.uow() as uow:
            uow.accounts.add(
                CalendarAccount(
                    AccountId(tech.id),
                    tech.id,
                    Provider.GOOGLE,
                    email,
                    f"google:{email}",
                    AccountStatus.CONNECTED,
                )
            )
            uow.commit()


def _job(services: Services, start: datetime = MON_9_CHICAGO, tech: str = "Maria Lopez") -> BookingChange:
    made = services.bookings.create(
        NewBooking("Harbor Dental", "AC repair", timedelta(minutes=60), start, tech)
    )
    return BookingChange(made, made)


def _outbox(services: Services, booking_id: str) -> list[tuple[OutboxId, str | None]]:
    """The booking's "plan again" rows in order: (row id, the tech whose calendar is involved)."""
    with services.uow() as uow:
        return [(i.id, i.tech_id) for i in uow.outbox.for_booking(booking_id)]


def test_undoing_a_move_puts_the_time_back_and_queues_the_calendar_write(services: Services) -> None:
    _connected(services)
    before = _job(services).after
    after = services.bookings.move(before.id, MON_9_CHICAGO + timedelta(hours=3))
    change = BookingChange(before, after)
    assert change.kind is ChangeKind.MOVED and change.is_direct
    queued = len(_outbox(services, before.id))
    events: list[BookingChanged] = []
    services.bus.subscribe(BookingChanged, events.append)
    restored = services.bookings.undo(change)
    assert (restored.start, restored.tech_id, restored.status) == (
        before.start,
        before.tech_id,
        before.status,
    )
    assert restored.version == after.version + 1
    assert services.bookings.get(before.id) == restored
    rows = _outbox(services, before.id)
    assert len(rows) == queued + 1
    assert rows[-1][1] == restored.tech_id
    assert [e.kind for e in events] == ["moved"]


def test_undoing_a_reassignment_gives_the_job_back_to_the_first_tech(services: Services) -> None:
    _connected(services)
    before = _job(services).after
    after = services.bookings.reassign(before.id, "Sam Okafor")
    change = BookingChange(before, after)
    assert change.kind is ChangeKind.REASSIGNED
    queued = len(_outbox(services, before.id))
    restored = services.bookings.undo(change)
    assert restored.tech_id == before.tech_id
    # The undo involves both calendars: the one the job leaves, then the one it returns to.
    assert [t for _, t in _outbox(services, before.id)[queued:]] == [after.tech_id, before.tech_id]


def test_undoing_a_cancellation_reinstates_the_booking(services: Services) -> None:
    _connected(services)
    before = _job(services).after
    after = services.bookings.cancel(before.id)
    change = BookingChange(before, after)
    assert change.kind is ChangeKind.CANCELLED
    restored = services.bookings.undo(change)
    assert restored.status is BookingStatus.SCHEDULED
    assert (restored.start, restored.tech_id) == (before.start, before.tech_id)
    assert [b.id for b in services.bookings.list()] == [before.id]
    rows = _outbox(services, before.id)
    assert rows[-1][1] == before.tech_id
    with services.uow() as uow:
        assert any(e.action == "booking.undone.cancelled" for e in uow.audit.recent())


def test_undo_is_refused_when_the_booking_changed_since(services: Services) -> None:
    _connected(services)
    before = _job(services).after
    after = services.bookings.move(before.id, MON_9_CHICAGO + timedelta(hours=3))
    elsewhere = services.bookings.move(before.id, MON_9_CHICAGO + timedelta(hours=5))
    queued = _outbox(services, before.id)
    with pytest.raises(Outdated, match=r"^Can't undo: the Harbor Dental job was changed after that"):
        services.bookings.undo(BookingChange(before, after))
    assert services.bookings.get(before.id) == elsewhere
    assert _outbox(services, before.id) == queued


def test_undo_onto_time_that_became_busy_asks_first(services: Services) -> None:
    _connected(services)
    before = _job(services).after
    after = services.bookings.move(before.id, MON_9_CHICAGO + timedelta(hours=3))
    _job(services, MON_9_CHICAGO + timedelta(minutes=30))  # another job takes the old slot meanwhile
    with pytest.raises(Refused, match="Maria Lopez is busy then") as refused:
        services.bookings.undo(BookingChange(before, after))
    assert not isinstance(refused.value, Outdated)
    assert services.bookings.get(before.id) == after
    forced = services.bookings.undo(BookingChange(before, after), force=True)
    assert forced.start == before.start and forced.forced
