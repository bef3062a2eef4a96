"""Business hours per weekday, in the technician's own zone, and their text form.

The text form is what dispatchers type: `"mon-fri 08:00-17:00; sat 09:00-12:00"`. Several
spans on one day (a lunch break) are written `"mon-fri 08:00-12:00,13:00-17:00"`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, time, timedelta, tzinfo
from functools import lru_cache

from app.domain.time import Interval, local_to_utc
from app.errors import InvalidInput

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_SPAN = re.compile(r"^(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})$")
DEFAULT_HOURS_TEXT = "mon-fri 08:00-17:00"


@dataclass(frozen=True, slots=True)
class DaySpan:
    """One open span of a day, local wall-clock times; `end` of 24:00 is written as time.max."""

    start: time
    end: time


@dataclass(frozen=True, slots=True)
class BusinessHours:
    """Open spans for each weekday (index 0 = Monday), in local wall-clock time."""

    days: tuple[tuple[DaySpan, ...], ...]

    def __post_init__(self) -> None:
        if len(self.days) != 7:
            raise ValueError("business hours need exactly seven weekdays")

    def spans_on(self, day: date) -> tuple[DaySpan, ...]:
        return self.days[day.weekday()]

    def intervals_on(self, day: date, tz: tzinfo) -> list[Interval]:
        """The open spans of local `day` as UTC intervals (DST-correct for that date)."""
        out: list[Interval] = []
        for span in self.spans_on(day):
            start = local_to_utc(day, span.start, tz)
            if span.end == time.max:
                end = local_to_utc(day + timedelta(days=1), time(0, 0), tz)
            else:
                end = local_to_utc(day, span.end, tz)
            if end > start:
                out.append(Interval(start, end))
        return out

    def to_text(self) -> str:
        """The compact text form, grouping consecutive days with identical spans."""
        parts: list[str] = []
        index = 0
        while index < 7:
            spans = self.days[index]
            last = index
            while last + 1 < 7 and self.days[last + 1] == spans:
                last += 1
            if spans:
                label = DAY_NAMES[index] if last == index else f"{DAY_NAMES[index]}-{DAY_NAMES[last]}"
                parts.append(f"{label} {','.join(_span_text(s) for s in spans)}")
            index = last + 1
        return "; ".join(parts)

    @classmethod
    def parse(cls, text: str) -> BusinessHours:
        """Read the text form; InvalidInput names the part that is wrong."""
        return _parsed(text)

    @classmethod
    def default(cls) -> BusinessHours:
        return cls.parse(DEFAULT_HOURS_TEXT)


@lru_cache(maxsize=1024)
def _parsed(text: str) -> BusinessHours:
    """Remembered (the value is immutable): a crew shares a few texts, and every read of the techs
    (the booking page reads them on each request) turns them into hours again."""
    days: list[list[DaySpan]] = [[] for _ in range(7)]
    cleaned = text.strip().lower()
    if not cleaned:
        raise _bad(text, "it is empty")
    for chunk in (c.strip() for c in cleaned.split(";")):
        if not chunk:
            continue
        pieces = chunk.split()
        if len(pieces) != 2:
            raise _bad(text, f"'{chunk}' should be a day range and times, like 'mon-fri 08:00-17:00'")
        day_part, span_part = pieces
        for index in _day_range(text, day_part):
            if days[index]:
                raise _bad(text, f"{DAY_NAMES[index]} is given twice")
            days[index] = _spans(text, span_part)
    return BusinessHours(tuple(tuple(d) for d in days))


def _span_text(span: DaySpan) -> str:
    end = "24:00" if span.end == time.max else span.end.strftime("%H:%M")
    return f"{span.start.strftime('%H:%M')}-{end}"


def _bad(text: str, why: str) -> InvalidInput:
    return InvalidInput(
        f"Hours '{text}' are not understood: {why}. Write them like 'mon-fri 08:00-17:00; sat 09:00-12:00'."
    )


def _day_range(text: str, part: str) -> list[int]:
    names = part.split("-")
    if len(names) not in (1, 2) or any(n not in DAY_NAMES for n in names):
        raise _bad(text, f"'{part}' is not a day or day range (use mon, tue, wed, thu, fri, sat, sun)")
    first = DAY_NAMES.index(names[0])
    last = DAY_NAMES.index(names[-1])
    if last < first:
        raise _bad(text, f"'{part}' runs backwards")
    return list(range(first, last + 1))


def _spans(text: str, part: str) -> list[DaySpan]:
    spans: list[DaySpan] = []
    for raw in part.split(","):
        match = _SPAN.match(raw)
        if not match:
            raise _bad(text, f"'{raw}' is not a time span like 08:00-17:00")
        h1, m1, h2, m2 = (int(g) for g in match.groups())
        if h1 > 23 or m1 > 59 or m2 > 59 or h2 > 24 or (h2 == 24 and m2 != 0):
            raise _bad(text, f"'{raw}' has an impossible time")
        start = time(h1, m1)
        end = time.max if h2 == 24 else time(h2, m2)
        if end <= start:
            raise _bad(text, f"'{raw}' ends before it starts")
        if spans and start < spans[-1].end:
            raise _bad(text, f"'{raw}' overlaps the span before it")
        spans.append(DaySpan(start, end))
    return spans
