"""Expansion of Google recurring events (RRULE/EXRULE/RDATE/EXDATE lines) with dateutil.

Timed series expand in the zone named by `start.timeZone`, so 09:00 stays 09:00 across a DST
change; all-day series expand on plain dates.

UNTIL, as Google takes it (reference google-calendar.md §1.5):
- timed series: a UTC date-time (`...Z`) or a DATE (which includes that local day). A *floating*
  date-time is refused with `400 Invalid recurrence rule.`: RFC 5545 §3.3.10 says UNTIL must be
  UTC when DTSTART carries a zone, and Google enforces it (googleapis.dart#223).
- all-day series: a DATE, and also a UTC date-time, which Outlook exports write and Google
  accepts (its own exports carry `DTSTART;VALUE=DATE` with `UNTIL=...T070000Z`, i.e. a local
  midnight). The series then ends with the last day whose start (its midnight in the calendar's
  zone) is on or before that instant. A floating date-time there is read as that local day.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from dateutil.rrule import rrule, rruleset, rrulestr

MAX_INSTANCES = 5000

_LINE = re.compile(r"^(?P<name>[A-Z]+)(?P<params>(;[^:]*)?):(?P<value>.+)$")


class RecurrenceError(ValueError):
    """A recurrence line we cannot parse."""


@dataclass(frozen=True, slots=True)
class Occurrence:
    original: dt.datetime | dt.date  # aware local datetime of the series zone, or a date
    start: dt.datetime | dt.date
    end: dt.datetime | dt.date


def _parse_value(text: str, tz: ZoneInfo | None, all_day: bool) -> dt.datetime | dt.date:
    text = text.strip()
    try:
        if len(text) == 8:
            day = dt.date.fromisoformat(f"{text[:4]}-{text[4:6]}-{text[6:]}")
            if all_day:
                return day
            if tz is None:
                raise RecurrenceError(f"Date value {text!r} in a timed series needs a zone.")
            return dt.datetime.combine(day, dt.time(), tzinfo=tz)
        if text.endswith("Z"):
            value = dt.datetime.strptime(text, "%Y%m%dT%H%M%SZ").replace(tzinfo=dt.UTC)
            if all_day:
                return value.date()
            return value.astimezone(tz) if tz is not None else value
        naive = dt.datetime.strptime(text, "%Y%m%dT%H%M%S")  # noqa: DTZ007 - floating local time
    except ValueError as exc:
        raise RecurrenceError(f"Bad date value {text!r}.") from exc
    if all_day:
        return naive.date()
    if tz is None:
        raise RecurrenceError(f"Floating value {text!r} needs a zone.")
    return naive.replace(tzinfo=tz)


def _zone_param(params: str) -> ZoneInfo | None:
    for part in params.split(";"):
        if part.upper().startswith("TZID="):
            try:
                return ZoneInfo(part[5:])
            except (KeyError, ValueError) as exc:
                raise RecurrenceError(f"Unknown zone {part[5:]!r}.") from exc
    return None


def _fix_until(value: str, tz: ZoneInfo | None, all_day: bool, day_zone: ZoneInfo | None = None) -> str:
    """UNTIL in the form dateutil needs, or RecurrenceError where Google answers 400.

    dateutil wants UNTIL aware (UTC) for an aware DTSTART and naive for the naive midnight of an
    all-day series; Google also accepts DATE UNTILs on timed series and UTC ones on all-day series.
    """

    def repl(match: re.Match[str]) -> str:
        raw = match.group(1)
        if all_day:
            if raw.upper().endswith("Z"):
                instant = dt.datetime.strptime(raw.upper(), "%Y%m%dT%H%M%SZ").replace(tzinfo=dt.UTC)
                return "UNTIL=" + instant.astimezone(day_zone or dt.UTC).strftime("%Y%m%d")
            return match.group(0)
        if raw.upper().endswith("Z"):
            return match.group(0)
        if len(raw) != 8:
            raise RecurrenceError(f"UNTIL {raw!r} of a timed series is a floating time; it must be in UTC.")
        if tz is None:
            return match.group(0)
        day = dt.date.fromisoformat(f"{raw[:4]}-{raw[4:6]}-{raw[6:]}")
        utc = dt.datetime.combine(day, dt.time(23, 59, 59)).replace(tzinfo=tz).astimezone(dt.UTC)
        return "UNTIL=" + utc.strftime("%Y%m%dT%H%M%SZ")

    try:
        return re.sub(r"UNTIL=([0-9TZ]+)", repl, value, flags=re.IGNORECASE)
    except RecurrenceError:
        raise
    except ValueError as exc:  # an impossible date or time in UNTIL
        raise RecurrenceError(f"Bad UNTIL in {value!r}.") from exc


def build_set(
    lines: Sequence[str],
    dtstart: dt.datetime | dt.date,
    tz: ZoneInfo | None,
    day_zone: ZoneInfo | None = None,
) -> rruleset:
    """An rruleset for the series; `dtstart` is aware-local (timed) or a date (all-day).

    `day_zone` is the calendar's zone, in which an all-day series' days begin (for a UTC UNTIL).
    """
    all_day = not isinstance(dtstart, dt.datetime)
    start_dt = dt.datetime.combine(dtstart, dt.time()) if all_day else dtstart
    assert isinstance(start_dt, dt.datetime)
    result = rruleset()
    has_rule = False
    for raw in lines:
        match = _LINE.match(raw.strip())
        if not match:
            raise RecurrenceError(f"Bad recurrence line {raw!r}.")
        name, params, value = match.group("name"), match.group("params") or "", match.group("value")
        if name in ("RRULE", "EXRULE"):
            try:
                rule = rrulestr(_fix_until(value, tz, all_day, day_zone), dtstart=start_dt)
            except (ValueError, TypeError) as exc:
                raise RecurrenceError(f"Bad rule {value!r}: {exc}") from exc
            if not isinstance(rule, rrule):
                raise RecurrenceError(f"Bad rule {value!r}.")
            if name == "RRULE":
                result.rrule(rule)
                has_rule = True
            else:
                result.exrule(rule)
        elif name in ("RDATE", "EXDATE"):
            zone = _zone_param(params) or tz
            for item in value.split(","):
                parsed = _parse_value(item, zone, all_day)
                if all_day:
                    assert isinstance(parsed, dt.date)
                    moment = dt.datetime.combine(parsed, dt.time())
                else:
                    assert isinstance(parsed, dt.datetime)
                    moment = parsed.astimezone(tz) if tz is not None else parsed
                if name == "RDATE":
                    result.rdate(moment)
                    has_rule = True
                else:
                    result.exdate(moment)
        else:
            raise RecurrenceError(f"Unsupported recurrence line {name}.")
    if not has_rule:
        raise RecurrenceError("A recurrence needs at least one RRULE or RDATE.")
    result.rdate(start_dt)  # RFC 5545: DTSTART is always the first instance
    return result


def occurrences(
    lines: Sequence[str],
    start: dt.datetime | dt.date,
    end: dt.datetime | dt.date,
    tz: ZoneInfo | None,
    until: dt.datetime | dt.date,
    day_zone: ZoneInfo | None = None,
) -> Iterator[Occurrence]:
    """Occurrences whose original start is before `until` (same kind as `start`), in order.

    `day_zone`: the calendar's zone, where an all-day series' days begin (default UTC).
    """
    all_day = not isinstance(start, dt.datetime)
    if all_day:
        assert not isinstance(end, dt.datetime) and not isinstance(until, dt.datetime)
        length: dt.timedelta = end - start
        limit = dt.datetime.combine(until, dt.time())
    else:
        assert isinstance(start, dt.datetime) and isinstance(end, dt.datetime)
        assert isinstance(until, dt.datetime)
        start = start.astimezone(tz) if tz is not None else start
        length = end - start
        limit = until
    ruleset = build_set(lines, start, tz, day_zone)
    for count, moment in enumerate(ruleset):
        if count >= MAX_INSTANCES or moment >= limit:
            return
        if all_day:
            day = moment.date()
            yield Occurrence(day, day, day + length)
        else:
            # Wall-clock arithmetic keeps the local time; recompute the offset for the instant.
            local = moment.replace(tzinfo=None).replace(tzinfo=tz) if tz is not None else moment
            yield Occurrence(local, local, (local.astimezone(dt.UTC) + length).astimezone(tz))
