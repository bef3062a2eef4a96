"""Google event items read into RemoteEvent, and bookings written as Google events."""

from __future__ import annotations

import logging
import re
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from app.domain.blocking import blocks_availability
from app.domain.ids import CalendarId
from app.domain.model import Response, ShowAs
from app.domain.recurrence import expand
from app.domain.time import Interval
from sync.providers.content import booking_content_hash, booking_event_times
from sync.providers.errors import BadRemoteData
from sync.providers.normalize_google import (
    booking_to_google_event,
    google_event_id,
    google_event_to_remote,
    is_deletion,
)
from tests.providers.samples import (
    BOOKING_ID,
    CALENDAR,
    LA,
    booking,
    customer,
    google_all_day,
    google_invite,
    google_timed,
    technician,
)


def read(item: dict[str, Any], calendar_zone: str = LA) -> Any:
    return google_event_to_remote(item, CALENDAR, calendar_zone=calendar_zone)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


# --- times --------------------------------------------------------------------------------------


def test_a_timed_event_keeps_its_instants_in_utc_and_its_own_zone() -> None:
    event = read(google_timed())
    assert event.remote_id == "7kq3v0l2m9h8g6f5e4d3c2b1a0"
    assert event.calendar_id == CALENDAR
    assert event.etag == '"3456789012345000"'
    assert event.when.start == utc(2026, 7, 15, 16)
    assert event.when.end == utc(2026, 7, 15, 17)
    assert event.when.timezone == LA
    assert not event.when.all_day
    assert event.title == "Dentist"
    assert event.updated == datetime(2026, 6, 2, 11, 30, 0, 123000, tzinfo=UTC)
    assert event.show_as is ShowAs.BUSY and event.response is Response.ORGANIZER
    assert not event.cancelled and not event.private and event.booking_id is None


@pytest.mark.parametrize(
    ("start", "expected_start", "expected_zone"),
    [
        ({"dateTime": "2026-07-15T16:00:00Z"}, utc(2026, 7, 15, 16), "Europe/Berlin"),
        ({"dateTime": "2026-07-15T09:00:00", "timeZone": LA}, utc(2026, 7, 15, 16), LA),
        ({"dateTime": "2026-01-15T09:00:00", "timeZone": LA}, utc(2026, 1, 15, 17), LA),
        ({"dateTime": "2026-07-15T09:00:00", "timeZone": "Pacific Standard Time"}, utc(2026, 7, 15, 16), LA),
        (
            {"dateTime": "2026-07-15T18:00:00.000+02:00", "timeZone": "Europe/Berlin"},
            utc(2026, 7, 15, 16),
            "Europe/Berlin",
        ),
        (
            {"dateTime": "2026-07-15T09:00:00", "timeZone": "W. Europe Standard Time"},
            utc(2026, 7, 15, 7),
            "Europe/Berlin",
        ),
    ],
)
def test_start_times_are_read_with_offsets_zone_names_or_windows_names(
    start: dict[str, str], expected_start: datetime, expected_zone: str
) -> None:
    end_at = (expected_start + timedelta(hours=1)).isoformat()
    event = read(google_timed(start=start, end={"dateTime": end_at}), calendar_zone="Europe/Berlin")
    assert event.when.start == expected_start
    assert event.when.timezone == expected_zone


def test_an_unknown_zone_falls_back_to_the_calendars_zone_and_says_so(
    caplog: pytest.LogCaptureFixture,
) -> None:
    item = google_timed(
        start={"dateTime": "2026-07-15T09:00:00", "timeZone": "Mars/Olympus_Mons"},
        end={"dateTime": "2026-07-15T10:00:00", "timeZone": "Mars/Olympus_Mons"},
    )
    with caplog.at_level(logging.WARNING, logger="sync.providers.content"):
        event = read(item)
    assert event.when.timezone == LA
    assert event.when.start == utc(2026, 7, 15, 16)
    assert "Mars/Olympus_Mons" in caplog.text


@pytest.mark.parametrize(
    ("start", "end", "days"),
    [("2026-07-15", "2026-07-16", 1), ("2026-07-13", "2026-07-18", 5), ("2026-12-31", "2027-01-02", 2)],
)
def test_all_day_events_are_local_dates_with_an_exclusive_end(start: str, end: str, days: int) -> None:
    event = read(google_all_day(start, end))
    assert event.when.all_day
    assert event.when.start_date == date.fromisoformat(start)
    assert event.when.end_date == date.fromisoformat(end)
    assert (event.when.end_date - event.when.start_date).days == days
    assert event.when.start is None
    assert event.show_as is ShowAs.FREE  # Google creates all-day events as free


