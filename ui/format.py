"""How times, spans and durations read on screen: one place, so every screen says them alike."""

from __future__ import annotations

from datetime import datetime, timedelta, tzinfo

from app.domain.time import Interval, zone


def clock(instant: datetime, tz: tzinfo) -> str:
    return instant.astimezone(tz).strftime("%H:%M")


def clock_range(span: Interval, tz: tzinfo, with_day: bool = False) -> str:
    """'09:00–10:30', or 'Tue 24 Nov, 09:00–10:30' with the day."""
    start, end = span.start.astimezone(tz), span.end.astimezone(tz)
    text = f"{start:%H:%M}–{end:%H:%M}"
    if end.date() != start.date() and not (end.hour == 0 and end.minute == 0):
        text = f"{start:%H:%M}–{end:%a} {end:%H:%M}"
    return f"{day_text(start)}, {text}" if with_day else text


def day_text(moment: datetime) -> str:
    return f"{moment:%a} {moment.day} {moment:%b}"


def duration_text(duration: timedelta) -> str:
    """'45 min', '2 h', '1 h 30 min'."""
    minutes = int(duration.total_seconds() // 60)
    hours, rest = divmod(minutes, 60)
    if not hours:
        return f"{rest} min"
    return f"{hours} h" if not rest else f"{hours} h {rest} min"


def utc_offset_text(offset: timedelta) -> str:
    minutes = int(offset.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "−"
    hours, rest = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours}" + (f":{rest:02d}" if rest else "")


def zone_label(name: str, at: datetime, office: tzinfo) -> str:
    """'Denver · UTC−7', plus how far from the office clock when it differs ('· 1 h behind')."""
    tz = zone(name)
    city = name.rsplit("/", 1)[-1].replace("_", " ")
    offset = at.astimezone(tz).utcoffset() or timedelta()
    text = f"{city} · {utc_offset_text(offset)}"
    difference = zone_difference(name, at, office)
    return f"{text} · {difference}" if difference else text


def zone_difference(name: str, at: datetime, office: tzinfo) -> str:
    """'1 h behind', '5.5 h ahead', or '' when the zone keeps office time at `at`."""
    offset = at.astimezone(zone(name)).utcoffset() or timedelta()
    office_offset = at.astimezone(office).utcoffset() or timedelta()
    hours = (offset - office_offset).total_seconds() / 3600
    if not hours:
        return ""
    return f"{abs(hours):g} h {'ahead' if hours > 0 else 'behind'}"


def ago(then: datetime, now: datetime) -> str:
    """'just now', '2 min ago', '3 h ago', '2 days ago'."""
    seconds = max(0, int((now - then).total_seconds()))
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{seconds // 60} min ago"
    if seconds < 86400:
        hours, rest = divmod(seconds // 60, 60)
        return f"{hours} h ago" if hours >= 3 or not rest else f"{hours} h {rest} min ago"
    days = seconds // 86400
    return f"{days} day{'s' if days != 1 else ''} ago"
