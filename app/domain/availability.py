"""When technicians are free: business hours in their own zone minus everything that blocks them.

Free and busy time are computed per technician from merged, sorted interval lists, so finding
the first slot across a whole crew is a handful of linear passes rather than a scan over minutes.
"""

from __future__ import annotations

import heapq
from bisect import bisect_right
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache

from app.domain.hours import BusinessHours
from app.domain.ids import TechId
from app.domain.model import BusyBlock, Technician, TimeOff
from app.domain.time import Interval, ensure_utc, local_midnight, merge, subtract, zone
from app.errors import InvalidInput


@dataclass(frozen=True, slots=True)
class TechSchedule:
    """A technician with the busy intervals that apply to them (any order, may overlap)."""

    tech: Technician
    busy: tuple[Interval, ...]


@dataclass(frozen=True, slots=True)
class Slot:
    """A span a technician could take a job of the requested length."""

    tech_id: TechId
    interval: Interval


def day_window(timezone: str, day: date) -> Interval:
    """Local `day` in `timezone` as UTC: 23 or 25 hours long on daylight-saving change days."""
    tz = zone(timezone)
    return Interval(local_midnight(day, tz), local_midnight(day + timedelta(days=1), tz))


def business_intervals(tech: Technician, window: Interval) -> list[Interval]:
    """The tech's open hours on every local date `window` touches, clipped to `window`."""
    tz = zone(tech.timezone)
    days = _open_days(
        tech.hours, tech.timezone, window.start.astimezone(tz).date(), window.end.astimezone(tz).date()
    )
    # Clipping the merged days gives what merging the clipped spans would: both are the union's
    # spans inside `window`. Only the spans at the window's two edges need cutting.
    first = bisect_right(days, window.start, key=_end_of)
    spans: list[Interval] = []
    for span in days[first:]:
        if span.start >= window.end:
            break
        if window.contains(span):
            spans.append(span)
        elif (clipped := span.intersection(window)) is not None:
            spans.append(clipped)
    return spans


@lru_cache(maxsize=4096)
def _open_days(hours: BusinessHours, timezone: str, first: date, last: date) -> tuple[Interval, ...]:
    """Open hours from local `first` to `last` (both included) as merged UTC spans; remembered because
    every search of a fortnight asks for the same days of the same few hours."""
    spans: list[Interval] = []
    day = first
    while day <= last:
        spans.extend(_open_spans(hours, timezone, day))
        day += timedelta(days=1)
    return tuple(merge(spans))


@lru_cache(maxsize=8192)
def _open_spans(hours: BusinessHours, timezone: str, day: date) -> tuple[Interval, ...]:
    """A day's open hours as UTC; remembered because every slot search asks for the same days."""
    return tuple(hours.intervals_on(day, zone(timezone)))


def time_off_interval(item: TimeOff, timezone: str) -> Interval:
    """The instants a time-off entry covers; whole days run between the tech's local midnights."""
    if item.start is not None and item.end is not None:
        return Interval(ensure_utc(item.start), ensure_utc(item.end))
    assert item.first_day is not None and item.end_day is not None
    tz = zone(timezone)
    return Interval(local_midnight(item.first_day, tz), local_midnight(item.end_day, tz))


def free_intervals(tech: Technician, window: Interval, busy: Iterable[Interval]) -> list[Interval]:
    """Open hours inside `window` that no busy interval covers, sorted and merged."""
    return _subtract_merged(business_intervals(tech, window), _merged_within(busy, window))


def free_stretches(
    tech: Technician, window: Interval, busy: Iterable[Interval], shortest: timedelta
) -> Iterator[tuple[datetime, datetime]]:
    """The (start, end) of each of `free_intervals` at least `shortest` long, in order.

    A busy fortnight leaves many gaps too short for any job; this walk skips them without making
    an Interval for each, which is most of what a crew-wide search of free time costs.
    """
    holes = _merged_within(busy, window)
    count = len(holes)
    first_hole = 0
    for span in business_intervals(tech, window):
        cursor, end = span.start, span.end
        while first_hole < count and holes[first_hole].end <= cursor:
            first_hole += 1
        index = first_hole
        while index < count and holes[index].start < end:
            hole = holes[index]
            if hole.start > cursor and hole.start - cursor >= shortest:
                yield cursor, hole.start
            if hole.end > cursor:
                cursor = hole.end
            index += 1
        if cursor < end and end - cursor >= shortest:
            yield cursor, end