def test_a_ten_year_event_is_accepted_and_its_length_kept() -> None:
    item = google_timed(end={"dateTime": "2036-07-15T10:00:00-07:00", "timeZone": LA})
    event = read(item)
    assert event.when.end - event.when.start > timedelta(days=3650)
    window = Interval(utc(2030, 1, 1), utc(2030, 1, 2))
    assert len(expand(event, [], window)) == 1


# --- show as, response, privacy ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "show_as", "blocks"),
    [
        ({}, ShowAs.BUSY, True),
        ({"transparency": "opaque"}, ShowAs.BUSY, True),
        ({"transparency": "transparent"}, ShowAs.FREE, False),
        ({"status": "tentative"}, ShowAs.TENTATIVE, False),
        ({"status": "tentative", "transparency": "transparent"}, ShowAs.FREE, False),
        (
            {"eventType": "outOfOffice", "outOfOfficeProperties": {"autoDeclineMode": "declineNone"}},
            ShowAs.OUT_OF_OFFICE,
            True,
        ),
        (
            {"eventType": "focusTime", "focusTimeProperties": {"chatStatus": "doNotDisturb"}},
            ShowAs.BUSY,
            True,
        ),
        (
            {
                "eventType": "workingLocation",
                "transparency": "transparent",
                "workingLocationProperties": {"type": "homeOffice", "homeOffice": {}},
            },
            ShowAs.WORKING_ELSEWHERE,
            False,
        ),
        (
            {"eventType": "workingLocation", "workingLocationProperties": {"type": "officeLocation"}},
            ShowAs.WORKING_ELSEWHERE,
            False,
        ),
    ],
)
def test_transparency_status_and_event_type_decide_show_as(
    changes: dict[str, Any], show_as: ShowAs, blocks: bool
) -> None:
    event = read(google_timed(**changes))
    assert event.show_as is show_as
    assert event.event_type == changes.get("eventType", "default")
    assert blocks_availability(event, tentative_blocks=False) is blocks


@pytest.mark.parametrize(
    ("answer", "response"),
    [
        ("accepted", Response.ACCEPTED),
        ("tentative", Response.TENTATIVE),
        ("declined", Response.DECLINED),
        ("needsAction", Response.NEEDS_ACTION),
    ],
)
def test_the_self_attendee_gives_the_owners_own_answer(answer: str, response: Response) -> None:
    assert read(google_invite(answer)).response is response


def test_an_event_without_attendees_or_organized_by_the_owner_is_theirs() -> None:
    assert read(google_timed(attendees=None)).response is Response.ORGANIZER
    organized = google_invite("declined")
    organized["organizer"] = {"email": "ana@example.com", "self": True}
    assert read(organized).response is Response.ORGANIZER


def test_only_the_self_entry_matters_among_thousands_of_attendees() -> None:
    item = google_invite("declined", others=5000)
    event = read(item)
    assert event.response is Response.DECLINED
    assert not blocks_availability(event, tentative_blocks=True)


@pytest.mark.parametrize("visibility", ["private", "confidential"])
def test_a_private_event_keeps_its_times_and_nothing_else(visibility: str) -> None:
    item = google_invite("accepted")
    item.update(visibility=visibility, summary="Therapy", description="Dr. Who, room 3")
    event = read(item)
    assert event.private
    assert event.title is None
    assert event.when.start == utc(2026, 7, 15, 16)
    assert blocks_availability(event, tentative_blocks=False)
    kept = repr(event)
    assert "Therapy" not in kept and "Dr. Who" not in kept and "boss@example.com" not in kept


def test_public_and_default_visibility_keep_the_title() -> None:
    assert read(google_timed(visibility="public")).title == "Dentist"
    assert read(google_timed(visibility="default")).title == "Dentist"


def test_a_megabyte_description_is_not_kept_and_a_huge_title_is_cut() -> None:
    item = google_timed(summary="Inspection " * 100_000, description="x" * 1_000_000)
    event = read(item)
    assert event.title is not None and len(event.title) <= 255
    assert event.title.startswith("Inspection Inspection")
    assert "x" * 1000 not in repr(event)


# --- booking tag ----------------------------------------------------------------------------------


