"""What a technician's own calendar events do to their availability in one week, and why.

Calendar settings show this next to the "Blocks availability" switches, so a tech or dispatcher
sees the effect of a switch before wondering why a slot is free or busy. It reads only the local
mirror of remote events (never a provider) and applies the same rules the sync engine uses to
build busy blocks (app.domain.blocking), adding the reason in plain words.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from app.domain.blocking import WORKING_LOCATION, blocks_availability, calendar_blocks, is_tentative
from app.domain.ids import TechId
from app.domain.model import AccountStatus, Calendar, EventTime, RemoteEvent, Response, ShowAs, Technician
from app.domain.recurrence import expand
from app.domain.time import Interval, ensure_utc, local_midnight, local_to_utc, zone
from app.errors import NotFound
from app.services.ports import UnitOfWorkFactory


@dataclass(frozen=True, slots=True)
class PreviewItem:
    """One occurrence of a calendar event in the previewed week."""

    calendar_name: str
    title: str  # "Private event" for private ones: their titles are never kept
    interval: Interval  # UTC; all-day items cover the tech's local days
    all_day: bool
    blocks: bool
    reason: str


@dataclass(frozen=True, slots=True)
class CalendarPreview:
    tech: Technician
    week: Interval
    first_day: date
    items: tuple[PreviewItem, ...]

    @property
    def blocking(self) -> tuple[PreviewItem, ...]:
        return tuple(i for i in self.items if i.blocks)


def week_of(day: date) -> date:
    """The Monday of `day`'s week."""
    return day - timedelta(days=day.weekday())


def reason_for(event: RemoteEvent, calendar: Calendar, tech: Technician) -> tuple[bool, str]:
    """Whether the event blocks the tech, and a short sentence saying why (matches `materialize`)."""
    if not calendar_blocks(calendar, tech):
        return False, "Doesn't block: this calendar's switch is off"
    if event.event_type == WORKING_LOCATION:
        return False, "Doesn't block: it only says where the tech works"
    if event.response is Response.DECLINED:
        return False, "Doesn't block: declined"
    if event.show_as is ShowAs.FREE:
        return False, "Doesn't block: shown as free"
    if event.show_as is ShowAs.WORKING_ELSEWHERE:
        return False, "Doesn't block: working elsewhere"
    blocks = blocks_availability(event, tentative_blocks=tech.tentative_blocks)
    if is_tentative(event):
        return blocks, (
            "Blocks: tentative (the tech counts those)"
            if blocks
            else "Doesn't block: tentative (not accepted yet)"
        )
    if event.show_as is ShowAs.OUT_OF_OFFICE:
        return blocks, "Blocks: out of office"
    if event.when.all_day:
        return blocks, "Blocks: all day, within business hours"
    return blocks, "Blocks: busy"


def _span(when: EventTime, tech: Technician) -> Interval:
    if when.start_date is not None and when.end_date is not None:
        tz = zone(tech.timezone)
        return Interval(local_midnight(when.start_date, tz), local_midnight(when.end_date, tz))
    assert when.start is not None and when.end is not None
    return Interval(ensure_utc(when.start), ensure_utc(when.end))


class CalendarPreviewService:
    """Read-only: the week's calendar events of one tech with their effect on availability."""

    def __init__(self, uow_factory: UnitOfWorkFactory) -> None:
        self._uow = uow_factory

    def week(self, tech_id: TechId, day: date) -> CalendarPreview:
        """The tech's events in the (tech-local) week holding `day`, under the current switches."""
        with self._uow() as uow:
            tech = uow.techs.get(tech_id)
            if tech is None:
                raise NotFound("That technician no longer exists.")
            tz = zone(tech.timezone)
            monday = week_of(day)
            window = Interval(
                local_to_utc(monday, time(0), tz), local_midnight(monday + timedelta(days=7), tz)
            )
            items: list[PreviewItem] = []
            for account in uow.accounts.for_tech(tech.id):
                if account.status is AccountStatus.DISCONNECTED:
                    continue
                for calendar in uow.calendars.for_account(account.id):
                    items.extend(
                        self._calendar_items(
                            calendar, uow.remote_events.for_calendar(calendar.id), tech, window
                        )
                    )
        items.sort(key=lambda i: (i.interval.start, not i.all_day, i.title))
        return CalendarPreview(tech, window, monday, tuple(items))

    def _calendar_items(
        self, calendar: Calendar, events: list[RemoteEvent], tech: Technician, window: Interval
    ) -> list[PreviewItem]:
        exceptions: dict[str, list[RemoteEvent]] = {}
        for event in events:
            if event.master_remote_id is not None:
                exceptions.setdefault(event.master_remote_id, []).append(event)
        items: list[PreviewItem] = []
        masters = [e for e in events if e.master_remote_id is None]
        # An instance whose master we never stored still is an event on its own.
        known = {e.remote_id for e in masters}
        orphans = [e for key, group in exceptions.items() if key not in known for e in group]
        for master in [*masters, *orphans]:
            own = exceptions.get(master.remote_id, []) if master.master_remote_id is None else []
            for occurrence in expand(master, own, window):
                event = occurrence.source
                if event.cancelled or event.booking_id is not None or master.booking_id is not None:
                    continue  # bookings already block their own time on the board
                span = _span(occurrence.when, tech)
                if span.empty or not span.overlaps(window):
                    continue
                blocks, reason = reason_for(event, calendar, tech)
                private = event.private or master.private
                items.append(
                    PreviewItem(
                        calendar_name=calendar.name,
                        title="Private event" if private or not event.title else event.title,
                        interval=span,
                        all_day=occurrence.when.all_day,
                        blocks=blocks,
                        reason=reason,
                    )
                )
        return items


def local_day(instant: datetime, tech: Technician) -> date:
    return instant.astimezone(zone(tech.timezone)).date()
