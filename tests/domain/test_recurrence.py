"""Expanding recurring events: own-zone rules across DST, exceptions, date lines, bad input."""

from __future__ import annotations

import warnings
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.domain.recurrence import InvalidRecurrence, Occurrence, expand
from app.domain.time import Interval
from app.errors import InvalidInput
from tests.domain.factories import BERLIN, LA, all_day, local, timed, utc

AUTUMN = Interval(utc(2026, 10, 1), utc(2026, 12, 1))


def starts(occurrences: list[Occurrence]) -> list[datetime | None]:
    return [o.when.start for o in occurrences]


def test_weekly_meeting_keeps_local_nine_across_the_fall_back() -> None:
    master = timed(
        local(LA, 2026, 10, 19, 9),
        local(LA, 2026, 10, 19, 10),
        LA,
        recurrence=("RRULE:FREQ=WEEKLY;BYDAY=MO",),
    )

    found = expand(master, [], Interval(utc(2026, 10, 25), utc(2026, 11, 10)))

    assert starts(found) == [utc(2026, 10, 26, 16), utc(2026, 11, 2, 17), utc(2026, 11, 9, 17)]
    assert [o.when.end for o in found] == [utc(2026, 10, 26, 17), utc(2026, 11, 2, 18), utc(2026, 11, 9, 18)]
    zone = ZoneInfo(LA)
    for occurrence in found:
        assert occurrence.when.start is not None
        assert occurrence.when.start.astimezone(zone).hour == 9
        assert occurrence.original_start == occurrence.when.start
        assert occurrence.when.timezone == LA
        assert occurrence.source is master


def test_exdate_in_the_event_zone_removes_exactly_that_instance() -> None:
    master = timed(
        local(LA, 2026, 10, 19, 9),
        local(LA, 2026, 10, 19, 10),
        LA,
        recurrence=("RRULE:FREQ=WEEKLY;BYDAY=MO", "EXDATE;TZID=America/Los_Angeles:20261102T090000"),
    )

    found = expand(master, [], AUTUMN)

    assert utc(2026, 11, 2, 17) not in starts(found)
    assert utc(2026, 10, 26, 16) in starts(found)
    assert utc(2026, 11, 9, 17) in starts(found)


@pytest.mark.parametrize(
    "exdate",
    [
        "EXDATE:20261102T170000Z",
        "EXDATE;TZID=Europe/Berlin:20261102T180000",
        "EXDATE:20261102T090000",
        "EXDATE;VALUE=DATE:20261102",
    ],
)
def test_exdate_in_utc_another_zone_floating_or_by_date(exdate: str) -> None:
    master = timed(
        local(LA, 2026, 10, 19, 9),
        local(LA, 2026, 10, 19, 10),
        LA,
        recurrence=("RRULE:FREQ=WEEKLY;BYDAY=MO", exdate),
    )

    found = expand(master, [], Interval(utc(2026, 10, 25), utc(2026, 11, 10)))

    assert starts(found) == [utc(2026, 10, 26, 16), utc(2026, 11, 9, 17)]


def test_moved_instance_replaces_its_slot_and_appears_at_its_new_time() -> None:
    master = timed(
        local(LA, 2026, 10, 19, 9),
        local(LA, 2026, 10, 19, 10),
        LA,
        remote_id="standup",
        recurrence=("RRULE:FREQ=WEEKLY;BYDAY=MO",),
    )
    moved = timed(
        local(LA, 2026, 11, 3, 14),
        local(LA, 2026, 11, 3, 15),
        LA,
        remote_id="standup_20261102T170000Z",
        master_remote_id="standup",
        original_start=utc(2026, 11, 2, 17),
        title="Standup (moved)",
    )

    found = expand(master, [moved], Interval(utc(2026, 10, 25), utc(2026, 11, 10)))

    assert starts(found) == [utc(2026, 10, 26, 16), utc(2026, 11, 3, 22), utc(2026, 11, 9, 17)]
    assert found[1].source is moved
    assert found[1].original_start == utc(2026, 11, 2, 17)


