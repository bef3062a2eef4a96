"""Properties of free time and slot finding over random hours, zones, windows and busy time.

Windows are drawn around daylight-saving changes so that 23- and 25-hour days are common.
The slot search is checked against a brute-force search over every start that could be the
earliest: the window start, each business-hours start and each busy end.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from app.domain.availability import (
    TechSchedule,
    business_intervals,
    busy_within_hours,
    day_window,
    earliest_slot,
    earliest_slots,
    free_intervals,
    free_stretches,
    time_off_interval,
)
from app.domain.hours import BusinessHours, DaySpan
from app.domain.ids import TechId, TimeOffId
from app.domain.model import Technician, TimeOff
from app.domain.time import Interval, merge
from tests.domain.factories import BERLIN, LA, utc

PROPERTY = settings(max_examples=150, deadline=None)

ZONE_NAMES = [
    LA,
    BERLIN,
    "UTC",
    "Asia/Kolkata",
    "Australia/Lord_Howe",
    "America/Havana",
    "Pacific/Kiritimati",
]
# Days with a clock change in at least one of the zones above, plus an ordinary day.
ANCHORS = [
    utc(2026, 3, 8),
    utc(2026, 3, 29),
    utc(2026, 4, 5),
    utc(2026, 10, 4),
    utc(2026, 10, 25),
    utc(2026, 11, 1),
    utc(2026, 7, 15),
]
QUARTER = timedelta(minutes=15)


@st.composite
def business_hours(draw: st.DrawFn) -> BusinessHours:
    """Up to two open spans a day on a quarter-hour grid, 24:00 included."""
    days: list[tuple[DaySpan, ...]] = []
    for _ in range(7):
        marks = sorted(draw(st.lists(st.integers(0, 96), unique=True, max_size=4)))
        if len(marks) % 2:
            marks.pop()
        spans = tuple(
            DaySpan(_mark_time(a), _mark_time(b)) for a, b in zip(marks[::2], marks[1::2], strict=True)
        )
        days.append(spans)
    return BusinessHours(tuple(days))


def _mark_time(mark: int) -> time:
    return time.max if mark == 96 else time(mark // 4, (mark % 4) * 15)


@st.composite
def technicians(draw: st.DrawFn, tech_id: str = "tech") -> Technician:
    return Technician(
        id=TechId(tech_id),
        name=tech_id,
        email=f"{tech_id}@example.com",
        timezone=draw(st.sampled_from(ZONE_NAMES)),
        hours=draw(business_hours()),
    )


@st.composite
def windows(draw: st.DrawFn) -> Interval:
    anchor = draw(st.sampled_from(ANCHORS))
    start = anchor + draw(st.integers(-3 * 96, 3 * 96)) * QUARTER
    return Interval(start, start + draw(st.integers(0, 5 * 96)) * QUARTER)


def busy_around(window: Interval) -> st.SearchStrategy[list[Interval]]:
    """Busy spans on a five-minute grid, some reaching outside the window."""
    step = timedelta(minutes=5)
    reach = int((window.duration + timedelta(days=2)) / step)

    def build(start_step: int, length_steps: int) -> Interval:
        start = window.start - timedelta(days=1) + start_step * step
        return Interval(start, start + length_steps * step)

    one = st.builds(build, st.integers(0, reach), st.integers(0, 12 * 8))
    return st.lists(one, max_size=12)


@st.composite
def schedules(draw: st.DrawFn, window: Interval) -> list[TechSchedule]:
    count = draw(st.integers(1, 3))
    return [
        TechSchedule(draw(technicians(f"tech-{index}")), tuple(draw(busy_around(window))))
        for index in range(count)
    ]


def occupies(busy: Interval, job: Interval) -> bool:
    """Whether busy time takes part of `job`; a zero-length busy span takes no time at all."""
    return not busy.empty and busy.overlaps(job)


def covered(span: Interval, union: list[Interval]) -> bool:
    """Whether `span` lies inside one of the merged spans of `union`."""
    return any(part.contains(span) for part in union)


def independent_hours(tech: Technician, window: Interval) -> list[Interval]:
    """Open hours computed day by day straight from the weekday table, generously around the window."""
    tz = ZoneInfo(tech.timezone)
    day = window.start.astimezone(tz).date() - timedelta(days=1)
    spans: list[Interval] = []
    while day <= window.end.astimezone(tz).date() + timedelta(days=1):
        spans += tech.hours.intervals_on(day, tz)
        day += timedelta(days=1)
    return merge(part for part in (s.intersection(window) for s in spans) if part is not None)


def fits(schedule: TechSchedule, start: datetime, duration: timedelta, window: Interval) -> bool:
    job = Interval(start, start + duration)
    return (
        window.contains(job)
        and covered(job, independent_hours(schedule.tech, window))
        and not any(occupies(busy, job) for busy in schedule.busy)
    )


def candidate_starts(schedule: TechSchedule, window: Interval) -> set[datetime]:
    starts = {window.start}
    starts |= {span.start for span in independent_hours(schedule.tech, window)}
    starts |= {busy.end for busy in schedule.busy if window.start <= busy.end <= window.end}
    return starts


@PROPERTY
@given(data=st.data(), tech=technicians(), window=windows())
def test_free_and_busy_partition_the_business_hours(
    data: st.DataObject, tech: Technician, window: Interval
) -> None:
    busy = data.draw(busy_around(window))

    hours = business_intervals(tech, window)
    free = free_intervals(tech, window, busy)
    taken = busy_within_hours(tech, window, busy)

    assert hours == independent_hours(tech, window)
    assert merge(free + taken) == hours
    assert not any(f.overlaps(t) for f in free for t in taken)
    assert free == merge(free) and taken == merge(taken)
    assert all(window.contains(span) for span in free + taken)
    assert all(covered(span, merge(busy)) for span in taken)


@PROPERTY
@given(data=st.data(), tech=technicians(), window=windows())
def test_nothing_free_overlaps_a_busy_block(data: st.DataObject, tech: Technician, window: Interval) -> None:
    busy = data.draw(busy_around(window))

    for span in free_intervals(tech, window, busy):
        assert not any(occupies(block, span) for block in busy)


@PROPERTY
@given(data=st.data(), tech=technicians(), window=windows(), quarters=st.integers(1, 4 * 4))
def test_free_stretches_are_the_free_intervals_long_enough(
    data: st.DataObject, tech: Technician, window: Interval, quarters: int
) -> None:
    busy = data.draw(busy_around(window))
    shortest = quarters * QUARTER

    stretches = list(free_stretches(tech, window, busy, shortest))

    long_enough = [span for span in free_intervals(tech, window, busy) if span.duration >= shortest]
    assert stretches == [(span.start, span.end) for span in long_enough]


@PROPERTY
@given(data=st.data(), window=windows(), quarters=st.integers(1, 6 * 4), extra_minutes=st.integers(0, 14))
def test_earliest_slot_is_free_and_nothing_earlier_is(
    data: st.DataObject, window: Interval, quarters: int, extra_minutes: int
) -> None:
    crew = data.draw(schedules(window))
    duration = quarters * QUARTER + timedelta(minutes=extra_minutes)

    slot = earliest_slot(crew, duration, window)

    if slot is None:
        for schedule in crew:
            assert not any(fits(schedule, t, duration, window) for t in candidate_starts(schedule, window))
        return
    winner = next(index for index, s in enumerate(crew) if s.tech.id == slot.tech_id)
    assert slot.interval.duration == duration
    assert fits(crew[winner], slot.interval.start, duration, window)
    for index, schedule in enumerate(crew):
        for start in candidate_starts(schedule, window):
            if start < slot.interval.start or (start == slot.interval.start and index < winner):
                assert not fits(schedule, start, duration, window)


@PROPERTY
@given(data=st.data(), window=windows(), quarters=st.integers(1, 4 * 4), limit=st.integers(0, 8))
def test_earliest_slots_are_free_ordered_and_start_with_the_earliest(
    data: st.DataObject, window: Interval, quarters: int, limit: int
) -> None:
    crew = data.draw(schedules(window))
    duration = quarters * QUARTER
    by_id = {schedule.tech.id: schedule for schedule in crew}

    slots = earliest_slots(crew, duration, window, limit)

    assert len(slots) <= limit
    assert [s.interval.start for s in slots] == sorted(s.interval.start for s in slots)
    assert len(set(slots)) == len(slots)
    assert all(fits(by_id[s.tech_id], s.interval.start, duration, window) for s in slots)
    first = earliest_slot(crew, duration, window)
    if limit:
        assert (slots[0] if slots else None) == first


@PROPERTY
@given(
    tech=technicians(),
    first_day=st.dates(min_value=date(2026, 1, 1), max_value=date(2026, 12, 31)),
    days=st.integers(1, 3),
)
def test_whole_day_time_off_blocks_exactly_the_local_days(
    tech: Technician, first_day: date, days: int
) -> None:
    end_day = first_day + timedelta(days=days)
    pto = TimeOff(TimeOffId("off"), tech.id, first_day=first_day, end_day=end_day)

    blocked = time_off_interval(pto, tech.timezone)

    assert blocked == Interval(
        day_window(tech.timezone, first_day).start, day_window(tech.timezone, end_day).start
    )
    for offset in range(days):
        assert (
            free_intervals(tech, day_window(tech.timezone, first_day + timedelta(days=offset)), [blocked])
            == []
        )
    for outside in (first_day - timedelta(days=1), end_day):
        window = day_window(tech.timezone, outside)
        assert free_intervals(tech, window, [blocked]) == business_intervals(tech, window)
