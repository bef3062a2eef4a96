"""Microsoft Graph events read into RemoteEvent, and bookings written as Graph events."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from app.domain.blocking import blocks_availability
from app.domain.model import RemoteEvent, Response, ShowAs
from app.domain.recurrence import expand
from app.domain.time import Interval
from sync.providers.content import booking_content_hash, booking_event_times
from sync.providers.errors import BadRemoteData
from sync.providers.normalize_graph import (
    BOOKING_ID_PROPERTY,
    BOOKING_VERSION_PROPERTY,
    booking_to_graph_event,
    graph_event_to_remote,
    is_removed,
    transaction_id,
)
from tests.providers.samples import (
    BOOKING_ID,
    CALENDAR,
    LA,
    booking,
    customer,
    graph_master,
    graph_time,
    graph_timed,
    technician,
)


def read(item: dict[str, Any]) -> RemoteEvent:
    return graph_event_to_remote(item, CALENDAR)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def local_hours(starts: list[datetime | None], zone: str) -> set[tuple[int, int]]:
    return {
        (s.astimezone(ZoneInfo(zone)).hour, s.astimezone(ZoneInfo(zone)).minute)
        for s in starts
        if s is not None
    }


# --- times and zones --------------------------------------------------------------------------


def test_a_utc_answer_keeps_the_instants_and_the_creators_zone() -> None:
    event = read(graph_timed())
    assert event.remote_id == "AAMkAGI2TGuLAAA="
    assert event.etag == 'W/"DwAAABYAAABzN3Hs0p3pQ6v2oQ1a8bX1AAAB3Jx5"'
    assert event.when.start == utc(2026, 7, 15, 16) and event.when.end == utc(2026, 7, 15, 17)
    assert event.when.timezone == LA
    assert event.title == "Dentist"
    assert event.updated == datetime(2026, 6, 2, 11, 30, 0, 765432, tzinfo=UTC)
    assert event.show_as is ShowAs.BUSY and event.response is Response.ORGANIZER
    assert event.master_remote_id is None and event.recurrence == ()


@pytest.mark.parametrize(
    ("start", "zone", "expected"),
    [
        ("2026-07-15T09:00:00.0000000", "Pacific Standard Time", utc(2026, 7, 15, 16)),  # PDT, UTC-7
        ("2026-01-15T09:00:00.0000000", "Pacific Standard Time", utc(2026, 1, 15, 17)),  # PST, UTC-8
        ("2026-07-15T09:00:00.0000000", "W. Europe Standard Time", utc(2026, 7, 15, 7)),  # CEST
        ("2026-01-15T09:00:00.0000000", "Romance Standard Time", utc(2026, 1, 15, 8)),  # CET
        ("2026-07-15T09:00:00.0000000", "India Standard Time", utc(2026, 7, 15, 3, 30)),
        ("2026-07-15T09:00:00", "America/Chicago", utc(2026, 7, 15, 14)),
        ("2026-07-15T09:00:00.0000000", "UTC", utc(2026, 7, 15, 9)),
        (
            "2026-07-15T09:00:00.1234567",
            "Tokyo Standard Time",
            datetime(2026, 7, 15, 0, 0, 0, 123456, tzinfo=UTC),
        ),
    ],
)
def test_windows_and_iana_zone_names_are_read_with_their_dst(
    start: str, zone: str, expected: datetime
) -> None:
    wall = datetime.fromisoformat(start[:19])
    end = (wall + timedelta(hours=1)).isoformat()
    event = read(
        graph_timed(start=graph_time(start, zone), end=graph_time(end, zone), originalStartTimeZone=zone)
    )
    assert event.when.start == expected
    assert event.when.end is not None and event.when.start is not None
    assert event.when.end - event.when.start == timedelta(hours=1) - timedelta(
        microseconds=expected.microsecond
    )


def test_a_zone_no_table_knows_in_original_start_falls_back_to_the_start_zone() -> None:
    event = read(graph_timed(originalStartTimeZone="tzone://Microsoft/Custom"))
    assert event.when.timezone == "UTC"
    assert event.when.start == utc(2026, 7, 15, 16)


@pytest.mark.parametrize(
    ("start", "end", "zone", "first", "last"),
    [
        (
            "2026-07-15T00:00:00.0000000",
            "2026-07-16T00:00:00.0000000",
            "UTC",
            date(2026, 7, 15),
            date(2026, 7, 16),
        ),
        (
            "2026-07-13T00:00:00.0000000",
            "2026-07-18T00:00:00.0000000",
            "Pacific Standard Time",
            date(2026, 7, 13),
            date(2026, 7, 18),
        ),
        (
            "2026-12-31T00:00:00",
            "2027-01-02T00:00:00",
            "W. Europe Standard Time",
            date(2026, 12, 31),
            date(2027, 1, 2),
        ),
        # Midnight in the event's own zone, written in UTC by an older server: still those dates.
        (
            "2026-07-15T07:00:00.0000000",
            "2026-07-16T07:00:00.0000000",
            "UTC",
            date(2026, 7, 15),
            date(2026, 7, 16),
        ),
    ],
)
def test_all_day_events_are_local_dates_whatever_zone_the_answer_uses(
    start: str, end: str, zone: str, first: date, last: date
) -> None:
    event = read(
        graph_timed(isAllDay=True, start=graph_time(start, zone), end=graph_time(end, zone), showAs="free")
    )
    assert event.when.all_day
    assert event.when.start_date == first and event.when.end_date == last
    assert event.show_as is ShowAs.FREE


# --- show as, response, privacy ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("show_as", "expected", "blocks"),
    [
        ("free", ShowAs.FREE, False),
        ("tentative", ShowAs.TENTATIVE, False),
        ("busy", ShowAs.BUSY, True),
        ("oof", ShowAs.OUT_OF_OFFICE, True),
        ("workingElsewhere", ShowAs.WORKING_ELSEWHERE, False),
        ("unknown", ShowAs.BUSY, True),
        ("somethingNew", ShowAs.BUSY, True),
        (None, ShowAs.BUSY, True),
    ],
)
def test_show_as_maps_to_the_merged_vocabulary(show_as: str | None, expected: ShowAs, blocks: bool) -> None:
    event = read(graph_timed(showAs=show_as))
    assert event.show_as is expected
    assert blocks_availability(event, tentative_blocks=False) is blocks


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ("none", Response.ORGANIZER),
        ("organizer", Response.ORGANIZER),
        ("tentativelyAccepted", Response.TENTATIVE),
        ("accepted", Response.ACCEPTED),
        ("declined", Response.DECLINED),
        ("notResponded", Response.NEEDS_ACTION),
    ],
)
def test_the_response_status_is_the_owners_answer(answer: str, expected: Response) -> None:
    item = graph_timed(isOrganizer=False, responseStatus={"response": answer, "time": "2026-06-03T08:00:00Z"})
    assert read(item).response is expected


def test_a_cancelled_meeting_blocks_nothing() -> None:
    event = read(graph_timed(isCancelled=True, subject="Canceled: Review"))
    assert event.cancelled
    assert not blocks_availability(event, tentative_blocks=True)


@pytest.mark.parametrize("sensitivity", ["private", "confidential"])
def test_a_private_event_keeps_only_its_times(sensitivity: str) -> None:
    attendees = [
        {
            "type": "required",
            "status": {"response": "none", "time": "0001-01-01T00:00:00Z"},
            "emailAddress": {"name": "Dr. Who", "address": "who@clinic.example"},
        }
    ]
    item = graph_timed(sensitivity=sensitivity, subject="Therapy", bodyPreview="Room 3", attendees=attendees)
    event = read(item)
    assert event.private and event.title is None
    assert event.when.start == utc(2026, 7, 15, 16)
    assert blocks_availability(event, tentative_blocks=False)
    kept = repr(event)
    assert "Therapy" not in kept and "Room 3" not in kept and "who@clinic" not in kept


def test_personal_sensitivity_is_not_private() -> None:
    assert read(graph_timed(sensitivity="personal")).title == "Dentist"


def test_thousands_of_attendees_and_a_megabyte_body_are_not_kept() -> None:
    attendees = [
        {
            "type": "required",
            "status": {"response": "accepted"},
            "emailAddress": {"address": f"p{n}@example.com"},
        }
        for n in range(5000)
    ]
    item = graph_timed(
        attendees=attendees,
        body={"contentType": "html", "content": "<p>" + "y" * 1_000_000 + "</p>"},
        subject="S" * 100_000,
        responseStatus={"response": "accepted", "time": "2026-06-03T08:00:00Z"},
    )
    event = read(item)
    assert event.response is Response.ACCEPTED
    assert event.title is not None and len(event.title) <= 255
    assert "y" * 1000 not in repr(event)


# --- tags, etags, tombstones -----------------------------------------------------------------


def test_the_booking_id_comes_from_our_extended_property() -> None:
    props = [
        {"id": "String {00020329-0000-0000-C000-000000000046} Name other", "value": "nope"},
        {"id": "String {66F5A359-4659-4830-9070-00047EC6AC6E} Name crewboardBookingId", "value": BOOKING_ID},
    ]
    assert read(graph_timed(singleValueExtendedProperties=props)).booking_id == BOOKING_ID
    assert read(graph_timed()).booking_id is None
    junk = [{"id": BOOKING_ID_PROPERTY, "value": "<img src=x>"}]
    assert read(graph_timed(singleValueExtendedProperties=junk)).booking_id is None


def test_the_etag_falls_back_to_the_change_key() -> None:
    assert read(graph_timed(**{"@odata.etag": None})).etag == "DwAAABYAAABzN3Hs0p3pQ6v2oQ1a8bX1AAAB3Jx5"
    with pytest.raises(BadRemoteData, match="etag"):
        read(graph_timed(**{"@odata.etag": None, "changeKey": None}))


def test_removed_items_are_recognised_and_not_read_as_events() -> None:
    for reason in ("deleted", "changed"):
        tombstone = {
            "@odata.type": "#microsoft.graph.event",
            "id": "AAMkGONE=",
            "@removed": {"reason": reason},
        }
        assert is_removed(tombstone)
        with pytest.raises(BadRemoteData, match="removed"):
            read(tombstone)
    assert not is_removed(graph_timed())


# --- recurrence ----------------------------------------------------------------------------------


WEEKLY_RANGE = {"type": "endDate", "endDate": "2026-11-12"}


def weekly_master() -> dict[str, Any]:
    # Tuesdays and Thursdays at 09:00 Pacific from Tue 20 Oct 2026, through Thu 12 Nov (DST ends 1 Nov).
    return graph_master(
        {"type": "weekly", "daysOfWeek": ["tuesday", "thursday"], "firstDayOfWeek": "monday"},
        WEEKLY_RANGE,
        start="2026-10-20T16:00:00.0000000",
        end="2026-10-20T16:30:00.0000000",
        subject="Standup",
    )


RRULE_CASES: list[tuple[dict[str, Any], dict[str, Any], str, str]] = [
    (
        {"type": "daily", "interval": 2},
        {"type": "noEnd"},
        "2026-10-20T16:00:00",
        "RRULE:FREQ=DAILY;INTERVAL=2",
    ),
    (
        {"type": "weekly", "daysOfWeek": ["tuesday", "thursday"], "firstDayOfWeek": "monday"},
        WEEKLY_RANGE,
        "2026-10-20T16:00:00",
        "RRULE:FREQ=WEEKLY;BYDAY=TU,TH;WKST=MO;UNTIL=20261113T075959Z",
    ),
    (
        {"type": "weekly", "interval": 2, "daysOfWeek": ["monday"]},
        {"type": "numbered", "numberOfOccurrences": 10},
        "2026-10-19T16:00:00",
        "RRULE:FREQ=WEEKLY;INTERVAL=2;BYDAY=MO;WKST=SU;COUNT=10",
    ),
    (
        {"type": "absoluteMonthly", "dayOfMonth": 15},
        {"type": "numbered", "numberOfOccurrences": 6},
        "2026-10-15T16:00:00",
        "RRULE:FREQ=MONTHLY;BYMONTHDAY=15;COUNT=6",
    ),
    (
        {"type": "absoluteMonthly", "dayOfMonth": 31, "interval": 1},
        {"type": "noEnd"},
        "2027-01-31T17:00:00",
        "RRULE:FREQ=MONTHLY;BYMONTHDAY=28,29,30,31;BYSETPOS=-1",
    ),
    (
        {"type": "relativeMonthly", "daysOfWeek": ["friday"], "index": "last"},
        {"type": "noEnd"},
        "2026-10-30T16:00:00",
        "RRULE:FREQ=MONTHLY;BYDAY=FR;BYSETPOS=-1",
    ),
    (
        {
            "type": "relativeMonthly",
            "interval": 3,
            "daysOfWeek": ["monday", "tuesday", "wednesday", "thursday", "friday"],
            "index": "first",
        },
        {"type": "noEnd"},
        "2026-10-01T16:00:00",
        "RRULE:FREQ=MONTHLY;INTERVAL=3;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=1",
    ),
    (
        {"type": "absoluteYearly", "month": 3, "dayOfMonth": 1},
        {"type": "noEnd"},
        "2027-03-01T17:00:00",
        "RRULE:FREQ=YEARLY;BYMONTH=3;BYMONTHDAY=1",
    ),
    (
        {"type": "relativeYearly", "month": 11, "daysOfWeek": ["thursday"], "index": "fourth"},
        {"type": "numbered", "numberOfOccurrences": 3},
        "2026-11-26T17:00:00",
        "RRULE:FREQ=YEARLY;BYMONTH=11;BYDAY=TH;BYSETPOS=4;COUNT=3",
    ),
]


@pytest.mark.parametrize(("pattern", "rng", "start", "line"), RRULE_CASES, ids=[c[3] for c in RRULE_CASES])
def test_patterns_become_rrule_lines(
    pattern: dict[str, Any], rng: dict[str, Any], start: str, line: str
) -> None:
    end = (datetime.fromisoformat(start) + timedelta(minutes=30)).isoformat()
    event = read(graph_master(pattern, rng, start=start + ".0000000", end=end + ".0000000"))
    assert event.recurrence == (line,)
    assert event.when.timezone == LA


def starts_of(
    master: dict[str, Any], window: Interval, exceptions: tuple[RemoteEvent, ...] = ()
) -> list[datetime | None]:
    return [o.when.start for o in expand(read(master), list(exceptions), window)]


def test_a_weekly_series_keeps_nine_oclock_across_dst_and_ends_on_its_end_date() -> None:
    starts = starts_of(weekly_master(), Interval(utc(2026, 10, 1), utc(2027, 1, 1)))
    assert starts == [
        utc(2026, 10, 20, 16),
        utc(2026, 10, 22, 16),
        utc(2026, 10, 27, 16),
        utc(2026, 10, 29, 16),
        utc(2026, 11, 3, 17),
        utc(2026, 11, 5, 17),
        utc(2026, 11, 10, 17),
        utc(2026, 11, 12, 17),  # the end date is inclusive
    ]
    assert local_hours(starts, LA) == {(9, 0)}


def test_a_series_in_a_windows_zone_expands_in_that_zone() -> None:
    master = graph_master(
        {"type": "daily"},
        {"type": "numbered", "numberOfOccurrences": 3, "recurrenceTimeZone": "W. Europe Standard Time"},
        start="2026-10-24T06:00:00.0000000",  # 08:00 CEST; DST ends in Europe on 25 Oct 2026
        end="2026-10-24T07:00:00.0000000",
        originalStartTimeZone="W. Europe Standard Time",
    )
    starts = starts_of(master, Interval(utc(2026, 10, 1), utc(2026, 11, 1)))
    assert starts == [utc(2026, 10, 24, 6), utc(2026, 10, 25, 7), utc(2026, 10, 26, 7)]
    assert local_hours(starts, "Europe/Berlin") == {(8, 0)}


def test_day_31_falls_on_the_last_day_of_shorter_months() -> None:
    master = graph_master(
        {"type": "absoluteMonthly", "dayOfMonth": 31},
        {"type": "numbered", "numberOfOccurrences": 4},
        start="2027-01-31T17:00:00.0000000",
        end="2027-01-31T18:00:00.0000000",
    )
    starts = starts_of(master, Interval(utc(2027, 1, 1), utc(2027, 12, 31)))
    assert [s.astimezone(ZoneInfo(LA)).date() for s in starts if s is not None] == [
        date(2027, 1, 31),
        date(2027, 2, 28),
        date(2027, 3, 31),
        date(2027, 4, 30),
    ]
    assert local_hours(starts, LA) == {(9, 0)}


def test_relative_patterns_find_the_right_weekdays() -> None:
    last_friday = graph_master(
        {"type": "relativeMonthly", "daysOfWeek": ["friday"], "index": "last"},
        {"type": "numbered", "numberOfOccurrences": 3},
        start="2026-10-30T16:00:00.0000000",
        end="2026-10-30T17:00:00.0000000",
    )
    fridays = starts_of(last_friday, Interval(utc(2026, 10, 1), utc(2027, 6, 1)))
    assert [s.astimezone(ZoneInfo(LA)).date() for s in fridays if s is not None] == [
        date(2026, 10, 30),
        date(2026, 11, 27),
        date(2026, 12, 25),
    ]
    thanksgiving = graph_master(
        {"type": "relativeYearly", "month": 11, "daysOfWeek": ["thursday"], "index": "fourth"},
        {"type": "numbered", "numberOfOccurrences": 3},
        start="2026-11-26T17:00:00.0000000",
        end="2026-11-26T18:00:00.0000000",
    )
    days = starts_of(thanksgiving, Interval(utc(2026, 1, 1), utc(2030, 1, 1)))
    assert [s.astimezone(ZoneInfo(LA)).date() for s in days if s is not None] == [
        date(2026, 11, 26),
        date(2027, 11, 25),
        date(2028, 11, 23),
    ]


def test_an_all_day_yearly_series_repeats_by_date() -> None:
    master = graph_master(
        {"type": "absoluteYearly", "month": 3, "dayOfMonth": 1},
        {"type": "endDate", "endDate": "2028-03-01"},
        start="2026-03-01T00:00:00.0000000",
        end="2026-03-02T00:00:00.0000000",
        isAllDay=True,
    )
    event = read(master)
    assert event.recurrence == ("RRULE:FREQ=YEARLY;BYMONTH=3;BYMONTHDAY=1;UNTIL=20280301",)
    found = expand(event, [], Interval(utc(2026, 1, 1), utc(2031, 1, 1)))
    assert [o.when.start_date for o in found] == [date(2026, 3, 1), date(2027, 3, 1), date(2028, 3, 1)]


def test_exceptions_and_occurrences_point_at_their_series() -> None:
    moved = read(
        graph_timed(
            id="AAMkEXC=",
            type="exception",
            seriesMasterId="AAMkMASTER=",
            originalStart="2026-10-27T16:00:00Z",
            start=graph_time("2026-10-28T17:00:00.0000000"),
            end=graph_time("2026-10-28T17:30:00.0000000"),
        )
    )
    assert moved.master_remote_id == "AAMkMASTER=" and moved.original_start == utc(2026, 10, 27, 16)
    starts = starts_of(weekly_master(), Interval(utc(2026, 10, 26), utc(2026, 10, 31)), (moved,))
    assert starts == [utc(2026, 10, 28, 17), utc(2026, 10, 29, 16)]


def test_a_sparse_occurrence_from_delta_sits_in_its_own_slot() -> None:
    sparse = {
        "@odata.type": "#microsoft.graph.event",
        "@odata.etag": 'W/"DwAAABYAAABzN3Hs0p3pQ6v2oQ1a8bX1AAAB3Jy0"',
        "id": "AAMkOCC=",
        "type": "occurrence",
        "seriesMasterId": "AAMkMASTER=",
        "start": graph_time("2026-11-03T17:00:00.0000000"),
        "end": graph_time("2026-11-03T17:30:00.0000000"),
    }
    event = read(sparse)
    assert event.master_remote_id == "AAMkMASTER="
    assert event.original_start == utc(2026, 11, 3, 17)
    assert event.title is None and event.show_as is ShowAs.BUSY


def test_an_all_day_occurrence_names_its_original_date_in_the_series_zone() -> None:
    item = graph_timed(
        id="AAMkBDAY=",
        type="occurrence",
        seriesMasterId="AAMkBDAYS=",
        isAllDay=True,
        originalStart="2027-03-01T08:00:00Z",  # local midnight, Pacific Standard Time
        start=graph_time("2027-03-01T00:00:00.0000000"),
        end=graph_time("2027-03-02T00:00:00.0000000"),
    )
    event = read(item)
    assert event.original_start_date == date(2027, 3, 1)
    assert event.when.start_date == date(2027, 3, 1)


# --- malformed items ----------------------------------------------------------------------------


def master_with(pattern: dict[str, Any] | None = None, rng: dict[str, Any] | None = None) -> dict[str, Any]:
    return graph_master(
        pattern or {"type": "daily"},
        rng or {"type": "noEnd"},
        start="2026-10-20T16:00:00.0000000",
        end="2026-10-20T17:00:00.0000000",
    )


MALFORMED: list[tuple[str, dict[str, Any]]] = [
    ("no id", graph_timed(id=None)),
    ("unknown type", graph_timed(type="meetingRequest")),
    ("no start", graph_timed(start=None)),
    ("bad dateTime", graph_timed(start=graph_time("15.07.2026 09:00"))),
    ("impossible dateTime", graph_timed(start=graph_time("2026-02-30T09:00:00.0000000"))),
    ("unknown zone", graph_timed(start=graph_time("2026-07-15T09:00:00", "Mars Standard Time"))),
    ("ends before it starts", graph_timed(end=graph_time("2026-07-15T15:00:00.0000000"))),
    ("all-day not at midnight", graph_timed(isAllDay=True)),
    (
        "all-day of no length",
        graph_timed(
            isAllDay=True, start=graph_time("2026-07-15T00:00:00"), end=graph_time("2026-07-15T00:00:00")
        ),
    ),
    ("bad last change", graph_timed(lastModifiedDateTime="last Tuesday")),
    ("occurrence without its series", graph_timed(type="occurrence")),
    ("exception without original start", graph_timed(type="exception", seriesMasterId="AAMkMASTER=")),
    ("bad original start", graph_timed(type="exception", seriesMasterId="M", originalStart="not a time")),
    ("series without recurrence", graph_timed(type="seriesMaster")),
    (
        "series without range",
        graph_timed(type="seriesMaster", recurrence={"pattern": {"type": "daily", "interval": 1}}),
    ),
    ("unknown pattern", master_with({"type": "hourly"})),
    ("interval zero", master_with({"type": "daily", "interval": 0})),
    ("interval not a number", master_with({"type": "daily", "interval": "2"})),
    ("unknown day", master_with({"type": "weekly", "daysOfWeek": ["funday"]})),
    ("days not a list", master_with({"type": "weekly", "daysOfWeek": "monday"})),
    (
        "unknown first day",
        master_with({"type": "weekly", "daysOfWeek": ["monday"], "firstDayOfWeek": "someday"}),
    ),
    ("day of month 0", master_with({"type": "absoluteMonthly", "dayOfMonth": 0})),
    ("day of month 32", master_with({"type": "absoluteMonthly", "dayOfMonth": 32})),
    ("month 13", master_with({"type": "absoluteYearly", "month": 13, "dayOfMonth": 1})),
    ("relative without days", master_with({"type": "relativeMonthly", "daysOfWeek": [], "index": "first"})),
    ("unknown index", master_with({"type": "relativeMonthly", "daysOfWeek": ["monday"], "index": "fifth"})),
    ("unknown range", master_with(rng={"type": "forever"})),
    ("numbered with zero", master_with(rng={"type": "numbered", "numberOfOccurrences": 0})),
    ("end date not a date", master_with(rng={"type": "endDate", "endDate": "soon"})),
    ("ends before it starts", master_with(rng={"type": "endDate", "endDate": "2026-10-19"})),
]


@pytest.mark.parametrize(("why", "item"), MALFORMED, ids=[why for why, _ in MALFORMED])
def test_malformed_items_are_refused_with_a_reason(why: str, item: dict[str, Any]) -> None:
    with pytest.raises(BadRemoteData) as caught:
        read(item)
    assert caught.value.why


def test_a_noend_series_is_accepted_and_bounded_by_the_window() -> None:
    found = starts_of(master_with(), Interval(utc(2031, 1, 1), utc(2031, 1, 11)))
    assert len(found) == 10


def test_a_ten_year_event_is_accepted() -> None:
    event = read(graph_timed(end=graph_time("2036-07-15T17:00:00.0000000")))
    assert event.when.end == utc(2036, 7, 15, 17)


# --- writing bookings -----------------------------------------------------------------------------


def test_a_booking_becomes_an_appointment_in_the_techs_windows_zone() -> None:
    body = booking_to_graph_event(
        booking(), customer(), technician(), link="https://crewboard.example/customers/cust-1"
    )
    assert body["subject"] == "Boiler service — Acme Bakery"
    assert body["start"] == {"dateTime": "2026-07-15T09:00:00", "timeZone": "Pacific Standard Time"}
    assert body["end"] == {"dateTime": "2026-07-15T10:30:00", "timeZone": "Pacific Standard Time"}
    assert body["location"] == {"displayName": "500 Market St, San Francisco, CA"}
    assert body["showAs"] == "busy" and body["isReminderOn"] is True and body["isAllDay"] is False
    assert body["singleValueExtendedProperties"] == [
        {"id": BOOKING_ID_PROPERTY, "value": BOOKING_ID},
        {"id": BOOKING_VERSION_PROPERTY, "value": "3"},
    ]
    assert "attendees" not in body and "transactionId" not in body
    content = body["body"]["content"]
    assert body["body"]["contentType"] == "html"
    for text in ("Boiler service", "1 h 30 min", "+1 415 555 0100", "Replace the pressure valve"):
        assert text in content
    assert '<a href="https://crewboard.example/customers/cust-1">' in content


@pytest.mark.parametrize(
    ("zone", "written_zone", "written_start"),
    [
        ("Europe/Berlin", "W. Europe Standard Time", "2026-07-15T18:00:00"),
        ("Europe/Kyiv", "FLE Standard Time", "2026-07-15T19:00:00"),
        ("UTC", "UTC", "2026-07-15T16:00:00"),
        ("Antarctica/Troll", "UTC", "2026-07-15T16:00:00"),  # Exchange has no name for it
    ],
)
def test_zones_are_written_by_windows_name_or_else_in_utc(
    zone: str, written_zone: str, written_start: str
) -> None:
    body = booking_to_graph_event(booking(), customer(), technician(timezone=zone), link="")
    assert body["start"] == {"dateTime": written_start, "timeZone": written_zone}
    assert booking_event_times(body) == (utc(2026, 7, 15, 16), utc(2026, 7, 15, 17, 30))


def test_hostile_text_is_escaped_in_the_html_body() -> None:
    body = booking_to_graph_event(
        booking(notes="<script>alert(1)</script>\nsecond line"),
        customer(name="Tom & Jerry's <Diner>"),
        technician(),
        link='https://x.example/"><img src=x onerror=alert(1)>',
    )
    content = body["body"]["content"]
    assert "<script>" not in content and "<img" not in content
    assert "&lt;script&gt;" in content and "Tom &amp; Jerry" in content
    assert "<br>second line" in content
    assert body["subject"] == "Boiler service — Tom & Jerry's <Diner>"


def test_transaction_ids_are_stable_per_booking_and_calendar() -> None:
    first = transaction_id(BOOKING_ID, "AAMkCAL1=")
    assert first == transaction_id(BOOKING_ID, "AAMkCAL1=")
    assert uuid.UUID(first).version == 5
    assert first != transaction_id(BOOKING_ID, "AAMkCAL2=")
    assert first != transaction_id("another", "AAMkCAL1=")
    assert first != transaction_id(BOOKING_ID, "AAMkCAL1=", generation=1)
    with pytest.raises(ValueError, match="negative"):
        transaction_id(BOOKING_ID, "AAMkCAL1=", generation=-2)


def graph_answer(body: dict[str, Any]) -> dict[str, Any]:
    """What POST /me/calendars/{id}/events answers for `body`, read back with
    Prefer: outlook.timezone="UTC" and the booking property expanded."""
    answer = graph_timed(
        id="AAMkNEWBOOKING=",
        subject=body["subject"],
        body={
            "contentType": "html",
            "content": "<html><head><meta charset='utf-8'></head>" + body["body"]["content"] + "</html>",
        },
        start=graph_time("2026-07-15T16:00:00.0000000"),
        end=graph_time("2026-07-15T17:30:00.0000000"),
        location=dict(body["location"], locationType="default"),
        transactionId=transaction_id(BOOKING_ID, "AAMkCAL1="),
        singleValueExtendedProperties=[{"id": BOOKING_ID_PROPERTY, "value": BOOKING_ID}],
    )
    return answer


def test_round_trip_recovers_booking_id_times_zone_and_hash() -> None:
    body = booking_to_graph_event(booking(), customer(), technician(), link="https://crewboard.example/c/1")
    answer = graph_answer(body)
    event = read(answer)
    assert event.booking_id == BOOKING_ID
    assert event.when.start == utc(2026, 7, 15, 16) and event.when.end == utc(2026, 7, 15, 17, 30)
    assert event.when.timezone == LA
    assert event.title == "Boiler service — Acme Bakery"
    assert not blocks_availability(event, tentative_blocks=True)  # the booking itself blocks
    assert booking_content_hash(answer) == booking_content_hash(body)
    assert booking_event_times(answer) == booking_event_times(body)
    moved = dict(
        answer, start=graph_time("2026-07-15T18:00:00.0000000"), end=graph_time("2026-07-15T19:30:00.0000000")
    )
    assert booking_content_hash(moved) != booking_content_hash(body)
    renamed = dict(answer, subject="Boiler service — Acme Bakery (call first)")
    assert booking_content_hash(renamed) != booking_content_hash(body)