def test_the_booking_id_comes_from_the_private_extended_property() -> None:
    item = google_timed(
        extendedProperties={"private": {"crewboardBookingId": BOOKING_ID, "crewboardVersion": "3"}}
    )
    assert read(item).booking_id == BOOKING_ID


@pytest.mark.parametrize(
    "properties",
    [
        {"shared": {"crewboardBookingId": BOOKING_ID}},
        {"private": {"bookingId": BOOKING_ID}},
        {"private": {"crewboardBookingId": "'; DROP TABLE bookings; --"}},
        {"private": {"crewboardBookingId": "x" * 500}},
        {"private": "not an object"},
    ],
)
def test_a_missing_shared_or_malformed_tag_is_not_a_booking(properties: Any) -> None:
    assert read(google_timed(extendedProperties=properties)).booking_id is None


# --- recurrence, exceptions, deletions --------------------------------------------------------


def weekly_master(**changes: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "id": "series1",
        "summary": "Standup",
        "start": {"dateTime": "2026-10-20T09:00:00-07:00", "timeZone": LA},
        "end": {"dateTime": "2026-10-20T09:30:00-07:00", "timeZone": LA},
        "recurrence": ["RRULE:FREQ=WEEKLY;BYDAY=TU;COUNT=4"],
    }
    values.update(changes)
    return google_timed(**values)


def test_a_series_expands_at_the_same_local_time_across_the_dst_change() -> None:
    master = read(weekly_master())
    assert master.recurrence == ("RRULE:FREQ=WEEKLY;BYDAY=TU;COUNT=4",)
    found = expand(master, [], Interval(utc(2026, 10, 1), utc(2026, 12, 1)))
    starts = [o.when.start for o in found]
    assert starts == [
        utc(2026, 10, 20, 16),
        utc(2026, 10, 27, 16),
        utc(2026, 11, 3, 17),
        utc(2026, 11, 10, 17),
    ]
    local = {s.astimezone(ZoneInfo(LA)).hour for s in starts if s is not None}
    assert local == {9}


def test_moved_and_cancelled_instances_replace_their_slots() -> None:
    master = read(weekly_master())
    moved = read(
        google_timed(
            id="series1_20261027T160000Z",
            recurringEventId="series1",
            originalStartTime={"dateTime": "2026-10-27T09:00:00-07:00", "timeZone": LA},
            start={"dateTime": "2026-10-28T10:00:00-07:00", "timeZone": LA},
            end={"dateTime": "2026-10-28T10:30:00-07:00", "timeZone": LA},
            summary="Standup (moved)",
        )
    )
    cancelled = read(
        {
            "kind": "calendar#event",
            "etag": '"3456789012399000"',
            "id": "series1_20261103T170000Z",
            "status": "cancelled",
            "recurringEventId": "series1",
            "originalStartTime": {"dateTime": "2026-11-03T09:00:00-08:00", "timeZone": LA},
        }
    )
    assert moved.master_remote_id == "series1" and moved.original_start == utc(2026, 10, 27, 16)
    assert moved.recurrence == ()
    assert cancelled.cancelled and cancelled.master_remote_id == "series1"
    assert cancelled.original_start == utc(2026, 11, 3, 17)
    found = expand(master, [moved, cancelled], Interval(utc(2026, 10, 1), utc(2026, 12, 1)))
    assert [o.when.start for o in found] == [
        utc(2026, 10, 20, 16),
        utc(2026, 10, 28, 17),
        utc(2026, 11, 10, 17),
    ]


def test_a_cancelled_all_day_instance_names_its_date() -> None:
    item = {
        "id": "bday_20270301",
        "status": "cancelled",
        "recurringEventId": "bday",
        "originalStartTime": {"date": "2027-03-01"},
    }
    event = read(item)
    assert event.cancelled and event.original_start_date == date(2027, 3, 1) and event.original_start is None
    assert not is_deletion(item)
    master = read(google_all_day("2026-03-01", "2026-03-02", id="bday", recurrence=["RRULE:FREQ=YEARLY"]))
    found = expand(master, [event], Interval(utc(2026, 1, 1), utc(2029, 1, 1)))
    assert [o.when.start_date for o in found] == [date(2026, 3, 1), date(2028, 3, 1)]


