"""Event JSON shaped like Google's `events.list` items and Graph's `calendarView` answers.

Written by hand from the providers' documented responses, so each test changes only the fields
it is about. Every builder returns a fresh dict.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any

from app.domain.hours import BusinessHours
from app.domain.ids import BookingId, CalendarId, CustomerId, TechId
from app.domain.model import Booking, Customer, Technician

CALENDAR = CalendarId("cal-1")
LA = "America/Los_Angeles"
BERLIN = "Europe/Berlin"
BOOKING_ID = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"

_GOOGLE_TIMED: dict[str, Any] = {
    "kind": "calendar#event",
    "etag": '"3456789012345000"',
    "id": "7kq3v0l2m9h8g6f5e4d3c2b1a0",
    "status": "confirmed",
    "htmlLink": "https://www.google.com/calendar/event?eid=N2txM3YwbDJtOWg4ZzZmNWU0ZDNjMmIxYTAgYW5h",
    "created": "2026-06-01T10:00:00.000Z",
    "updated": "2026-06-02T11:30:00.123Z",
    "summary": "Dentist",
    "description": "Bring the insurance card",
    "location": "12 Main St",
    "creator": {"email": "ana@example.com", "self": True},
    "organizer": {"email": "ana@example.com", "self": True},
    "start": {"dateTime": "2026-07-15T09:00:00-07:00", "timeZone": LA},
    "end": {"dateTime": "2026-07-15T10:00:00-07:00", "timeZone": LA},
    "iCalUID": "7kq3v0l2m9h8g6f5e4d3c2b1a0@google.com",
    "sequence": 0,
    "reminders": {"useDefault": True},
    "eventType": "default",
}


def google_timed(**changes: Any) -> dict[str, Any]:
    """A confirmed, opaque, timed event the calendar owner organizes; `changes` replace fields
    (a value of None removes the field)."""
    item = copy.deepcopy(_GOOGLE_TIMED)
    for key, value in changes.items():
        if value is None:
            item.pop(key, None)
        else:
            item[key] = value
    return item


def google_all_day(start: str, end: str, **changes: Any) -> dict[str, Any]:
    return google_timed(start={"date": start}, end={"date": end}, transparency="transparent", **changes)


def google_invite(response: str, *, others: int = 2) -> dict[str, Any]:
    """A meeting someone else organizes, with the calendar owner among the attendees."""
    attendees: list[dict[str, Any]] = [
        {"email": "boss@example.com", "organizer": True, "responseStatus": "accepted"},
    ]
    attendees += [{"email": f"guest{n}@example.com", "responseStatus": "needsAction"} for n in range(others)]
    attendees.append({"email": "ana@example.com", "self": True, "responseStatus": response})
    return google_timed(
        organizer={"email": "boss@example.com", "displayName": "Boss"},
        creator={"email": "boss@example.com"},
        attendees=attendees,
    )


_GRAPH_TIMED: dict[str, Any] = {
    "@odata.type": "#microsoft.graph.event",
    "@odata.etag": 'W/"DwAAABYAAABzN3Hs0p3pQ6v2oQ1a8bX1AAAB3Jx5"',
    "id": "AAMkAGI2TGuLAAA=",
    "createdDateTime": "2026-06-01T10:00:00.1234567Z",
    "lastModifiedDateTime": "2026-06-02T11:30:00.7654321Z",
    "changeKey": "DwAAABYAAABzN3Hs0p3pQ6v2oQ1a8bX1AAAB3Jx5",
    "categories": [],
    "transactionId": None,
    "originalStartTimeZone": "Pacific Standard Time",
    "originalEndTimeZone": "Pacific Standard Time",
    "iCalUId": "040000008200E00074C5B7101A82E00800000000D6A4C1B4",
    "reminderMinutesBeforeStart": 15,
    "isReminderOn": True,
    "hasAttachments": False,
    "subject": "Dentist",
    "bodyPreview": "Bring the insurance card",
    "importance": "normal",
    "sensitivity": "normal",
    "isAllDay": False,
    "isCancelled": False,
    "isOrganizer": True,
    "responseRequested": True,
    "seriesMasterId": None,
    "showAs": "busy",
    "type": "singleInstance",
    "webLink": "https://outlook.office365.com/owa/?itemid=AAMkAGI2TGuLAAA%3D&exvsurl=1&path=/calendar/item",
    "onlineMeetingUrl": None,
    "isOnlineMeeting": False,
    "onlineMeetingProvider": "unknown",
    "allowNewTimeProposals": True,
    "isDraft": False,
    "hideAttendees": False,
    "recurrence": None,
    "responseStatus": {"response": "organizer", "time": "0001-01-01T00:00:00Z"},
    "body": {"contentType": "html", "content": "<html><body>Bring the insurance card</body></html>"},
    # Asked with Prefer: outlook.timezone="UTC": 09:00 PDT.
    "start": {"dateTime": "2026-07-15T16:00:00.0000000", "timeZone": "UTC"},
    "end": {"dateTime": "2026-07-15T17:00:00.0000000", "timeZone": "UTC"},
    "location": {
        "displayName": "12 Main St",
        "locationType": "default",
        "uniqueIdType": "unknown",
        "address": {},
        "coordinates": {},
    },
    "locations": [],
    "attendees": [],
    "organizer": {"emailAddress": {"name": "Ana", "address": "ana@contoso.com"}},
}


def graph_timed(**changes: Any) -> dict[str, Any]:
    """A busy single-instance appointment; `changes` replace fields (None removes the field)."""
    item = copy.deepcopy(_GRAPH_TIMED)
    for key, value in changes.items():
        if value is None:
            item.pop(key, None)
        else:
            item[key] = value
    return item


def graph_time(text: str, zone: str = "UTC") -> dict[str, str]:
    return {"dateTime": text, "timeZone": zone}


def graph_master(
    pattern: dict[str, Any], rng: dict[str, Any], *, start: str, end: str, **changes: Any
) -> dict[str, Any]:
    """A series master as `GET /me/events` returns it, times in UTC, zone in the recurrence."""
    full_pattern = {
        "type": "daily",
        "interval": 1,
        "month": 0,
        "dayOfMonth": 0,
        "firstDayOfWeek": "sunday",
        "index": "first",
    }
    full_pattern.update(pattern)
    full_range = {
        "type": "noEnd",
        "startDate": start[:10],
        "endDate": "0001-01-01",
        "recurrenceTimeZone": "Pacific Standard Time",
        "numberOfOccurrences": 0,
    }
    full_range.update(rng)
    return graph_timed(
        id="AAMkMASTER=",
        type="seriesMaster",
        start=graph_time(start),
        end=graph_time(end),
        recurrence={"pattern": full_pattern, "range": full_range},
        **changes,
    )


def technician(timezone: str = LA, color: str = "#3b82f6") -> Technician:
    return Technician(
        id=TechId("tech-1"),
        name="Rosa Diaz",
        email="rosa@example.com",
        timezone=timezone,
        hours=BusinessHours.default(),
        color=color,
    )


def customer(**changes: Any) -> Customer:
    values: dict[str, Any] = {
        "id": CustomerId("cust-1"),
        "name": "Acme Bakery",
        "address": "500 Market St, San Francisco, CA",
        "phone": "+1 415 555 0100",
        "email": "owner@acme.example",
        "notes": "Back door code 4411",
    }
    values.update(changes)
    return Customer(**values)


def booking(
    start: datetime = datetime(2026, 7, 15, 16, 0, tzinfo=UTC),
    duration: timedelta = timedelta(minutes=90),
    **changes: Any,
) -> Booking:
    values: dict[str, Any] = {
        "id": BookingId(BOOKING_ID),
        "customer_id": CustomerId("cust-1"),
        "tech_id": TechId("tech-1"),
        "service": "Boiler service",
        "start": start,
        "duration": duration,
        "notes": "Replace the pressure valve",
        "version": 3,
    }
    values.update(changes)
    return Booking(**values)
