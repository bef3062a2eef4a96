"""Recurring events expanded into occurrences inside a window.

A series repeats in its own zone, so a meeting at 9:00 in Los Angeles stays at 9:00 local on both
sides of a daylight-saving change even though its UTC instant moves. All-day series repeat by
date and carry no zone of their own: the technician's zone decides their instants later.

The recurrence lines are the iCalendar ones Google and Microsoft hand out (RRULE, EXRULE, EXDATE,
RDATE). dateutil does the rule arithmetic; this module reads the date lines itself because their
zone handling (TZID parameters, UTC "Z" values, floating values, DATE values) has to follow the
event's own zone, not dateutil's guesses.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from itertools import takewhile

from dateutil.rrule import rrule, rruleset, rrulestr

from app.domain.model import EventTime, RemoteEvent
from app.domain.time import Interval, ensure_utc, zone
from app.errors import InvalidInput


class InvalidRecurrence(InvalidInput):
    """An event's recurrence lines cannot be read, so its occurrences cannot be known."""


@dataclass(frozen=True, slots=True)
class Occurrence:
    """One happening of an event: the master's own slot, a rule instance, or a moved instance.

    `original_start` / `original_start_date` name the slot the rule gave this occurrence, which is
    how providers identify an instance; they are None for an event that does not repeat.
    """

    when: EventTime
    original_start: datetime | None
    original_start_date: date | None
    source: RemoteEvent


# All-day spans are local dates whose instants depend on a zone we do not know here. Every
# real zone's midnight lies within these bounds of the UTC midnight, so widening by them never
# drops an occurrence that could touch the window; callers clip to the technician's day.
ALL_DAY_SLACK = timedelta(hours=14)


@dataclass(frozen=True, slots=True)
class _DateLines:
    """EXDATE or RDATE values: exact instants and whole local dates."""

    instants: tuple[datetime, ...]
    dates: tuple[date, ...]


@dataclass(frozen=True, slots=True)
class _Recurrence:
    """The parsed recurrence lines of one series."""

    rules: tuple[rrule, ...]
    exclusion_rules: tuple[rrule, ...]
    extra: _DateLines
    excluded: _DateLines


def expand(
    master: RemoteEvent,
    exceptions: Sequence[RemoteEvent],
    window: Interval,
    max_occurrences: int = 5000,
) -> list[Occurrence]:
    """Every occurrence of `master` whose span overlaps `window`, in start order.

    Exceptions replace the rule instance they name: a cancelled one removes it, a modified one
    appears at its own (possibly distant) time instead. Endless rules stop at the window's end and
    at `max_occurrences`, so a malformed or very dense series cannot run away.
    """
    if max_occurrences < 1:
        raise ValueError(f"max_occurrences must be at least 1, not {max_occurrences}")
    if master.cancelled:
        return []
    if not master.recurrence or master.master_remote_id is not None:
        return [_single(master)] if _overlaps(master.when, window) else []
    overrides, unplaced = _overrides_by_slot(master, exceptions)
    found: list[Occurrence] = []
    for occurrence in _rule_occurrences(master, window):
        if (occurrence.original_start or occurrence.original_start_date) in overrides:
            continue
        found.append(occurrence)
        if len(found) >= max_occurrences:
            break
    # An edited instance that names no slot we can match is still a real event: keep its time.
    for exception in [*overrides.values(), *unplaced]:
        if not exception.cancelled and _overlaps(exception.when, window):
            found.append(_moved(master, exception))
    found.sort(key=_sort_key)
    return found[:max_occurrences]


def occurrence_interval(when: EventTime) -> Interval:
    """The UTC span of a timed event, or the widest span an all-day event can cover in any zone."""
    if when.start is not None and when.end is not None:
        return Interval(ensure_utc(when.start), ensure_utc(when.end))
    assert when.start_date is not None and when.end_date is not None
    start = datetime.combine(when.start_date, time(0, 0), tzinfo=UTC) - ALL_DAY_SLACK
    end = datetime.combine(when.end_date, time(0, 0), tzinfo=UTC) + ALL_DAY_SLACK
    return Interval(start, max(start, end))


