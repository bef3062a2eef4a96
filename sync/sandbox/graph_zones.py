"""Time zones and date-time formats as Microsoft Graph writes and reads them.

Graph names zones the Windows way ("Pacific Standard Time") and also accepts a set of IANA
names. We map with tzlocal's CLDR-derived tables, and format instants the way Graph does: seven
fractional digits, `Z` for UTC instants, no offset inside a `dateTimeTimeZone`.
"""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from tzlocal.windows_tz import tz_win, win_tz

UTC = dt.UTC

_FRACTION = re.compile(
    r"^(?P<head>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2})?)(?:\.(?P<frac>\d{1,7}))?(?P<tail>.*)$"
)


class ZoneError(ValueError):
    """A zone name neither Windows nor IANA knows."""


class DateFormatError(ValueError):
    """A date-time string Graph would refuse."""


def zone_of(name: str) -> ZoneInfo:
    """The IANA zone for a Windows or IANA zone name, as Graph's `timeZone` fields accept both."""
    if not name:
        raise ZoneError(name)
    iana = win_tz.get(name)
    if iana is None and name.upper() == "UTC":
        iana = "UTC"
    if iana is None:
        iana = name
    try:
        return ZoneInfo(iana)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ZoneError(name) from exc


def windows_name(zone: str) -> str:
    """The Windows name for an IANA zone (Graph prefers them), or the name unchanged."""
    if zone in win_tz or zone == "UTC":
        return zone
    return str(tz_win.get(zone, zone))


def parse_local(text: str) -> dt.datetime:
    """Parse a Graph `dateTime` (up to 7 fractional digits). Naive stays naive; an offset is kept."""
    match = _FRACTION.match(text.strip()) if isinstance(text, str) else None
    if match is None:
        raise DateFormatError(text)
    frac = (match.group("frac") or "")[:6]
    tail = match.group("tail")
    if tail in ("Z", "z"):
        tail = "+00:00"
    candidate = match.group("head") + (f".{frac.ljust(6, '0')}" if frac else "") + tail
    try:
        return dt.datetime.fromisoformat(candidate)
    except ValueError as exc:
        raise DateFormatError(text) from exc


def parse_instant(text: str) -> dt.datetime:
    """Parse an ISO 8601 instant; without an offset Graph reads it as UTC."""
    value = parse_local(text)
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def to_utc(local: dt.datetime, zone: str) -> dt.datetime:
    """A wall-clock time in a named zone as an aware UTC instant."""
    if local.tzinfo is not None:
        return local.astimezone(UTC)
    return local.replace(tzinfo=zone_of(zone)).astimezone(UTC)


def format_local(value: dt.datetime) -> str:
    """`2025-03-01T09:00:00.0000000`: the `dateTime` of a Graph dateTimeTimeZone."""
    return f"{value:%Y-%m-%dT%H:%M:%S}.{value.microsecond:06d}0"


def format_instant(value: dt.datetime) -> str:
    """`2025-03-01T09:00:00.0000000Z`: a Graph DateTimeOffset in UTC."""
    return format_local(value.astimezone(UTC)) + "Z"


def in_zone(instant: dt.datetime, zone: str) -> dt.datetime:
    """The naive wall-clock time of a UTC instant in a Windows or IANA zone."""
    return instant.astimezone(zone_of(zone)).replace(tzinfo=None)
