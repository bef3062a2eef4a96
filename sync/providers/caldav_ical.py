"""Over 500 lines: reading and writing iCalendar share the same property rules, kept side by side.

CalDAV calendar objects read into RemoteEvents, and bookings written as VCALENDAR text.

Pure translation with `icalendar`, no network. One calendar object (one href) holds one event's
VEVENTs: the master, which carries the series' RRULE/EXDATE/RDATE lines and becomes the mirror's
series (its remote id is the href), and overrides with a RECURRENCE-ID, which become the
series' exceptions (remote id: href + "#" + the slot they replace). A RANGE=THISANDFUTURE override
ends the master's series at its slot and starts a second series there, shifted as the override
is. The domain expands the lines itself, exactly as for Google and Graph, so every provider's
series are read by the same code.

Anything an object says that we cannot understand raises BadRemoteData for that object alone.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import icalendar
from dateutil.rrule import rrulestr

from app.domain.ids import BookingId, CalendarId
from app.domain.model import Booking, Customer, EventTime, RemoteEvent, Response, ShowAs, Technician
from app.domain.time import zone as tech_zone
from sync.providers.content import (
    booking_content_hash,
    booking_details,
    booking_title,
    check_recurrence,
    clean_booking_id,
    clean_title,
    is_web_link,
    reach_text,
    writable_span,
)
from sync.providers.errors import BadRemoteData
from sync.providers.windows_zones import iana_zone

# Our own properties on a booking's VEVENT. X- properties survive every server we target
# (Radicale, iCloud, Fastmail, Nextcloud keep unknown properties as written).
BOOKING_ID_PROPERTY = "X-CREWBOARD-BOOKING-ID"
BOOKING_TAG_PROPERTY = "X-CREWBOARD-TAG"
BOOKING_VERSION_PROPERTY = "X-CREWBOARD-VERSION"
PRODID = "-//Crewboard//Crewboard dispatch//EN"
# Longest calendar object we read; a phone's event is a few kilobytes.
MAX_OBJECT_BYTES = 512 * 1024

_PRIVATE_CLASSES = frozenset({"PRIVATE", "CONFIDENTIAL"})
_PARTSTAT = {
    "ACCEPTED": Response.ACCEPTED,
    "TENTATIVE": Response.TENTATIVE,
    "DECLINED": Response.DECLINED,
    "NEEDS-ACTION": Response.NEEDS_ACTION,
}


@dataclass(frozen=True, slots=True)
class CalendarObject:
    """One calendar object as read: its events (master first) and the UID they share."""

    uid: str
    events: tuple[RemoteEvent, ...]


def read_object(
    href: str,
    etag: str,
    text: str | bytes,
    calendar_id: CalendarId,
    *,
    self_addresses: Iterable[str] = (),
) -> CalendarObject:
    """The RemoteEvents of one calendar object; BadRemoteData when it makes no sense."""
    if len(text) > MAX_OBJECT_BYTES:
        raise BadRemoteData(href, f"the calendar object is {len(text) // 1024} KB, more than we read")
    try:
        calendar = icalendar.Calendar.from_ical(text)
    except (ValueError, KeyError, IndexError, TypeError) as error:
        raise BadRemoteData(href, f"it is not a readable VCALENDAR ({_short(error)})") from None
    vevents = [c for c in calendar.walk("VEVENT")]
    if not vevents:
        raise BadRemoteData(href, "it holds no VEVENT")
    uids = {str(v.get("UID", "")).strip() for v in vevents}
    if "" in uids:
        raise BadRemoteData(href, "an event in it has no UID")
    if len(uids) > 1:
        raise BadRemoteData(href, "it holds events with different UIDs")
    uid = uids.pop()
    masters = [v for v in vevents if v.get("RECURRENCE-ID") is None]
    overrides = [v for v in vevents if v.get("RECURRENCE-ID") is not None]
    if len(masters) > 1:
        raise BadRemoteData(href, "it holds two events with the same UID")
    addresses = frozenset(a.lower().removeprefix("mailto:") for a in self_addresses)
    reader = _Reader(href, etag, calendar_id, addresses, uid)
    try:
        if not masters:
            # An invitation to single occurrences only (RFC 6638): each stands alone.
            events = tuple(reader.single(v, f"{href}#{_slot_key(reader.slot(v))}") for v in overrides)
            return CalendarObject(uid, events)
        master = reader.single(masters[0], href)
        return CalendarObject(uid, tuple(reader.series(master, overrides)))
    except (ValueError, TypeError, KeyError, AttributeError, OverflowError) as error:
        raise BadRemoteData(href, f"it cannot be read ({_short(error)})") from None


def _short(error: BaseException) -> str:
    text = " ".join(str(error).split()) or type(error).__name__
    return text if len(text) <= 120 else text[:117] + "..."


def _slot_key(slot: datetime | date) -> str:
    if isinstance(slot, datetime):
        return slot.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    return slot.strftime("%Y%m%d")


class _Reader:
    def __init__(
        self, href: str, etag: str, calendar_id: CalendarId, addresses: frozenset[str], uid: str
    ) -> None:
        self.href = href
        self.etag = etag
        self.calendar_id = calendar_id
        self.addresses = addresses
        self.uid = uid

    # -- one VEVENT ---------------------------------------------------------------------------------

    def single(self, vevent: Any, remote_id: str) -> RemoteEvent:
        when = self._when(vevent)
        private = str(vevent.get("CLASS", "PUBLIC")).upper() in _PRIVATE_CLASSES
        status = str(vevent.get("STATUS", "CONFIRMED")).upper()
        event = RemoteEvent(
            calendar_id=self.calendar_id,
            remote_id=remote_id,
            etag=self.etag,
            when=when,
            show_as=_show_as(vevent, status),
            response=self._response(vevent),
            cancelled=status == "CANCELLED",
            private=private,
            title=None if private else clean_title(str(vevent.get("SUMMARY", "")) or None),
            recurrence=self._recurrence(vevent, when),
            booking_id=self._booking_id(vevent),
            updated=_instant(vevent, "LAST-MODIFIED"),
            booking_tag=_tag(vevent),
            tag_subject=self.uid,  # a CalDAV tag is bound to the UID we chose before the PUT
        )
        if not event.cancelled:
            check_recurrence(event)
        return event

    def slot(self, vevent: Any) -> datetime | date:
        value = vevent.decoded("RECURRENCE-ID")
        if isinstance(value, datetime):
            return _aware(value, None).astimezone(UTC)
        if isinstance(value, date):
            return value
        raise ValueError("RECURRENCE-ID is neither a date nor a date-time")

    def _when(self, vevent: Any) -> EventTime:
        if vevent.get("DTSTART") is None:
            raise BadRemoteData(self.href, "an event in it has no start")
        start = vevent.decoded("DTSTART")
        zone_name = _zone_name(start, vevent["DTSTART"].params.get("TZID"))
        if vevent.get("DTEND") is not None:
            end = vevent.decoded("DTEND")
        elif vevent.get("DURATION") is not None:
            end = start + vevent.decoded("DURATION")
        elif isinstance(start, datetime):
            end = start  # RFC 5545: a timed event without an end takes no time
        else:
            end = start + timedelta(days=1)  # ...and an all-day one takes its day
        if isinstance(start, datetime) != isinstance(end, datetime):
            raise BadRemoteData(self.href, "one end of an event is a date and the other a date-time")
        if isinstance(start, datetime) and isinstance(end, datetime):
            start_utc = _aware(start, zone_name).astimezone(UTC)
            end_utc = _aware(end, zone_name).astimezone(UTC)
            if end_utc < start_utc:
                raise BadRemoteData(self.href, "an event in it ends before it starts")
            return EventTime(start=start_utc, end=end_utc, timezone=zone_name or "UTC")
        if end <= start:
            end = start + timedelta(days=1)
        return EventTime(start_date=start, end_date=end, timezone=zone_name or "UTC")

    def _response(self, vevent: Any) -> Response:
        organizer = str(vevent.get("ORGANIZER", "")).lower().removeprefix("mailto:")
        if not organizer or organizer in self.addresses:
            return Response.ORGANIZER
        attendees = vevent.get("ATTENDEE")
        for attendee in attendees if isinstance(attendees, list) else [attendees]:
            if attendee is None:
                continue
            if str(attendee).lower().removeprefix("mailto:") in self.addresses:
                partstat = str(attendee.params.get("PARTSTAT", "NEEDS-ACTION")).upper()
                return _PARTSTAT.get(partstat, Response.NEEDS_ACTION)
        return Response.ORGANIZER

    def _recurrence(self, vevent: Any, when: EventTime) -> tuple[str, ...]:
        if vevent.get("RECURRENCE-ID") is not None:
            return ()
        lines: list[str] = []
        for key in ("RRULE", "EXRULE"):
            for rule in _many(vevent.get(key)):
                lines.append(f"{key}:{rule.to_ical().decode()}")
        zone_name = when.timezone if not when.all_day else None
        for key in ("EXDATE", "RDATE"):
            for prop in _many(vevent.get(key)):
                for value in prop.dts:
                    lines.append(_date_line(key, value.dt, zone_name))
        return tuple(lines)

    def _booking_id(self, vevent: Any) -> BookingId | None:
        value = vevent.get(BOOKING_ID_PROPERTY)
        found = clean_booking_id(str(value) if value is not None else None, self.href)
        return BookingId(found) if found is not None else None

    # -- a series ------------------------------------------------------------------------------------

    def series(self, master: RemoteEvent, overrides: Sequence[Any]) -> list[RemoteEvent]:
        """The master, its exceptions, and a second series per THISANDFUTURE override."""
        exceptions: list[tuple[datetime | date, RemoteEvent]] = []
        futures: list[tuple[datetime | date, Any]] = []
        for vevent in overrides:
            slot = self.slot(vevent)
            if str(vevent["RECURRENCE-ID"].params.get("RANGE", "")).upper() == "THISANDFUTURE":
                futures.append((slot, vevent))
                continue
            event = self.single(vevent, f"{self.href}#{_slot_key(slot)}")
            exceptions.append((slot, _as_exception(event, master.remote_id, slot)))
        if not master.recurrence or not futures:
            return [master, *(e for _, e in exceptions)]
        futures.sort(key=lambda item: _sort_instant(item[0]))
        result: list[RemoteEvent] = []
        current = master
        for slot, vevent in futures:
            shown = self.single(vevent, f"{self.href}#{_slot_key(slot)}+")
            head, tail = _split_series(current, slot, shown)
            first = current.when.start if current.when.start is not None else current.when.start_date
            if first is not None and _sort_instant(slot) <= _sort_instant(first):
                # The whole series changed from its first occurrence on: the rest is the series.
                current = replace(tail, remote_id=current.remote_id)
                continue
            result.append(head)
            current = tail
        result.append(current)
        owners = result
        for slot, exception in exceptions:
            owner = _owner_of(owners, slot)
            result.append(replace(exception, master_remote_id=owner.remote_id))
        return result


def _as_exception(event: RemoteEvent, master_id: str, slot: datetime | date) -> RemoteEvent:
    if isinstance(slot, datetime):
        return replace(event, master_remote_id=master_id, original_start=slot, recurrence=())
    return replace(event, master_remote_id=master_id, original_start_date=slot, recurrence=())


def _sort_instant(slot: datetime | date) -> datetime:
    if isinstance(slot, datetime):
        return slot
    return datetime(slot.year, slot.month, slot.day, tzinfo=UTC)


def _owner_of(series: Sequence[RemoteEvent], slot: datetime | date) -> RemoteEvent:
    """The series (the master or a later THISANDFUTURE part) whose span holds `slot`."""
    owner = series[0]
    for part in series[1:]:
        start = part.when.start if part.when.start is not None else part.when.start_date
        if start is not None and _sort_instant(start) <= _sort_instant(slot):
            owner = part
    return owner


def _split_series(
    master: RemoteEvent, slot: datetime | date, shown: RemoteEvent
) -> tuple[RemoteEvent, RemoteEvent]:
    """RANGE=THISANDFUTURE: the master ends before `slot`; the rest repeats as `shown` says.

    The rest keeps the master's rule from `slot` on (COUNT reduced by the occurrences already
    had) with the override's own start, end and properties.
    """
    rules = [line for line in master.recurrence if line.startswith("RRULE:")]
    others = [line for line in master.recurrence if not line.startswith("RRULE:")]
    head_rules: list[str] = []
    tail_rules: list[str] = []
    for line in rules:
        parts = dict(p.split("=", 1) for p in line.removeprefix("RRULE:").split(";") if "=" in p)
        before = _occurrences_before(master, line, slot)
        head = {k: v for k, v in parts.items() if k not in ("COUNT", "UNTIL")}
        tail = dict(parts)
        if "COUNT" in parts:
            head["COUNT"] = str(max(before, 1))
            tail["COUNT"] = str(max(int(parts["COUNT"]) - before, 0))
        else:
            head["UNTIL"] = _until_before(slot)
        head_rules.append("RRULE:" + ";".join(f"{k}={v}" for k, v in head.items()))
        if tail.get("COUNT") != "0":
            tail_rules.append("RRULE:" + ";".join(f"{k}={v}" for k, v in tail.items()))
    head_event = replace(master, recurrence=(*head_rules, *others))
    shift = _shift(master, slot, shown)
    tail_others = [_shift_line(line, shift) for line in others if line.startswith("EXDATE")]
    tail_event = replace(shown, recurrence=(*tail_rules, *tail_others), master_remote_id=None)
    return head_event, tail_event


def _occurrences_before(master: RemoteEvent, line: str, slot: datetime | date) -> int:
    """How many of the rule's occurrences come before `slot` (expanded in the master's zone)."""
    first = master.when.start if master.when.start is not None else master.when.start_date
    assert first is not None
    if isinstance(first, datetime):
        start = first.astimezone(ZoneInfo(master.when.timezone))
    else:
        start = datetime.combine(first, time(0), tzinfo=UTC)
    limit = _sort_instant(slot)
    rule = rrulestr(line.removeprefix("RRULE:"), dtstart=start)
    return sum(1 for moment in rule.between(start, limit, inc=True) if moment != limit)


def _until_before(slot: datetime | date) -> str:
    if isinstance(slot, datetime):
        return (slot.astimezone(UTC) - timedelta(seconds=1)).strftime("%Y%m%dT%H%M%SZ")
    return (slot - timedelta(days=1)).strftime("%Y%m%d")


def _shift(master: RemoteEvent, slot: datetime | date, shown: RemoteEvent) -> timedelta:
    if isinstance(slot, datetime) and shown.when.start is not None:
        return shown.when.start - slot
    if shown.when.start_date is not None and not isinstance(slot, datetime):
        return shown.when.start_date - slot
    return timedelta(0)


def _shift_line(line: str, shift: timedelta) -> str:
    """An EXDATE line of ours (UTC instants or dates) moved by `shift`."""
    head, _, values = line.partition(":")
    if not shift:
        return line
    moved: list[str] = []
    for value in values.split(","):
        if value.endswith("Z"):
            instant = _utc_value(value)
            moved.append((instant + shift).strftime("%Y%m%dT%H%M%SZ"))
        else:
            day = date(int(value[:4]), int(value[4:6]), int(value[6:8]))
            moved.append((day + timedelta(days=shift.days)).strftime("%Y%m%d"))
    return f"{head}:{','.join(moved)}"


def _utc_value(value: str) -> datetime:
    return datetime.strptime(value.removesuffix("Z") + "+0000", "%Y%m%dT%H%M%S%z")


# --- small readers ----------------------------------------------------------------------------------


def _many(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def _zone_name(value: Any, tzid: Any) -> str | None:
    """The IANA zone of a DTSTART: its ZoneInfo, or its TZID read as IANA or Windows name."""
    if not isinstance(value, datetime) or value.tzinfo is None:
        return None
    key = getattr(value.tzinfo, "key", None)
    if isinstance(key, str):
        return key
    if value.utcoffset() == timedelta(0) and tzid is None:
        return "UTC"
    if isinstance(tzid, str):
        named = iana_zone(tzid) or _iana_suffix(tzid)
        if named is not None:
            return named
    return None  # a private VTIMEZONE: its instants are right, a series repeats in UTC


def _iana_suffix(tzid: str) -> str | None:
    """IANA names hidden in vendor TZIDs such as "/freeassociation.sourceforge.net/Europe/London"."""
    parts = [p for p in tzid.split("/") if p]
    for size in (3, 2, 1):
        if len(parts) >= size:
            candidate = "/".join(parts[-size:])
            try:
                ZoneInfo(candidate)
            except (ZoneInfoNotFoundError, ValueError):
                continue
            return candidate
    return None


def _aware(value: datetime, zone_name: str | None) -> datetime:
    """A DATE-TIME as an aware instant; a floating one is read in the event's zone, else UTC."""
    if value.tzinfo is not None:
        return value
    return value.replace(tzinfo=ZoneInfo(zone_name) if zone_name else UTC)


