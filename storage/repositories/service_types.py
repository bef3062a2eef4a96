"""Service types and their qualified techs, automatic assignments, and which jobs were booked online."""

from __future__ import annotations

import builtins
from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from app.domain.ids import BookingId, TechId
from app.domain.service_types import (
    AutoAssignment,
    OnlineBooking,
    ServiceType,
    ServiceTypeId,
)
from app.domain.time import Interval
from storage.orm import BookingRow
from storage.repositories.base import SqlRepository, existing
from storage.repositories.slot_reads import SqlSlotReads
from storage.service_type_rows import AutoAssignmentRow, OnlineBookingRow, QualificationRow, ServiceTypeRow


def name_key(name: str) -> str:
    return " ".join(name.split()).casefold()


class SqlServiceTypeRepository(SqlRepository):
    def add(self, service: ServiceType) -> None:
        self._session.add(
            ServiceTypeRow(
                id=service.id,
                name=service.name,
                name_key=name_key(service.name),
                duration=service.duration,
                buffer_after=service.buffer_after,
            )
        )
        self._qualify(service)

    def update(self, service: ServiceType) -> None:
        row = existing(self._session, ServiceTypeRow, service.id, "service type")
        row.name = service.name
        row.name_key = name_key(service.name)
        row.duration = service.duration
        row.buffer_after = service.buffer_after
        self._session.execute(delete(QualificationRow).where(QualificationRow.service_type_id == service.id))
        self._qualify(service)

    def remove(self, service_id: ServiceTypeId) -> None:
        self._session.execute(delete(QualificationRow).where(QualificationRow.service_type_id == service_id))
        self._session.execute(delete(ServiceTypeRow).where(ServiceTypeRow.id == service_id))

    def get(self, service_id: ServiceTypeId) -> ServiceType | None:
        row = self._session.get(ServiceTypeRow, service_id)
        return None if row is None else self._load([row])[0]

    def by_name(self, name: str) -> ServiceType | None:
        row = self._session.scalars(
            select(ServiceTypeRow).where(ServiceTypeRow.name_key == name_key(name))
        ).first()
        return None if row is None else self._load([row])[0]

    def list(self) -> builtins.list[ServiceType]:
        rows = self._session.scalars(select(ServiceTypeRow).order_by(ServiceTypeRow.name_key)).all()
        return self._load(rows)

    def _qualify(self, service: ServiceType) -> None:
        self._session.add_all(
            QualificationRow(service_type_id=service.id, tech_id=tech) for tech in sorted(service.qualified)
        )

    def _load(self, rows: Sequence[ServiceTypeRow]) -> builtins.list[ServiceType]:
        ids = [row.id for row in rows]
        qualified: dict[str, set[TechId]] = {key: set() for key in ids}
        if ids:
            query = select(QualificationRow.service_type_id, QualificationRow.tech_id).where(
                QualificationRow.service_type_id.in_(ids)
            )
            for service_id, tech_id in self._session.execute(query):
                qualified[service_id].add(TechId(tech_id))
        return [
            ServiceType(
                ServiceTypeId(row.id), row.name, row.duration, row.buffer_after, frozenset(qualified[row.id])
            )
            for row in rows
        ]


class SqlAssignmentLog(SqlRepository):
    def record(self, item: AutoAssignment) -> None:
        self._session.merge(
            AutoAssignmentRow(
                booking_id=item.booking_id,
                tech_id=item.tech_id,
                assigned_at=item.assigned_at,
                explanation=item.explanation,
                service_type_id=item.service_type_id,
            )
        )

    def for_booking(self, booking_id: BookingId) -> AutoAssignment | None:
        row = self._session.get(AutoAssignmentRow, booking_id)
        if row is None:
            return None
        return AutoAssignment(
            BookingId(row.booking_id),
            TechId(row.tech_id),
            row.assigned_at,
            row.explanation,
            None if row.service_type_id is None else ServiceTypeId(row.service_type_id),
        )

    def explanations(self, booking_ids: Iterable[BookingId]) -> dict[BookingId, str]:
        """Why the rule gave each of these jobs to its tech (jobs assigned by hand are left out)."""
        ids = builtins.list(booking_ids)
        if not ids:
            return {}
        query = select(AutoAssignmentRow.booking_id, AutoAssignmentRow.explanation).where(
            AutoAssignmentRow.booking_id.in_(ids)
        )
        return {BookingId(booking): text for booking, text in self._session.execute(query)}

    def explanations_between(self, window: Interval) -> dict[BookingId, str]:
        """`explanations` of the jobs overlapping `window`: by the jobs' index, not an IN list (the
        board's week holds thousands of jobs; only those assigned by rule have a row here)."""
        query = (
            select(AutoAssignmentRow.booking_id, AutoAssignmentRow.explanation)
            .join(BookingRow, BookingRow.id == AutoAssignmentRow.booking_id)
            .where(BookingRow.end > window.start, BookingRow.start < window.end)
        )
        return {BookingId(booking): text for booking, text in self._session.execute(query)}

    def last_assigned(self, tech_ids: Iterable[TechId]) -> dict[TechId, datetime]:
        """When each of these techs last got a job by rule (techs never assigned are left out)."""
        ids = builtins.list(tech_ids)
        if not ids:
            return {}
        query = (
            select(AutoAssignmentRow.tech_id, func.max(AutoAssignmentRow.assigned_at))
            .where(AutoAssignmentRow.tech_id.in_(ids))
            .group_by(AutoAssignmentRow.tech_id)
        )
        return {TechId(tech_id): at for tech_id, at in self._session.execute(query)}


class SqlOnlineBookingRepository(SqlRepository):
    def add(self, item: OnlineBooking) -> None:
        self._session.add(
            OnlineBookingRow(
                booking_id=item.booking_id, service_type_id=item.service_type_id, created_at=item.created_at
            )
        )

    def get(self, booking_id: BookingId) -> OnlineBooking | None:
        row = self._session.get(OnlineBookingRow, booking_id)
        if row is None:
            return None
        return OnlineBooking(
            BookingId(row.booking_id),
            None if row.service_type_id is None else ServiceTypeId(row.service_type_id),
            row.created_at,
        )

    def online_among(self, booking_ids: Iterable[BookingId]) -> set[BookingId]:
        """Which of these bookings were made on the booking page."""
        ids = builtins.list(booking_ids)
        if not ids:
            return set()
        query = select(OnlineBookingRow.booking_id).where(OnlineBookingRow.booking_id.in_(ids))
        return {BookingId(value) for value in self._session.scalars(query)}

    def online_between(self, window: Interval) -> set[BookingId]:
        """The jobs overlapping `window` that were booked on the page (see `explanations_between`)."""
        query = (
            select(OnlineBookingRow.booking_id)
            .join(BookingRow, BookingRow.id == OnlineBookingRow.booking_id)
            .where(BookingRow.end > window.start, BookingRow.start < window.end)
        )
        return {BookingId(value) for value in self._session.scalars(query)}


class SqlBookingPageStore:
    """The booking page's repositories over one unit of work's Session."""

    def __init__(self, session: Session) -> None:
        self.service_types = SqlServiceTypeRepository(session)
        self.assignments = SqlAssignmentLog(session)
        self.online = SqlOnlineBookingRepository(session)
        self.slot_reads = SqlSlotReads(session)
