"""Asking the outbound planner to look at a booking again.

The planner runs only for bookings with a due outbox row. Whatever learns that a booking and its
event may disagree (a read that saw the tech change the event, a move that followed the tech's
edit) queues one of these rows, committed in the same unit of work as what it learned.
"""

from __future__ import annotations

from datetime import datetime

from app.domain.ids import CalendarId, OutboxId, new_id
from app.domain.model import Booking, OutboxAction, OutboxItem


def planner_item(booking: Booking, calendar_id: CalendarId, remote_id: str, now: datetime) -> OutboxItem:
    """A row that makes the next flush plan `booking` against its event `remote_id`."""
    return OutboxItem(
        id=OutboxId(new_id()),
        booking_id=booking.id,
        action=OutboxAction.UPDATE,
        tech_id=booking.tech_id,
        idempotency_key=f"{booking.id}:calendar:{new_id()}",
        created_at=now,
        next_attempt=now,
        calendar_id=calendar_id,
        remote_id=remote_id,
    )
