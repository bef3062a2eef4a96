"""Bookings waiting for the sync planner, kept in the order they changed."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Select, delete, or_, select

from app.domain.ids import BookingId, CalendarId, OutboxId, TechId
from app.domain.model import OutboxItem
from storage.orm import OutboxRow
from storage.repositories.base import SqlRepository, assign


def _values(item: OutboxItem) -> dict[str, Any]:
    return {
        "booking_id": item.booking_id,
        "tech_id": item.tech_id,
        "created_at": item.created_at,
        "attempts": item.attempts,
        "next_attempt": item.next_attempt,
        "last_error": item.last_error,
        "calendar_id": item.calendar_id,
        "remote_id": item.remote_id,
    }


def _item(row: OutboxRow) -> OutboxItem:
    return OutboxItem(
        id=OutboxId(row.id),
        booking_id=BookingId(row.booking_id),
        tech_id=None if row.tech_id is None else TechId(row.tech_id),
        created_at=row.created_at,
        attempts=row.attempts,
        next_attempt=row.next_attempt,
        last_error=row.last_error,
        calendar_id=None if row.calendar_id is None else CalendarId(row.calendar_id),
        remote_id=row.remote_id,
    )


class SqlOutboxRepository(SqlRepository):
    def add(self, item: OutboxItem) -> None:
        self._session.add(OutboxRow(id=item.id, **_values(item)))

    def update(self, item: OutboxItem) -> None:
        row = self._session.scalars(select(OutboxRow).where(OutboxRow.id == item.id)).one_or_none()
        if row is None:
            # The write was done and removed meanwhile; nothing is left to update.
            return
        assign(row, _values(item))

    def remove(self, item_id: OutboxId) -> None:
        self._session.execute(delete(OutboxRow).where(OutboxRow.id == item_id))

    def due(self, now: datetime, limit: int = 100) -> list[OutboxItem]:
        """Items never tried or whose retry time has come, oldest write first."""
        query = select(OutboxRow).where(or_(OutboxRow.next_attempt.is_(None), OutboxRow.next_attempt <= now))
        return self._fetch(query.limit(limit))

    def pending(self) -> list[OutboxItem]:
        return self._fetch(select(OutboxRow))

    def for_booking(self, booking_id: BookingId) -> list[OutboxItem]:
        return self._fetch(select(OutboxRow).where(OutboxRow.booking_id == booking_id))

    def _fetch(self, query: Select[OutboxRow]) -> list[OutboxItem]:
        return [_item(row) for row in self._session.scalars(query.order_by(OutboxRow.seq))]
