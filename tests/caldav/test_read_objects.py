"""Calendar objects as iOS, Fastmail, Nextcloud and Outlook-fed servers write them, read into
RemoteEvents and expanded by the domain exactly as Google's and Graph's series are."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from app.domain.hours import BusinessHours
from app.domain.ids import BookingId, CalendarId, CustomerId, TechId
from app.domain.model import Booking, Customer, RemoteEvent, Response, ShowAs, Technician
from app.domain.recurrence import expand
from app.domain.time import Interval
from sync.core.ownership import event_tag, tag_verifies
from sync.engine.planner_inputs import event_hash
from sync.providers.caldav_ical import (
    MAX_OBJECT_BYTES,
    booking_to_vcalendar,
    object_content_hash,
    read_object,
)
from sync.providers.errors import BadRemoteData

CAL = CalendarId("cal-1")
HREF = "/maria/calendar/a.ics"
CHICAGO = ZoneInfo("America/Chicago")
WINDOW = Interval(datetime(2027, 1, 1, tzinfo=UTC), datetime(2027, 4, 1, tzinfo=UTC))


def obj(*vevents: str, extra: str = "") -> str:
    body = "".join(f"BEGIN:VEVENT\r\n{v.strip()}\r\nEND:VEVENT\r\n" for v in vevents)
    return f"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Test//EN\r\n{extra}{body}END:VCALENDAR\r\n"


def lines(*items: str) -> str:
    return "\r\n".join(items)


def read(text: str) -> list[RemoteEvent]:
    return list(read_object(HREF, '"e1"', text, CAL, self_addresses=["mailto:maria@example.com"]).events)


def starts(events: list[RemoteEvent]) -> list[datetime]:
    master, *rest = [e for e in events if e.master_remote_id is None]
    occurrences = expand(master, [e for e in events if e.master_remote_id == master.remote_id], WINDOW)
    for other in rest:  # a THISANDFUTURE tail is a series of its own
        occurrences += expand(other, [e for e in events if e.master_remote_id == other.remote_id], WINDOW)
    return sorted(o.when.start for o in occurrences if o.when.start is not None)


def test_a_weekly_series_with_exdates_rdates_and_overrides() -> None:
    master = lines(
        "UID:s1",
        "DTSTAMP:20261201T000000Z",
        "SUMMARY:Standup",
        "DTSTART;TZID=America/Chicago:20270104T090000",
        "DTEND;TZID=America/Chicago:20270104T093000",
        "RRULE:FREQ=WEEKLY;COUNT=12",
        "EXDATE;TZID=America/Chicago:20270111T090000,20270118T090000",
        "RDATE;TZID=America/Chicago:20270106T140000",
    )
    moved = lines(
        "UID:s1",
        "DTSTAMP:20261201T000000Z",
        "RECURRENCE-ID;TZID=America/Chicago:20270125T090000",
        "SUMMARY:Standup (late)",
        "DTSTART;TZID=America/Chicago:20270125T110000",
        "DTEND;TZID=America/Chicago:20270125T113000",
    )
    cancelled = lines(
        "UID:s1",
        "DTSTAMP:20261201T000000Z",
        "RECURRENCE-ID:20270201T150000Z",
        "STATUS:CANCELLED",
        "DTSTART:20270201T150000Z",
        "DTEND:20270201T153000Z",
    )
    events = read(obj(master, moved, cancelled))
    assert [e.remote_id for e in events] == [HREF, f"{HREF}#20270125T150000Z", f"{HREF}#20270201T150000Z"]
    assert events[0].when.timezone == "America/Chicago"
    assert events[1].original_start == datetime(2027, 1, 25, 15, tzinfo=UTC)
    assert events[2].cancelled
    local = [s.astimezone(CHICAGO) for s in starts(events)]
    assert [(d.month, d.day, d.hour) for d in local] == [
        (1, 4, 9),
        (1, 6, 14),  # the RDATE
        (1, 25, 11),  # moved
        (2, 8, 9),
        (2, 15, 9),
        (2, 22, 9),
        (3, 1, 9),
        (3, 8, 9),
        (3, 15, 9),  # after the DST change: still 9:00 in Chicago
        (3, 22, 9),
    ]


def test_this_and_future_moves_the_rest_of_the_series() -> None:
    master = lines(
        "UID:s2",
        "DTSTAMP:20261201T000000Z",
        "SUMMARY:Gym",
        "DTSTART;TZID=America/Chicago:20270105T070000",
        "DTEND;TZID=America/Chicago:20270105T080000",
        "RRULE:FREQ=WEEKLY;COUNT=6",
    )
    future = lines(
        "UID:s2",
        "DTSTAMP:20261201T000000Z",
        "RECURRENCE-ID;RANGE=THISANDFUTURE;TZID=America/Chicago:20270119T070000",
        "SUMMARY:Gym (evenings)",
        "DTSTART;TZID=America/Chicago:20270119T180000",
        "DTEND;TZID=America/Chicago:20270119T190000",
    )
    events = read(obj(master, future))
    local = [s.astimezone(CHICAGO) for s in starts(events)]
    assert [(d.day, d.hour) for d in local] == [(5, 7), (12, 7), (19, 18), (26, 18), (2, 18), (9, 18)]
    assert {e.title for e in events} == {"Gym", "Gym (evenings)"}


def test_time_zones_by_iana_windows_vendor_and_private_definitions() -> None:
    vtimezone = lines(
        "BEGIN:VTIMEZONE",
        "TZID:Office Time",
        "BEGIN:STANDARD",
        "DTSTART:19701101T020000",
        "RRULE:FREQ=YEARLY;BYMONTH=11;BYDAY=1SU",
        "TZOFFSETFROM:-0400",
        "TZOFFSETTO:-0500",
        "END:STANDARD",
        "BEGIN:DAYLIGHT",
        "DTSTART:19700308T020000",
        "RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=2SU",
        "TZOFFSETFROM:-0500",
        "TZOFFSETTO:-0400",
        "END:DAYLIGHT",
        "END:VTIMEZONE",
        "",
    )
    for tzid, expected_zone in (
        ("/freeassociation.sourceforge.net/Europe/London", "Europe/London"),
        ("Office Time", "UTC"),
    ):
        text = obj(
            lines(
                "UID:z1",
                "DTSTAMP:20261201T000000Z",
                f"DTSTART;TZID={tzid}:20270110T090000",
                f"DTEND;TZID={tzid}:20270110T100000",
            ),
            extra=vtimezone.replace("Office Time", tzid),
        )
        [event] = read(text)
        assert event.when.timezone == expected_zone
        assert event.when.start == datetime(2027, 1, 10, 14, tzinfo=UTC)  # the VTIMEZONE says -05:00
    [windows] = read(
        obj(lines("UID:z2", "DTSTAMP:20261201T000000Z", "DTSTART;TZID=Pacific Standard Time:20270110T090000"))
    )
    assert windows.when.timezone == "America/Los_Angeles"
    assert windows.when.start == windows.when.end == datetime(2027, 1, 10, 17, tzinfo=UTC)
    [floating] = read(
        obj(lines("UID:z3", "DTSTAMP:20261201T000000Z", "DTSTART:20270110T090000", "DURATION:PT2H"))
    )
    assert (floating.when.start, floating.when.end) == (
        datetime(2027, 1, 10, 9, tzinfo=UTC),
        datetime(2027, 1, 10, 11, tzinfo=UTC),
    )


def test_free_tentative_private_out_of_office_declined_and_all_day() -> None:
    base = ["DTSTAMP:20261201T000000Z", "DTSTART:20270110T150000Z", "DTEND:20270110T160000Z"]
    cases = {
        "TRANSP:TRANSPARENT": ShowAs.FREE,
        "STATUS:TENTATIVE": ShowAs.TENTATIVE,
        "X-MICROSOFT-CDO-BUSYSTATUS:OOF": ShowAs.OUT_OF_OFFICE,
        "TRANSP:OPAQUE": ShowAs.BUSY,
    }
    for line, show_as in cases.items():
        [event] = read(obj(lines("UID:t", *base, line, "SUMMARY:Thing")))
        assert event.show_as is show_as, line
    [private] = read(obj(lines("UID:p", *base, "CLASS:CONFIDENTIAL", "SUMMARY:Therapy")))
    assert private.private and private.title is None
    [declined] = read(
        obj(
            lines(
                "UID:d",
                *base,
                "ORGANIZER:mailto:boss@example.com",
                "ATTENDEE;PARTSTAT=DECLINED:mailto:Maria@Example.com",
            )
        )
    )
    assert declined.response is Response.DECLINED
    [day] = read(
        obj(lines("UID:a", "DTSTAMP:20261201T000000Z", "DTSTART;VALUE=DATE:20270110", "SUMMARY:PTO"))
    )
    assert (day.when.start_date, day.when.end_date) == (date(2027, 1, 10), date(2027, 1, 11))


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nDTSTART:2027XX\r\n", "not a readable VCALENDAR"),
        (obj(lines("DTSTAMP:20261201T000000Z", "DTSTART:20270110T150000Z")), "has no UID"),
        (
            obj(
                lines("UID:x", "DTSTAMP:20261201T000000Z", "DTSTART:20270110T150000Z"),
                lines("UID:x", "DTSTAMP:20261201T000000Z", "DTSTART:20270111T150000Z"),
            ),
            "two events with the same UID",
        ),
        (
            obj(
                lines("UID:x", "DTSTAMP:20261201T000000Z", "DTSTART:20270110T150000Z"),
                lines("UID:y", "DTSTAMP:20261201T000000Z", "DTSTART:20270111T150000Z"),
            ),
            "different UIDs",
        ),
        (obj(lines("UID:x", "DTSTAMP:20261201T000000Z", "SUMMARY:No start")), "has no start"),
        (
            obj(
                lines(
                    "UID:x", "DTSTAMP:20261201T000000Z", "DTSTART:20270110T150000Z", "DTEND:20270109T150000Z"
                )
            ),
            "ends before it starts",
        ),
        (
            obj(
                lines("UID:x", "DTSTAMP:20261201T000000Z", "DTSTART:20270110T150000Z", "RRULE:FREQ=SECONDLY")
            ),
            "more often than daily",
        ),
        ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n", "no VEVENT"),
        (obj(lines("UID:x", "DTSTART:20270110T150000Z", "DESCRIPTION:" + "x" * MAX_OBJECT_BYTES)), "KB"),
    ],
)
def test_hostile_objects_are_refused_one_by_one(text: str, reason: str) -> None:
    with pytest.raises(BadRemoteData) as raised:
        read(text)
    assert reason in raised.value.why
    assert raised.value.remote_id == HREF


def test_a_booking_object_reads_back_as_ours_with_the_engine_s_hash() -> None:
    key = b"k" * 32
    tech = Technician(
        TechId("t1"),
        "Maria Lopez",
        "maria@example.com",
        "America/Chicago",
        BusinessHours.parse("mon-fri 08:00-17:00"),
    )
    customer = Customer(CustomerId("c1"), "Ada Park", address="12 Elm St")
    start = datetime(2027, 1, 12, 15, 30, tzinfo=UTC)
    booking = Booking(BookingId("b1"), customer.id, tech.id, "AC repair", start, timedelta(minutes=90))
    uid = "ck123"
    tag = event_tag(key, booking.id, "/maria/calendar/", uid)
    body = booking_to_vcalendar(
        booking, customer, tech, uid=uid, link="crewboard://customer/c1", tag=tag, stamp=start
    )
    assert b"ATTENDEE" not in body and b"TZID=America/Chicago" in body
    [event] = read_object("/maria/calendar/ck123.ics", '"x"', body, CAL).events
    assert event.booking_id == booking.id and event.tag_subject == uid
    assert tag_verifies(key, booking.id, "/maria/calendar/", event.tag_subject, event.booking_tag)
    assert (event.when.start, event.when.end) == (start, start + timedelta(minutes=90))
    assert object_content_hash(event) == event_hash(
        "AC repair — Ada Park", start, start + timedelta(minutes=90)
    )


def test_this_and_future_from_the_first_occurrence_replaces_the_series() -> None:
    master = lines(
        "UID:s3",
        "DTSTAMP:20261201T000000Z",
        "SUMMARY:Yoga",
        "DTSTART;TZID=America/Chicago:20270105T070000",
        "DTEND;TZID=America/Chicago:20270105T080000",
        "RRULE:FREQ=WEEKLY;COUNT=3",
    )
    future = lines(
        "UID:s3",
        "DTSTAMP:20261201T000000Z",
        "RECURRENCE-ID;RANGE=THISANDFUTURE;TZID=America/Chicago:20270105T070000",
        "SUMMARY:Yoga (noon)",
        "DTSTART;TZID=America/Chicago:20270105T120000",
        "DTEND;TZID=America/Chicago:20270105T130000",
    )
    events = read(obj(master, future))
    assert [e.remote_id for e in events] == [HREF]
    local = [s.astimezone(CHICAGO) for s in starts(events)]
    assert [(d.day, d.hour) for d in local] == [(5, 12), (12, 12), (19, 12)]


def test_a_booking_object_links_its_job_page_or_names_the_office_phone() -> None:
    tech = Technician(
        TechId("t1"),
        "Maria Lopez",
        "maria@example.com",
        "America/Chicago",
        BusinessHours.parse("mon-fri 08:00-17:00"),
    )
    customer = Customer(CustomerId("c1"), "Ada Park")
    start = datetime(2027, 1, 12, 15, 30, tzinfo=UTC)
    booking = Booking(BookingId("b1"), customer.id, tech.id, "AC repair", start, timedelta(minutes=90))
    page = "https://office.example.com/job/abc123"
    linked = booking_to_vcalendar(booking, customer, tech, uid="u1", link=page, tag=None, stamp=start)
    assert f"URL:{page}".encode() in linked and page.encode() in linked
    phoned = booking_to_vcalendar(
        booking, customer, tech, uid="u2", link="", tag=None, stamp=start, office_phone="555-0199"
    )
    assert b"URL:" not in phoned and b"555-0199" in phoned