def test_both_meanings_of_cancelled() -> None:
    tombstone = {"kind": "calendar#event", "etag": '"1"', "id": "gone1", "status": "cancelled"}
    assert is_deletion(tombstone)
    with pytest.raises(BadRemoteData, match="deleted"):
        read(tombstone)
    instance = {
        "id": "s_20261103T170000Z",
        "status": "cancelled",
        "recurringEventId": "s",
        "originalStartTime": {"dateTime": "2026-11-03T17:00:00Z"},
    }
    assert not is_deletion(instance)
    assert not is_deletion(google_timed())
    assert not is_deletion(google_timed(status="tentative"))
    # The organizer's copy of a deleted event keeps its details; it reads as cancelled and blocks nothing.
    organizer_copy = google_timed(status="cancelled")
    assert is_deletion(organizer_copy)
    event = read(organizer_copy)
    assert event.cancelled and not blocks_availability(event, tentative_blocks=True)


def test_an_instance_of_an_all_day_series_keeps_its_original_date() -> None:
    item = google_all_day(
        "2026-03-02",
        "2026-03-03",
        id="bday_20260301",
        recurringEventId="bday",
        originalStartTime={"date": "2026-03-01"},
    )
    event = read(item)
    assert event.original_start_date == date(2026, 3, 1)
    assert event.when.start_date == date(2026, 3, 2)


# --- malformed items ----------------------------------------------------------------------------


MALFORMED: list[tuple[str, dict[str, Any]]] = [
    ("no id", google_timed(id=None)),
    ("empty id", google_timed(id="")),
    ("id with NUL", google_timed(id="abc\x00def")),
    ("no start", google_timed(start=None)),
    ("start not an object", google_timed(start="2026-07-15")),
    ("start with neither", google_timed(start={"timeZone": LA})),
    ("date and dateTime", google_timed(start={"date": "2026-07-15", "dateTime": "2026-07-15T09:00:00Z"})),
    ("bad date", google_all_day("2026-02-30", "2026-03-01")),
    ("date in another format", google_all_day("15/07/2026", "16/07/2026")),
    ("bad dateTime", google_timed(start={"dateTime": "2026-07-15 nine o'clock"})),
    ("impossible dateTime", google_timed(start={"dateTime": "2026-07-15T25:00:00Z"})),
    ("dateTime as a number", google_timed(start={"dateTime": 1784131200})),
    ("date start, dateTime end", google_timed(start={"date": "2026-07-15"})),
    ("ends before it starts", google_timed(end={"dateTime": "2026-07-15T08:00:00-07:00"})),
    ("all-day ends on its start", google_all_day("2026-07-15", "2026-07-15")),
    ("unknown status", google_timed(status="postponed")),
    ("no etag", google_timed(etag=None)),
    ("bad updated", google_timed(updated="yesterday")),
    ("recurrence not a list", weekly_master(recurrence="RRULE:FREQ=DAILY")),
    ("recurrence line not text", weekly_master(recurrence=[42])),
    ("invalid rule", weekly_master(recurrence=["RRULE:FREQ=FORTNIGHTLY"])),
    ("rule without value", weekly_master(recurrence=["RRULE:"])),
    ("DTSTART line", weekly_master(recurrence=["DTSTART:20261020T090000", "RRULE:FREQ=DAILY"])),
    ("every second", weekly_master(recurrence=["RRULE:FREQ=SECONDLY"])),
    ("every minute", weekly_master(recurrence=["RRULE:FREQ=MINUTELY;INTERVAL=5"])),
    ("February 30th", weekly_master(recurrence=["RRULE:FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30,31"])),
    ("April 31st", weekly_master(recurrence=["RRULE:FREQ=YEARLY;BYMONTH=4,6;BYMONTHDAY=31"])),
    (
        "bad EXDATE",
        weekly_master(recurrence=["RRULE:FREQ=DAILY", "EXDATE;TZID=America/Los_Angeles:2026-10-21"]),
    ),
    (
        "unknown EXDATE zone",
        weekly_master(recurrence=["RRULE:FREQ=DAILY", "EXDATE;TZID=Nowhere/Land:20261021T090000"]),
    ),
    ("bad original start", google_timed(recurringEventId="s1", originalStartTime={"dateTime": "whenever"})),
    ("instance without original start", google_timed(recurringEventId="s1")),
    ("cancelled instance without original", {"id": "x_1", "status": "cancelled", "recurringEventId": "x"}),
]


@pytest.mark.parametrize(("why", "item"), MALFORMED, ids=[why for why, _ in MALFORMED])
def test_malformed_items_are_refused_with_a_reason(why: str, item: dict[str, Any]) -> None:
    with pytest.raises(BadRemoteData) as caught:
        read(item)
    assert caught.value.why


