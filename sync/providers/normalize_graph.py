"""Microsoft Graph events read into RemoteEvent, and bookings written as Graph event bodies.

Pure translation, no network. Graph's quirks handled here: Windows zone names, all-day events
that come back midnight to midnight whatever zone was asked for, `patternedRecurrence` turned
into the RRULE lines the domain expands, sparse occurrences from calendarView/delta, and
`@removed` tombstones. Anything we cannot understand raises BadRemoteData for that item alone.
"""

from __future__ import annotations

import html
import logging
import uuid
from collections.abc import Mapping
from datetime import UTC, date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from app.domain.ids import BookingId, CalendarId
from app.domain.model import Booking, Customer, EventTime, RemoteEvent, Response, ShowAs, Technician
from app.domain.time import zone
from sync.core.ownership import secret_transaction_id
from sync.providers.content import (
    Moment,
    booking_details,
    booking_title,
    check_recurrence,
    clean_booking_id,
    clean_title,
    is_web_link,
    parse_date,
    parse_instant,
    reach_text,
    read_moment,
    remote_id_of,
    writable_span,
)
from sync.providers.errors import BadRemoteData
from sync.providers.windows_zones import iana_zone, windows_zone

log = logging.getLogger(__name__)

# Our MAPI named-property set; the booking id and version ride in string properties of it.
PROPERTY_SET = "{66f5a359-4659-4830-9070-00047ec6ac6e}"
BOOKING_ID_PROPERTY = f"String {PROPERTY_SET} Name crewboardBookingId"
BOOKING_VERSION_PROPERTY = f"String {PROPERTY_SET} Name crewboardVersion"
# The ownership tag (sync.core.ownership) over the booking id, the calendar and the transactionId.
BOOKING_TAG_PROPERTY = f"String {PROPERTY_SET} Name crewboardTag"

_TRANSACTION_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://crewboard.app/sync/graph/transaction")

_SHOW_AS = {
    "free": ShowAs.FREE,
    "tentative": ShowAs.TENTATIVE,
    "busy": ShowAs.BUSY,
    "oof": ShowAs.OUT_OF_OFFICE,
    "workingElsewhere": ShowAs.WORKING_ELSEWHERE,
    "unknown": ShowAs.BUSY,
}
_RESPONSES = {
    "none": Response.ORGANIZER,
    "organizer": Response.ORGANIZER,
    "tentativelyAccepted": Response.TENTATIVE,
    "accepted": Response.ACCEPTED,
    "declined": Response.DECLINED,
    "notResponded": Response.NEEDS_ACTION,
}
_PRIVATE_SENSITIVITY = frozenset({"private", "confidential"})
_TYPES = frozenset({"singleInstance", "occurrence", "exception", "seriesMaster"})
_DAYS = {
    "monday": "MO",
    "tuesday": "TU",
    "wednesday": "WE",
    "thursday": "TH",
    "friday": "FR",
    "saturday": "SA",
    "sunday": "SU",
}
_INDEX = {"first": 1, "second": 2, "third": 3, "fourth": 4, "last": -1}
_MAX_INTERVAL = 999


def is_removed(item: Mapping[str, Any]) -> bool:
    """True for a delta tombstone: the event left the window or was deleted (check the window)."""
    return "@removed" in item


