"""Which events block a technician, and the busy blocks a series becomes."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from app.domain.availability import business_intervals, busy_within_hours, day_window, free_intervals
from app.domain.blocking import blocks_availability, calendar_blocks, is_tentative, materialize
from app.domain.ids import BookingId
from app.domain.model import BusySource, CalendarBlocking, Response, ShowAs
from app.domain.time import Interval
from tests.domain.factories import BERLIN, LA, all_day, calendar, local, technician, timed, utc

HORIZON = Interval(utc(2026, 1, 1), utc(2027, 1, 1))


@pytest.mark.parametrize(
    ("show_as", "response", "tentative_blocks", "expected"),
    [
        (ShowAs.BUSY, Response.ORGANIZER, False, True),
        (ShowAs.BUSY, Response.ACCEPTED, False, True),
        (ShowAs.OUT_OF_OFFICE, Response.ORGANIZER, False, True),
        (ShowAs.FREE, Response.ORGANIZER, True, False),
        (ShowAs.WORKING_ELSEWHERE, Response.ACCEPTED, True, False),
        (ShowAs.BUSY, Response.DECLINED, True, False),
        (ShowAs.TENTATIVE, Response.ORGANIZER, False, False),
        (ShowAs.TENTATIVE, Response.ORGANIZER, True, True),
        (ShowAs.BUSY, Response.TENTATIVE, False, False),
        (ShowAs.BUSY, Response.TENTATIVE, True, True),
        (ShowAs.BUSY, Response.NEEDS_ACTION, False, False),
        (ShowAs.BUSY, Response.NEEDS_ACTION, True, True),
        (ShowAs.TENTATIVE, Response.DECLINED, True, False),
    ],
)
def test_show_as_and_response_decide_blocking(
    show_as: ShowAs, response: Response, tentative_blocks: bool, expected: bool
) -> None:
    subject = timed(utc(2026, 11, 2, 10), utc(2026, 11, 2, 11), show_as=show_as, response=response)

    assert blocks_availability(subject, tentative_blocks=tentative_blocks) is expected


def test_cancelled_working_location_and_booking_events_never_block() -> None:
    start, end = utc(2026, 11, 2, 10), utc(2026, 11, 2, 11)

    assert not blocks_availability(timed(start, end, cancelled=True), tentative_blocks=True)
    assert not blocks_availability(timed(start, end, event_type="workingLocation"), tentative_blocks=True)
    assert not blocks_availability(timed(start, end, booking_id=BookingId("b" * 32)), tentative_blocks=True)
    assert blocks_availability(timed(start, end, event_type="focusTime"), tentative_blocks=False)


def test_tentative_means_shown_tentative_or_not_firmly_answered() -> None:
    start, end = utc(2026, 11, 2, 10), utc(2026, 11, 2, 11)

    assert is_tentative(timed(start, end, show_as=ShowAs.TENTATIVE))
    assert is_tentative(timed(start, end, response=Response.NEEDS_ACTION))
    assert not is_tentative(timed(start, end, response=Response.ACCEPTED))


@pytest.mark.parametrize(
    ("primary", "marked", "preference", "expected"),
    [
        (True, False, CalendarBlocking.PRIMARY_ONLY, True),
        (True, False, CalendarBlocking.MARKED, True),
        (False, True, CalendarBlocking.MARKED, True),
        (False, False, CalendarBlocking.MARKED, False),
        (False, True, CalendarBlocking.PRIMARY_ONLY, False),
    ],
)
def test_secondary_calendars_block_only_when_marked_and_allowed(
    primary: bool, marked: bool, preference: CalendarBlocking, expected: bool
) -> None:
    tech = technician(LA, calendar_blocking=preference)

    assert calendar_blocks(calendar(primary=primary, blocks=marked), tech) is expected


def test_materialized_series_is_keyed_by_the_master_and_names_its_calendar() -> None:
    tech = technician(LA)
    master = timed(
        local(LA, 2026, 10, 19, 9),
        local(LA, 2026, 10, 19, 10),
        LA,
        remote_id="standup",
        recurrence=("RRULE:FREQ=WEEKLY;COUNT=3",),
        title="Standup",
    )
    moved = timed(
        local(LA, 2026, 10, 27, 9),
        local(LA, 2026, 10, 27, 10),
        LA,
        remote_id="standup_2",
        master_remote_id="standup",
        original_start=utc(2026, 10, 26, 16),
        title="Standup moved",
    )

    blocks = materialize(tech, calendar(name="Work"), master, [moved], HORIZON)

    assert [b.interval.start for b in blocks] == [
        utc(2026, 10, 19, 16),
        utc(2026, 10, 27, 16),
        utc(2026, 11, 2, 17),
    ]
    assert {(b.calendar_id, b.remote_id, b.calendar_name, b.source) for b in blocks} == {
        (master.calendar_id, "standup", "Work", BusySource.CALENDAR)
    }
    assert [b.title for b in blocks] == ["Standup", "Standup moved", "Standup"]
    assert all(b.tech_id == tech.id and not b.all_day and not b.tentative for b in blocks)


def test_modified_instance_uses_its_own_show_as_and_response() -> None:
    tech = technician(LA)
    master = timed(
        utc(2026, 11, 2, 17),
        utc(2026, 11, 2, 18),
        LA,
        remote_id="s",
        recurrence=("RRULE:FREQ=DAILY;COUNT=3",),
    )
    free = timed(
        utc(2026, 11, 3, 17),
        utc(2026, 11, 3, 18),
        LA,
        remote_id="s_1",
        master_remote_id="s",
        original_start=utc(2026, 11, 3, 17),
        show_as=ShowAs.FREE,
    )
    declined = timed(
        utc(2026, 11, 4, 17),
        utc(2026, 11, 4, 18),
        LA,
        remote_id="s_2",
        master_remote_id="s",
        original_start=utc(2026, 11, 4, 17),
        response=Response.DECLINED,
    )

    blocks = materialize(tech, calendar(), master, [free, declined], HORIZON)

    assert [b.interval.start for b in blocks] == [utc(2026, 11, 2, 17)]


def test_tentative_event_blocks_with_the_tentative_flag_only_when_the_tech_asks() -> None:
    maybe = timed(utc(2026, 11, 2, 17), utc(2026, 11, 2, 18), response=Response.TENTATIVE)

    assert materialize(technician(LA), calendar(), maybe, [], HORIZON) == []
    (block,) = materialize(technician(LA, tentative_blocks=True), calendar(), maybe, [], HORIZON)
    assert block.tentative


def test_private_event_blocks_without_its_title() -> None:
    secret = timed(utc(2026, 11, 2, 17), utc(2026, 11, 2, 18), private=True, title="Doctor")

    (block,) = materialize(technician(LA), calendar(), secret, [], HORIZON)

    assert block.title is None
    assert block.interval == Interval(utc(2026, 11, 2, 17), utc(2026, 11, 2, 18))


def test_booking_events_and_unmarked_secondary_calendars_make_no_blocks() -> None:
    mirror = timed(utc(2026, 11, 2, 17), utc(2026, 11, 2, 18), booking_id=BookingId("a" * 32))
    personal = timed(utc(2026, 11, 2, 17), utc(2026, 11, 2, 18))

    assert materialize(technician(LA), calendar(), mirror, [], HORIZON) == []
    assert materialize(technician(LA), calendar(primary=False, blocks=False), personal, [], HORIZON) == []
    assert len(materialize(technician(LA), calendar(primary=False, blocks=True), personal, [], HORIZON)) == 1
    primary_only = technician(LA, calendar_blocking=CalendarBlocking.PRIMARY_ONLY)
    assert materialize(primary_only, calendar(primary=False, blocks=True), personal, [], HORIZON) == []


def test_blocks_are_not_clipped_to_the_horizon() -> None:
    long_event = timed(utc(2025, 12, 31, 20), utc(2026, 1, 1, 4))

    (block,) = materialize(technician(LA), calendar(), long_event, [], HORIZON)

    assert block.interval == Interval(utc(2025, 12, 31, 20), utc(2026, 1, 1, 4))


@pytest.mark.parametrize(
    ("zone_name", "day", "midnight", "next_midnight", "open_at", "close_at"),
    [
        (
            LA,
            date(2026, 12, 1),
            utc(2026, 12, 1, 8),
            utc(2026, 12, 2, 8),
            utc(2026, 12, 1, 16),
            utc(2026, 12, 2, 1),
        ),
        (
            BERLIN,
            date(2026, 12, 1),
            utc(2026, 11, 30, 23),
            utc(2026, 12, 1, 23),
            utc(2026, 12, 1, 7),
            utc(2026, 12, 1, 16),
        ),
        (
            LA,
            date(2026, 11, 1),
            utc(2026, 11, 1, 7),
            utc(2026, 11, 2, 8),
            utc(2026, 11, 1, 16),
            utc(2026, 11, 2, 1),
        ),
        (
            BERLIN,
            date(2026, 3, 29),
            utc(2026, 3, 28, 23),
            utc(2026, 3, 29, 22),
            utc(2026, 3, 29, 6),
            utc(2026, 3, 29, 15),
        ),
    ],
)
def test_all_day_event_blocks_exactly_the_local_business_day(
    zone_name: str,
    day: date,
    midnight: datetime,
    next_midnight: datetime,
    open_at: datetime,
    close_at: datetime,
) -> None:
    tech = technician(zone_name, "mon-sun 08:00-17:00")
    pto = all_day(day, day + timedelta(days=1), title="PTO")

    (block,) = materialize(tech, calendar(), pto, [], HORIZON)

    assert block.all_day
    assert block.interval == Interval(midnight, next_midnight)
    today = day_window(zone_name, day)
    assert business_intervals(tech, today) == [Interval(open_at, close_at)]
    assert free_intervals(tech, today, [block.interval]) == []
    assert busy_within_hours(tech, today, [block.interval]) == business_intervals(tech, today)
    for neighbour in (day - timedelta(days=1), day + timedelta(days=1)):
        window = day_window(zone_name, neighbour)
        assert free_intervals(tech, window, [block.interval]) == business_intervals(tech, window)


def test_all_day_series_in_the_tech_zone() -> None:
    tech = technician(BERLIN)
    weekly = all_day(date(2026, 12, 4), date(2026, 12, 5), recurrence=("RRULE:FREQ=WEEKLY;COUNT=2",))

    blocks = materialize(tech, calendar(), weekly, [], HORIZON)

    assert [b.interval for b in blocks] == [
        Interval(utc(2026, 12, 3, 23), utc(2026, 12, 4, 23)),
        Interval(utc(2026, 12, 10, 23), utc(2026, 12, 11, 23)),
    ]
