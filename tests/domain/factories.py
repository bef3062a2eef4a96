"""Small builders for domain values used across the domain tests."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from app.domain.hours import BusinessHours
from app.domain.ids import AccountId, CalendarId, TechId
from app.domain.model import (
    Calendar,
    CalendarBlocking,
    EventTime,
    RemoteEvent,
    Response,
    ShowAs,
    Technician,
)

LA = "America/Los_Angeles"
BERLIN = "Europe/Berlin"
CALENDAR_ID = CalendarId("cal-primary")


def local(tz_name: str, year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """A wall-clock time in a named zone (first occurrence when ambiguous)."""
    return datetime(year, month, day, hour, minute, tzinfo=ZoneInfo(tz_name))


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def technician(
    timezone: str,
    hours: str = "mon-sun 08:00-17:00",
    *,
    tech_id: str = "tech-1",
    tentative_blocks: bool = False,
    calendar_blocking: CalendarBlocking = CalendarBlocking.MARKED,
) -> Technician:
    return Technician(
        id=TechId(tech_id),
        name=f"Tech {tech_id}",
        email=f"{tech_id}@example.com",
        timezone=timezone,
        hours=BusinessHours.parse(hours),
        tentative_blocks=tentative_blocks,
        calendar_blocking=calendar_blocking,
    )


def calendar(*, primary: bool = True, blocks: bool = True, name: str = "Work") -> Calendar:
    return Calendar(
        id=CALENDAR_ID if primary else CalendarId("cal-second"),
        account_id=AccountId("account-1"),
        remote_id="remote-cal",
        name=name,
        primary=primary,
        blocks=blocks,
    )


def timed(
    start: datetime,
    end: datetime,
    timezone: str = "UTC",
    *,
    remote_id: str = "event-1",
    show_as: ShowAs = ShowAs.BUSY,
    response: Response = Response.ORGANIZER,
    recurrence: tuple[str, ...] = (),
    title: str | None = "Dentist",
    **extra: Any,
) -> RemoteEvent:
    return RemoteEvent(
        calendar_id=CALENDAR_ID,
        remote_id=remote_id,
        etag="etag-1",
        when=EventTime(start=start, end=end, timezone=timezone),
        show_as=show_as,
        response=response,
        recurrence=recurrence,
        title=title,
        **extra,
    )


def all_day(
    first: date,
    end: date,
    *,
    remote_id: str = "event-1",
    recurrence: tuple[str, ...] = (),
    title: str | None = "Vacation",
    timezone: str = "UTC",
    **extra: Any,
) -> RemoteEvent:
    return RemoteEvent(
        calendar_id=CALENDAR_ID,
        remote_id=remote_id,
        etag="etag-1",
        when=EventTime(start_date=first, end_date=end, timezone=timezone),
        recurrence=recurrence,
        title=title,
        **extra,
    )
