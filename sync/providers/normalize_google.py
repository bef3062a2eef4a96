"""Google Calendar events read into RemoteEvent, and bookings written as Google event bodies.

Pure translation, no network: the HTTP side hands over the JSON of `events.list`/`events.get`
items and sends the bodies built here. Anything an item says that we cannot understand raises
BadRemoteData for that item alone, so one odd event never stops a calendar's sync.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from app.domain.ids import BookingId, CalendarId
from app.domain.model import Booking, Customer, EventTime, RemoteEvent, Response, ShowAs, Technician
from app.domain.time import zone
from sync.core.ownership import secret_event_id
from sync.providers.content import (
    JOB_PAGE_TITLE,
    Moment,
    booking_details,
    booking_title,
    check_recurrence,
    clean_booking_id,
    clean_title,
    is_web_link,
    parse_instant,
    reach_text,
    read_moment,
    remote_id_of,
    writable_span,
)
from sync.providers.errors import BadRemoteData
from sync.providers.google_colors import nearest_event_color
from sync.providers.windows_zones import iana_zone

log = logging.getLogger(__name__)

BOOKING_ID_KEY = "crewboardBookingId"
BOOKING_VERSION_KEY = "crewboardVersion"
# The ownership tag (sync.core.ownership) over the booking id, the calendar and the event id.
BOOKING_TAG_KEY = "crewboardTag"

OUT_OF_OFFICE = "outOfOffice"
WORKING_LOCATION = "workingLocation"
FOCUS_TIME = "focusTime"

_RESPONSES = {
    "accepted": Response.ACCEPTED,
    "tentative": Response.TENTATIVE,
    "declined": Response.DECLINED,
    "needsAction": Response.NEEDS_ACTION,
}
_PRIVATE_VISIBILITY = frozenset({"private", "confidential"})
_STATUSES = frozenset({"confirmed", "tentative", "cancelled"})
_EVENT_TYPE = re.compile(r"^[A-Za-z]{1,40}$")

# Event ids Google accepts on insert: base32hex (lowercase a-v, digits), 5 to 1024 characters.
EVENT_ID = re.compile(r"^[a-v0-9]{5,1024}$")
_HEX_ID = re.compile(r"^[0-9a-f]{3,1000}$")


def is_deletion(item: Mapping[str, Any]) -> bool:
    """True for a deleted event's tombstone: cancelled, and not one cancelled instance of a series.

    Only `id` is guaranteed on such an item; the mirrored event (a whole series, for a master)
    is to be removed. A cancelled instance (with `recurringEventId`) is instead kept as an
    exception that hides its slot of the series.
    """
    return item.get("status") == "cancelled" and not item.get("recurringEventId")


def google_event_to_remote(
    item: Mapping[str, Any], calendar_id: CalendarId, *, calendar_zone: str
) -> RemoteEvent:
    """The RemoteEvent for one Google event item; BadRemoteData when the item makes no sense.

    `calendar_zone` (the calendar's own `timeZone`) is the fallback for events that name no zone
    or a zone neither IANA nor Windows knows.
    """
    if not isinstance(item, Mapping):
        raise BadRemoteData("(not an object)", "the event is not a JSON object")
    fallback = iana_zone(calendar_zone)
    if fallback is None:
        raise ValueError(f"the calendar's zone {calendar_zone!r} is not a time zone")
    remote_id = remote_id_of(item)
    status = item.get("status", "confirmed")
    if status not in _STATUSES:
        raise BadRemoteData(remote_id, f"its status {str(status)[:40]!r} is unknown")
    cancelled = status == "cancelled"
    master_id = _optional_text(item, "recurringEventId", remote_id)
    original: Moment | None = None
    if master_id is not None:
        original = read_moment(
            item.get("originalStartTime"), remote_id, "original start", fallback_zone=fallback
        )

    if cancelled and item.get("start") is None:
        if original is None:
            raise BadRemoteData(remote_id, "the event was deleted (check is_deletion before reading it)")
        when = _empty_slot(original, fallback)
    else:
        when = _when(item, remote_id, fallback)

    private = item.get("visibility") in _PRIVATE_VISIBILITY
    event_type = _event_type(item)
    recurrence = _recurrence(item, remote_id) if master_id is None else ()
    event = RemoteEvent(
        calendar_id=calendar_id,
        remote_id=remote_id,
        etag=_etag(item, remote_id, required=not cancelled),
        when=when,
        show_as=_show_as(item, event_type),
        response=_response(item),
        cancelled=cancelled,
        private=private,
        title=None if private else clean_title(item.get("summary")),
        event_type=event_type,
        recurrence=recurrence,
        master_remote_id=master_id,
        original_start=original.instant if original is not None else None,
        original_start_date=original.day if original is not None else None,
        booking_id=_booking_id(item, remote_id),
        updated=_updated(item, remote_id),
        booking_tag=_booking_tag(item),
        tag_subject=remote_id,  # a Google tag is bound to the event id we chose before creating
    )
    if not cancelled:
        check_recurrence(event)
    return event


# --- reading the parts -------------------------------------------------------------------------


def _optional_text(item: Mapping[str, Any], key: str, remote_id: str) -> str | None:
    value = item.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str) or "\x00" in value or len(value) > 2048:
        raise BadRemoteData(remote_id, f"its {key} is not an identifier")
    return value


def _when(item: Mapping[str, Any], remote_id: str, fallback: str) -> EventTime:
    start = read_moment(item.get("start"), remote_id, "start", fallback_zone=fallback)
    end = read_moment(item.get("end"), remote_id, "end", fallback_zone=fallback)
    if start.day is not None and end.day is not None:
        if end.day <= start.day:
            raise BadRemoteData(remote_id, "the all-day event does not end after it starts")
        return EventTime(start_date=start.day, end_date=end.day, timezone=fallback)
    if start.instant is None or end.instant is None:
        raise BadRemoteData(remote_id, "one end of the event is a date and the other a date-time")
    if end.instant < start.instant:
        raise BadRemoteData(remote_id, "the event ends before it starts")
    return EventTime(start=start.instant, end=end.instant, timezone=start.zone or fallback)


def _empty_slot(original: Moment, fallback: str) -> EventTime:
    """The zero-length time of a cancelled instance Google sent without start and end."""
    if original.instant is not None:
        return EventTime(start=original.instant, end=original.instant, timezone=original.zone or fallback)
    assert original.day is not None
    return EventTime(start_date=original.day, end_date=original.day, timezone=fallback)


def _event_type(item: Mapping[str, Any]) -> str:
    value = item.get("eventType")
    return value if isinstance(value, str) and _EVENT_TYPE.match(value) else "default"


def _show_as(item: Mapping[str, Any], event_type: str) -> ShowAs:
    if event_type == WORKING_LOCATION:
        return ShowAs.WORKING_ELSEWHERE
    if event_type == OUT_OF_OFFICE:
        return ShowAs.OUT_OF_OFFICE
    if item.get("transparency") == "transparent":
        return ShowAs.FREE
    if item.get("status") == "tentative":
        return ShowAs.TENTATIVE
    return ShowAs.BUSY  # opaque events, focus time, and anything without a transparency


def _response(item: Mapping[str, Any]) -> Response:
    """The calendar owner's own answer: from the attendee marked `self`, else they organize it."""
    organizer = item.get("organizer")
    if isinstance(organizer, Mapping) and organizer.get("self") is True:
        return Response.ORGANIZER
    attendees = item.get("attendees")
    if isinstance(attendees, list):
        for attendee in attendees:
            if isinstance(attendee, Mapping) and attendee.get("self") is True:
                if attendee.get("organizer") is True:
                    return Response.ORGANIZER
                return _RESPONSES.get(str(attendee.get("responseStatus")), Response.NEEDS_ACTION)
    return Response.ORGANIZER


def _recurrence(item: Mapping[str, Any], remote_id: str) -> tuple[str, ...]:
    value = item.get("recurrence")
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(line, str) for line in value):
        raise BadRemoteData(remote_id, "its recurrence is not a list of lines")
    return tuple(line.strip() for line in value if line.strip())


