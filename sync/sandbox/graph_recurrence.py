"""Expansion of Graph `patternedRecurrence` values into occurrence start times.

Recurrences expand in the series' own zone (`range.recurrenceTimeZone`, else the start zone), so
9:00 stays 9:00 across DST, as Exchange does. dateutil's rrule does the calendar arithmetic; this
module only translates Graph's pattern/range vocabulary into it and validates it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from typing import Any

from dateutil import rrule

DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_RRULE_DAYS = (rrule.MO, rrule.TU, rrule.WE, rrule.TH, rrule.FR, rrule.SA, rrule.SU)
_INDEX = {"first": 1, "second": 2, "third": 3, "fourth": 4, "last": -1}
PATTERN_TYPES = ("daily", "weekly", "absoluteMonthly", "relativeMonthly", "absoluteYearly", "relativeYearly")
RANGE_TYPES = ("endDate", "noEnd", "numbered")


class RecurrenceError(ValueError):
    """A recurrence Graph would reject with 400."""


def _day(name: Any) -> rrule.weekday:
    if name not in DAYS:
        raise RecurrenceError(f"Invalid day of week: {name!r}")
    return _RRULE_DAYS[DAYS.index(name)]


def _date(value: Any, what: str) -> dt.date:
    if not isinstance(value, str):
        raise RecurrenceError(f"{what} is required")
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise RecurrenceError(f"{what} is not a date: {value!r}") from exc


def normalize(recurrence: Any, start_local: dt.datetime, start_zone: str) -> dict[str, Any]:
    """Validate a recurrence from a request body and fill the defaults Graph fills."""
    if not isinstance(recurrence, Mapping):
        raise RecurrenceError("recurrence must be an object")
    pattern = recurrence.get("pattern")
    rng = recurrence.get("range")
    if not isinstance(pattern, Mapping) or not isinstance(rng, Mapping):
        raise RecurrenceError("recurrence needs pattern and range")
    ptype = pattern.get("type")
    if ptype not in PATTERN_TYPES:
        raise RecurrenceError(f"Invalid recurrence pattern type: {ptype!r}")
    interval = pattern.get("interval", 1)
    if not isinstance(interval, int) or isinstance(interval, bool) or interval < 1:
        raise RecurrenceError("interval must be a positive integer")
    days = pattern.get("daysOfWeek") or []
    if not isinstance(days, list):
        raise RecurrenceError("daysOfWeek must be an array")
    for day in days:
        _day(day)
    first_day = pattern.get("firstDayOfWeek") or "sunday"
    _day(first_day)
    index = pattern.get("index") or "first"
    if index not in _INDEX:
        raise RecurrenceError(f"Invalid index: {index!r}")
    month = pattern.get("month") or 0
    day_of_month = pattern.get("dayOfMonth") or 0
    if ptype in ("weekly", "relativeMonthly", "relativeYearly") and not days:
        raise RecurrenceError(f"{ptype} recurrence needs daysOfWeek")
    if ptype in ("absoluteMonthly", "absoluteYearly") and not 1 <= int(day_of_month) <= 31:
        raise RecurrenceError(f"{ptype} recurrence needs dayOfMonth")
    if ptype in ("absoluteYearly", "relativeYearly") and not 1 <= int(month) <= 12:
        raise RecurrenceError(f"{ptype} recurrence needs month")
    rtype = rng.get("type")
    if rtype not in RANGE_TYPES:
        raise RecurrenceError(f"Invalid recurrence range type: {rtype!r}")
    start_date = _date(rng.get("startDate") or start_local.date().isoformat(), "startDate")
    end_date = "0001-01-01"
    count: Any = 0
    if rtype == "endDate":
        end = _date(rng.get("endDate"), "endDate")
        if end < start_date:
            raise RecurrenceError("endDate is before startDate")
        end_date = end.isoformat()
    if rtype == "numbered":
        count = rng.get("numberOfOccurrences")
        if not isinstance(count, int) or isinstance(count, bool) or count < 1:
            raise RecurrenceError("numberOfOccurrences must be a positive integer")
    return {
        "pattern": {
            "type": ptype,
            "interval": interval,
            "month": int(month),
            "dayOfMonth": int(day_of_month),
            "daysOfWeek": list(days),
            "firstDayOfWeek": first_day,
            "index": index,
        },
        "range": {
            "type": rtype,
            "startDate": start_date.isoformat(),
            "endDate": end_date,
            "recurrenceTimeZone": rng.get("recurrenceTimeZone") or start_zone,
            "numberOfOccurrences": count,
        },
    }


def _rule(recurrence: Mapping[str, Any], start_local: dt.datetime) -> rrule.rrule:
    pattern = recurrence["pattern"]
    rng = recurrence["range"]
    first = dt.datetime.combine(dt.date.fromisoformat(rng["startDate"]), start_local.time())
    freq: Any
    kwargs: dict[str, Any] = {"dtstart": first, "interval": pattern["interval"]}
    days = [_day(d) for d in pattern["daysOfWeek"]]
    ptype = pattern["type"]
    if ptype == "daily":
        freq = rrule.DAILY
    elif ptype == "weekly":
        freq = rrule.WEEKLY
        kwargs["byweekday"] = days
        kwargs["wkst"] = _day(pattern["firstDayOfWeek"])
    elif ptype in ("absoluteMonthly", "relativeMonthly"):
        freq = rrule.MONTHLY
    else:
        freq = rrule.YEARLY
        kwargs["bymonth"] = pattern["month"]
    if ptype in ("absoluteMonthly", "absoluteYearly"):
        day = pattern["dayOfMonth"]
        if day <= 28:
            kwargs["bymonthday"] = day
        else:
            # Outlook does not skip a month too short for the day: the occurrence falls on the
            # month's last day (day 31 on Apr 30 and Feb 28/29; Feb 29 yearly on Feb 28 in common
            # years; Exchange's DayOfMonth documentation). As a rule: the last of the days
            # 28..N the month has, i.e. BYMONTHDAY=28,...,N;BYSETPOS=-1.
            kwargs["bymonthday"] = list(range(28, day + 1))
            kwargs["bysetpos"] = -1
    if ptype in ("relativeMonthly", "relativeYearly"):
        kwargs["byweekday"] = days
        kwargs["bysetpos"] = _INDEX[pattern["index"]]
    if rng["type"] == "numbered":
        kwargs["count"] = rng["numberOfOccurrences"]
    elif rng["type"] == "endDate":
        kwargs["until"] = dt.datetime.combine(dt.date.fromisoformat(rng["endDate"]), dt.time.max)
    return rrule.rrule(freq, **kwargs)


def occurrences(
    recurrence: Mapping[str, Any], start_local: dt.datetime, after: dt.datetime, before: dt.datetime
) -> Iterator[dt.datetime]:
    """Wall-clock starts (naive, in the recurrence zone) with `after <= start < before`."""
    for value in _rule(recurrence, start_local).xafter(after, inc=True):
        if value >= before:
            return
        yield value


def public(recurrence: Mapping[str, Any]) -> dict[str, Any]:
    """The recurrence as Graph returns it (all pattern/range members present)."""
    return {
        "pattern": dict(recurrence["pattern"]),
        "range": dict(recurrence["range"]),
    }