def _overlaps(when: EventTime, window: Interval) -> bool:
    return occurrence_interval(when).overlaps(window)


def _sort_key(occurrence: Occurrence) -> datetime:
    return occurrence_interval(occurrence.when).start


def _single(event: RemoteEvent) -> Occurrence:
    return Occurrence(_normalized(event.when), None, None, event)


def _normalized(when: EventTime) -> EventTime:
    if when.start is not None and when.end is not None:
        return EventTime(start=ensure_utc(when.start), end=ensure_utc(when.end), timezone=when.timezone)
    return when


def _moved(master: RemoteEvent, exception: RemoteEvent) -> Occurrence:
    when = _normalized(exception.when)
    if master.when.all_day:
        return Occurrence(when, None, _original_date(master, exception), exception)
    original = None if exception.original_start is None else ensure_utc(exception.original_start)
    return Occurrence(when, original, exception.original_start_date, exception)


def _overrides_by_slot(
    master: RemoteEvent, exceptions: Sequence[RemoteEvent]
) -> tuple[dict[datetime | date, RemoteEvent], list[RemoteEvent]]:
    """This series' exceptions keyed by the slot they replace (newest edit wins), and those naming none."""
    ordered = sorted(
        (e for e in exceptions if e.master_remote_id == master.remote_id),
        key=lambda e: e.updated or datetime.min.replace(tzinfo=UTC),
    )
    overrides: dict[datetime | date, RemoteEvent] = {}
    unplaced: list[RemoteEvent] = []
    for exception in ordered:
        slot: datetime | date | None
        if master.when.all_day:
            slot = _original_date(master, exception)
        else:
            slot = None if exception.original_start is None else ensure_utc(exception.original_start)
        if slot is None:
            unplaced.append(exception)
        else:
            overrides[slot] = exception
    return overrides, unplaced


def _original_date(master: RemoteEvent, exception: RemoteEvent) -> date | None:
    """The all-day slot an exception replaces; some providers name it by its local midnight."""
    if exception.original_start_date is not None:
        return exception.original_start_date
    if exception.original_start is None:
        return None
    return ensure_utc(exception.original_start).astimezone(_event_zone(master)).date()


def _event_zone(event: RemoteEvent) -> tzinfo:
    try:
        return zone(event.when.timezone)
    except InvalidInput:
        raise InvalidRecurrence(
            f"The repeating event '{event.title or event.remote_id}' names an unknown time zone "
            f"'{event.when.timezone}', so its occurrences cannot be placed."
        ) from None


# --- rule instances -----------------------------------------------------------------------


def _rule_occurrences(master: RemoteEvent, window: Interval) -> Iterator[Occurrence]:
    if master.when.all_day:
        yield from _all_day_occurrences(master, window)
    else:
        yield from _timed_occurrences(master, window)


def _timed_occurrences(master: RemoteEvent, window: Interval) -> Iterator[Occurrence]:
    tz = _event_zone(master)
    assert master.when.start is not None and master.when.end is not None
    first = ensure_utc(master.when.start).astimezone(tz)
    last = ensure_utc(master.when.end).astimezone(tz)
    # Same tzinfo on both sides: Python subtracts wall-clock times, so 9:00-10:00 keeps ending
    # at 10:00 local even when the hour between them is skipped or repeated.
    wall_length = last - first
    exact_length = ensure_utc(master.when.end) - ensure_utc(master.when.start)
    recurrence = _parse(master, first, tz)
    excluded_instants = {ensure_utc(i) for i in recurrence.excluded.instants}
    excluded_dates = set(recurrence.excluded.dates)
    lookback = max(exact_length, wall_length) + timedelta(hours=3)
    for local_start in _starts(recurrence, first, window.start.astimezone(tz) - lookback):
        start = local_start.astimezone(UTC)
        if start >= window.end:
            return
        if start in excluded_instants or local_start.astimezone(tz).date() in excluded_dates:
            continue
        end = (local_start.astimezone(tz) + wall_length).astimezone(UTC)
        if end <= start and exact_length > timedelta(0):
            end = start + exact_length
        if Interval(start, end).overlaps(window):
            when = EventTime(start=start, end=end, timezone=master.when.timezone)
            yield Occurrence(when, start, None, master)


