"""Business hours, free time and slot finding, with worked examples on daylight-saving days."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from app.domain.availability import (
    Slot,
    TechSchedule,
    business_intervals,
    busy_within_hours,
    day_window,
    earliest_slot,
    earliest_slots,
    free_intervals,
    overlapping,
    time_off_interval,
)
from app.domain.ids import TechId, TimeOffId
from app.domain.model import BusyBlock, BusySource, TimeOff
from app.domain.time import Interval
from app.errors import InvalidInput
from tests.domain.factories import BERLIN, LA, technician, utc

HOUR = timedelta(hours=1)


def test_day_window_is_25_hours_when_clocks_fall_back_and_23_when_they_spring_forward() -> None:
    assert day_window(LA, date(2026, 11, 1)) == Interval(utc(2026, 11, 1, 7), utc(2026, 11, 2, 8))
    assert day_window(LA, date(2026, 11, 1)).duration == timedelta(hours=25)
    assert day_window(BERLIN, date(2026, 3, 29)) == Interval(utc(2026, 3, 28, 23), utc(2026, 3, 29, 22))
    assert day_window(BERLIN, date(2026, 3, 29)).duration == timedelta(hours=23)
    assert day_window("UTC", date(2026, 3, 29)).duration == timedelta(hours=24)


def test_day_window_refuses_an_unknown_zone() -> None:
    with pytest.raises(InvalidInput, match="Unknown time zone"):
        day_window("Mars/Olympus", date(2026, 3, 29))


def test_business_hours_on_the_la_fall_back_day_are_nine_hours() -> None:
    tech = technician(LA, "mon-sun 08:00-17:00")

    hours = business_intervals(tech, day_window(LA, date(2026, 11, 1)))

    assert hours == [Interval(utc(2026, 11, 1, 16), utc(2026, 11, 2, 1))]
    assert hours[0].duration == timedelta(hours=9)


def test_business_hours_on_the_berlin_spring_forward_day_are_nine_hours() -> None:
    tech = technician(BERLIN, "mon-sun 08:00-17:00")

    hours = business_intervals(tech, day_window(BERLIN, date(2026, 3, 29)))

    assert hours == [Interval(utc(2026, 3, 29, 6), utc(2026, 3, 29, 15))]
    assert hours[0].duration == timedelta(hours=9)


def test_business_hours_are_clipped_to_the_window_and_follow_the_weekday() -> None:
    tech = technician(BERLIN, "mon-fri 08:00-12:00,13:00-17:00")

    # Friday 2026-11-06 10:00 UTC to Monday 2026-11-09 08:00 UTC.
    hours = business_intervals(tech, Interval(utc(2026, 11, 6, 10), utc(2026, 11, 9, 8)))

    assert hours == [
        Interval(utc(2026, 11, 6, 10), utc(2026, 11, 6, 11)),
        Interval(utc(2026, 11, 6, 12), utc(2026, 11, 6, 16)),
        Interval(utc(2026, 11, 9, 7), utc(2026, 11, 9, 8)),
    ]


def test_round_the_clock_hours_join_across_midnight() -> None:
    tech = technician("UTC", "mon-sun 00:00-24:00")

    assert business_intervals(tech, Interval(utc(2026, 11, 2, 20), utc(2026, 11, 4, 3))) == [
        Interval(utc(2026, 11, 2, 20), utc(2026, 11, 4, 3))
    ]


def test_time_off_by_days_runs_between_local_midnights() -> None:
    days = TimeOff(TimeOffId("t"), TechId("x"), first_day=date(2026, 10, 31), end_day=date(2026, 11, 2))
    span = TimeOff(TimeOffId("t"), TechId("x"), start=utc(2026, 11, 2, 9), end=utc(2026, 11, 2, 12))

    assert time_off_interval(days, LA) == Interval(utc(2026, 10, 31, 7), utc(2026, 11, 2, 8))
    assert time_off_interval(days, BERLIN) == Interval(utc(2026, 10, 30, 23), utc(2026, 11, 1, 23))
    assert time_off_interval(span, LA) == Interval(utc(2026, 11, 2, 9), utc(2026, 11, 2, 12))


def test_free_and_busy_split_the_hours_around_busy_time() -> None:
    tech = technician(LA, "mon-sun 08:00-17:00")
    window = day_window(LA, date(2026, 11, 1))
    busy = [
        Interval(utc(2026, 11, 1, 12), utc(2026, 11, 1, 17)),  # 04:00-09:00 local: starts before hours
        Interval(utc(2026, 11, 1, 20), utc(2026, 11, 1, 21)),  # 12:00-13:00 local
        Interval(utc(2026, 11, 1, 20, 30), utc(2026, 11, 1, 21, 30)),  # overlaps the one before
        Interval(utc(2026, 11, 5), utc(2026, 11, 6)),  # another day entirely
    ]

    assert free_intervals(tech, window, busy) == [
        Interval(utc(2026, 11, 1, 17), utc(2026, 11, 1, 20)),
        Interval(utc(2026, 11, 1, 21, 30), utc(2026, 11, 2, 1)),
    ]
    assert busy_within_hours(tech, window, busy) == [
        Interval(utc(2026, 11, 1, 16), utc(2026, 11, 1, 17)),
        Interval(utc(2026, 11, 1, 20), utc(2026, 11, 1, 21, 30)),
    ]


def test_all_day_time_off_for_la_and_berlin_techs_blocks_their_own_business_day() -> None:
    for zone_name in (LA, BERLIN):
        tech = technician(zone_name, "mon-fri 08:00-17:00")
        pto = TimeOff(TimeOffId("t"), tech.id, first_day=date(2026, 12, 1), end_day=date(2026, 12, 2))
        blocked = time_off_interval(pto, zone_name)

        assert free_intervals(tech, day_window(zone_name, date(2026, 12, 1)), [blocked]) == []
        for other in (date(2026, 11, 30), date(2026, 12, 2)):
            window = day_window(zone_name, other)
            hours = business_intervals(tech, window)
            assert len(hours) == 1 and hours[0].duration == timedelta(hours=9)
            assert free_intervals(tech, window, [blocked]) == hours


def schedule(
    tech_id: str, zone_name: str, *busy: Interval, hours: str = "mon-sun 08:00-17:00"
) -> TechSchedule:
    return TechSchedule(technician(zone_name, hours, tech_id=tech_id), tuple(busy))


WEEK = Interval(utc(2026, 11, 2), utc(2026, 11, 9))


def test_earliest_slot_picks_the_first_free_stretch_long_enough_across_techs() -> None:
    weekdays = "mon-fri 08:00-17:00"
    berlin = schedule(
        "berlin", BERLIN, Interval(utc(2026, 11, 2, 7), utc(2026, 11, 2, 15, 30)), hours=weekdays
    )
    la = schedule("la", LA, hours=weekdays)

    # Berlin is open 07:00-16:00 UTC but busy until 15:30; LA opens at 16:00 UTC.
    assert earliest_slot([berlin, la], HOUR, WEEK) == Slot(
        TechId("la"), Interval(utc(2026, 11, 2, 16), utc(2026, 11, 2, 17))
    )
    assert earliest_slot([berlin, la], timedelta(minutes=30), WEEK) == Slot(
        TechId("berlin"), Interval(utc(2026, 11, 2, 15, 30), utc(2026, 11, 2, 16))
    )


def test_earliest_slot_skips_gaps_too_short_for_the_job() -> None:
    tech = schedule(
        "a",
        "UTC",
        Interval(utc(2026, 11, 2, 8), utc(2026, 11, 2, 9)),
        Interval(utc(2026, 11, 2, 9, 30), utc(2026, 11, 2, 11)),
    )

    slot = earliest_slot([tech], HOUR, WEEK)

    assert slot == Slot(TechId("a"), Interval(utc(2026, 11, 2, 11), utc(2026, 11, 2, 12)))


def test_a_later_tech_can_win_with_a_stretch_that_began_before_the_first_techs_slot() -> None:
    first = schedule("first", "UTC", Interval(utc(2026, 11, 2, 8), utc(2026, 11, 2, 10)))
    second = schedule("second", "UTC", Interval(utc(2026, 11, 2, 8), utc(2026, 11, 2, 9, 30)))

    assert earliest_slot([first, second], 2 * HOUR, WEEK) == Slot(
        TechId("second"), Interval(utc(2026, 11, 2, 9, 30), utc(2026, 11, 2, 11, 30))
    )


def test_earliest_slot_ties_go_to_the_earlier_schedule() -> None:
    one, two = schedule("one", "UTC"), schedule("two", "UTC")

    assert earliest_slot([two, one], HOUR, WEEK) == Slot(
        TechId("two"), Interval(utc(2026, 11, 2, 8), utc(2026, 11, 2, 9))
    )
    assert earliest_slot([one, two], HOUR, WEEK) == Slot(
        TechId("one"), Interval(utc(2026, 11, 2, 8), utc(2026, 11, 2, 9))
    )


def test_earliest_slot_is_none_when_no_stretch_is_long_enough() -> None:
    assert earliest_slot([schedule("a", "UTC")], 10 * HOUR, WEEK) is None
    assert earliest_slot([], HOUR, WEEK) is None


def test_a_job_may_run_through_midnight_for_round_the_clock_hours_but_not_past_the_window() -> None:
    night = schedule(
        "night", "UTC", Interval(utc(2026, 11, 2), utc(2026, 11, 2, 22)), hours="mon-sun 00:00-24:00"
    )

    assert earliest_slot([night], 4 * HOUR, WEEK) == Slot(
        TechId("night"), Interval(utc(2026, 11, 2, 22), utc(2026, 11, 3, 2))
    )
    assert earliest_slot([night], 4 * HOUR, Interval(utc(2026, 11, 2), utc(2026, 11, 3, 1))) is None


@pytest.mark.parametrize("duration", [timedelta(0), -HOUR])
def test_duration_must_be_positive(duration: timedelta) -> None:
    with pytest.raises(InvalidInput, match="Duration must be more than zero minutes"):
        earliest_slot([schedule("a", "UTC")], duration, WEEK)
    with pytest.raises(InvalidInput, match="Duration must be more than zero minutes"):
        earliest_slots([schedule("a", "UTC")], duration, WEEK, 3)


def test_earliest_slots_are_in_time_order_one_per_tech_per_free_stretch() -> None:
    a = schedule(
        "a", "UTC", Interval(utc(2026, 11, 2, 10), utc(2026, 11, 2, 11)), hours="mon-fri 08:00-12:00"
    )
    b = schedule("b", "UTC", hours="mon-fri 09:00-10:00")

    slots = earliest_slots([a, b], HOUR, WEEK, 5)

    assert [(s.tech_id, s.interval.start) for s in slots] == [
        ("a", utc(2026, 11, 2, 8)),
        ("b", utc(2026, 11, 2, 9)),
        ("a", utc(2026, 11, 2, 11)),
        ("a", utc(2026, 11, 3, 8)),
        ("b", utc(2026, 11, 3, 9)),
    ]
    assert all(s.interval.duration == HOUR for s in slots)
    assert earliest_slots([a, b], HOUR, WEEK, 0) == []
    assert len(earliest_slots([a, b], HOUR, WEEK, 1000)) == 6 + 5  # two stretches for a on Monday


def test_earliest_slots_refuses_a_negative_limit() -> None:
    with pytest.raises(InvalidInput, match="zero or more"):
        earliest_slots([schedule("a", "UTC")], HOUR, WEEK, -1)


def test_overlapping_finds_blocks_sharing_time_but_not_touching_ones() -> None:
    def block(start: int, end: int) -> BusyBlock:
        return BusyBlock(
            TechId("a"), Interval(utc(2026, 11, 2, start), utc(2026, 11, 2, end)), BusySource.BOOKING
        )

    blocks = [block(8, 9), block(9, 11), block(10, 12), block(12, 13)]

    assert overlapping(Interval(utc(2026, 11, 2, 9), utc(2026, 11, 2, 12)), blocks) == blocks[1:3]
