"""The start times a booking page offers for a service: only where some qualified tech is truly free.

A start is offered when at least one tech qualified for the service is free (business hours in
their own zone, minus calendar busy time, time off and other jobs) for the whole job and the
buffer after it. Starts sit on a grid of local times in the business's zone (every 30 minutes by
default: 08:00, 08:30 ...), which is what customers expect to pick from.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from app.domain.availability import TechSchedule, free_intervals, free_stretches
from app.domain.ids import TechId
from app.domain.service_types import ServiceType
from app.domain.time import Interval, local_midnight, zone

DEFAULT_STEP = timedelta(minutes=30)
_HOUR = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class OfferedStart:
    """A start time the page may offer, the job's end, and the qualified techs free for it."""

    start: datetime
    end: datetime
    techs: frozenset[TechId]


def offered_starts(
    schedules: Sequence[TechSchedule],
    service: ServiceType,
    window: Interval,
    business_zone: str,
    step: timedelta = DEFAULT_STEP,
) -> list[OfferedStart]:
    """Every grid start in `window` at which some qualified tech can take the whole job and its
    buffer (both inside `window`), in time order."""
    if step <= timedelta(0):
        raise ValueError("the grid step must be positive")
    need = service.occupies
    tz = zone(business_zone)
    free_at: dict[datetime, set[TechId]] = {}
    for schedule in schedules:
        tech = schedule.tech
        if tech.id not in service.qualified or not tech.active:
            continue
        # Most gaps in a busy day are too short for the job: no grid work for them.
        for free_from, free_until in free_stretches(tech, window, schedule.busy, need):
            for start in _grid(free_from, free_until, need, tz, business_zone, step):
                free_at.setdefault(start, set()).add(tech.id)
    return [
        OfferedStart(start, start + service.duration, frozenset(techs))
        for start, techs in sorted(free_at.items())
    ]


def free_for(schedules: Iterable[TechSchedule], service: ServiceType, start: datetime) -> frozenset[TechId]:
    """The qualified techs free for the whole job and its buffer starting at `start`."""
    need = Interval(start, start + service.occupies)
    found: set[TechId] = set()
    for schedule in schedules:
        tech = schedule.tech
        if tech.id not in service.qualified or not tech.active:
            continue
        if any(span.contains(need) for span in free_intervals(tech, need, schedule.busy)):
            found.add(tech.id)
    return frozenset(found)


def on_grid(start: datetime, business_zone: str, step: timedelta = DEFAULT_STEP) -> bool:
    """Whether `start` is one of the grid's times (a page only books what it could have offered)."""
    return _first_on_grid(start, zone(business_zone), business_zone, step) == start


def _grid(
    free_from: datetime,
    free_until: datetime,
    need: timedelta,
    tz: ZoneInfo,
    business_zone: str,
    step: timedelta,
) -> Iterable[datetime]:
    start = _first_on_grid(free_from, tz, business_zone, step)
    # Clocks change by whole hours, so a step that divides an hour stays on the grid across midnight
    # and daylight-saving changes by plain addition; any other step is put back on the grid each time.
    steady = _HOUR % step == timedelta(0)
    while start + need <= free_until:
        yield start
        start = start + step if steady else _first_on_grid(start + step, tz, business_zone, step)


def _first_on_grid(moment: datetime, tz: ZoneInfo, business_zone: str, step: timedelta) -> datetime:
    """The first grid time at or after `moment`: whole steps of elapsed time from local midnight.

    Counting elapsed time keeps the grid on the half hour across a daylight-saving change, since
    clocks move by whole hours.
    """
    midnight = _midnight(moment.astimezone(tz).date(), business_zone)
    steps = -((midnight - moment) // step)  # ceiling division
    return midnight + steps * step


@lru_cache(maxsize=4096)
def _midnight(day: date, business_zone: str) -> datetime:
    return local_midnight(day, zone(business_zone))
