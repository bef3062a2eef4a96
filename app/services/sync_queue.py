"""Telling the sync planner that a booking changed: one outbox row, in the change's own transaction.

The row says only "plan this booking's calendar event again". What to write (create, update, delete,
nothing) is the planner's decision alone (sync.core.planner), made from the booking, the calendar
and their last agreement when the row comes due.
"""

from __future__ import annotations

from datetime import datetime

from app.domain.ids import BookingId, CalendarId, OutboxId, TechId, new_id
from app.domain.model import OutboxItem


def changed_row(
    booking_id: BookingId,
    tech_id: TechId | None,
    now: datetime,
    *,
    calendar_id: CalendarId | None = None,
    remote_id: str | None = None,
) -> OutboxItem:
    """A row due at once. `tech_id` is a tech whose calendar may hold the event (the one the
    booking was taken from, on a reassignment); `calendar_id`/`remote_id` the event a read saw."""
    return OutboxItem(
        id=OutboxId(new_id()),
        booking_id=booking_id,
        tech_id=tech_id,
        created_at=now,
        next_attempt=now,
        calendar_id=calendar_id,
        remote_id=remote_id,
    )