def test_a_non_object_item_is_refused() -> None:
    with pytest.raises(BadRemoteData):
        google_event_to_remote(["not", "an", "event"], CALENDAR, calendar_zone=LA)  # type: ignore[arg-type]


def test_a_leap_day_or_last_day_rule_is_not_mistaken_for_an_impossible_one() -> None:
    for rule in (
        "RRULE:FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29",
        "RRULE:FREQ=MONTHLY;BYMONTH=2,3;BYMONTHDAY=31,-1",
    ):
        assert read(weekly_master(recurrence=[rule])).recurrence == (rule,)


def test_an_endless_series_is_accepted_and_bounded_by_the_window() -> None:
    master = read(weekly_master(recurrence=["RRULE:FREQ=DAILY"]))
    found = expand(master, [], Interval(utc(2030, 1, 1), utc(2030, 1, 8)))
    assert len(found) == 7


@pytest.mark.parametrize(
    "remote_id", ["abc/def?x=1&y=2", "événement-ünïcode", "with space", "a" * 1024, "'\"<>"]
)
def test_odd_ids_are_kept_exactly(remote_id: str) -> None:
    assert read(google_timed(id=remote_id)).remote_id == remote_id


# --- writing bookings -----------------------------------------------------------------------------

BASE32HEX_ID = re.compile(r"^[a-v0-9]{5,1024}$")


@pytest.mark.parametrize(
    "booking_id",
    [BOOKING_ID, "B-123", "", "ab", "ÄÖÜ/with spaces", "x" * 5000, "0123456789abcdef" * 64, "UPPERCASEHEX0F"],
)
def test_event_ids_are_valid_base32hex_and_deterministic(booking_id: str) -> None:
    event_id = google_event_id(booking_id)
    assert BASE32HEX_ID.match(event_id)
    assert google_event_id(booking_id) == event_id
    assert google_event_id(booking_id, generation=1) != event_id
    assert BASE32HEX_ID.match(google_event_id(booking_id, generation=7))


def test_a_hex_booking_id_is_readable_in_its_event_id_and_ids_do_not_collide() -> None:
    assert google_event_id(BOOKING_ID) == "cb" + BOOKING_ID
    ids = {google_event_id(f"{n:032x}") for n in range(500)} | {
        google_event_id(f"booking-{n}") for n in range(500)
    }
    assert len(ids) == 1000
    with pytest.raises(ValueError, match="negative"):
        google_event_id(BOOKING_ID, generation=-1)


def written(**changes: Any) -> dict[str, Any]:
    return booking_to_google_event(
        changes.pop("booking", booking()),
        changes.pop("customer", customer()),
        changes.pop("tech", technician()),
        link=changes.pop("link", "https://crewboard.example/customers/cust-1"),
        event_id=changes.pop("event_id", google_event_id(BOOKING_ID)),
        office_phone=changes.pop("office_phone", ""),
    )


def test_a_booking_becomes_an_event_in_the_techs_zone_without_attendees() -> None:
    body = written()
    assert body["id"] == "cb" + BOOKING_ID
    assert body["summary"] == "Boiler service — Acme Bakery"
    assert body["location"] == "500 Market St, San Francisco, CA"
    assert body["start"] == {"dateTime": "2026-07-15T09:00:00-07:00", "timeZone": LA}
    assert body["end"] == {"dateTime": "2026-07-15T10:30:00-07:00", "timeZone": LA}
    assert body["transparency"] == "opaque"
    assert body["reminders"] == {"useDefault": True}
    assert body["source"] == {"title": "Job page", "url": "https://crewboard.example/customers/cust-1"}
    assert body["extendedProperties"] == {
        "private": {"crewboardBookingId": BOOKING_ID, "crewboardVersion": "3"}
    }
    assert "attendees" not in body
    for text in (
        "Boiler service",
        "1 h 30 min",
        "+1 415 555 0100",
        "Replace the pressure valve",
        "https://crewboard.example/customers/cust-1",
    ):
        assert text in body["description"]
    assert "Back door code" not in body["description"]  # the customer's own notes stay in the office


@pytest.mark.parametrize(
    ("color", "color_id"),
    [
        ("#3b82f6", "9"),  # blue → Blueberry
        ("#ef4444", "11"),  # red → Tomato
        ("#22c55e", "10"),  # green → Basil
        ("#eab308", "5"),  # yellow → Banana
        ("#06b6d4", "7"),  # cyan → Peacock
        ("#c084fc", "3"),  # light purple → Grape
        ("#888", "8"),  # grey → Graphite, short form
        ("#5484ED", "9"),  # a palette color itself, upper case
    ],
)
def test_the_techs_color_becomes_the_nearest_google_event_color(color: str, color_id: str) -> None:
    assert written(tech=technician(color=color))["colorId"] == color_id