def _date_line(key: str, value: Any, zone_name: str | None) -> str:
    if isinstance(value, datetime):
        instant = _aware(value, zone_name).astimezone(UTC)
        return f"{key}:{instant.strftime('%Y%m%dT%H%M%SZ')}"
    if isinstance(value, date):
        return f"{key};VALUE=DATE:{value.strftime('%Y%m%d')}"
    if isinstance(value, tuple) and value and isinstance(value[0], datetime):  # an RDATE PERIOD
        return _date_line(key, value[0], zone_name)
    raise ValueError(f"{key} holds a value that is neither a date nor a date-time")


def _instant(vevent: Any, key: str) -> datetime | None:
    if vevent.get(key) is None:
        return None
    try:
        value = vevent.decoded(key)
    except (ValueError, TypeError):
        return None
    return _aware(value, None).astimezone(UTC) if isinstance(value, datetime) else None


def _tag(vevent: Any) -> str | None:
    value = vevent.get(BOOKING_TAG_PROPERTY)
    text = str(value) if value is not None else ""
    return text if 0 < len(text) <= 256 else None


def _show_as(vevent: Any, status: str) -> ShowAs:
    busy = str(vevent.get("X-MICROSOFT-CDO-BUSYSTATUS", "")).upper()
    if busy == "OOF":
        return ShowAs.OUT_OF_OFFICE
    if busy == "FREE" or str(vevent.get("TRANSP", "OPAQUE")).upper() == "TRANSPARENT":
        return ShowAs.FREE
    if status == "TENTATIVE" or busy == "TENTATIVE":
        return ShowAs.TENTATIVE
    return ShowAs.BUSY