def graph_event_to_remote(item: Mapping[str, Any], calendar_id: CalendarId) -> RemoteEvent:
    """The RemoteEvent for one Graph event; BadRemoteData when the item makes no sense."""
    if not isinstance(item, Mapping):
        raise BadRemoteData("(not an object)", "the event is not a JSON object")
    remote_id = remote_id_of(item)
    if is_removed(item):
        raise BadRemoteData(remote_id, "the event was removed (check is_removed before reading it)")
    kind = item.get("type", "singleInstance")
    if kind not in _TYPES:
        raise BadRemoteData(remote_id, f"its type {str(kind)[:40]!r} is unknown")
    all_day = item.get("isAllDay") is True
    start = read_moment(item.get("start"), remote_id, "start", fallback_zone=None, all_day=all_day)
    end = read_moment(item.get("end"), remote_id, "end", fallback_zone=None, all_day=all_day)
    own_zone = _own_zone(item, kind, start, remote_id)
    when = _when(start, end, own_zone, all_day, remote_id)

    private = item.get("sensitivity") in _PRIVATE_SENSITIVITY
    master_id: str | None = None
    original_start: datetime | None = None
    original_day: date | None = None
    if kind in ("occurrence", "exception"):
        master_id = _master_id(item, remote_id)
        original_start, original_day = _original(item, kind, when, own_zone, remote_id)
    recurrence = _recurrence_lines(item, when, own_zone, remote_id) if kind == "seriesMaster" else ()

    event = RemoteEvent(
        calendar_id=calendar_id,
        remote_id=remote_id,
        etag=_etag(item, remote_id),
        when=when,
        show_as=_SHOW_AS.get(str(item.get("showAs")), ShowAs.BUSY),
        response=_response(item),
        cancelled=item.get("isCancelled") is True,
        private=private,
        title=None if private else clean_title(item.get("subject")),
        recurrence=recurrence,
        master_remote_id=master_id,
        original_start=original_start,
        original_start_date=original_day,
        booking_id=_booking_id(item, remote_id),
        updated=_updated(item, remote_id),
        booking_tag=_property(item, BOOKING_TAG_PROPERTY),
        # A Graph tag is bound to the transactionId sent with the create (the id comes later).
        tag_subject=_transaction(item),
    )
    if not event.cancelled:
        check_recurrence(event)
    return event


# --- reading the parts -------------------------------------------------------------------------


def _own_zone(item: Mapping[str, Any], kind: str, start: Moment, remote_id: str) -> str:
    """The zone the event lives in, which decides its DST behaviour and its all-day dates.

    Answers asked for in UTC still name the creator's zone in `originalStartTimeZone`, and a
    series names its own in `recurrence.range.recurrenceTimeZone`; the zone of `start` is the
    last resort. Names no table knows (legacy `tzone://Microsoft/Custom`) are passed over.
    """
    candidates: list[Any] = []
    if kind == "seriesMaster":
        recurrence = item.get("recurrence")
        rng = recurrence.get("range") if isinstance(recurrence, Mapping) else None
        if isinstance(rng, Mapping):
            candidates.append(rng.get("recurrenceTimeZone"))
    candidates.append(item.get("originalStartTimeZone"))
    for name in candidates:
        if isinstance(name, str) and name:
            mapped = iana_zone(name)
            if mapped is not None:
                return mapped
            log.info(
                "Calendar event %r names zone %r, which no table knows; passing over it", remote_id[:80], name
            )
    return start.zone or "UTC"


def _when(start: Moment, end: Moment, own_zone: str, all_day: bool, remote_id: str) -> EventTime:
    if all_day:
        first = _all_day_date(start, own_zone, remote_id, "start")
        last = _all_day_date(end, own_zone, remote_id, "end")
        if last <= first:
            raise BadRemoteData(remote_id, "the all-day event does not end after it starts")
        return EventTime(start_date=first, end_date=last, timezone=own_zone)
    if start.instant is None or end.instant is None:
        raise BadRemoteData(remote_id, "a timed event carries a date without a time")
    if end.instant < start.instant:
        raise BadRemoteData(remote_id, "the event ends before it starts")
    return EventTime(start=start.instant, end=end.instant, timezone=own_zone)


def _all_day_date(moment: Moment, own_zone: str, remote_id: str, what: str) -> date:
    """The local date of an all-day edge: midnight as written, or midnight in the event's zone."""
    assert moment.day is not None and moment.wall is not None
    if moment.wall.time() == time(0, 0):
        return moment.day
    if moment.zone is not None:
        written = moment.wall.replace(tzinfo=ZoneInfo(moment.zone))
        local = written.astimezone(ZoneInfo(own_zone))
        if local.time() == time(0, 0):
            return local.date()
    raise BadRemoteData(remote_id, f"the all-day event's {what} is not at midnight")


def _master_id(item: Mapping[str, Any], remote_id: str) -> str:
    value = item.get("seriesMasterId")
    if not isinstance(value, str) or not value or "\x00" in value or len(value) > 2048:
        raise BadRemoteData(remote_id, "an instance of a series does not name its series")
    return value