def test_an_unreadable_color_or_a_non_web_link_is_left_out() -> None:
    body = written(tech=technician(color="teal"), link="crewboard://customer/cust-1")
    assert "colorId" not in body
    assert "source" not in body
    assert "crewboard://" not in body["description"]


def test_the_job_page_is_the_events_source_and_its_last_line() -> None:
    url = "https://office.example/job/abc.def"
    body = written(link=url, office_phone="555-0199")
    assert body["source"] == {"title": "Job page", "url": url}
    assert body["description"].endswith(f"\n\nJob page: {url}")
    assert "555-0199" not in body["description"]


def test_without_a_job_page_the_event_says_to_call_the_office() -> None:
    body = written(link="", office_phone="(312) 555-0199")
    assert "source" not in body
    assert body["description"].endswith("\n\nCall the office at (312) 555-0199.")


def test_times_are_written_to_the_second() -> None:
    body = written(booking=booking(start=datetime(2026, 7, 15, 16, 0, 0, 250_000, tzinfo=UTC)))
    assert body["start"]["dateTime"] == "2026-07-15T09:00:00-07:00"


def test_a_booking_without_a_time_or_with_a_bad_event_id_is_not_written() -> None:
    with pytest.raises(ValueError, match="no start"):
        written(booking=booking(start=None))
    with pytest.raises(ValueError, match="base32hex"):
        written(event_id="Not-Valid_ID")
    with pytest.raises(ValueError, match="base32hex"):
        written(event_id="abcd")


def google_answer(body: dict[str, Any], **server: Any) -> dict[str, Any]:
    """What events.insert answers: the body plus the fields Google fills in."""
    answer = dict(body)
    answer.update(
        kind="calendar#event",
        etag='"3500000000000000"',
        status="confirmed",
        created="2026-07-01T08:00:00.000Z",
        updated="2026-07-01T08:00:00.000Z",
        creator={"email": "rosa@example.com", "self": True},
        organizer={"email": "rosa@example.com", "self": True},
        iCalUID=f"{body['id']}@google.com",
        sequence=0,
        eventType="default",
    )
    answer.update(server)
    return answer


def test_round_trip_recovers_booking_id_times_and_hash() -> None:
    body = written(tech=technician(timezone="Europe/Berlin"))
    assert body["start"]["dateTime"] == "2026-07-15T18:00:00+02:00"
    answer = google_answer(body)
    event = read(answer, calendar_zone="Europe/Berlin")
    assert event.booking_id == BOOKING_ID
    assert event.when.start == utc(2026, 7, 15, 16) and event.when.end == utc(2026, 7, 15, 17, 30)
    assert event.when.timezone == "Europe/Berlin"
    assert event.title == "Boiler service — Acme Bakery"
    assert event.response is Response.ORGANIZER and event.show_as is ShowAs.BUSY
    assert not blocks_availability(event, tentative_blocks=True)  # the booking itself blocks
    assert booking_event_times(answer) == (utc(2026, 7, 15, 16), utc(2026, 7, 15, 17, 30))
    # Google may answer in UTC; the content is the same.
    as_utc = google_answer(
        body,
        start={"dateTime": "2026-07-15T16:00:00Z", "timeZone": "Europe/Berlin"},
        end={"dateTime": "2026-07-15T17:30:00Z", "timeZone": "Europe/Berlin"},
    )
    assert booking_content_hash(as_utc) == booking_content_hash(body)


def test_a_move_by_the_tech_changes_the_hash() -> None:
    body = written()
    moved = google_answer(
        body,
        start={"dateTime": "2026-07-15T11:00:00-07:00", "timeZone": LA},
        end={"dateTime": "2026-07-15T12:30:00-07:00", "timeZone": LA},
    )
    assert booking_content_hash(moved) != booking_content_hash(body)
    assert booking_event_times(moved) == (utc(2026, 7, 15, 18), utc(2026, 7, 15, 19, 30))


def test_a_calendar_id_type_is_kept() -> None:
    event = google_event_to_remote(google_timed(), CalendarId("other"), calendar_zone="UTC")
    assert event.calendar_id == "other"
