"""Which office-local hours the board shows: every tech's business hours and every job, padded."""

from __future__ import annotations

from datetime import date, timedelta, tzinfo

from app.domain.hours import BusinessHours
from app.domain.model import Booking
from app.domain.time import Interval, zone
from app.services.board import BoardSnapshot, TechRow
from ui.board.axis import TimeAxis

DEFAULT_FIRST_MINUTE = 7 * 60
DEFAULT_LAST_MINUTE = 19 * 60

# The hours one row needs: (earliest start, latest end) in office-local minutes of the day, and
# whether anything runs past midnight; None when the row has no hours and no jobs in the period.
Extent = tuple[int, int, bool] | None


def visible_minutes(
    snapshot: BoardSnapshot,
    first_day: date,
    days: int,
    office: tzinfo,
    pad: int = 60,
    extents: dict[int, tuple[TechRow, Extent]] | None = None,
) -> tuple[int, int]:
    """The office-local hours worth showing: every tech's business hours and every job, padded.

    `extents` keeps each row's hours by the row's identity: a delta that changed two rows works
    out those two again, not the 8,000 items of the others."""
    clock = TimeAxis(first_day, days, office, 0, 24 * 60, 1.0)  # reads local days and minutes only
    hours_cache: dict[tuple[BusinessHours, str], list[Interval]] = {}
    lo, hi, whole, seen = 24 * 60, 0, False, False
    for row in snapshot.rows:
        kept = extents.get(id(row)) if extents is not None else None
        if kept is not None and kept[0] is row:
            extent = kept[1]
        else:
            extent = _row_extent(row, clock, snapshot.window, hours_cache)
            if extents is not None:
                extents[id(row)] = (row, extent)
        if extent is not None:
            lo, hi, whole, seen = min(lo, extent[0]), max(hi, extent[1]), whole or extent[2], True
    if not seen:
        return DEFAULT_FIRST_MINUTE, DEFAULT_LAST_MINUTE
    if whole:
        lo, hi = 0, 24 * 60
    first = max(0, (lo // 60) * 60 - pad)
    last = min(24 * 60, -(-hi // 60) * 60 + pad)
    if last - first < 6 * 60:  # never zoom in so far that a short job fills the screen
        last = min(24 * 60, first + 6 * 60)
        first = max(0, last - 6 * 60)
    return first, last


def _row_extent(
    row: TechRow,
    clock: TimeAxis,
    window: Interval,
    hours_cache: dict[tuple[BusinessHours, str], list[Interval]],
) -> Extent:
    spans = hours_cache.get((row.tech.hours, row.tech.timezone))
    if spans is None:  # techs share hours and zones: each pair is worked out once
        tz = zone(row.tech.timezone)
        spans = [
            span
            for offset in range(-1, clock.days + 1)
            for span in row.tech.hours.intervals_on(clock.first_day + timedelta(days=offset), tz)
            if span.overlaps(window)
        ]
        hours_cache[(row.tech.hours, row.tech.timezone)] = spans
    lo, hi, whole, seen = 24 * 60, 0, False, False
    for a_day, a, b_day, b in _local_spans(clock, spans, row.bookings):
        if a_day != b_day and not (b == 0 and b_day - a_day == 1):
            whole = True
            continue
        lo, hi, seen = min(lo, a), max(hi, 24 * 60 if b_day != a_day else b), True
    return (lo, hi, whole) if seen or whole else None


def _local_spans(
    clock: TimeAxis, spans: list[Interval], bookings: tuple[Booking, ...]
) -> list[tuple[int, int, int, int]]:
    """(day, minute) of the start and of the end of each span and job, office-local."""
    offset = clock.fixed_offset
    if offset is None:  # the office's clock changes this week: ask the zone for each instant
        pairs = [(span.start, span.end) for span in spans]
        pairs += [(b.start, b.start + b.duration) for b in bookings if b.start is not None]
        found = []
        for start, end in pairs:
            (a_day, a_minute), (b_day, b_minute) = clock.local_day_minute(start), clock.local_day_minute(end)
            found.append((a_day, int(a_minute), b_day, int(b_minute)))
        return found
    # One offset: plain arithmetic on seconds, no datetime made (a week of 200 techs is 5,000 jobs).
    seconds = [(span.start.timestamp(), span.end.timestamp()) for span in spans]
    for booking in bookings:
        if booking.start is not None:
            stamp = booking.start.timestamp()
            seconds.append((stamp, stamp + booking.duration.total_seconds()))
    found = []
    for first, last in seconds:
        start_day, start_rest = divmod(first + offset, 86400)
        end_day, end_rest = divmod(last + offset, 86400)
        found.append((int(start_day), int(start_rest // 60), int(end_day), int(end_rest // 60)))
    return found