def _original(
    item: Mapping[str, Any], kind: str, when: EventTime, own_zone: str, remote_id: str
) -> tuple[datetime | None, date | None]:
    """The slot an instance fills in its series: `originalStart` (UTC), or for a plain occurrence
    that delta sent without it, its own start (an unmodified occurrence sits in its slot)."""
    value = item.get("originalStart")
    if value is None:
        if kind == "exception":
            raise BadRemoteData(remote_id, "a changed instance does not say which slot it replaces")
        if when.start is not None:
            return when.start, None
        assert when.start_date is not None
        return None, when.start_date
    instant = parse_instant(value, remote_id, "its original start")
    if not when.all_day:
        return instant, None
    local = instant.astimezone(ZoneInfo(own_zone))
    return instant, local.date() if local.time() == time(0, 0) else None


def _response(item: Mapping[str, Any]) -> Response:
    status = item.get("responseStatus")
    if not isinstance(status, Mapping):
        return Response.ORGANIZER
    return _RESPONSES.get(str(status.get("response")), Response.NEEDS_ACTION)


def _booking_id(item: Mapping[str, Any], remote_id: str) -> BookingId | None:
    properties = item.get("singleValueExtendedProperties")
    if not isinstance(properties, list):
        return None
    wanted = _property_key(BOOKING_ID_PROPERTY)
    for prop in properties:
        if (
            isinstance(prop, Mapping)
            and isinstance(prop.get("id"), str)
            and _property_key(prop["id"]) == wanted
        ):
            found = clean_booking_id(prop.get("value"), remote_id)
            return BookingId(found) if found is not None else None
    return None


def _property(item: Mapping[str, Any], property_id: str) -> str | None:
    """A string extended property's value as the event carries it, or None."""
    properties = item.get("singleValueExtendedProperties")
    if not isinstance(properties, list):
        return None
    wanted = _property_key(property_id)
    for prop in properties:
        if (
            isinstance(prop, Mapping)
            and isinstance(prop.get("id"), str)
            and _property_key(prop["id"]) == wanted
        ):
            value = prop.get("value")
            return value if isinstance(value, str) and 0 < len(value) <= 256 else None
    return None


def _transaction(item: Mapping[str, Any]) -> str | None:
    value = item.get("transactionId")
    return value if isinstance(value, str) and 0 < len(value) <= 256 else None


def _property_key(text: str) -> str:
    """Extended-property ids compared as Exchange does: GUIDs and keywords ignore case and spacing."""
    return " ".join(text.split()).lower()


def _etag(item: Mapping[str, Any], remote_id: str) -> str:
    for key in ("@odata.etag", "changeKey"):
        value = item.get(key)
        if isinstance(value, str) and value:
            return value
    raise BadRemoteData(remote_id, "the event has neither an etag nor a change key")


def _updated(item: Mapping[str, Any], remote_id: str) -> datetime | None:
    value = item.get("lastModifiedDateTime")
    if value is None:
        return None
    return parse_instant(value, remote_id, "its last change")


# --- recurrence ----------------------------------------------------------------------------------