def test_moved_instance_is_found_even_when_its_original_slot_is_outside_the_window() -> None:
    master = timed(
        local(LA, 2026, 10, 19, 9),
        local(LA, 2026, 10, 19, 10),
        LA,
        remote_id="standup",
        recurrence=("RRULE:FREQ=WEEKLY;BYDAY=MO",),
    )
    moved = timed(
        local(LA, 2026, 11, 4, 14),
        local(LA, 2026, 11, 4, 15),
        LA,
        remote_id="standup_x",
        master_remote_id="standup",
        original_start=utc(2026, 11, 2, 17),
    )

    found = expand(master, [moved], Interval(utc(2026, 11, 4), utc(2026, 11, 5)))

    assert [o.source for o in found] == [moved]


def test_moved_instance_outside_the_window_hides_its_original_slot_inside_it() -> None:
    master = timed(
        local(LA, 2026, 10, 19, 9),
        local(LA, 2026, 10, 19, 10),
        LA,
        remote_id="standup",
        recurrence=("RRULE:FREQ=WEEKLY;BYDAY=MO",),
    )
    moved = timed(
        local(LA, 2026, 12, 24, 14),
        local(LA, 2026, 12, 24, 15),
        LA,
        remote_id="standup_x",
        master_remote_id="standup",
        original_start=utc(2026, 11, 2, 17),
    )

    assert expand(master, [moved], Interval(utc(2026, 11, 2), utc(2026, 11, 3))) == []


def test_cancelled_instance_is_removed_and_other_series_exceptions_are_ignored() -> None:
    master = timed(
        local(LA, 2026, 10, 19, 9),
        local(LA, 2026, 10, 19, 10),
        LA,
        remote_id="standup",
        recurrence=("RRULE:FREQ=WEEKLY;BYDAY=MO",),
    )
    cancelled = timed(
        local(LA, 2026, 11, 2, 9),
        local(LA, 2026, 11, 2, 10),
        LA,
        remote_id="standup_c",
        master_remote_id="standup",
        original_start=utc(2026, 11, 2, 17),
        cancelled=True,
    )
    stranger = timed(
        local(LA, 2026, 11, 9, 9),
        local(LA, 2026, 11, 9, 10),
        LA,
        remote_id="other_c",
        master_remote_id="other",
        original_start=utc(2026, 11, 9, 17),
        cancelled=True,
    )

    found = expand(master, [cancelled, stranger], Interval(utc(2026, 10, 25), utc(2026, 11, 10)))

    assert starts(found) == [utc(2026, 10, 26, 16), utc(2026, 11, 9, 17)]


def test_newest_exception_for_a_slot_wins() -> None:
    master = timed(
        local(LA, 2026, 10, 19, 9),
        local(LA, 2026, 10, 19, 10),
        LA,
        remote_id="standup",
        recurrence=("RRULE:FREQ=WEEKLY;BYDAY=MO",),
    )
    older = timed(
        local(LA, 2026, 11, 2, 11),
        local(LA, 2026, 11, 2, 12),
        LA,
        remote_id="standup_x",
        master_remote_id="standup",
        original_start=utc(2026, 11, 2, 17),
        updated=utc(2026, 10, 1),
    )
    newer = timed(
        local(LA, 2026, 11, 2, 9),
        local(LA, 2026, 11, 2, 10),
        LA,
        remote_id="standup_x",
        master_remote_id="standup",
        original_start=utc(2026, 11, 2, 17),
        updated=utc(2026, 10, 2),
        cancelled=True,
    )

    found = expand(master, [newer, older], Interval(utc(2026, 11, 2), utc(2026, 11, 3)))

    assert found == []


def test_rdate_adds_instances_in_utc_and_on_a_date() -> None:
    master = timed(
        local(LA, 2026, 10, 19, 9),
        local(LA, 2026, 10, 19, 10),
        LA,
        recurrence=(
            "RRULE:FREQ=WEEKLY;BYDAY=MO;COUNT=2",
            "RDATE:20261021T200000Z",
            "RDATE;VALUE=DATE:20261203",
        ),
    )

    found = expand(master, [], Interval(utc(2026, 10, 1), utc(2027, 1, 1)))

    assert starts(found) == [
        utc(2026, 10, 19, 16),
        utc(2026, 10, 21, 20),
        utc(2026, 10, 26, 16),
        utc(2026, 12, 3, 17),
    ]
    assert all(
        o.when.end is not None
        and o.when.start is not None
        and o.when.end - o.when.start == timedelta(hours=1)
        for o in found
    )