def _booking_id(item: Mapping[str, Any], remote_id: str) -> BookingId | None:
    properties = item.get("extendedProperties")
    if not isinstance(properties, Mapping):
        return None
    private = properties.get("private")
    if not isinstance(private, Mapping):
        return None
    found = clean_booking_id(private.get(BOOKING_ID_KEY), remote_id)
    return BookingId(found) if found is not None else None


def _booking_tag(item: Mapping[str, Any]) -> str | None:
    """The ownership tag as the event carries it (checked by the engine, not here)."""
    properties = item.get("extendedProperties")
    private = properties.get("private") if isinstance(properties, Mapping) else None
    value = private.get(BOOKING_TAG_KEY) if isinstance(private, Mapping) else None
    return value if isinstance(value, str) and 0 < len(value) <= 256 else None


def _etag(item: Mapping[str, Any], remote_id: str, *, required: bool) -> str:
    value = item.get("etag")
    if isinstance(value, str) and value:
        return value
    if required:
        raise BadRemoteData(remote_id, "the event has no etag")
    return ""


def _updated(item: Mapping[str, Any], remote_id: str) -> datetime | None:
    value = item.get("updated")
    if value is None:
        return None
    return parse_instant(value, remote_id, "its last change")


# --- writing bookings --------------------------------------------------------------------------


