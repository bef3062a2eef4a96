"""Availability through the use cases: busy from calendars, time off and jobs; earliest slots."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from app.domain.ids import AccountId, CalendarId
from app.domain.model import BusyBlock, BusySource, Calendar, CalendarAccount, Provider
from app.domain.time import Interval
from app.errors import InvalidInput
from app.services.bookings import NewBooking
from app.services.container import Services


def _calendar_block(
    services: Services, tech_name: str, start: datetime, end: datetime, title: str | None
) -> None:
    tech = services.techs.find(tech_name)
    with services.uow() as uow:
        account = CalendarAccount(AccountId("a" * 32), tech.id, Provider.GOOGLE, tech.email, "ref")
        calendar = Calendar(CalendarId("c" * 32), account.id, "primary", "Work", True, True)
        uow.accounts.add(account)
        uow.calendars.add(calendar)
        uow.busy.replace_for_event(
            calendar.id,
            "evt1",
            [
                BusyBlock(
                    tech.id,
                    Interval(start, end),
                    BusySource.CALENDAR,
                    title,
                    calendar.id,
                    "evt1",
                    calendar_name="Work",
                )
            ],
        )
        uow.commit()


def test_day_availability_combines_calendar_time_off_and_jobs(services: Services) -> None:
    services.techs.add("Maria Lopez", "maria@example.com", "America/Chicago", "mon-fri 08:00-17:00")
    # Dentist 10:00-11:00 local (CST = UTC-6), a job 13:00-14:00 local.
    _calendar_block(
        services,
        "Maria Lopez",
        datetime(2026, 11, 2, 16, tzinfo=UTC),
        datetime(2026, 11, 2, 17, tzinfo=UTC),
        None,
    )
    services.bookings.create(
        NewBooking(
            "Kim", "AC repair", timedelta(hours=1), datetime(2026, 11, 2, 19, tzinfo=UTC), "Maria Lopez"
        )
    )
    day = services.schedule.day("Maria Lopez", date(2026, 11, 2))
    assert [(f.start.hour, f.end.hour) for f in day.free] == [(14, 16), (17, 19), (20, 23)]
    assert [b.source for b in day.busy] == [BusySource.CALENDAR, BusySource.BOOKING]
    assert day.busy[0].title is None  # a private event keeps its times only


def test_earliest_slot_skips_busy_techs(services: Services) -> None:
    services.techs.add("Maria Lopez", "maria@example.com", "America/Chicago", "mon-fri 08:00-17:00")
    services.techs.add("Sam Okafor", "sam@example.com", "America/Los_Angeles", "mon-fri 08:00-17:00")
    services.time_off.add_days("Maria Lopez", date(2026, 11, 2), 1, "PTO")
    start = datetime(2026, 11, 2, 12, tzinfo=UTC)
    slots = services.schedule.earliest(timedelta(hours=2), (), start, days=3)
    assert len(slots) == 1
    sam = services.techs.find("Sam Okafor")
    assert slots[0].tech_id == sam.id
    assert slots[0].interval.start == datetime(2026, 11, 2, 16, tzinfo=UTC)  # 08:00 in Los Angeles
    with pytest.raises(InvalidInput, match="more than zero"):
        services.schedule.earliest(timedelta(0))