@pytest.mark.parametrize(
    ("until", "last"),
    [
        ("UNTIL=20261102T170000Z", utc(2026, 11, 2, 17)),
        ("UNTIL=20261102T085959Z", utc(2026, 10, 26, 16)),
        ("UNTIL=20261102T090000", utc(2026, 11, 2, 17)),
        ("UNTIL=20261102", utc(2026, 11, 2, 17)),
        ("UNTIL=20261101", utc(2026, 10, 26, 16)),
    ],
)
def test_until_in_utc_floating_or_as_a_date_is_inclusive(until: str, last: datetime) -> None:
    master = timed(
        local(LA, 2026, 10, 19, 9),
        local(LA, 2026, 10, 19, 10),
        LA,
        recurrence=(f"RRULE:FREQ=WEEKLY;BYDAY=MO;{until}",),
    )

    found = expand(master, [], AUTUMN)

    assert found[-1].when.start == last


def test_count_with_until_ends_at_whichever_comes_first_without_warning() -> None:
    master = timed(
        local(LA, 2026, 10, 19, 9),
        local(LA, 2026, 10, 19, 10),
        LA,
        recurrence=("RRULE:FREQ=DAILY;COUNT=10;UNTIL=20261021T235959Z",),
    )

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        found = expand(master, [], AUTUMN)

    assert starts(found) == [utc(2026, 10, 19, 16), utc(2026, 10, 20, 16), utc(2026, 10, 21, 16)]


def test_all_day_series_expands_by_date_with_exdate_rdate_and_until() -> None:
    master = all_day(
        date(2026, 12, 1),
        date(2026, 12, 2),
        remote_id="gym",
        recurrence=(
            "RRULE:FREQ=WEEKLY;BYDAY=TU,TH;UNTIL=20261217",
            "EXDATE;VALUE=DATE:20261203",
            "RDATE;VALUE=DATE:20261205",
        ),
    )

    found = expand(master, [], Interval(utc(2026, 11, 1), utc(2027, 1, 1)))

    assert [o.when.start_date for o in found] == [
        date(2026, 12, 1),
        date(2026, 12, 5),
        date(2026, 12, 8),
        date(2026, 12, 10),
        date(2026, 12, 15),
        date(2026, 12, 17),
    ]
    assert all(o.when.start_date and o.when.end_date == o.when.start_date + timedelta(days=1) for o in found)
    assert [o.original_start_date for o in found] == [o.when.start_date for o in found]
    assert all(o.original_start is None for o in found)


def test_all_day_exception_named_by_local_midnight_replaces_its_date() -> None:
    master = all_day(
        date(2026, 12, 1),
        date(2026, 12, 2),
        remote_id="gym",
        timezone=BERLIN,
        recurrence=("RRULE:FREQ=DAILY;COUNT=3",),
    )
    cancelled = all_day(
        date(2026, 12, 2),
        date(2026, 12, 3),
        remote_id="gym_2",
        master_remote_id="gym",
        original_start=local(BERLIN, 2026, 12, 2),
        cancelled=True,
    )

    found = expand(master, [cancelled], Interval(utc(2026, 11, 1), utc(2027, 1, 1)))

    assert [o.when.start_date for o in found] == [date(2026, 12, 1), date(2026, 12, 3)]


def test_all_day_occurrence_overlaps_any_window_its_local_day_can_touch() -> None:
    pto = all_day(date(2026, 12, 1), date(2026, 12, 2))

    # 18:00 on Dec 1 in Los Angeles is already Dec 2 in UTC; the all-day event still counts.
    assert len(expand(pto, [], Interval(utc(2026, 12, 2, 2), utc(2026, 12, 2, 3)))) == 1
    assert expand(pto, [], Interval(utc(2026, 12, 3), utc(2026, 12, 4))) == []


def test_single_event_yields_itself_only_when_it_overlaps_the_window() -> None:
    event = timed(utc(2026, 11, 2, 10), utc(2026, 11, 2, 11))

    assert [o.source for o in expand(event, [], Interval(utc(2026, 11, 2), utc(2026, 11, 3)))] == [event]
    assert expand(event, [], Interval(utc(2026, 11, 2, 11), utc(2026, 11, 3))) == []
    assert expand(event, [], Interval(utc(2026, 11, 1), utc(2026, 11, 2, 10))) == []


