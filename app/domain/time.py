"""Time values and conventions: aware UTC instants, half-open intervals, IANA zones, the clock.

Every instant the domain holds is an aware datetime in UTC. Local wall-clock values exist only
at the edges (display, business hours, all-day dates) and are converted here.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from app.errors import InvalidInput


class Clock(Protocol):
    """Injected source of the current instant, so tests can move time."""

    def now(self) -> datetime: ...


class SystemClock:
    """The real clock, always in UTC."""

    def now(self) -> datetime:
        return datetime.now(UTC)


@dataclass(slots=True)
class FixedClock:
    """A clock that only moves when told to; used by tests and simulations."""

    current: datetime

    def now(self) -> datetime:
        return self.current

    def advance(self, delta: timedelta) -> None:
        self.current = self.current + delta


def ensure_utc(value: datetime) -> datetime:
    """Return `value` in UTC; refuse naive datetimes, whose meaning is ambiguous."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"naive datetime {value.isoformat()} has no time zone")
    return value.astimezone(UTC)


def zone(name: str) -> ZoneInfo:
    """The IANA zone called `name`, or InvalidInput saying the name is unknown."""
    try:
        if not name or name != name.strip():
            raise ZoneInfoNotFoundError(name)
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, IsADirectoryError):
        raise InvalidInput(
            f"Unknown time zone '{name}': use an IANA name such as America/Chicago or Europe/Berlin."
        ) from None


def local_midnight(day: date, tz: tzinfo) -> datetime:
    """The first instant of local `day` in `tz`, as UTC (handles zones where midnight is skipped)."""
    return local_to_utc(day, time(0, 0), tz)


def local_to_utc(day: date, at: time, tz: tzinfo) -> datetime:
    """Wall-clock `at` on `day` in `tz`, as UTC.

    An ambiguous wall time (fall-back) takes its first occurrence, which is what people mean
    by "the shop opens at 1:30". A wall time inside a spring-forward gap keeps its distance
    from the previous offset (PEP 495, fold=0): 2:30 on a skipped hour becomes 3:30.
    """
    return datetime.combine(day, at).replace(tzinfo=tz, fold=0).astimezone(UTC)


@dataclass(frozen=True, slots=True, order=True)
class Interval:
    """A half-open span [start, end) between two aware UTC instants."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("Interval needs aware datetimes")
        if self.end < self.start:
            raise ValueError(f"interval ends ({self.end}) before it starts ({self.start})")

    @property
    def duration(self) -> timedelta:
        return self.end - self.start

    @property
    def empty(self) -> bool:
        return self.end <= self.start

    def overlaps(self, other: Interval) -> bool:
        """True when the two spans share some time (touching ends do not overlap)."""
        return self.start < other.end and other.start < self.end

    def contains(self, other: Interval) -> bool:
        return self.start <= other.start and other.end <= self.end

    def intersection(self, other: Interval) -> Interval | None:
        start = max(self.start, other.start)
        end = min(self.end, other.end)
        return Interval(start, end) if start < end else None


def merge(intervals: Iterable[Interval]) -> list[Interval]:
    """Sorted, non-overlapping union of `intervals` (touching spans are joined)."""
    result: list[Interval] = []
    # By start alone: spans starting together all join one, so their order among themselves cannot
    # change the union, and comparing instants is much cheaper than comparing whole intervals.
    for item in sorted((i for i in intervals if not i.empty), key=_start):
        if result and item.start <= result[-1].end:
            if item.end > result[-1].end:
                result[-1] = Interval(result[-1].start, item.end)
        else:
            result.append(item)
    return result


def _start(span: Interval) -> datetime:
    return span.start


def subtract(base: Iterable[Interval], holes: Iterable[Interval]) -> list[Interval]:
    """The parts of `base` not covered by any of `holes`, sorted."""
    cuts = merge(holes)
    out: list[Interval] = []
    for span in merge(base):
        cursor = span.start
        for hole in cuts:
            if hole.end <= cursor:
                continue
            if hole.start >= span.end:
                break
            if hole.start > cursor:
                out.append(Interval(cursor, hole.start))
            cursor = max(cursor, hole.end)
            if cursor >= span.end:
                break
        if cursor < span.end:
            out.append(Interval(cursor, span.end))
    return out
