"""Who could take a job at its time: the technicians a dispatcher may reassign it to, free ones first.

A use case (it reads techs, their hours and what already occupies them), so the reassign dialog and
any other screen ask the same question the same way. Call it off the GUI thread: it reads the store.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta, tzinfo

from app.domain.availability import business_intervals
from app.domain.model import Booking, BusySource, Technician
from app.domain.time import Interval, zone
from app.services.schedule import ScheduleService
from app.services.techs import TechnicianService


@dataclass(frozen=True, slots=True)
class TechChoice:
    tech: Technician
    free: bool
    reason: str  # "Free then", "Busy: Deep clean, 12:00–14:00", "Outside working hours"
    current: bool = False  # the tech who has the job now


def _clock_span(span: Interval, tz: tzinfo) -> str:
    """'12:00–14:00' in `tz` (the tech's own clock, as their calendar shows it); 'Tue 01:00' for an
    end on a later day."""
    start, end = span.start.astimezone(tz), span.end.astimezone(tz)
    if end.date() != start.date() and not (end.hour == 0 and end.minute == 0):
        return f"{start:%H:%M}–{end:%a} {end:%H:%M}"
    return f"{start:%H:%M}–{end:%H:%M}"


def tech_choices(techs: TechnicianService, schedule: ScheduleService, booking: Booking) -> list[TechChoice]:
    """Every tech with whether they are free at the job's time and why not; the free ones first, the
    job's own tech last (giving it to them changes nothing)."""
    span = booking.interval
    choices = []
    for tech in techs.list():
        current = tech.id == booking.tech_id
        if span is None:
            choices.append(TechChoice(tech, True, "Job has no time yet", current))
            continue
        hours = business_intervals(tech, span)
        covered = sum((h.duration for h in hours), timedelta()) >= span.duration
        clashes = schedule.conflicts_for(tech, span, exclude_booking=booking.id)
        if clashes:
            first = clashes[0]
            what = {
                BusySource.BOOKING: first.title or "another job",
                BusySource.TIME_OFF: first.title or "Time off",
                BusySource.CALENDAR: first.title or "Private event",
            }[first.source]
            reason = f"Busy: {what}, {_clock_span(first.interval, zone(tech.timezone))}"
            choices.append(TechChoice(tech, False, reason, current))
        elif not covered:
            choices.append(TechChoice(tech, False, "Outside working hours", current))
        else:
            choices.append(TechChoice(tech, True, "Free then", current))
    choices.sort(key=lambda c: (c.current, not c.free, c.tech.name.casefold()))
    return choices
