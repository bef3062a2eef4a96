"""What the window's navigator and status bar say about the shown period: pure text, no widgets."""

from __future__ import annotations

from datetime import date, timedelta

from app.services.board import BoardSnapshot
from ui.board.layout import BoardMode, period_start
from ui.format import duration_text


def period_text(mode: BoardMode, anchor: date) -> str:
    """'Tuesday 24 November 2026', or 'Week of 23–29 Nov 2026' ('30 Nov–6 Dec 2026' across months)."""
    first = period_start(mode, anchor)
    if mode is BoardMode.DAY:
        return f"{first:%A} {first.day} {first:%B %Y}"
    last = first + timedelta(days=6)
    start_text = f"{first.day}" if first.month == last.month else f"{first.day} {first:%b}"
    return f"Week of {start_text}–{last.day} {last:%b %Y}"


def summary_text(snapshot: BoardSnapshot, mode: BoardMode, showing_today: bool) -> str:
    """Techs, live jobs and their hours, unassigned jobs and open conflicts of the shown period."""
    jobs = [b for row in snapshot.rows for b in row.bookings if b.is_live]
    hours = sum((b.duration for b in jobs), timedelta())
    period = "today" if mode is BoardMode.DAY else "this week"
    if mode is BoardMode.DAY and not showing_today:
        period = "this day"
    parts = [
        f"{len(snapshot.rows)} technician{'s' if len(snapshot.rows) != 1 else ''}",
        f"{len(jobs)} job{'s' if len(jobs) != 1 else ''} {period} ({duration_text(hours)})",
        f"{len(snapshot.unassigned)} unassigned",
    ]
    if snapshot.open_conflicts:
        parts.append(f"{len(snapshot.open_conflicts)} open conflict(s)")
    return "   ·   ".join(parts)


def calendars_text(snapshot: BoardSnapshot) -> str:
    """How many techs have a calendar connected; empty on a board with no techs and no accounts."""
    accounts = [a for row in snapshot.rows for a in row.accounts]
    connected = sum(1 for row in snapshot.rows if row.accounts)
    if not (accounts or snapshot.rows):
        return ""
    return f"Calendars: {connected} of {len(snapshot.rows)} technicians connected"