def google_event_id(booking_id: str, *, generation: int = 0, key: bytes | None = None) -> str:
    """The event id we insert a booking's event under, the same on every retry.

    With the store's ownership `key` (what the engine always passes) the id is an HMAC of the
    booking id and generation, so nobody can guess a job's event id from its booking id. Without
    one, the older readable form below.

    Ids are per calendar, so one id serves every calendar the booking visits. A hex booking id
    is already base32hex and is used as is behind a "cb" prefix; any other id, or a later
    `generation` (a fresh event where the old id is taken by a deleted one), becomes
    "cv" + base32hex(sha256), which is valid and stays 54 characters long.
    """
    if generation < 0:
        raise ValueError("generation cannot be negative")
    if key is not None:
        return secret_event_id(key, booking_id, generation)
    if generation == 0 and _HEX_ID.match(booking_id):
        return "cb" + booking_id
    digest = hashlib.sha256(f"{booking_id}\x00{generation}".encode()).digest()
    return "cv" + base64.b32hexencode(digest).decode("ascii").rstrip("=").lower()


def booking_to_google_event(
    booking: Booking,
    customer: Customer,
    tech: Technician,
    *,
    link: str,
    event_id: str,
    tag: str | None = None,
    office_phone: str = "",
) -> dict[str, Any]:
    """The event body we insert or update for a booking, in the technician's own zone.

    No attendees, so Google mails no invitation; the booking id rides in a private extended
    property, which only this calendar's copy carries.
    """
    if not EVENT_ID.match(event_id):
        raise ValueError(f"{event_id!r} is not a Google event id (base32hex, 5-1024 characters)")
    start, end = writable_span(booking)
    tz = zone(tech.timezone)
    lines = [f"{label}: {text}" for label, text in booking_details(booking, customer)]
    reach = reach_text(link, office_phone)
    description = "\n".join([*lines, "", reach]) if reach else "\n".join(lines)
    body: dict[str, Any] = {
        "id": event_id,
        "summary": booking_title(booking, customer),
        "description": description,
        # Whole seconds, as Graph writes them too, so both providers' copies hash alike.
        "start": {"dateTime": start.astimezone(tz).isoformat(timespec="seconds"), "timeZone": tech.timezone},
        "end": {"dateTime": end.astimezone(tz).isoformat(timespec="seconds"), "timeZone": tech.timezone},
        "transparency": "opaque",
        "reminders": {"useDefault": True},
        "extendedProperties": {
            "private": {BOOKING_ID_KEY: booking.id, BOOKING_VERSION_KEY: str(booking.version)},
        },
    }
    if tag is not None:
        body["extendedProperties"]["private"][BOOKING_TAG_KEY] = tag
    if customer.address.strip():
        body["location"] = customer.address.strip()
    color_id = nearest_event_color(tech.color)
    if color_id is not None:
        body["colorId"] = color_id
    if is_web_link(link):
        # Google shows `source` as a link under the event, on the phone too.
        body["source"] = {"title": JOB_PAGE_TITLE, "url": link}
    return body