def _all_day_occurrences(master: RemoteEvent, window: Interval) -> Iterator[Occurrence]:
    assert master.when.start_date is not None and master.when.end_date is not None
    first = datetime.combine(master.when.start_date, time(0, 0), tzinfo=UTC)
    days = master.when.end_date - master.when.start_date
    recurrence = _parse(master, first, UTC)
    excluded = set(recurrence.excluded.dates) | {i.date() for i in recurrence.excluded.instants}
    after = window.start - ALL_DAY_SLACK - days - timedelta(days=1)
    for start in _starts(recurrence, first, after):
        day = start.date()
        when = EventTime(start_date=day, end_date=day + days, timezone=master.when.timezone)
        if occurrence_interval(when).start >= window.end:
            return
        if day in excluded:
            continue
        if _overlaps(when, window):
            yield Occurrence(when, None, day, master)


def _starts(recurrence: _Recurrence, first: datetime, after: datetime) -> Iterator[datetime]:
    """Rule and RDATE starts from `after` on, in order; the event's own start always counts."""
    series = rruleset()
    for rule in recurrence.rules:
        series.rrule(rule)
    for rule in recurrence.exclusion_rules:
        series.exrule(rule)
    series.rdate(first)
    for instant in recurrence.extra.instants:
        series.rdate(instant)
    for day in recurrence.extra.dates:
        series.rdate(datetime.combine(day, first.timetz()))
    try:
        yield from series.xafter(after, inc=True)
    except (ValueError, TypeError, OverflowError) as error:
        raise InvalidRecurrence(f"The repeating event's rule cannot be followed: {error}.") from None


# --- parsing the lines ----------------------------------------------------------------------


def _parse(master: RemoteEvent, first: datetime, tz: tzinfo) -> _Recurrence:
    rules: list[rrule] = []
    exclusion_rules: list[rrule] = []
    extra = _DateLines((), ())
    excluded = _DateLines((), ())
    for raw in master.recurrence:
        line = raw.strip()
        if not line:
            continue
        head, sep, value = line.partition(":")
        name, *params = head.split(";")
        name = name.strip().upper()
        if not sep or not value.strip():
            raise _invalid(master, line, "it has no value")
        if name == "RRULE":
            rule, bounded = _rule(master, line, value, first, tz)
            rules.extend(rule)
            extra = _DateLines(extra.instants + bounded, extra.dates)
        elif name == "EXRULE":
            rule, bounded = _rule(master, line, value, first, tz)
            exclusion_rules.extend(rule)
            excluded = _DateLines(excluded.instants + bounded, excluded.dates)
        elif name == "RDATE":
            extra = _join(extra, _date_values(master, line, params, value, tz))
        elif name == "EXDATE":
            excluded = _join(excluded, _date_values(master, line, params, value, tz))
        else:
            raise _invalid(master, line, f"'{name}' is not a recurrence line")
    return _Recurrence(tuple(rules), tuple(exclusion_rules), extra, excluded)


def _join(first: _DateLines, second: _DateLines) -> _DateLines:
    return _DateLines(first.instants + second.instants, first.dates + second.dates)


def _rule(
    master: RemoteEvent, line: str, value: str, first: datetime, tz: tzinfo
) -> tuple[list[rrule], tuple[datetime, ...]]:
    """One RRULE/EXRULE, with UNTIL read in the event's zone as dateutil needs it.

    dateutil insists that UNTIL is aware when the start is, but providers also send floating and
    DATE-only UNTIL values. Both mean the event's own wall clock, and a DATE includes that day.
    RFC 5545 forbids COUNT with UNTIL; if both arrive, the series ends at whichever comes first,
    so it is finite and returned as its list of starts instead of a rule.
    """
    parts: list[str] = []
    until_text: str | None = None
    for pair in value.strip().split(";"):
        key, _, setting = pair.partition("=")
        if key.strip().upper() == "UNTIL":
            until_text = setting.strip()
        else:
            parts.append(pair.strip())
    try:
        parsed = rrulestr(";".join(parts), dtstart=first)
    except (ValueError, TypeError, KeyError, IndexError, AttributeError) as error:
        raise _invalid(master, line, str(error)) from None
    if not isinstance(parsed, rrule):
        raise _invalid(master, line, "it is not a single rule")
    if until_text is None:
        return [parsed], ()
    until = _until(master, line, until_text, tz)
    if "COUNT=" in ";".join(parts).upper():
        return [], tuple(takewhile(lambda start: start <= until, parsed))
    return [parsed.replace(until=until)], ()


