"""Change-feed cursors carry the day their read window was set, so the window rolls forward.

A Graph delta link keeps the window of the read that started it for as long as it lives, and a
Google sync token keeps the `timeMin` of its full read: without a restart, a calendar would stop
being read past the horizon it had on the day it was connected. The engine therefore stamps each
stored cursor with the day of its window and starts a fresh full read (which never doubles
anything) once that day has passed.
"""

from __future__ import annotations

from datetime import date

_SEP = "|"


def stamp(cursor: str, window_day: date) -> str:
    """`cursor` as stored: the provider's cursor behind the day its window was set."""
    return f"{window_day.isoformat()}{_SEP}{cursor}"


def current(stored: str | None, today: date) -> str | None:
    """The provider cursor to continue from, or None when a full read is due (none, or a stale window)."""
    if not stored:
        return None
    day, sep, cursor = stored.partition(_SEP)
    if not sep or day != today.isoformat() or not cursor:
        return None
    return cursor
