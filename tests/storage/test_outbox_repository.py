"""The outbox hands out due rows oldest first and refuses a row id twice."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest
from sqlalchemy.exc import IntegrityError

from app.domain.ids import BookingId, CalendarId, OutboxId, new_id
from app.domain.model import Calendar, Customer, OutboxItem, Technician
from storage import Database
from tests.storage.conftest import T0, booking

MINUTE = timedelta(minutes=1)


def _item(booking_id: BookingId, created_minutes: int, **changes: object) -> OutboxItem:
    values: dict[str, object] = {
        "id": OutboxId(new_id()),
        "booking_id": booking_id,
        "tech_id": None,
        "created_at": T0 + created_minutes * MINUTE,
    }
    values.update(changes)
    return OutboxItem(**values)  # type: ignore[arg-type]


@pytest.fixture
def two_jobs(db: Database, people: tuple[Technician, Customer]) -> tuple[BookingId, BookingId]:
    ana, harbor = people
    first, second = booking(harbor.id, ana.id, T0), booking(harbor.id, ana.id, T0 + 60 * MINUTE)
    with db.unit_of_work() as uow:
        uow.bookings.add(first)
        uow.bookings.add(second)
        uow.commit()
    return first.id, second.id


def test_due_items_come_in_the_order_they_were_written(
    db: Database, two_jobs: tuple[BookingId, BookingId]
) -> None:
    first, second = two_jobs
    create_first = _item(first, 0)
    create_second = _item(second, 1)
    retry_later = _item(first, 2, attempts=3, next_attempt=T0 + 30 * MINUTE, last_error="503")
    retry_now = _item(second, 3, attempts=1, next_attempt=T0 + 5 * MINUTE)
    delete_first = _item(first, 4)
    with db.unit_of_work() as uow:
        for item in (create_first, create_second, retry_later, retry_now, delete_first):
            uow.outbox.add(item)
        uow.commit()
    with db.unit_of_work() as uow:
        assert uow.outbox.due(T0 + 10 * MINUTE) == [create_first, create_second, retry_now, delete_first]
        assert uow.outbox.due(T0 + 5 * MINUTE, limit=2) == [create_first, create_second]
        assert uow.outbox.due(T0 + 30 * MINUTE) == [
            create_first,
            create_second,
            retry_later,
            retry_now,
            delete_first,
        ]
        assert uow.outbox.pending() == [create_first, create_second, retry_later, retry_now, delete_first]
        assert uow.outbox.for_booking(first) == [create_first, retry_later, delete_first]


def test_update_and_remove(
    db: Database, two_jobs: tuple[BookingId, BookingId], google_calendar: Calendar
) -> None:
    first, _ = two_jobs
    item = _item(first, 0)
    with db.unit_of_work() as uow:
        uow.outbox.add(item)
        uow.commit()
    failed = dataclasses.replace(
        item,
        attempts=1,
        next_attempt=T0 + 2 * MINUTE,
        last_error="Google said 500",
        calendar_id=CalendarId(google_calendar.id),
        remote_id="crewboard" + first,
    )
    with db.unit_of_work() as uow:
        uow.outbox.update(failed)
        uow.commit()
    with db.unit_of_work() as uow:
        assert uow.outbox.pending() == [failed]
        assert uow.outbox.due(T0) == []
        uow.outbox.remove(item.id)
        uow.outbox.update(failed)  # done and removed meanwhile: nothing left to update
        uow.commit()
    with db.unit_of_work() as uow:
        assert uow.outbox.pending() == []


def test_a_row_id_is_stored_once(db: Database, two_jobs: tuple[BookingId, BookingId]) -> None:
    first, second = two_jobs
    row = _item(first, 0)
    with db.unit_of_work() as uow:
        uow.outbox.add(row)
        uow.outbox.add(_item(second, 1, id=row.id))
        with pytest.raises(IntegrityError, match="id"):
            uow.commit()
