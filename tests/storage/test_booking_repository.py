"""Bookings round-trip, and the window query finds exactly the overlapping ones."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest
from sqlalchemy import text

from app.domain.ids import BookingId
from app.domain.model import Booking, BookingStatus, Customer, Technician
from app.domain.time import Interval
from app.errors import NotFound
from storage import Database
from tests.storage.conftest import T0, booking, stored_instant, tech
from tests.storage.plans import query_plan

HOUR = timedelta(hours=1)


def _store(db: Database, *items: Booking | Technician) -> None:
    with db.unit_of_work() as uow:
        for item in items:
            if isinstance(item, Technician):
                uow.techs.add(item)
            else:
                uow.bookings.add(item)
        uow.commit()


def test_booking_round_trip_and_update(db: Database, people: tuple[Technician, Customer]) -> None:
    ana, harbor = people
    job = booking(harbor.id, ana.id, T0, notes="Bring the long ladder", forced=True, version=3)
    _store(db, job)
    with db.unit_of_work() as uow:
        assert uow.bookings.get(job.id) == job
    moved = dataclasses.replace(job, start=T0 + 3 * HOUR, duration=90 * timedelta(minutes=1), version=4)
    with db.unit_of_work() as uow:
        uow.bookings.update(moved)
        uow.commit()
    with db.unit_of_work() as uow:
        assert uow.bookings.get(job.id) == moved
    with db.engine.connect() as connection:
        end = connection.execute(text('SELECT "end" FROM bookings')).scalar()
    assert end == stored_instant(db, T0 + 4 * HOUR + 30 * timedelta(minutes=1))  # the end follows the move


def test_updating_a_missing_booking_says_so(db: Database, people: tuple[Technician, Customer]) -> None:
    ana, harbor = people
    with db.unit_of_work() as uow, pytest.raises(NotFound, match="booking"):
        uow.bookings.update(booking(harbor.id, ana.id, T0))


def test_between_finds_overlaps_only(db: Database, people: tuple[Technician, Customer]) -> None:
    ana, harbor = people
    window = Interval(T0, T0 + 8 * HOUR)
    ends_at_start = booking(harbor.id, ana.id, T0 - 2 * HOUR)
    straddles_start = booking(harbor.id, ana.id, T0 - HOUR)
    inside = booking(harbor.id, ana.id, T0 + 3 * HOUR)
    straddles_end = booking(harbor.id, ana.id, T0 + 7 * HOUR)
    starts_at_end = booking(harbor.id, ana.id, T0 + 8 * HOUR)
    covers = booking(harbor.id, ana.id, T0 - HOUR, duration=10 * HOUR)
    unscheduled = booking(harbor.id, None, None)
    _store(db, ends_at_start, straddles_start, inside, straddles_end, starts_at_end, covers, unscheduled)
    with db.unit_of_work() as uow:
        found = uow.bookings.between(window)
    assert [b.id for b in found] == [straddles_start.id, covers.id, inside.id, straddles_end.id] or [
        b.id for b in found
    ] == [covers.id, straddles_start.id, inside.id, straddles_end.id]
    assert [b.start for b in found] == sorted(b.start for b in found if b.start is not None)


def test_between_filters_techs_and_cancelled(db: Database, people: tuple[Technician, Customer]) -> None:
    ana, harbor = people
    ben = tech("Ben Okafor")
    window = Interval(T0, T0 + 8 * HOUR)
    anas = booking(harbor.id, ana.id, T0)
    bens = booking(harbor.id, ben.id, T0 + HOUR)
    cancelled = booking(harbor.id, ana.id, T0 + 2 * HOUR, status=BookingStatus.CANCELLED)
    unassigned_with_wish = booking(harbor.id, None, T0 + 3 * HOUR)
    _store(db, ben, anas, bens, cancelled, unassigned_with_wish)
    with db.unit_of_work() as uow:
        assert [b.id for b in uow.bookings.between(window, [ana.id])] == [anas.id]
        assert [b.id for b in uow.bookings.between(window, [ana.id, ben.id])] == [anas.id, bens.id]
        assert [b.id for b in uow.bookings.between(window, [ana.id], live_only=False)] == [
            anas.id,
            cancelled.id,
        ]
        assert uow.bookings.between(window, []) == []
        assert [b.id for b in uow.bookings.between(window)] == [anas.id, bens.id, unassigned_with_wish.id]


@pytest.mark.sqlite_only
def test_between_uses_an_index(db: Database, people: tuple[Technician, Customer]) -> None:
    ana, _ = people
    week = Interval(T0, T0 + 7 * 24 * HOUR)
    with db.unit_of_work() as uow:
        for_techs = query_plan(db, lambda: uow.bookings.between(week, [ana.id]))
        for_all = query_plan(db, lambda: uow.bookings.between(week))
    assert "USING INDEX ix_bookings_tech_id_end_start (tech_id=? AND end>?)" in for_techs
    assert "USING INDEX ix_bookings_end_start (end>?)" in for_all


def test_unassigned_list_and_prefix(db: Database, people: tuple[Technician, Customer]) -> None:
    ana, harbor = people
    later = booking(harbor.id, None, T0 + 5 * HOUR)
    sooner = booking(harbor.id, None, T0 + HOUR)
    no_start = booking(harbor.id, None, None)
    cancelled = booking(harbor.id, None, None, status=BookingStatus.CANCELLED)
    assigned = booking(harbor.id, ana.id, T0, id=BookingId("abc123" + "0" * 26))
    _store(db, later, sooner, no_start, cancelled, assigned)
    with db.unit_of_work() as uow:
        assert [b.id for b in uow.bookings.unassigned()] == [sooner.id, later.id, no_start.id]
        assert len(uow.bookings.list()) == 5
        assert cancelled.id not in {b.id for b in uow.bookings.list(live_only=True)}
        assert uow.bookings.by_prefix("abc123") == [assigned]
        assert uow.bookings.by_prefix("%") == []


def test_spans_give_the_live_times_of_the_chosen_techs(
    db: Database, people: tuple[Technician, Customer]
) -> None:
    ana, harbor = people
    ben = tech("Ben Okafor")
    window = Interval(T0, T0 + 8 * HOUR)
    anas = booking(harbor.id, ana.id, T0 + HOUR)
    bens = booking(harbor.id, ben.id, T0 + 2 * HOUR)
    cancelled = booking(harbor.id, ana.id, T0 + 3 * HOUR, status=BookingStatus.CANCELLED)
    outside = booking(harbor.id, ana.id, T0 + 9 * HOUR)
    _store(db, ben, anas, bens, cancelled, outside)
    with db.unit_of_work() as uow:
        assert uow.bookings.spans(window, [ana.id]) == [(ana.id, anas.interval)]
        assert sorted(uow.bookings.spans(window, [ana.id, ben.id]), key=lambda s: s[1]) == [
            (ana.id, anas.interval),
            (ben.id, bens.interval),
        ]
        assert uow.bookings.spans(window, []) == []
