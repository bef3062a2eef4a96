"""What a booking event says, read and written the same way for Google and Microsoft.

Both providers describe an event's start and end the same way at heart: an instant with an
offset, a wall-clock time plus a zone name (Windows or IANA), or a whole local date. This module
reads those shapes, renders the text a booking event carries, and hashes the fields Crewboard
owns so the engine can tell whether a technician moved or renamed a booking's event.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from app.domain.model import Booking, Customer, RemoteEvent
from app.domain.recurrence import InvalidRecurrence, expand
from app.domain.time import Interval, local_midnight
from sync.providers.errors import BadRemoteData
from sync.providers.windows_zones import iana_zone

log = logging.getLogger(__name__)

# Longest title we keep; a title is for a board tooltip, not a document.
MAX_TITLE = 255
# What a job event calls the link to the tech's job page (Google shows it as `source.title`).
JOB_PAGE_TITLE = "Job page"
# Longest remote id we accept; Google allows 1024 characters, Graph ids are about 150.
MAX_REMOTE_ID = 2048
# Booking ids we wrote are hex UUIDs; anything else in the tag is not ours.
_BOOKING_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DATE_TIME = re.compile(
    r"^(?P<head>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2})?)(?:\.(?P<frac>\d{1,9}))?(?P<offset>Z|z|[+-]\d{2}:?\d{2})?$"
)


@dataclass(frozen=True, slots=True)
class Moment:
    """One end of an event as a provider gave it: an instant in a known zone, or a local date."""

    instant: datetime | None = None  # aware UTC
    zone: str | None = None  # IANA name the provider named (None when it named none)
    day: date | None = None
    wall: datetime | None = None  # the provider's own wall-clock value, naive, when it sent one


# --- small readers ----------------------------------------------------------------------------


def remote_id_of(item: Mapping[str, Any]) -> str:
    """The event's id, checked: a non-empty string without NUL characters and of sane length."""
    value = item.get("id")
    if not isinstance(value, str) or not value:
        raise BadRemoteData(repr(value)[:80], "the event has no id")
    if "\x00" in value or len(value) > MAX_REMOTE_ID:
        raise BadRemoteData(value[:80], "the event id is not a usable identifier")
    return value


def clean_title(value: Any) -> str | None:
    """A title fit for the board: stripped, single-line, at most MAX_TITLE characters."""
    if not isinstance(value, str):
        return None
    text = " ".join(value[: MAX_TITLE * 4].split())
    if not text:
        return None
    return text if len(text) <= MAX_TITLE else text[: MAX_TITLE - 1] + "…"


def clean_booking_id(value: Any, remote_id: str) -> str | None:
    """The booking id from our tag, or None when the tag is missing or is not one we could have written."""
    if value is None:
        return None
    if isinstance(value, str) and _BOOKING_ID.match(value):
        return value
    log.warning("Ignoring a malformed booking tag on calendar event %r", remote_id[:80])
    return None


def parse_instant(text: Any, remote_id: str, what: str) -> datetime:
    """An RFC 3339 / ISO 8601 instant with an offset (a missing offset means UTC, as Graph writes)."""
    wall, offset = _split_date_time(text, remote_id, what)
    if offset is None:
        return wall.replace(tzinfo=UTC)
    return wall.replace(tzinfo=offset).astimezone(UTC)


def parse_date(text: Any, remote_id: str, what: str) -> date:
    if not isinstance(text, str) or not _DATE.match(text):
        raise BadRemoteData(remote_id, f"{what} {_shown(text)} is not a date like 2026-07-15")
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise BadRemoteData(remote_id, f"{what} {_shown(text)} is not a real date") from None


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _split_date_time(text: Any, remote_id: str, what: str) -> tuple[datetime, Any]:
    """A date-time's naive wall-clock part and its fixed offset (a tzinfo), or None without one."""
    match = _DATE_TIME.match(text) if isinstance(text, str) else None
    if match is None:
        raise BadRemoteData(remote_id, f"{what} {_shown(text)} is not a date-time")
    frac = (match.group("frac") or "")[:6].ljust(6, "0")
    offset_text = match.group("offset")
    try:
        wall = datetime.fromisoformat(f"{match.group('head')}.{frac}")
        if offset_text is None:
            return wall, None
        if offset_text in ("Z", "z"):
            return wall, UTC
        offset = datetime.fromisoformat(f"2000-01-01T00:00:00{offset_text}").tzinfo
    except ValueError:
        raise BadRemoteData(remote_id, f"{what} {_shown(text)} is not a real date-time") from None
    return wall, offset


def resolve_zone(name: Any, remote_id: str, fallback: str | None) -> str | None:
    """The IANA name for a provider's zone name; unknown names fall back (logged) or are refused.

    Returns None only when the provider named no zone at all.
    """
    if name is None or name == "":
        return None
    mapped = iana_zone(name) if isinstance(name, str) else None
    if mapped is not None:
        return mapped
    if fallback is not None:
        log.warning(
            "Calendar event %r names an unknown time zone %s; using the calendar's zone %s",
            remote_id[:80],
            _shown(name),
            fallback,
        )
        return fallback
    raise BadRemoteData(remote_id, f"the time zone {_shown(name)} is unknown")


