"""Deciding sync conflicts by hand: keep the booking, reschedule it, or give it to another tech.

Sync never settles these on its own (DESIGN.md "Conflicts"). What each decision does:
- keep, after the tech deleted the job's event: the event is written again;
- keep, after both sides changed the job: the board's version is written over the tech's;
- keep, over a personal event: the job stays where it is, marked as forced;
- reschedule / reassign: an ordinary booking change, which the calendar then follows.
Every decision is recorded with who made it and when.
"""

from __future__ import annotations

import builtins
from dataclasses import replace
from datetime import datetime

from app.bus import Bus, ConflictChanged, OutboxQueued
from app.domain.ids import ConflictId
from app.domain.model import (
    REWRITE_BOOKING_VERSION,
    AuditEntry,
    Booking,
    Conflict,
    ConflictKind,
    ConflictStatus,
    Resolution,
)
from app.domain.time import Clock
from app.errors import InvalidInput, Refused
from app.services.bookings import BookingService
from app.services.lookup import by_id_or_prefix
from app.services.ports import UnitOfWork, UnitOfWorkFactory
from app.services.sync_queue import changed_row


def find_conflict(uow: UnitOfWork, id_or_prefix: str) -> Conflict:
    """A conflict by full id or by an unambiguous prefix of at least 4 characters."""
    return by_id_or_prefix(
        id_or_prefix,
        lambda key: uow.conflicts.get(ConflictId(key)),
        uow.conflicts.by_prefix,
        noun="conflict",
        listing="crewboard conflicts",
        min_prefix=4,
    )


class ConflictService:
    def __init__(
        self, uow_factory: UnitOfWorkFactory, clock: Clock, bus: Bus, bookings: BookingService
    ) -> None:
        self._uow = uow_factory
        self._clock = clock
        self._bus = bus
        self._bookings = bookings

    def list(self, include_resolved: bool = False) -> builtins.list[Conflict]:
        """Open conflicts, oldest first; with `include_resolved`, every conflict ever opened."""
        with self._uow() as uow:
            return uow.conflicts.list() if include_resolved else uow.conflicts.open()

    def get(self, id_or_prefix: str) -> Conflict:
        with self._uow() as uow:
            return find_conflict(uow, id_or_prefix)

    def keep(self, id_or_prefix: str, actor: str = "dispatcher") -> Conflict:
        return self.resolve(id_or_prefix, Resolution.KEEP, actor=actor)

    def reschedule(
        self,
        id_or_prefix: str,
        start: datetime,
        actor: str = "dispatcher",
        expected_version: int | None = None,
    ) -> Conflict:
        return self.resolve(
            id_or_prefix, Resolution.RESCHEDULE, start=start, actor=actor, expected_version=expected_version
        )

    def reassign(
        self, id_or_prefix: str, tech: str, actor: str = "dispatcher", expected_version: int | None = None
    ) -> Conflict:
        return self.resolve(
            id_or_prefix, Resolution.REASSIGN, tech=tech, actor=actor, expected_version=expected_version
        )

    def resolve(
        self,
        id_or_prefix: str,
        resolution: Resolution,
        *,
        start: datetime | None = None,
        tech: str | None = None,
        actor: str = "dispatcher",
        expected_version: int | None = None,
    ) -> Conflict:
        """Decide an open conflict; the booking change (if any) and the decision are both recorded.

        `expected_version` is the booking's version the decider saw: a reschedule or a reassignment
        over a newer change (another desk moved the job meanwhile) is refused with StaleBooking.
        """
        conflict = self.get(id_or_prefix)
        if conflict.status is not ConflictStatus.OPEN:
            raise Refused(
                f"Conflict {conflict.id[:8]} was already resolved by {conflict.resolved_by or 'someone'}."
            )
        if resolution is Resolution.RESCHEDULE:
            if start is None:
                raise InvalidInput("Rescheduling needs the new start time.")
            self._bookings.move(conflict.booking_id, start, actor=actor, expected_version=expected_version)
        elif resolution is Resolution.REASSIGN:
            if not tech:
                raise InvalidInput("Reassigning needs the technician to give the job to.")
            self._bookings.reassign(conflict.booking_id, tech, actor=actor, expected_version=expected_version)
        now = self._clock.now()
        with self._uow() as uow:
            current = uow.conflicts.get(conflict.id)
            if current is None or current.status is not ConflictStatus.OPEN:
                raise Refused(f"Conflict {conflict.id[:8]} was resolved meanwhile.")
            booking = uow.bookings.get(conflict.booking_id)
            if booking is not None:
                self._apply(uow, current, resolution, booking, now, actor)
            resolved = replace(
                current,
                status=ConflictStatus.RESOLVED,
                resolution=resolution,
                resolved_by=actor,
                resolved_at=now,
            )
            uow.conflicts.update(resolved)
            uow.audit.record(
                AuditEntry(
                    now,
                    "conflict.resolved",
                    f"{current.kind.value} conflict: {resolution.value}",
                    current.booking_id,
                    extra={"actor": actor, "conflict": current.id},
                )
            )
            uow.commit()
        self._bus.publish(ConflictChanged(resolved.id, resolved.booking_id, False))
        self._bus.publish(OutboxQueued(resolved.booking_id))
        return resolved

    def _apply(
        self,
        uow: UnitOfWork,
        conflict: Conflict,
        resolution: Resolution,
        booking: Booking,
        now: datetime,
        actor: str,
    ) -> None:
        """What the decision means for the calendar, written with the decision itself."""
        if conflict.kind is ConflictKind.OVERLAP:
            if resolution is Resolution.KEEP and not booking.forced:
                uow.bookings.update(replace(booking, forced=True))
                uow.audit.record(
                    AuditEntry(
                        now,
                        "booking.forced",
                        f"kept over {conflict.other_title or 'a calendar event'}",
                        booking.id,
                        extra={"actor": actor},
                    )
                )
            return
        if conflict.kind is ConflictKind.EDITED_BOTH:
            # The tech's version has been seen and decided on: plan against it from now on, so the
            # booking's version (kept, rescheduled or reassigned) is written over it.
            link = uow.links.for_booking(booking.id)
            if link is not None:
                event = uow.remote_events.get(link.calendar_id, link.remote_id)
                version = REWRITE_BOOKING_VERSION if resolution is Resolution.KEEP else link.booking_version
                uow.links.put(replace(link, etag=event.etag if event else link.etag, booking_version=version))
        pending = uow.outbox.for_booking(booking.id)
        for item in pending:
            uow.outbox.update(replace(item, next_attempt=now, last_error=None))
        if not pending and booking.is_live and booking.tech_id is not None:
            uow.outbox.add(changed_row(booking.id, booking.tech_id, now))