def test_single_event_in_another_offset_is_returned_in_utc() -> None:
    event = timed(local(BERLIN, 2026, 11, 2, 10), local(BERLIN, 2026, 11, 2, 11), BERLIN)

    (found,) = expand(event, [], Interval(utc(2026, 11, 2), utc(2026, 11, 3)))

    assert found.when.start == utc(2026, 11, 2, 9)
    assert found.when.start is not None and found.when.start.utcoffset() == timedelta(0)
    assert found.original_start is None


def test_cancelled_series_has_no_occurrences() -> None:
    master = timed(
        utc(2026, 11, 2, 10), utc(2026, 11, 2, 11), recurrence=("RRULE:FREQ=DAILY",), cancelled=True
    )

    assert expand(master, [], AUTUMN) == []


def test_endless_rule_stops_at_the_window_end_and_at_the_cap() -> None:
    master = timed(utc(2020, 1, 1, 10), utc(2020, 1, 1, 11), recurrence=("RRULE:FREQ=DAILY",))

    assert len(expand(master, [], Interval(utc(2026, 11, 1), utc(2026, 11, 15)))) == 14
    assert len(expand(master, [], Interval(utc(2026, 11, 1), utc(2036, 11, 15)), max_occurrences=50)) == 50


def test_occurrence_that_started_before_the_window_but_runs_into_it_is_kept() -> None:
    master = timed(
        local(BERLIN, 2026, 11, 1, 22),
        local(BERLIN, 2026, 11, 2, 6),
        BERLIN,
        recurrence=("RRULE:FREQ=DAILY",),
    )

    found = expand(master, [], Interval(utc(2026, 11, 10, 3), utc(2026, 11, 10, 4)))

    assert starts(found) == [utc(2026, 11, 9, 21)]


def test_overnight_shift_keeps_its_local_end_across_the_spring_forward() -> None:
    master = timed(
        local(BERLIN, 2026, 3, 27, 22),
        local(BERLIN, 2026, 3, 28, 6),
        BERLIN,
        recurrence=("RRULE:FREQ=DAILY;COUNT=3",),
    )

    found = expand(master, [], Interval(utc(2026, 3, 1), utc(2026, 4, 1)))

    zone = ZoneInfo(BERLIN)
    assert [o.when.end.astimezone(zone).hour for o in found if o.when.end is not None] == [6, 6, 6]
    assert [o.when.end - o.when.start for o in found if o.when.end and o.when.start] == [
        timedelta(hours=8),
        timedelta(hours=7),
        timedelta(hours=8),
    ]


@pytest.mark.parametrize(
    "line",
    [
        "RRULE:FREQ=SOMETIMES",
        "RRULE:FREQ=WEEKLY;BYDAY=XX",
        "RRULE:FREQ=WEEKLY;BOGUS=1",
        "RRULE:INTERVAL=2",
        "RRULE:FREQ=DAILY;UNTIL=tomorrow",
        "RRULE:",
        "EXDATE:2026-11-02",
        "EXDATE;TZID=Mars/Olympus:20261102T090000",
        "RDATE;VALUE=PERIOD:20261102T090000Z/PT1H",
        "VEVENT:nothing",
    ],
)
def test_unreadable_recurrence_raises_invalid_recurrence(line: str) -> None:
    master = timed(utc(2026, 11, 2, 10), utc(2026, 11, 2, 11), recurrence=(line,), title="Standup")

    with pytest.raises(InvalidRecurrence, match="Standup") as caught:
        expand(master, [], AUTUMN)

    assert isinstance(caught.value, InvalidInput)


def test_unknown_event_zone_on_a_series_raises_invalid_recurrence() -> None:
    master = timed(
        utc(2026, 11, 2, 10), utc(2026, 11, 2, 11), "Pacific Standard Time", recurrence=("RRULE:FREQ=DAILY",)
    )

    with pytest.raises(InvalidRecurrence, match="Pacific Standard Time"):
        expand(master, [], AUTUMN)


ZONES = st.sampled_from([LA, BERLIN, "Asia/Kolkata", "Australia/Lord_Howe", "America/Sao_Paulo", "UTC"])


