"""Which calendar events make a technician unavailable, and the busy blocks they become.

The rules follow what people mean on their own calendars: an event marked free, declined or only
saying where someone works leaves them bookable; a tentative one blocks only if the technician
asked for that. Booking events are skipped because the booking itself already blocks the time.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import tzinfo

from app.domain.model import (
    BusyBlock,
    BusySource,
    Calendar,
    CalendarBlocking,
    EventTime,
    RemoteEvent,
    Response,
    ShowAs,
    Technician,
)
from app.domain.recurrence import expand
from app.domain.time import Interval, ensure_utc, local_midnight, zone

WORKING_LOCATION = "workingLocation"

_NEVER_BLOCKING_SHOW_AS = frozenset({ShowAs.FREE, ShowAs.WORKING_ELSEWHERE})
_UNSURE_RESPONSES = frozenset({Response.TENTATIVE, Response.NEEDS_ACTION})


def is_tentative(event: RemoteEvent) -> bool:
    """True when the event is only pencilled in: shown as tentative or not firmly accepted."""
    return event.show_as is ShowAs.TENTATIVE or event.response in _UNSURE_RESPONSES


def blocks_availability(event: RemoteEvent, *, tentative_blocks: bool) -> bool:
    """Whether this one event (or instance) keeps its owner from being booked."""
    if event.cancelled or event.booking_id is not None or event.event_type == WORKING_LOCATION:
        return False
    if event.response is Response.DECLINED or event.show_as in _NEVER_BLOCKING_SHOW_AS:
        return False
    if is_tentative(event):
        return tentative_blocks
    return True


def calendar_blocks(calendar: Calendar, tech: Technician) -> bool:
    """The primary calendar always blocks; others only when marked and the tech allows marked ones."""
    if calendar.primary:
        return True
    return calendar.blocks and tech.calendar_blocking is CalendarBlocking.MARKED


def materialize(
    tech: Technician,
    calendar: Calendar,
    master: RemoteEvent,
    exceptions: Sequence[RemoteEvent],
    horizon: Interval,
) -> list[BusyBlock]:
    """The busy blocks one event (with its whole series) puts on `tech` within `horizon`.

    Every block is keyed by the master's ids so replacing the master's blocks swaps the whole
    series at once. All-day occurrences cover the tech's own local days. Nothing is clipped:
    `horizon` only bounds the expansion. A calendar that does not block yields nothing.
    """
    if not calendar_blocks(calendar, tech):
        return []
    tz = zone(tech.timezone)
    blocks: list[BusyBlock] = []
    for occurrence in expand(master, exceptions, horizon):
        event = occurrence.source
        if not blocks_availability(event, tentative_blocks=tech.tentative_blocks):
            continue
        interval = _tech_interval(occurrence.when, tz)
        if interval.empty:
            continue
        blocks.append(
            BusyBlock(
                tech_id=tech.id,
                interval=interval,
                source=BusySource.CALENDAR,
                title=None if event.private or master.private else event.title,
                calendar_id=master.calendar_id,
                remote_id=master.remote_id,
                all_day=occurrence.when.all_day,
                tentative=is_tentative(event),
                calendar_name=calendar.name,
            )
        )
    return blocks


def _tech_interval(when: EventTime, tz: tzinfo) -> Interval:
    if when.start_date is not None and when.end_date is not None:
        return Interval(local_midnight(when.start_date, tz), local_midnight(when.end_date, tz))
    assert when.start is not None and when.end is not None
    return Interval(ensure_utc(when.start), ensure_utc(when.end))