def busy_within_hours(tech: Technician, window: Interval, busy: Iterable[Interval]) -> list[Interval]:
    """Open hours inside `window` that are taken; with `free_intervals` it partitions the hours."""
    hours = business_intervals(tech, window)
    return subtract(hours, subtract(hours, _clipped(busy, window)))


def earliest_slot(schedules: Sequence[TechSchedule], duration: timedelta, window: Interval) -> Slot | None:
    """The earliest time any tech can take a job of `duration`; ties go to the earlier schedule."""
    _check_duration(duration)
    best: Slot | None = None
    for schedule in schedules:
        # Only a job ending before the best one ends could start earlier: search no further.
        search = window if best is None else Interval(window.start, min(window.end, best.interval.end))
        candidate = next(_slots_for(schedule, duration, search), None)
        if candidate is not None and (best is None or candidate.interval.start < best.interval.start):
            best = candidate
    return best


def earliest_slots(
    schedules: Sequence[TechSchedule], duration: timedelta, window: Interval, limit: int
) -> list[Slot]:
    """The first `limit` slots in time order, at most one per tech per free stretch."""
    _check_duration(duration)
    if limit < 0:
        raise InvalidInput(f"The number of slots to suggest must be zero or more, not {limit}.")
    streams = [_ranked_slots(index, schedule, duration, window) for index, schedule in enumerate(schedules)]
    found: list[Slot] = []
    for _, _, slot in heapq.merge(*streams):
        if len(found) >= limit:
            break
        found.append(slot)
    return found


def _ranked_slots(
    rank: int, schedule: TechSchedule, duration: timedelta, window: Interval
) -> Iterator[tuple[datetime, int, Slot]]:
    """A tech's slots keyed so merging streams orders them by start, then by schedule order."""
    for slot in _slots_for(schedule, duration, window):
        yield slot.interval.start, rank, slot


def overlapping(target: Interval, blocks: Iterable[BusyBlock]) -> list[BusyBlock]:
    """The blocks that share some time with `target` (touching ends do not count)."""
    return [block for block in blocks if block.interval.overlaps(target)]


def _slots_for(schedule: TechSchedule, duration: timedelta, window: Interval) -> Iterator[Slot]:
    """One slot at the start of each free stretch of this tech long enough for `duration`.

    Free stretches are merged, so a job may run across the join of two touching spans; free
    time is clipped to `window`, so every job also ends inside it.
    """
    for free in free_intervals(schedule.tech, window, schedule.busy):
        if free.duration >= duration:
            yield Slot(schedule.tech.id, Interval(free.start, free.start + duration))


def _clipped(busy: Iterable[Interval], window: Interval) -> list[Interval]:
    return [part for part in (span.intersection(window) for span in busy) if part is not None]


def _merged_within(busy: Iterable[Interval], window: Interval) -> list[Interval]:
    """`merge` of the busy spans that reach into `window` (merge sorts them by start alone)."""
    return merge(span for span in busy if span.start < window.end and window.start < span.end)


def _end_of(span: Interval) -> datetime:
    return span.end


def _subtract_merged(base: list[Interval], holes: list[Interval]) -> list[Interval]:
    """`subtract` for inputs already merged: one pass over both lists instead of a nested scan."""
    out: list[Interval] = []
    first_hole = 0
    for span in base:
        cursor = span.start
        while first_hole < len(holes) and holes[first_hole].end <= cursor:
            first_hole += 1
        index = first_hole
        while index < len(holes) and holes[index].start < span.end:
            hole = holes[index]
            if hole.start > cursor:
                out.append(Interval(cursor, hole.start))
            cursor = max(cursor, hole.end)
            index += 1
        if cursor < span.end:
            out.append(Interval(cursor, span.end))
    return out


def _check_duration(duration: timedelta) -> None:
    if duration <= timedelta(0):
        raise InvalidInput(
            f"Duration must be more than zero minutes (got {_minutes(duration)} minutes); "
            "enter how long the job takes."
        )


def _minutes(duration: timedelta) -> str:
    minutes = duration / timedelta(minutes=1)
    return str(int(minutes)) if minutes == int(minutes) else f"{minutes:g}"
