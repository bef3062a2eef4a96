"""Booking use cases over a real store: saving, refusing busy time, forcing, moving, the outbox."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app.bus import BookingChanged
from app.domain.ids import AccountId
from app.domain.model import (
    AccountStatus,
    BookingStatus,
    CalendarAccount,
    Provider,
)
from app.errors import InvalidInput, NotFound, Refused
from app.services.bookings import BookingEdit, NewBooking
from app.services.container import Services

MON_9_CHICAGO = datetime(2026, 11, 2, 15, 0, tzinfo=UTC)


def _techs(services: Services) -> None:
    services.techs.add("Maria Lopez", "maria@example.com", "America/Chicago", "mon-fri 08:00-17:00")
    services.techs.add("Sam Okafor", "sam@example.com", "America/Los_Angeles", "mon-fri 08:00-17:00")


def _job(start: datetime = MON_9_CHICAGO, tech: str | None = "Maria Lopez", minutes: int = 90) -> NewBooking:
    return NewBooking(
        "Harbor Dental", "AC maintenance", timedelta(minutes=minutes), start, tech, address="1200 Lake St"
    )


def test_a_booking_saves_without_any_calendar_connected(services: Services) -> None:
    _techs(services)
    booking = services.bookings.create(_job())
    assert services.bookings.get(booking.id) == booking
    assert booking.end == MON_9_CHICAGO + timedelta(minutes=90)
    with services.uow() as uow:
        assert uow.outbox.pending() == []  # nothing to send: the tech has no calendar
        assert uow.customers.get(booking.customer_id) is not None


def test_booking_over_another_job_is_refused_with_the_reason(services: Services) -> None:
    _techs(services)
    services.bookings.create(_job())
    with pytest.raises(Refused, match="Maria Lopez is busy then: another job"):
        services.bookings.create(_job(MON_9_CHICAGO + timedelta(minutes=30)))
    assert len(services.bookings.list()) == 1


def test_forced_booking_is_saved_and_recorded_as_forced(services: Services) -> None:
    _techs(services)
    services.bookings.create(_job())
    forced = services.bookings.create(_job(MON_9_CHICAGO + timedelta(minutes=30)), force=True)
    assert forced.forced
    with services.uow() as uow:
        assert any(e.action == "booking.forced" and e.booking_id == forced.id for e in uow.audit.recent())


def test_time_off_blocks_booking(services: Services) -> None:
    _techs(services)
    services.time_off.add_days("Maria Lopez", MON_9_CHICAGO.date(), 1, "Dentist")
    with pytest.raises(Refused, match="time off"):
        services.bookings.create(_job())


def test_touching_bookings_do_not_clash(services: Services) -> None:
    _techs(services)
    services.bookings.create(_job())
    after = services.bookings.create(_job(MON_9_CHICAGO + timedelta(minutes=90)))
    assert not after.forced


def test_move_reassign_and_cancel(services: Services) -> None:
    _techs(services)
    events: list[BookingChanged] = []
    services.bus.subscribe(BookingChanged, events.append)
    booking = services.bookings.create(_job())
    moved = services.bookings.move(booking.id[:8], MON_9_CHICAGO + timedelta(hours=2))
    assert moved.start == MON_9_CHICAGO + timedelta(hours=2)
    assert moved.version == booking.version + 1
    sam = services.techs.find("sam okafor")
    reassigned = services.bookings.reassign(booking.id, "Sam Okafor")
    assert reassigned.tech_id == sam.id
    cancelled = services.bookings.cancel(booking.id)
    assert cancelled.status is BookingStatus.CANCELLED
    assert services.bookings.list() == []
    assert [e.kind for e in events] == ["created", "moved", "reassigned", "cancelled"]
    assert events[2].tech_ids[1] == sam.id


def test_moving_onto_own_slot_is_not_a_clash(services: Services) -> None:
    _techs(services)
    booking = services.bookings.create(_job())
    moved = services.bookings.move(booking.id, MON_9_CHICAGO + timedelta(minutes=15))
    assert not moved.forced


def test_cancelled_booking_cannot_be_moved(services: Services) -> None:
    _techs(services)
    booking = services.bookings.create(_job())
    services.bookings.cancel(booking.id)
    with pytest.raises(Refused, match="cancelled"):
        services.bookings.move(booking.id, MON_9_CHICAGO + timedelta(hours=3))


def test_unassigned_job_lands_in_the_tray_and_can_be_assigned(services: Services) -> None:
    _techs(services)
    job = services.bookings.create(_job(start=None, tech=None))  # type: ignore[arg-type]
    assert [b.id for b in services.bookings.unassigned()] == [job.id]
    assigned = services.bookings.edit(job.id, BookingEdit(start=MON_9_CHICAGO, tech="Maria Lopez"))
    assert assigned.tech_id is not None
    assert services.bookings.unassigned() == []


def test_bad_input_is_refused_before_anything_is_written(services: Services) -> None:
    _techs(services)
    with pytest.raises(InvalidInput, match="more than zero"):
        services.bookings.create(_job(minutes=0))
    with pytest.raises(NotFound, match="No technician called 'Nobody'"):
        services.bookings.create(_job(tech="Nobody"))
    with pytest.raises(InvalidInput, match="needs a start"):
        services.bookings.create(_job(start=None))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="naive"):
        services.bookings.create(_job(start=datetime(2026, 11, 2, 9)))
    assert services.bookings.list() == []
    with services.uow() as uow:
        assert uow.customers.list() == []


def test_outbox_rows_follow_each_change_when_a_calendar_is_connected(services: Services) -> None:
    _techs(services)
    maria = services.techs.find("Maria Lopez")
    sam = services.techs.find("Sam Okafor")
    with services.uow() as uow:
        for tech, email in ((maria, "maria@example.com"), (sam, "sam@example.com")):
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
    booking = services.bookings.create(_job())
    services.bookings.move(booking.id, MON_9_CHICAGO + timedelta(hours=1))
    services.bookings.reassign(booking.id, "Sam Okafor")
    services.bookings.cancel(booking.id)
    with services.uow() as uow:
        items = uow.outbox.for_booking(booking.id)
    # One "this booking changed" row per change and calendar involved, in order: created, moved,
    # taken from Maria, given to Sam, cancelled. What each means for the calendars is the planner's.
    assert [i.tech_id for i in items] == [maria.id, maria.id, maria.id, sam.id, sam.id]
    assert len({i.id for i in items}) == 5


def test_techs_are_found_by_the_start_of_their_name(services: Services) -> None:
    _techs(services)
    services.techs.add("Maria Gomez", "mg@example.com", "America/Chicago")
    assert services.techs.find("sam").name == "Sam Okafor"
    assert services.techs.find("MARIA LOPEZ").name == "Maria Lopez"
    with pytest.raises(InvalidInput, match="could mean Maria Gomez, Maria Lopez"):
        services.techs.find("maria")
    with pytest.raises(NotFound, match="known: Maria Gomez, Maria Lopez, Sam Okafor"):
        services.techs.find("zed")


def test_reading_jobs_never_waits_for_a_writer(services: Services) -> None:
    """The sync may hold the store's write lock for a while (SQLite's BEGIN IMMEDIATE, PostgreSQL's
    writers' advisory lock); screens still read."""
    _techs(services)
    booking = services.bookings.create(_job())
    assert booking.interval is not None
    with services.uow() as held:
        held.techs.list()  # the writer's lock is taken at its first statement, and kept to the end
        # A second writer would wait here for the busy timeout and fail; these reads answer at once.
        assert [b.id for b in services.bookings.list()] == [booking.id]
        assert services.bookings.get(booking.id).id == booking.id
        assert services.board.snapshot(booking.interval).rows
