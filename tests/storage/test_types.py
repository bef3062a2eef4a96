"""The column types keep time conventions: aware UTC in, aware UTC out, ordering correct in SQL."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, text
from sqlalchemy.dialects import sqlite
from sqlalchemy.exc import StatementError

from app.domain.model import Customer, Technician
from storage import Database
from storage.orm import BookingRow
from storage.types import Duration, LocalDate, TextLines, TextMap, UtcDateTime, utc_text
from tests.storage.conftest import booking, stored_instant

DIALECT = sqlite.dialect()
CHICAGO = ZoneInfo("America/Chicago")


def test_utc_type_refuses_naive_datetimes() -> None:
    with pytest.raises(ValueError, match="naive"):
        UtcDateTime().process_bind_param(datetime(2026, 11, 1, 9, 0), DIALECT)


def test_utc_text_has_fixed_width_and_sorts_like_time() -> None:
    instants = [
        datetime(2026, 11, 1, 1, 30, tzinfo=CHICAGO),  # CDT, before the fall-back
        datetime(2026, 11, 1, 1, 30, fold=1, tzinfo=CHICAGO),  # CST, an hour later
        datetime(2026, 11, 1, 7, 0, 0, 5, tzinfo=UTC),
        datetime(999, 1, 1, tzinfo=UTC),
        datetime(2026, 11, 1, 16, 0, tzinfo=ZoneInfo("Asia/Kolkata")),
    ]
    texts = [utc_text(moment) for moment in instants]
    assert {len(value) for value in texts} == {32}
    assert sorted(texts) == [utc_text(moment) for moment in sorted(instants)]
    assert utc_text(datetime(2026, 11, 1, 16, 0, tzinfo=UTC)) == "2026-11-01T16:00:00.000000+00:00"


def test_aware_datetimes_in_other_zones_come_back_as_utc(
    db: Database, people: tuple[Technician, Customer]
) -> None:
    ana, harbor = people
    local_start = datetime(2026, 3, 8, 3, 30, tzinfo=CHICAGO)  # just after the spring-forward gap
    job = booking(harbor.id, ana.id, local_start)
    with db.unit_of_work() as uow:
        uow.bookings.add(job)
        uow.commit()
    with db.unit_of_work() as uow:
        stored = uow.bookings.get(job.id)
    with db.engine.connect() as connection:
        raw = tuple(connection.execute(text("SELECT start, duration FROM bookings")).one())
    assert stored is not None and stored.start is not None
    assert stored.start == local_start
    assert stored.start.tzinfo is UTC
    assert stored.start.hour == 8 and stored.start.minute == 30
    assert raw == (stored_instant(db, local_start), 7200)


def test_storing_a_naive_datetime_fails_and_writes_nothing(
    db: Database, people: tuple[Technician, Customer]
) -> None:
    ana, harbor = people
    with db.unit_of_work() as uow:
        uow.bookings.add(booking(harbor.id, ana.id, datetime(2026, 11, 2, 9, 0)))
        with pytest.raises(StatementError) as caught:
            uow.commit()
    assert isinstance(caught.value.orig, ValueError)
    with db.unit_of_work() as uow:
        assert uow.bookings.list() == []


def test_comparisons_in_sql_bind_through_the_utc_type(
    db: Database, people: tuple[Technician, Customer]
) -> None:
    ana, harbor = people
    start = datetime(2026, 11, 2, 15, 0, tzinfo=UTC)
    with db.unit_of_work() as uow:
        uow.bookings.add(booking(harbor.id, ana.id, start))
        uow.commit()
    same_instant_in_chicago = start.astimezone(CHICAGO)
    with db.engine.connect() as connection:
        found = connection.scalars(
            select(BookingRow.id).where(BookingRow.start == same_instant_in_chicago)
        ).all()
        later = connection.scalars(
            select(BookingRow.id).where(BookingRow.start > same_instant_in_chicago)
        ).all()
    assert len(found) == 1
    assert later == []


def test_duration_is_whole_seconds() -> None:
    kind = Duration()
    assert kind.process_bind_param(timedelta(days=1, minutes=90), DIALECT) == 86_400 + 5_400
    assert kind.process_result_value(5_400, DIALECT) == timedelta(minutes=90)
    with pytest.raises(ValueError, match="whole seconds"):
        kind.process_bind_param(timedelta(seconds=1, microseconds=5), DIALECT)


def test_local_date_is_iso_text_and_refuses_datetimes() -> None:
    kind = LocalDate()
    assert kind.process_bind_param(date(2026, 1, 9), DIALECT) == "2026-01-09"
    assert kind.process_result_value("2026-01-09", DIALECT) == date(2026, 1, 9)
    with pytest.raises(TypeError):
        kind.process_bind_param(datetime(2026, 1, 9, tzinfo=UTC), DIALECT)


def test_text_lines_and_text_map_round_trip() -> None:
    lines = ("RRULE:FREQ=WEEKLY;BYDAY=MO,WE", "EXDATE;TZID=America/Chicago:20261104T090000")
    stored_lines = TextLines().process_bind_param(lines, DIALECT)
    assert TextLines().process_result_value(stored_lines, DIALECT) == lines
    mapping = {"actor": "dispatcher", "why": "moved"}
    stored_map = TextMap().process_bind_param(mapping, DIALECT)
    assert TextMap().process_result_value(stored_map, DIALECT) == mapping