# --- writing bookings ---------------------------------------------------------------------------------


def booking_to_vcalendar(
    booking: Booking,
    customer: Customer,
    tech: Technician,
    *,
    uid: str,
    link: str,
    tag: str | None,
    stamp: datetime,
    office_phone: str = "",
) -> bytes:
    """The calendar object for a booking: one opaque VEVENT in the tech's zone, no attendees
    (so no server sends an invitation), our booking id and ownership tag in X- properties."""
    start, end = writable_span(booking)
    tz = tech_zone(tech.timezone)
    calendar = icalendar.Calendar()
    calendar.add("PRODID", PRODID)
    calendar.add("VERSION", "2.0")
    event = icalendar.Event()
    event.add("UID", uid)
    event.add("DTSTAMP", stamp.astimezone(UTC))
    event.add("DTSTART", _whole_seconds(start.astimezone(tz)))
    event.add("DTEND", _whole_seconds(end.astimezone(tz)))
    event.add("SUMMARY", booking_title(booking, customer))
    lines = [f"{label}: {text}" for label, text in booking_details(booking, customer)]
    reach = reach_text(link, office_phone)
    event.add("DESCRIPTION", "\n".join([*lines, "", reach]) if reach else "\n".join(lines))
    if customer.address.strip():
        event.add("LOCATION", customer.address.strip())
    if is_web_link(link):
        event.add("URL", link)
    event.add("TRANSP", "OPAQUE")
    event.add("COLOR", tech.color)  # RFC 7986; servers that do not know it keep it as written
    event.add(BOOKING_ID_PROPERTY, booking.id)
    event.add(BOOKING_VERSION_PROPERTY, str(booking.version))
    if tag is not None:
        event.add(BOOKING_TAG_PROPERTY, tag)
    calendar.add_component(event)
    calendar.add_missing_timezones()
    return bytes(calendar.to_ical())


def _whole_seconds(moment: datetime) -> datetime:
    return moment.replace(microsecond=0)


def object_content_hash(event: RemoteEvent) -> str:
    """The same hash the engine computes for an observed event (sync.engine.planner_inputs)."""
    when = event.when
    if when.start is not None and when.end is not None:
        times = {"start": {"dateTime": when.start.isoformat()}, "end": {"dateTime": when.end.isoformat()}}
    else:
        assert when.start_date is not None and when.end_date is not None
        times = {"start": {"date": when.start_date.isoformat()}, "end": {"date": when.end_date.isoformat()}}
    return booking_content_hash({"summary": event.title or "", **times})


def object_name(uid: str) -> str:
    """The resource name for a UID we chose: safe in a URL path as it is."""
    return f"{uid}.ics"
