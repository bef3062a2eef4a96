"""Booking use cases: create, edit, move, reassign, cancel, and undoing the last of those.

A booking always saves, whatever the state of sync: the calendar write goes into the outbox in
the same transaction and the sync engine sends it when it can. Booking over busy time is
refused with the reason unless the dispatcher forces it, and a forced booking says so forever.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from app.bus import BookingChanged, Bus, ConflictChanged, OutboxQueued
from app.domain.ids import BookingId, TechId, new_id
from app.domain.model import (
    AccountStatus,
    AuditEntry,
    Booking,
    BookingStatus,
    Conflict,
    ConflictStatus,
    Resolution,
    Technician,
)
from app.domain.time import Clock, Interval, ensure_utc
from app.errors import InvalidInput, Outdated, Refused
from app.services.booking_changes import BookingChange
from app.services.customers import upsert_customer
from app.services.lookup import by_id_or_prefix
from app.services.ports import UnitOfWork, UnitOfWorkFactory
from app.services.schedule import describe_clash, overlapping_busy
from app.services.stale_booking import refuse_stale
from app.services.sync_queue import changed_row
from app.services.techs import find_tech
from app.services.text import typed_line

MAX_DURATION = timedelta(hours=24)


@dataclass(frozen=True, slots=True)
class NewBooking:
    customer: str
    service: str
    duration: timedelta
    start: datetime | None = None
    tech: str | None = None  # name or id; None leaves the job unassigned
    address: str | None = None
    phone: str | None = None
    email: str | None = None
    notes: str = ""


@dataclass(frozen=True, slots=True)
class BookingEdit:
    """Changes to a booking; fields left as None stay as they are."""

    start: datetime | None = None
    tech: str | None = None  # name or id; "" unassigns
    service: str | None = None
    duration: timedelta | None = None
    notes: str | None = None
    customer: str | None = None
    address: str | None = None
    phone: str | None = None
    # The version the editor read: a save over a newer one is refused (StaleBooking), never
    # silently applied over someone else's change. None: the caller read nothing to protect.
    expected_version: int | None = None


def find_booking(uow: UnitOfWork, id_or_prefix: str) -> Booking:
    """A booking by full id or by an unambiguous prefix of at least 6 characters."""
    return by_id_or_prefix(
        id_or_prefix,
        lambda key: uow.bookings.get(BookingId(key)),
        uow.bookings.by_prefix,
        noun="booking",
        listing="crewboard bookings",
        min_prefix=6,
    )


def _validate_duration(duration: timedelta) -> timedelta:
    if duration <= timedelta(0):
        raise InvalidInput("Duration must be more than zero minutes.")
    if duration > MAX_DURATION:
        raise InvalidInput("A job cannot last more than 24 hours; split it into several bookings.")
    return duration


def _has_calendar(uow: UnitOfWork, tech_id: TechId) -> bool:
    return any(a.status is not AccountStatus.DISCONNECTED for a in uow.accounts.for_tech(tech_id))


class BookingService:
    def __init__(self, uow_factory: UnitOfWorkFactory, clock: Clock, bus: Bus) -> None:
        self._uow = uow_factory
        self._clock = clock
        self._bus = bus

    # --- creating --------------------------------------------------------------------------

    def create(self, new: NewBooking, force: bool = False, actor: str = "dispatcher") -> Booking:
        service = typed_line(new.service, "The service")
        if not service:
            raise InvalidInput("A booking needs a service, such as 'AC repair'.")
        duration = _validate_duration(new.duration)
        start = ensure_utc(new.start) if new.start is not None else None
        now = self._clock.now()
        with self._uow() as uow:
            tech = find_tech(uow, new.tech) if new.tech else None
            if tech is not None and start is None:
                raise InvalidInput("A booking assigned to a technician needs a start time.")
            customer = upsert_customer(uow, new.customer, new.address, new.phone, new.email)
            booking = Booking(
                id=BookingId(new_id()),
                customer_id=customer.id,
                tech_id=tech.id if tech else None,
                service=service,
                start=start,
                duration=duration,
                notes=new.notes.strip(),
                created_at=now,
                updated_at=now,
            )
            booking = self._check_free(uow, booking, tech, force, actor)
            uow.bookings.add(booking)
            if tech is not None:
                self._enqueue(uow, booking, tech.id)
            self._audit(uow, "booking.created", booking, actor)
            uow.commit()
        self._announce(booking, (booking.tech_id,), "created")
        return booking

    # --- changing --------------------------------------------------------------------------

    def move(
        self,
        booking_id: str,
        start: datetime,
        tech: str | None = None,
        force: bool = False,
        actor: str = "dispatcher",
        expected_version: int | None = None,
    ) -> Booking:
        change = BookingEdit(start=start, tech=tech, expected_version=expected_version)
        return self.edit(booking_id, change, force, actor)

    def reassign(
        self,
        booking_id: str,
        tech: str,
        force: bool = False,
        actor: str = "dispatcher",
        expected_version: int | None = None,
    ) -> Booking:
        return self.edit(booking_id, BookingEdit(tech=tech, expected_version=expected_version), force, actor)

    def edit(
        self, booking_id: str, change: BookingEdit, force: bool = False, actor: str = "dispatcher"
    ) -> Booking:
        now = self._clock.now()
        with self._uow() as uow:
            old = find_booking(uow, booking_id)
            refuse_stale(uow, old, change.expected_version, now)
            if not old.is_live:
                raise Refused(f"Booking {old.id[:8]} is {old.status.value} and can no longer be changed.")
            new_tech: Technician | None
            if change.tech is None:
                new_tech = uow.techs.get(old.tech_id) if old.tech_id else None
            elif change.tech == "":
                new_tech = None
            else:
                new_tech = find_tech(uow, change.tech)
            customer_id = old.customer_id
            if change.customer is not None or change.address is not None or change.phone is not None:
                current = uow.customers.get(old.customer_id)
                name = change.customer or (current.name if current else "")
                customer_id = upsert_customer(uow, name, change.address, change.phone).id
            start = ensure_utc(change.start) if change.start is not None else old.start
            if new_tech is not None and start is None:
                raise InvalidInput("A booking assigned to a technician needs a start time.")
            updated = replace(
                old,
                tech_id=new_tech.id if new_tech else None,
                start=start,
                service=(typed_line(change.service, "The service") or old.service)
                if change.service is not None
                else old.service,
                duration=_validate_duration(change.duration) if change.duration is not None else old.duration,
                notes=change.notes.strip() if change.notes is not None else old.notes,
                customer_id=customer_id,
                updated_at=now,
                version=old.version + 1,
                forced=False,
            )
            if updated == replace(old, updated_at=now, version=old.version + 1, forced=False):
                return old
            updated = self._check_free(uow, updated, new_tech, force, actor)
            kind = self._enqueue_change(uow, old, updated)
            uow.bookings.update(updated)
            self._audit(uow, f"booking.{kind}", updated, actor)
            uow.commit()
        self._announce(updated, (old.tech_id, updated.tech_id), kind)
        return updated

    def cancel(
        self, booking_id: str, actor: str = "dispatcher", expected_version: int | None = None
    ) -> Booking:
        now = self._clock.now()
        with self._uow() as uow:
            old = find_booking(uow, booking_id)
            refuse_stale(uow, old, expected_version, now)
            if old.status is BookingStatus.CANCELLED:
                return old
            cancelled = replace(old, status=BookingStatus.CANCELLED, updated_at=now, version=old.version + 1)
            uow.bookings.update(cancelled)
            if old.tech_id is not None:
                self._enqueue(uow, cancelled, old.tech_id)
            settled = self._settle_conflicts(uow, cancelled, actor, now)
            self._audit(uow, "booking.cancelled", cancelled, actor)
            uow.commit()
        for conflict in settled:
            self._bus.publish(ConflictChanged(conflict.id, conflict.booking_id, False))
        self._announce(cancelled, (old.tech_id,), "cancelled")
        return cancelled

    def undo(self, change: BookingChange, force: bool = False, actor: str = "dispatcher") -> Booking:
        """Put a booking back as it was before `change`, as a new change of its own.

        Undo is refused when the booking moved on since (another dispatcher, or the tech's calendar
        through sync): putting the old state back would silently throw that edit away. The old slot
        is checked like any move, so busy time is refused unless the dispatcher forces it.
        """
        before = change.before
        if not before.is_live:
            raise Refused("Only changes to a scheduled job can be undone.")
        now = self._clock.now()
        with self._uow() as uow:
            current = find_booking(uow, before.id)
            if current.version != change.after.version:
                customer = uow.customers.get(current.customer_id)
                name = customer.name if customer else "this customer"
                raise Outdated(
                    f"Can't undo: the {name} job was changed after that (by someone else or in the "
                    "technician's calendar), so it was left as it is now."
                )
            tech = uow.techs.get(before.tech_id) if before.tech_id else None
            if before.tech_id is not None and tech is None:
                raise Refused("Can't undo: that technician is no longer on the board.")
            restored = replace(
                current,
                tech_id=before.tech_id,
                start=before.start,
                duration=before.duration,
                service=before.service,
                notes=before.notes,
                customer_id=before.customer_id,
                status=before.status,
                updated_at=now,
                version=current.version + 1,
                forced=False,
            )
            restored = self._check_free(uow, restored, tech, force, actor)
            kind = self._enqueue_change(uow, current, restored)
            uow.bookings.update(restored)
            self._audit(uow, f"booking.undone.{change.kind.value}", restored, actor)
            uow.commit()
        self._announce(restored, (current.tech_id, restored.tech_id), kind)
        return restored

    def _enqueue_change(self, uow: UnitOfWork, before: Booking, after: Booking) -> str:
        """Tell the planner about the calendars `before` and `after` involve; the kind of change."""
        if not before.is_live:
            if after.tech_id is not None:
                self._enqueue(uow, after, after.tech_id)
            return "reinstated"
        if before.tech_id != after.tech_id:
            if before.tech_id is not None:
                self._enqueue(uow, before, before.tech_id)
            if after.tech_id is not None:
                self._enqueue(uow, after, after.tech_id)
            return "reassigned"
        if after.tech_id is not None:
            self._enqueue(uow, after, after.tech_id)
        return "moved" if before.start != after.start else "edited"

    def _settle_conflicts(
        self, uow: UnitOfWork, booking: Booking, actor: str, now: datetime
    ) -> list[Conflict]:
        """Cancelling a job decides what was open on it: nothing is left for anyone to keep or move,
        and its calendar event can go (an open conflict would otherwise hold the delete back)."""
        settled = []
        for conflict in uow.conflicts.for_booking(booking.id):
            if conflict.status is not ConflictStatus.OPEN:
                continue
            done = replace(
                conflict,
                status=ConflictStatus.RESOLVED,
                resolution=Resolution.CANCELLED,
                resolved_by=actor,
                resolved_at=now,
            )
            uow.conflicts.update(done)
            settled.append(done)
        if settled:
            # Writes that waited for a person's decision go out with the cancellation.
            for item in uow.outbox.for_booking(booking.id):
                uow.outbox.update(replace(item, next_attempt=now, last_error=None))
        return settled

    # --- reading ---------------------------------------------------------------------------

    def get(self, booking_id: str) -> Booking:
        with self._uow(read_only=True) as uow:
            return find_booking(uow, booking_id)

    def unassigned(self) -> list[Booking]:
        with self._uow(read_only=True) as uow:
            return uow.bookings.unassigned()

    def list(self, window: Interval | None = None, include_cancelled: bool = False) -> list[Booking]:
        with self._uow(read_only=True) as uow:
            if window is None:
                found = uow.bookings.list(live_only=not include_cancelled)
            else:
                found = uow.bookings.between(window, None, live_only=not include_cancelled)
        return sorted(found, key=lambda b: (b.start is None, b.start or b.created_at or self._clock.now()))

    # --- helpers ---------------------------------------------------------------------------

    def _check_free(
        self, uow: UnitOfWork, booking: Booking, tech: Technician | None, force: bool, actor: str
    ) -> Booking:
        span = booking.interval
        if tech is None or span is None:
            return booking
        clashes = overlapping_busy(uow, tech, span, exclude_booking=booking.id)
        if not clashes:
            return booking
        if not force:
            raise Refused(f"{describe_clash(clashes, tech)}; choose another time or force the booking.")
        uow.audit.record(
            AuditEntry(
                self._clock.now(),
                "booking.forced",
                describe_clash(clashes, tech),
                booking.id,
                extra={"actor": actor},
            )
        )
        return replace(booking, forced=True)

    def _enqueue(self, uow: UnitOfWork, booking: Booking, tech_id: TechId) -> None:
        """Tell the sync planner the booking changed for `tech_id`'s calendar; the engine plans and
        sends the write at once or when it can. Nothing is queued when no calendar can be involved:
        the tech has no calendar, and the booking has no event and no row waiting."""
        if (
            not _has_calendar(uow, tech_id)
            and uow.links.for_booking(booking.id) is None
            and not uow.outbox.for_booking(booking.id)
        ):
            return
        uow.outbox.add(changed_row(booking.id, tech_id, self._clock.now()))

    def _audit(self, uow: UnitOfWork, action: str, booking: Booking, actor: str) -> None:
        start = booking.start.isoformat() if booking.start else "unscheduled"
        detail = f"{booking.service} at {start} for tech {booking.tech_id or 'unassigned'}"
        uow.audit.record(AuditEntry(self._clock.now(), action, detail, booking.id, extra={"actor": actor}))

    def _announce(self, booking: Booking, techs: tuple[TechId | None, ...], kind: str) -> None:
        tech_ids = tuple(dict.fromkeys(t for t in techs if t is not None))
        self._bus.publish(BookingChanged(booking.id, tech_ids, kind))
        if tech_ids:
            self._bus.publish(OutboxQueued(booking.id))