@settings(max_examples=100, deadline=None)
@given(
    zone_name=ZONES,
    first_day=st.dates(min_value=date(2025, 1, 1), max_value=date(2027, 12, 31)),
    hour=st.integers(min_value=4, max_value=22),
    weeks=st.integers(min_value=1, max_value=40),
)
def test_weekly_series_keeps_its_local_wall_time(
    zone_name: str, first_day: date, hour: int, weeks: int
) -> None:
    zone = ZoneInfo(zone_name)
    master = timed(
        local(zone_name, first_day.year, first_day.month, first_day.day, hour),
        local(zone_name, first_day.year, first_day.month, first_day.day, hour) + timedelta(hours=1),
        zone_name,
        recurrence=(f"RRULE:FREQ=WEEKLY;COUNT={weeks}",),
    )

    found = expand(master, [], Interval(utc(2024, 12, 1), utc(2028, 12, 1)))

    assert len(found) == weeks
    for index, occurrence in enumerate(found):
        assert occurrence.when.start is not None
        assert occurrence.when.start.astimezone(zone).date() == first_day + timedelta(weeks=index)
        assert occurrence.when.start.astimezone(zone).hour == hour


def test_edited_instance_naming_no_slot_still_counts_at_its_own_time() -> None:
    master = timed(
        utc(2026, 11, 2, 17),
        utc(2026, 11, 2, 18),
        LA,
        remote_id="s",
        recurrence=("RRULE:FREQ=DAILY;COUNT=2",),
    )
    orphan = timed(utc(2026, 11, 2, 20), utc(2026, 11, 2, 21), LA, remote_id="s_x", master_remote_id="s")

    found = expand(master, [orphan], Interval(utc(2026, 11, 2), utc(2026, 11, 4)))

    assert starts(found) == [utc(2026, 11, 2, 17), utc(2026, 11, 2, 20), utc(2026, 11, 3, 17)]
    assert found[1].source is orphan and found[1].original_start is None


def test_max_occurrences_below_one_is_a_programming_error() -> None:
    master = timed(utc(2026, 11, 2, 17), utc(2026, 11, 2, 18), recurrence=("RRULE:FREQ=DAILY",))

    with pytest.raises(ValueError, match="max_occurrences"):
        expand(master, [], AUTUMN, max_occurrences=0)


@settings(max_examples=100, deadline=None)
@given(
    zone_name=ZONES,
    first_day=st.dates(min_value=date(2026, 1, 1), max_value=date(2026, 12, 31)),
    hour=st.integers(min_value=0, max_value=23),
    count=st.integers(min_value=1, max_value=30),
    data=st.data(),
)
def test_exdates_and_exceptions_remove_exactly_the_slots_they_name(
    zone_name: str, first_day: date, hour: int, count: int, data: st.DataObject
) -> None:
    start = local(zone_name, first_day.year, first_day.month, first_day.day, hour)
    master = timed(
        start,
        start + timedelta(minutes=45),
        zone_name,
        remote_id="s",
        recurrence=(f"RRULE:FREQ=DAILY;COUNT={count}",),
    )
    window = Interval(utc(2025, 12, 1), utc(2028, 1, 1))
    all_starts = starts(expand(master, [], window))
    excluded = data.draw(st.sets(st.sampled_from(all_starts)))
    cancelled = data.draw(st.sets(st.sampled_from(all_starts)))
    lines = tuple(f"EXDATE:{s:%Y%m%dT%H%M%SZ}" for s in excluded if s is not None)
    series = timed(
        start,
        start + timedelta(minutes=45),
        zone_name,
        remote_id="s",
        recurrence=(f"RRULE:FREQ=DAILY;COUNT={count}", *lines),
    )
    exceptions = [
        timed(
            s,
            s + timedelta(minutes=45),
            zone_name,
            remote_id=f"s_{index}",
            master_remote_id="s",
            original_start=s,
            cancelled=True,
        )
        for index, s in enumerate(sorted(c for c in cancelled if c is not None))
    ]

    remaining = starts(expand(series, exceptions, window))

    assert len(all_starts) == count
    assert remaining == [s for s in all_starts if s not in excluded and s not in cancelled]