def _positive(value: Any, what: str, remote_id: str, *, low: int, high: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise BadRemoteData(remote_id, f"the series' {what} {str(value)[:20]!r} is out of range")
    return value


def _days(pattern: Mapping[str, Any], remote_id: str) -> list[str]:
    value = pattern.get("daysOfWeek") or []
    if not isinstance(value, list):
        raise BadRemoteData(remote_id, "the series' days of the week are not a list")
    days: list[str] = []
    for name in value:
        code = _DAYS.get(name) if isinstance(name, str) else None
        if code is None:
            raise BadRemoteData(remote_id, f"the series names an unknown day {str(name)[:20]!r}")
        if code not in days:
            days.append(code)
    return days


def _month_day(day: int) -> str:
    """BYMONTHDAY for Outlook's "day N of the month": in months too short for N it falls on the
    last day, which RFC 5545 says as the last of the days 28..N that the month has."""
    if day <= 28:
        return f"BYMONTHDAY={day}"
    return "BYMONTHDAY=" + ",".join(str(d) for d in range(28, day + 1)) + ";BYSETPOS=-1"


def _recurrence_lines(
    item: Mapping[str, Any], when: EventTime, own_zone: str, remote_id: str
) -> tuple[str, ...]:
    """Graph's `{pattern, range}` as one RRULE line, read in the series' own zone.

    DTSTART is the master's own start; an end date is inclusive, so UNTIL is the last second of
    that day in the series' zone (a DATE for all-day series).
    """
    recurrence = item.get("recurrence")
    if not isinstance(recurrence, Mapping):
        raise BadRemoteData(remote_id, "the series has no recurrence pattern")
    pattern = recurrence.get("pattern")
    rng = recurrence.get("range")
    if not isinstance(pattern, Mapping) or not isinstance(rng, Mapping):
        raise BadRemoteData(remote_id, "the series' recurrence lacks a pattern or a range")
    kind = pattern.get("type")
    interval = _positive(pattern.get("interval", 1), "interval", remote_id, low=1, high=_MAX_INTERVAL)
    parts: list[str]
    if kind == "daily":
        parts = ["FREQ=DAILY"]
    elif kind == "weekly":
        parts = ["FREQ=WEEKLY"]
        days = _days(pattern, remote_id)
        if days:
            parts.append("BYDAY=" + ",".join(days))
        first_day = pattern.get("firstDayOfWeek") or "sunday"
        if not isinstance(first_day, str) or first_day not in _DAYS:
            raise BadRemoteData(remote_id, f"the series names an unknown first day {str(first_day)[:20]!r}")
        parts.append(f"WKST={_DAYS[first_day]}")
    elif kind in ("absoluteMonthly", "absoluteYearly"):
        day = _positive(pattern.get("dayOfMonth"), "day of the month", remote_id, low=1, high=31)
        parts = (
            ["FREQ=MONTHLY"] if kind == "absoluteMonthly" else ["FREQ=YEARLY", _by_month(pattern, remote_id)]
        )
        parts.append(_month_day(day))
    elif kind in ("relativeMonthly", "relativeYearly"):
        days = _days(pattern, remote_id)
        if not days:
            raise BadRemoteData(remote_id, "a relative series names no day of the week")
        index = pattern.get("index") or "first"
        if not isinstance(index, str) or index not in _INDEX:
            raise BadRemoteData(remote_id, f"the series' week index {str(index)[:20]!r} is unknown")
        parts = (
            ["FREQ=MONTHLY"] if kind == "relativeMonthly" else ["FREQ=YEARLY", _by_month(pattern, remote_id)]
        )
        parts.append("BYDAY=" + ",".join(days))
        parts.append(f"BYSETPOS={_INDEX[index]}")
    else:
        raise BadRemoteData(remote_id, f"the series' pattern {str(kind)[:40]!r} is unknown")
    if interval != 1:
        parts.insert(1, f"INTERVAL={interval}")
    parts.extend(_range_parts(rng, when, own_zone, remote_id))
    return ("RRULE:" + ";".join(parts),)


def _by_month(pattern: Mapping[str, Any], remote_id: str) -> str:
    return f"BYMONTH={_positive(pattern.get('month'), 'month', remote_id, low=1, high=12)}"


def _range_parts(rng: Mapping[str, Any], when: EventTime, own_zone: str, remote_id: str) -> list[str]:
    kind = rng.get("type")
    if kind == "noEnd":
        return []
    if kind == "numbered":
        count = _positive(
            rng.get("numberOfOccurrences"), "number of occurrences", remote_id, low=1, high=100_000
        )
        return [f"COUNT={count}"]
    if kind != "endDate":
        raise BadRemoteData(remote_id, f"the series' range {str(kind)[:40]!r} is unknown")
    last = parse_date(rng.get("endDate"), remote_id, "the series' end date")
    if when.start_date is not None:
        if last < when.start_date:
            raise BadRemoteData(remote_id, "the series ends before it starts")
        return [f"UNTIL={last.strftime('%Y%m%d')}"]
    assert when.start is not None
    tz = ZoneInfo(own_zone)
    if last < when.start.astimezone(tz).date():
        raise BadRemoteData(remote_id, "the series ends before it starts")
    until = datetime.combine(last, time(23, 59, 59), tzinfo=tz).astimezone(UTC)
    return [f"UNTIL={until.strftime('%Y%m%dT%H%M%SZ')}"]


# --- writing bookings --------------------------------------------------------------------------


def transaction_id(
    booking_id: str, calendar_remote_id: str, *, generation: int = 0, key: bytes | None = None
) -> str:
    """The `transactionId` for creating a booking's event in one calendar, the same on every retry.

    With the store's ownership `key` (what the engine always passes) it is keyed, so nobody can
    create an event under it first and have Graph hand that event back to our create.

    Set it on the create only (Graph refuses to change it later). A later `generation` gives a
    fresh id for a deliberate re-create in a calendar the booking already had an event in.
    """
    if generation < 0:
        raise ValueError("generation cannot be negative")
    if key is not None:
        return secret_transaction_id(key, booking_id, calendar_remote_id, generation)
    return str(uuid.uuid5(_TRANSACTION_NAMESPACE, f"{booking_id}\x00{calendar_remote_id}\x00{generation}"))


def graph_zone_name(iana: str) -> str | None:
    """The Windows name we write a zone under, or None when Exchange has none (write UTC then)."""
    return windows_zone(iana)


def _graph_time(instant: datetime, tz_name: str, windows: str | None) -> dict[str, str]:
    if windows is None:
        local = instant.astimezone(UTC)
        name = "UTC"
    else:
        local = instant.astimezone(zone(tz_name))
        name = windows
    return {"dateTime": local.strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": name}


def booking_to_graph_event(
    booking: Booking,
    customer: Customer,
    tech: Technician,
    *,
    link: str,
    tag: str | None = None,
    office_phone: str = "",
    category: str | None = None,
    drop_category: bool = False,
) -> dict[str, Any]:
    """The event body we create or PATCH for a booking, in the technician's zone.

    No attendees, so Exchange sends no invitation. Times carry the Windows zone name where one
    exists (Graph's preferred form); a zone Exchange cannot name is written in UTC, which every
    mailbox accepts and which keeps the instant exact. `transactionId` is added by the caller on
    create only (see `transaction_id`), and so is the ownership `tag` bound to it.
    """
    start, end = writable_span(booking)
    zone(tech.timezone)  # refuse an unknown zone before writing anything
    windows = graph_zone_name(tech.timezone)
    rows = "".join(
        f"<tr><th align='left'>{html.escape(label)}</th><td>{_html_text(text)}</td></tr>"
        for label, text in booking_details(booking, customer)
    )
    parts = [f"<table>{rows}</table>"]
    if is_web_link(link):
        parts.append(f'<p><a href="{html.escape(link, quote=True)}">Open the job page</a></p>')
    elif (reach := reach_text(link, office_phone)) is not None:
        parts.append(f"<p>{html.escape(reach)}</p>")
    body: dict[str, Any] = {
        "subject": booking_title(booking, customer),
        "body": {"contentType": "html", "content": "<html><body>" + "".join(parts) + "</body></html>"},
        "start": _graph_time(start, tech.timezone, windows),
        "end": _graph_time(end, tech.timezone, windows),
        "isAllDay": False,
        "location": {"displayName": customer.address.strip()},
        "showAs": "busy",
        "isReminderOn": True,
        "singleValueExtendedProperties": [
            {"id": BOOKING_ID_PROPERTY, "value": booking.id},
            {"id": BOOKING_VERSION_PROPERTY, "value": str(booking.version)},
        ],
    }
    if tag is not None:
        body["singleValueExtendedProperties"].append({"id": BOOKING_TAG_PROPERTY, "value": tag})
    if category is not None:
        # Outlook colours an event by its categories (Graph has no per-event colour); the category
        # is in the mailbox's master list (GraphCalendarProvider made sure), so it shows its colour.
        body["categories"] = [category]
    elif drop_category:
        body["categories"] = []  # the tech turned colour off; a job event carries no other category of ours
    return body


def _html_text(text: str) -> str:
    return "<br>".join(html.escape(line) for line in text.splitlines())
