"""Reading a tech's schedule: everything that makes them busy, and where they are free.

Availability reads only the local store (busy blocks mirrored from calendars, time off and
bookings), never a provider, so it answers instantly and works while a provider is down.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from app.domain.availability import (
    Slot,
    TechSchedule,
    business_intervals,
    day_window,
    earliest_slots,
    free_intervals,
    time_off_interval,
)
from app.domain.ids import BookingId, TechId
from app.domain.model import BusyBlock, BusySource, Technician
from app.domain.time import Clock, Interval, zone
from app.errors import InvalidInput
from app.services.ports import UnitOfWork, UnitOfWorkFactory
from app.services.techs import find_tech


def busy_blocks(
    uow: UnitOfWork,
    techs: Sequence[Technician],
    window: Interval,
    exclude_booking: BookingId | None = None,
    with_bookings: bool = True,
) -> dict[TechId, list[BusyBlock]]:
    """Every busy block of each tech overlapping `window`: calendars, time off, and (unless the
    caller reads bookings itself, as the board does) bookings."""
    ids = [t.id for t in techs]
    by_tech: dict[TechId, list[BusyBlock]] = {t.id: [] for t in techs}
    zones = {t.id: t.timezone for t in techs}
    for block in uow.busy.for_techs(ids, window):
        by_tech[block.tech_id].append(block)
    for item in uow.time_off.for_techs(ids):
        span = time_off_interval(item, zones[item.tech_id])
        if span.overlaps(window):
            by_tech[item.tech_id].append(
                BusyBlock(
                    item.tech_id,
                    span,
                    BusySource.TIME_OFF,
                    title=item.reason or "Time off",
                    remote_id=item.id,
                    all_day=item.first_day is not None,
                )
            )
    for booking in uow.bookings.between(window, ids) if with_bookings else ():
        if booking.id == exclude_booking or booking.interval is None or booking.tech_id is None:
            continue
        by_tech[booking.tech_id].append(
            BusyBlock(
                booking.tech_id,
                booking.interval,
                BusySource.BOOKING,
                title=booking.service,
                remote_id=booking.id,
            )
        )
    for blocks in by_tech.values():
        blocks.sort(key=lambda b: (b.interval.start, b.interval.end))
    return by_tech


def busy_spans(
    uow: UnitOfWork, techs: Sequence[Technician], window: Interval
) -> dict[TechId, list[Interval]]:
    """Only the times each tech is busy in `window` (calendars, time off, jobs): what a slot search
    needs. Cheaper than `busy_blocks`, which builds the full blocks a screen shows."""
    ids = [t.id for t in techs]
    spans: dict[TechId, list[Interval]] = {t.id: [] for t in techs}
    for tech_id, span in uow.busy.spans(ids, window):
        spans[tech_id].append(span)
    for tech_id, span in uow.bookings.spans(window, ids):
        spans[tech_id].append(span)
    zones = {t.id: t.timezone for t in techs}
    for item in uow.time_off.for_techs(ids):
        span = time_off_interval(item, zones[item.tech_id])
        if span.overlaps(window):
            spans[item.tech_id].append(span)
    return spans


@dataclass(frozen=True, slots=True)
class DayAvailability:
    tech: Technician
    day: date
    window: Interval
    hours: tuple[Interval, ...]
    free: tuple[Interval, ...]
    busy: tuple[BusyBlock, ...]


class ScheduleService:
    """Availability questions the dispatcher asks: who is free, and when."""

    def __init__(self, uow_factory: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow = uow_factory
        self._clock = clock

    def day(self, tech_name_or_id: str, day: date) -> DayAvailability:
        with self._uow(read_only=True) as uow:
            tech = find_tech(uow, tech_name_or_id)
            window = day_window(tech.timezone, day)
            busy = busy_blocks(uow, [tech], window)[tech.id]
        return DayAvailability(
            tech=tech,
            day=day,
            window=window,
            hours=tuple(business_intervals(tech, window)),
            free=tuple(free_intervals(tech, window, [b.interval for b in busy])),
            busy=tuple(busy),
        )

    def earliest(
        self,
        duration: timedelta,
        tech_names: Sequence[str] = (),
        start: datetime | None = None,
        days: int = 14,
        limit: int = 1,
    ) -> list[Slot]:
        """The earliest free slots of `duration` among the named techs (all active techs if none)."""
        if duration <= timedelta(0):
            raise InvalidInput("Duration must be more than zero minutes.")
        if days < 1 or days > 366:
            raise InvalidInput("Search between 1 and 366 days ahead.")
        begin = start or self._clock.now()
        window = Interval(begin, begin + timedelta(days=days))
        with self._uow(read_only=True) as uow:
            techs = [find_tech(uow, n) for n in tech_names] if tech_names else uow.techs.list()
            if not techs:
                raise InvalidInput("There are no technicians yet; add one with 'crewboard tech add'.")
            busy = busy_spans(uow, techs, window)
        schedules = [TechSchedule(t, tuple(busy[t.id])) for t in techs]
        return earliest_slots(schedules, duration, window, limit)

    def conflicts_for(
        self, tech: Technician, span: Interval, exclude_booking: BookingId | None = None
    ) -> list[BusyBlock]:
        with self._uow(read_only=True) as uow:
            return overlapping_busy(uow, tech, span, exclude_booking)


def overlapping_busy(
    uow: UnitOfWork, tech: Technician, span: Interval, exclude_booking: BookingId | None = None
) -> list[BusyBlock]:
    """What already occupies `tech` during `span` (the booking being moved excluded)."""
    blocks = busy_blocks(uow, [tech], span, exclude_booking)[tech.id]
    return [b for b in blocks if b.interval.overlaps(span)]


def describe_clash(blocks: Sequence[BusyBlock], tech: Technician) -> str:
    first = blocks[0]
    what = {
        BusySource.BOOKING: f"another job ({first.title})",
        BusySource.TIME_OFF: f"time off ({first.title})" if first.title else "time off",
        BusySource.CALENDAR: f"'{first.title}' in their calendar" if first.title else "a private event",
    }[first.source]
    local = first.interval.start.astimezone(zone(tech.timezone)).strftime("%a %d %b %H:%M")
    more = f" and {len(blocks) - 1} more" if len(blocks) > 1 else ""
    return f"{tech.name} is busy then: {what} at {local}{more}"