def _until(master: RemoteEvent, line: str, text: str, tz: tzinfo) -> datetime:
    """The last instant a series may start at; `tz` is UTC for all-day series (starts at 00:00)."""
    all_day = master.when.all_day
    if len(text) == 8 and text.isdigit():
        day = _date_value(master, line, text)
        return datetime.combine(day, time(0, 0) if all_day else time.max).replace(tzinfo=tz)
    instant = _date_time_value(master, line, text, tz)
    if all_day:
        # An all-day series bounded by a date-time (Outlook exports write a UTC one for all-day
        # series; Google accepts it) ends with the last day that begins on or before it. A day
        # begins at midnight in the event's zone (the calendar's, for Google), so a UTC UNTIL is
        # read on that zone's calendar; a floating one names its own day.
        if text.upper().endswith("Z"):
            instant = instant.astimezone(_day_zone(master))
        return datetime.combine(instant.date(), time(0, 0), tzinfo=UTC)
    return instant


def _day_zone(master: RemoteEvent) -> tzinfo:
    """The zone an all-day series' days begin in: its own, else UTC."""
    try:
        return zone(master.when.timezone) if master.when.timezone else UTC
    except InvalidInput:
        return UTC


def _date_values(master: RemoteEvent, line: str, params: list[str], value: str, tz: tzinfo) -> _DateLines:
    value_type = "DATE-TIME"
    value_zone = tz
    for param in params:
        key, _, setting = param.partition("=")
        key = key.strip().upper()
        if key == "VALUE":
            value_type = setting.strip().upper()
        elif key == "TZID":
            value_zone = _tzid(master, line, setting.strip().strip('"'))
    if value_type not in ("DATE", "DATE-TIME"):
        raise _invalid(master, line, f"values of type {value_type} are not supported")
    instants: list[datetime] = []
    dates: list[date] = []
    for text in (v.strip() for v in value.split(",")):
        if value_type == "DATE" or (len(text) == 8 and text.isdigit()):
            dates.append(_date_value(master, line, text))
        else:
            instants.append(_date_time_value(master, line, text, value_zone))
    return _DateLines(tuple(instants), tuple(dates))


def _tzid(master: RemoteEvent, line: str, name: str) -> tzinfo:
    try:
        return zone(name)
    except InvalidInput:
        raise _invalid(master, line, f"the time zone '{name}' is unknown") from None


def _date_value(master: RemoteEvent, line: str, text: str) -> date:
    try:
        return date(int(text[0:4]), int(text[4:6]), int(text[6:8]))
    except ValueError:
        raise _invalid(master, line, f"'{text}' is not a date like 20261201") from None


def _date_time_value(master: RemoteEvent, line: str, text: str, tz: tzinfo) -> datetime:
    """A DATE-TIME value: 'Z' means UTC, otherwise the wall clock of `tz`."""
    utc = text.upper().endswith("Z")
    digits = text[:-1] if utc else text
    day_text, tee, clock = digits.partition("T")
    if not tee or len(day_text) != 8 or len(clock) != 6 or not clock.isdigit():
        raise _invalid(master, line, f"'{text}' is not a date-time like 20261102T090000")
    day = _date_value(master, line, day_text)
    try:
        at = time(int(clock[0:2]), int(clock[2:4]), int(clock[4:6]))
    except ValueError:
        raise _invalid(master, line, f"'{text}' has an impossible time") from None
    return datetime.combine(day, at, tzinfo=UTC if utc else tz)


def _invalid(master: RemoteEvent, line: str, why: str) -> InvalidRecurrence:
    return InvalidRecurrence(
        f"The repeating event '{master.title or master.remote_id}' has a recurrence line that "
        f"cannot be read ('{line}': {why}); edit the series in its calendar to fix it."
    )
