"""Bookings, with the overlap query the board and the schedule read all day."""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row, Select, select

from app.domain.ids import BookingId, CustomerId, TechId
from app.domain.model import Booking, BookingStatus
from app.domain.time import Interval
from storage.orm import BookingRow
from storage.repositories.base import SqlRepository, assign, existing, like_prefix


def _values(booking: Booking) -> dict[str, Any]:
    return {
        "customer_id": booking.customer_id,
        "tech_id": booking.tech_id,
        "service": booking.service,
        "start": booking.start,
        "duration": booking.duration,
        "end": booking.end,  # stored so overlap queries can use an index
        "notes": booking.notes,
        "status": booking.status,
        "forced": booking.forced,
        "created_at": booking.created_at,
        "updated_at": booking.updated_at,
        "version": booking.version,
    }


def _booking(row: BookingRow | Row[Any]) -> Booking:
    return Booking(
        id=BookingId(row.id),
        customer_id=CustomerId(row.customer_id),
        tech_id=None if row.tech_id is None else TechId(row.tech_id),
        service=row.service,
        start=row.start,
        duration=row.duration,
        notes=row.notes,
        status=row.status,
        forced=row.forced,
        created_at=row.created_at,
        updated_at=row.updated_at,
        version=row.version,
    )


# What _fetch reads, in the order it unpacks them (the stored `end` is for the index only).
_LISTED = tuple(
    BookingRow.__table__.c[name]
    for name in (
        "id",
        "customer_id",
        "tech_id",
        "service",
        "start",
        "duration",
        "notes",
        "status",
        "forced",
        "created_at",
        "updated_at",
        "version",
    )
)


def _in_time_order(query: Select[BookingRow]) -> Select[BookingRow]:
    """Scheduled first by start, then unscheduled ones by creation; the id breaks ties."""
    return query.order_by(BookingRow.start.is_(None), BookingRow.start, BookingRow.created_at, BookingRow.id)


class SqlBookingRepository(SqlRepository):
    def add(self, booking: Booking) -> None:
        self._session.add(BookingRow(id=booking.id, **_values(booking)))

    def update(self, booking: Booking) -> None:
        assign(existing(self._session, BookingRow, booking.id, "booking"), _values(booking))

    def get(self, booking_id: BookingId) -> Booking | None:
        row = self._session.get(BookingRow, booking_id)
        return None if row is None else _booking(row)

    def by_prefix(self, prefix: str) -> builtins.list[Booking]:
        query = select(BookingRow).where(BookingRow.id.like(like_prefix(prefix), escape="\\"))
        return self._fetch(query.order_by(BookingRow.id))

    def between(
        self, window: Interval, tech_ids: Sequence[TechId] | None = None, live_only: bool = True
    ) -> builtins.list[Booking]:
        """Bookings overlapping the half-open `window`; bookings without a start never overlap."""
        query = select(BookingRow).where(BookingRow.end > window.start, BookingRow.start < window.end)
        if tech_ids is not None:
            query = query.where(BookingRow.tech_id.in_(tech_ids))
        if live_only:
            query = query.where(BookingRow.status == BookingStatus.SCHEDULED)
        return self._fetch(_in_time_order(query))

    def spans(self, window: Interval, tech_ids: Sequence[TechId]) -> builtins.list[tuple[TechId, Interval]]:
        query = select(BookingRow.tech_id, BookingRow.start, BookingRow.end).where(
            BookingRow.end > window.start,
            BookingRow.start < window.end,
            BookingRow.tech_id.in_(tech_ids),
            BookingRow.status == BookingStatus.SCHEDULED,
        )
        return [
            (TechId(tech), Interval(start, end))
            for tech, start, end in self._session.execute(query)
            if tech is not None and start is not None and end is not None
        ]

    def unassigned(self) -> builtins.list[Booking]:
        query = select(BookingRow).where(
            BookingRow.tech_id.is_(None), BookingRow.status == BookingStatus.SCHEDULED
        )
        return self._fetch(_in_time_order(query))

    def list(self, live_only: bool = False) -> builtins.list[Booking]:
        query = select(BookingRow)
        if live_only:
            query = query.where(BookingRow.status == BookingStatus.SCHEDULED)
        return self._fetch(_in_time_order(query))

    def _fetch(self, query: Select[BookingRow]) -> builtins.list[Booking]:
        # Plain rows, not ORM objects, on the session's connection (no ORM loading step) and without
        # the stored end: lists feed the board and availability, which only read them, and a week of
        # 200 techs is 5,000 jobs. The connection does not flush by itself as the session would.
        if self._session.autoflush:
            self._session.flush()
        rows = self._session.connection().execute(
            query.with_only_columns(*_LISTED, maintain_column_froms=True)
        )
        return [
            Booking(
                BookingId(id_),
                CustomerId(customer),
                None if tech is None else TechId(tech),
                service,
                start,
                duration,
                notes,
                status,
                forced,
                created,
                updated,
                version,
            )
            for id_, customer, tech, service, start, duration, notes, status, forced, created, updated, version in rows
        ]