def read_moment(
    value: Any, remote_id: str, what: str, *, fallback_zone: str | None, all_day: bool = False
) -> Moment:
    """Read a Google `EventDateTime` or a Graph `dateTimeTimeZone`.

    `date` means a whole local day. `dateTime` with an offset is an exact instant; without one it
    is a wall clock in `timeZone`. `all_day` (Graph's isAllDay) reads the date part of `dateTime`,
    because Graph writes all-day events midnight to midnight whatever zone was asked for.
    """
    if not isinstance(value, Mapping):
        raise BadRemoteData(remote_id, f"the event has no {what} time")
    has_date = value.get("date") is not None
    has_date_time = value.get("dateTime") is not None
    if has_date and has_date_time:
        raise BadRemoteData(remote_id, f"the {what} time mixes a date and a date-time")
    if has_date:
        return Moment(day=parse_date(value["date"], remote_id, f"the {what} date"))
    if not has_date_time:
        raise BadRemoteData(remote_id, f"the {what} time has neither a date nor a date-time")
    wall, offset = _split_date_time(value["dateTime"], remote_id, f"the {what} date-time")
    if all_day:
        # The dates are what counts; a zone nobody knows does not make them unreadable.
        raw_zone = value.get("timeZone")
        known = iana_zone(raw_zone) if isinstance(raw_zone, str) and raw_zone else None
        return Moment(day=wall.date(), zone=known, wall=wall)
    zone_name = resolve_zone(value.get("timeZone"), remote_id, fallback_zone)
    if offset is not None:
        return Moment(instant=wall.replace(tzinfo=offset).astimezone(UTC), zone=zone_name, wall=wall)
    interpret_in = zone_name or fallback_zone
    if interpret_in is None:
        raise BadRemoteData(remote_id, f"the {what} date-time has no offset and no time zone")
    local = wall.replace(tzinfo=ZoneInfo(interpret_in), fold=0)
    return Moment(instant=local.astimezone(UTC), zone=zone_name, wall=wall)


# --- what a booking event says ---------------------------------------------------------------


def booking_title(booking: Booking, customer: Customer) -> str:
    """The event title: "Service — Customer", or the service alone for a nameless customer."""
    service = booking.service.strip() or "Job"
    name = customer.name.strip()
    return f"{service} — {name}" if name else service


