"""Two people, one job: a save over a version someone else changed is refused with what, where, when."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from app.bus import Bus
from app.domain.ids import ConflictId, new_id
from app.domain.model import Booking, BookingStatus, Conflict, ConflictKind, ConflictStatus
from app.domain.time import FixedClock
from app.services.bookings import BookingEdit, NewBooking
from app.services.container import Services
from app.services.stale_booking import StaleBooking
from storage import Database, open_database

AT_NINE = datetime(2026, 11, 3, 15, 0, tzinfo=UTC)  # Tue 3 Nov, 09:00 in Chicago
AT_TWO = datetime(2026, 11, 3, 20, 0, tzinfo=UTC)  # 14:00 in Chicago


@dataclass(frozen=True, slots=True)
class Office:
    front: Services  # the front desk
    back: Services  # the back office, on the same store through its own connections
    front_db: Database
    clock: FixedClock


@pytest.fixture
def office(db_url: str, clock: FixedClock) -> Iterator[Office]:
    front_db = open_database(db_url, desk="front-desk")
    back_db = open_database(db_url, desk="back-office")
    try:
        yield Office(
            Services.build(front_db.unit_of_work, clock, Bus()),
            Services.build(back_db.unit_of_work, clock, Bus()),
            front_db,
            clock,
        )
    finally:
        front_db.dispose()
        back_db.dispose()


def _job(office: Office) -> Booking:
    office.front.techs.add("Maria Lopez", "maria@example.com", "America/Chicago")
    office.front.techs.add("Sam Okafor", "sam@example.com", "America/Chicago")
    return office.front.bookings.create(
        NewBooking(
            customer="Harbor Dental",
            service="AC repair",
            duration=timedelta(hours=1),
            start=AT_NINE,
            tech="Maria Lopez",
        )
    )


SUFFIX = ", after you opened it; reload it and make your change again."


def test_a_move_over_someone_elses_move_is_refused_naming_it(office: Office) -> None:
    opened = _job(office)  # the back office opens the job in its editor
    office.front.bookings.move(opened.id, AT_TWO, expected_version=opened.version)
    office.clock.advance(timedelta(seconds=20))
    with pytest.raises(StaleBooking) as refused:
        office.back.bookings.edit(
            opened.id, BookingEdit(notes="Gate code 4411", expected_version=opened.version)
        )
    assert (
        str(refused.value)
        == "The Harbor Dental job was moved to 14:00 on Tue 3 Nov at front-desk 20 s ago" + SUFFIX
    )
    assert refused.value.current.start == AT_TWO
    stored = office.back.bookings.get(opened.id)
    assert stored == refused.value.current and stored.notes == ""  # nothing of the refused save


def test_reassigned_and_cancelled_are_named_and_refuse_cancel_too(office: Office) -> None:
    opened = _job(office)
    office.front.bookings.reassign(opened.id, "Sam Okafor")
    office.clock.advance(timedelta(minutes=3))
    with pytest.raises(StaleBooking) as refused:
        office.back.bookings.cancel(opened.id, expected_version=opened.version)
    assert (
        str(refused.value) == "The Harbor Dental job was given to Sam Okafor at front-desk 3 min ago" + SUFFIX
    )
    current = refused.value.current
    office.front.bookings.cancel(opened.id, expected_version=current.version)
    office.clock.advance(timedelta(seconds=5))
    with pytest.raises(StaleBooking) as again:
        office.back.bookings.move(opened.id, AT_NINE, expected_version=current.version)
    assert str(again.value) == "The Harbor Dental job was cancelled at front-desk 5 s ago" + SUFFIX
    assert office.back.bookings.get(opened.id).status is BookingStatus.CANCELLED


def test_a_save_over_the_version_read_goes_through_and_the_audit_log_names_the_desk(office: Office) -> None:
    opened = _job(office)
    moved = office.back.bookings.move(opened.id, AT_TWO, expected_version=opened.version)
    assert moved.version == opened.version + 1
    edited = office.front.bookings.edit(
        opened.id, BookingEdit(notes="Side door", expected_version=moved.version)
    )
    assert edited.notes == "Side door"
    with office.front_db.unit_of_work(read_only=True) as uow:
        trail = [(entry.action, entry.desk) for entry in uow.audit.for_booking(opened.id)]
    assert trail == [
        ("booking.edited", "front-desk"),
        ("booking.moved", "back-office"),
        ("booking.created", "front-desk"),
    ]


def test_a_conflict_decided_over_another_desks_move_is_refused_and_stays_open(office: Office) -> None:
    opened = _job(office)
    conflict = Conflict(
        ConflictId(new_id()),
        opened.id,
        opened.tech_id,
        ConflictKind.OVERLAP,
        office.clock.now(),
        other_start=AT_NINE,
        other_end=AT_NINE + timedelta(minutes=45),
        detail="A dentist appointment was added over the Harbor Dental job",
    )
    with office.front_db.unit_of_work() as uow:
        uow.conflicts.add(conflict)
        uow.commit()
    seen = office.back.conflicts.get(conflict.id)  # the back office opens the conflict card
    office.front.bookings.move(opened.id, AT_TWO, expected_version=opened.version)  # and front moves it
    office.clock.advance(timedelta(seconds=20))
    with pytest.raises(StaleBooking) as refused:
        office.back.conflicts.reassign(seen.id, "Sam Okafor", expected_version=opened.version)
    assert str(refused.value).startswith("The Harbor Dental job was moved to 14:00")
    with pytest.raises(StaleBooking):
        office.back.conflicts.reschedule(
            seen.id, AT_NINE + timedelta(hours=1), expected_version=opened.version
        )
    assert office.back.conflicts.get(conflict.id).status is ConflictStatus.OPEN
    assert office.back.bookings.get(opened.id).start == AT_TWO
    decided = office.back.conflicts.reassign(
        seen.id, "Sam Okafor", expected_version=office.back.bookings.get(opened.id).version
    )
    assert decided.status is ConflictStatus.RESOLVED