def duration_text(length: timedelta) -> str:
    minutes = int(length.total_seconds() // 60)
    hours, minutes = divmod(minutes, 60)
    if hours and minutes:
        return f"{hours} h {minutes} min"
    if hours:
        return f"{hours} h"
    return f"{minutes} min"


def booking_details(booking: Booking, customer: Customer) -> list[tuple[str, str]]:
    """The labelled lines a booking event shows, in order; empty values are left out."""
    lines = [
        ("Service", booking.service.strip()),
        ("Duration", duration_text(booking.duration)),
        ("Customer", customer.name.strip()),
        ("Address", customer.address.strip()),
        ("Phone", customer.phone.strip()),
        ("Job notes", booking.notes.strip()),
    ]
    return [(label, text) for label, text in lines if text]


def reach_line(link: str, office_phone: str) -> tuple[str, str] | None:
    """How the tech gets more about the job, as (label, text): the job page where the office serves
    one, else the office's number; None when there is neither. Never a link a phone cannot open."""
    if is_web_link(link):
        return ("Job page", link)
    if office_phone.strip():
        return ("Call the office at", office_phone.strip())
    return None


def reach_text(link: str, office_phone: str) -> str | None:
    """The closing line of a job event's description: "Job page: https://…" or "Call the office at …"."""
    found = reach_line(link, office_phone)
    if found is None:
        return None
    label, text = found
    return f"{label}: {text}" if is_web_link(text) else f"{label} {text}."


def is_web_link(link: str) -> bool:
    """Whether `link` is an http(s) URL (Google's `source.url` accepts nothing else)."""
    return re.match(r"^https?://[^\s]+$", link, re.IGNORECASE) is not None


def writable_span(booking: Booking) -> tuple[datetime, datetime]:
    """The booking's start and end, or ValueError: an event needs a scheduled time."""
    if booking.start is None or booking.end is None:
        raise ValueError(f"booking {booking.id} has no start, so it has no calendar event")
    if booking.start.tzinfo is None:
        raise ValueError(f"booking {booking.id} has a naive start")
    return booking.start, booking.end


# --- moved-by-tech detection ---------------------------------------------------------------


def _span(item: Mapping[str, Any], remote_id: str) -> tuple[Moment, Moment]:
    all_day = item.get("isAllDay") is True
    start = read_moment(item.get("start"), remote_id, "start", fallback_zone=None, all_day=all_day)
    end = read_moment(item.get("end"), remote_id, "end", fallback_zone=None, all_day=all_day)
    if (start.day is None) != (end.day is None):
        raise BadRemoteData(remote_id, "the start and end times are of different kinds")
    return start, end


def _item_id(item: Mapping[str, Any]) -> str:
    value = item.get("id")
    return value if isinstance(value, str) and value else "(new event)"


def booking_event_times(item: Mapping[str, Any], *, all_day_zone: str = "UTC") -> tuple[datetime, datetime]:
    """Start and end of a Google or Graph event as aware UTC instants.

    Works on what we wrote and on what the provider sends back, for both providers. An event the
    technician turned into an all-day one spans the local days in `all_day_zone`.
    """
    remote_id = _item_id(item)
    start, end = _span(item, remote_id)
    if start.day is not None and end.day is not None:
        tz = ZoneInfo(all_day_zone)
        return local_midnight(start.day, tz), local_midnight(end.day, tz)
    assert start.instant is not None and end.instant is not None
    return start.instant, end.instant


def booking_content_hash(payload: Mapping[str, Any]) -> str:
    """A stable hash of the fields we own that a technician may change: start, end and title.

    The same event hashes the same whether we read it from the body we wrote or from the
    provider's answer (Graph's UTC times and 7-digit fractions, Google's offsets), so a changed hash
    means the technician moved or renamed the booking's event.
    """
    remote_id = _item_id(payload)
    start, end = _span(payload, remote_id)
    title = payload.get("summary") if "summary" in payload else payload.get("subject")
    if start.day is not None and end.day is not None:
        times = [f"date:{start.day.isoformat()}", f"date:{end.day.isoformat()}"]
    else:
        assert start.instant is not None and end.instant is not None
        times = [start.instant.isoformat(), end.instant.isoformat()]
    canonical = json.dumps(
        {"v": 1, "start": times[0], "end": times[1], "title": clean_title(title) or ""},
        sort_keys=True,
        ensure_ascii=True,
    )
    return hashlib.sha256(canonical.encode("ascii")).hexdigest()


# --- recurrence lines ---------------------------------------------------------------------------

# Sub-daily rules are not something a calendar UI creates; they would flood the expansion.
_RUNAWAY_FREQ = re.compile(r"(?:^|;)\s*FREQ\s*=\s*(SECONDLY|MINUTELY)\s*(?:;|$)", re.IGNORECASE)
MAX_RECURRENCE_LINES = 2000


def check_recurrence(event: RemoteEvent) -> None:
    """Refuse recurrence lines the expansion could not follow, naming the reason.

    The lines are read by the same code that later expands them, over the series' first day,
    so an event accepted here cannot fail there for a reason found in its lines.
    """
    if not event.recurrence:
        return
    if len(event.recurrence) > MAX_RECURRENCE_LINES:
        raise BadRemoteData(event.remote_id, f"the series has {len(event.recurrence)} recurrence lines")
    for line in event.recurrence:
        head, _, value = line.partition(":")
        if head.strip().upper() not in ("RRULE", "EXRULE"):
            continue
        if _RUNAWAY_FREQ.search(value):
            raise BadRemoteData(event.remote_id, f"the rule {_shown(line)} repeats more often than daily")
        if _never_matches(value):
            raise BadRemoteData(event.remote_id, f"the rule {_shown(line)} names days its months do not have")
    if event.when.start is not None:
        first = event.when.start.astimezone(UTC)
    else:
        assert event.when.start_date is not None
        first = datetime.combine(event.when.start_date, time(0, 0), tzinfo=UTC)
    try:
        expand(event, [], Interval(first, first + timedelta(days=1)), max_occurrences=10)
    except InvalidRecurrence as error:
        raise BadRemoteData(event.remote_id, f"its recurrence cannot be read ({error})") from None


_MONTH_DAYS = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def _never_matches(value: str) -> bool:
    """A rule whose BYMONTHDAY days exist in none of its BYMONTH months (February 30th).

    Such a rule yields nothing after its first start, and finding that out makes the rule
    arithmetic walk day by day to the year 9999 on every expansion.
    """
    parts: dict[str, str] = {}
    for pair in value.split(";"):
        key, _, setting = pair.partition("=")
        parts[key.strip().upper()] = setting.strip()
    if "BYMONTH" not in parts or "BYMONTHDAY" not in parts:
        return False
    try:
        months = [int(m) for m in parts["BYMONTH"].split(",")]
        days = [int(d) for d in parts["BYMONTHDAY"].split(",")]
    except ValueError:
        return False  # the rule parser says what is wrong with it
    if any(not 1 <= m <= 12 for m in months) or any(d < 0 for d in days):
        return False
    longest = max(_MONTH_DAYS[m - 1] for m in months)
    return min(days) > longest
