"""What one booking's plan needs, read in one unit of work, and why its writes may have to wait.

The snapshot gathers the booking, its customer and tech, what it wants (`Desired`), its last
agreement with the calendar (`EventLink`), the mirrored events that carry it, and every calendar
it may touch (its tech's primary calendar, the one its link names, those of techs it was taken
from). A booking waits, rather than retries, while a person must decide (an open conflict) or
reconnect an account.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.domain.ids import BookingId, CalendarId, TechId
from app.domain.model import (
    AccountStatus,
    Booking,
    Calendar,
    CalendarAccount,
    ConflictKind,
    ConflictStatus,
    Customer,
    EventLink,
    OutboxItem,
    RemoteEvent,
    Technician,
)
from app.services.ports import UnitOfWork
from sync.core.planner import Agreed, Desired
from sync.engine import planner_inputs

# Conflicts that stop a booking's sync until someone decides.
BLOCKING_KINDS = frozenset({ConflictKind.EDITED_BOTH, ConflictKind.EVENT_DELETED})
WAITING_STATUSES = frozenset({AccountStatus.NEEDS_RECONNECT, AccountStatus.REVOKED})


@dataclass(frozen=True, slots=True)
class BookingSnapshot:
    """Everything one booking's plan needs, read in one unit of work."""

    booking: Booking | None
    customer: Customer | None
    tech: Technician | None
    desired: Desired | None
    link: EventLink | None
    candidates: tuple[RemoteEvent, ...]
    calendars: dict[CalendarId, tuple[Calendar, CalendarAccount]]
    wait: str | None  # why the booking's writes must wait for a person
    # A write of this booking went out before (any row, due now or waiting for its retry): its
    # answer may have been lost, so an event of ours may be there unrecorded.
    tried: bool = False


class Replan(Exception):
    """The booking changed while we talked to the provider: plan it again in the next pass."""


WAIT_FOR_PERSON = "waiting for a person to decide the booking's conflict"
_WAITING = "waiting for "


def is_waiting(item: OutboxItem) -> bool:
    """Whether the row waits for a person (a conflict, a reconnect) rather than for a retry."""
    return (item.last_error or "").startswith(_WAITING)


def read_snapshot(uow: UnitOfWork, booking_id: BookingId, items: list[OutboxItem]) -> BookingSnapshot:
    booking = uow.bookings.get(booking_id)
    customer = uow.customers.get(booking.customer_id) if booking else None
    tech = uow.techs.get(booking.tech_id) if booking and booking.tech_id else None
    link = uow.links.for_booking(booking_id)
    calendars: dict[CalendarId, tuple[Calendar, CalendarAccount]] = {}
    unreachable: set[CalendarId] = set()
    waits: list[str] = []

    def add(calendar_id: CalendarId | None) -> None:
        if calendar_id is None or calendar_id in calendars or calendar_id in unreachable:
            return
        calendar = uow.calendars.get(calendar_id)
        account = uow.accounts.get(calendar.account_id) if calendar else None
        if calendar is None or account is None or account.status is AccountStatus.DISCONNECTED:
            unreachable.add(calendar_id)
            return
        if account.status in WAITING_STATUSES:
            waits.append(f"waiting for {account.email} to be reconnected")
        calendars[calendar_id] = (calendar, account)

    for conflict in uow.conflicts.for_booking(booking_id):
        if conflict.status is ConflictStatus.OPEN and conflict.kind in BLOCKING_KINDS:
            waits.append(WAIT_FOR_PERSON)
    target = _target_calendar(uow, tech, waits) if booking and booking.is_live and tech else None
    add(target)
    if link is not None:
        add(link.calendar_id)
    techs: set[TechId] = {i.tech_id for i in items if i.tech_id is not None}
    for item in items:
        add(item.calendar_id)
    for other_tech in sorted(techs):
        for account in uow.accounts.for_tech(other_tech):
            for calendar in uow.calendars.for_account(account.id):
                if calendar.primary:
                    add(calendar.id)
    candidates = tuple(
        event
        for calendar_id in calendars
        for event in uow.remote_events.for_calendar(calendar_id)
        if event.booking_id == booking_id and not event.cancelled
    )
    if link is not None and link.calendar_id in unreachable:
        link = None  # its account is gone: nothing there can be written or agreed any more
    wanted = planner_inputs.desired(booking, customer, target) if booking is not None else None
    return BookingSnapshot(
        booking=booking,
        customer=customer,
        tech=tech,
        desired=wanted,
        link=link,
        candidates=candidates,
        calendars=calendars,
        wait=waits[0] if waits else None,
        tried=any(item.attempts > 0 for item in uow.outbox.for_booking(booking_id)),
    )


def _target_calendar(uow: UnitOfWork, tech: Technician, waits: list[str]) -> CalendarId | None:
    """The primary calendar of the tech's connected account; None when they have none."""
    accounts = uow.accounts.for_tech(tech.id)
    for account in accounts:
        if account.status is AccountStatus.CONNECTED:
            for calendar in uow.calendars.for_account(account.id):
                if calendar.primary:
                    return calendar.id
    for account in accounts:
        if account.status in WAITING_STATUSES:
            waits.append(f"waiting for {tech.name}'s calendar {account.email} to be reconnected")
    return None


def choose_event(snap: BookingSnapshot) -> tuple[RemoteEvent | None, list[RemoteEvent]]:
    """The event the plan is about, and stray copies of the booking's event elsewhere."""
    events = list(snap.candidates)
    if not events:
        return None, []
    chosen: RemoteEvent | None = None
    if snap.link is not None:
        chosen = next(
            (
                e
                for e in events
                if (e.calendar_id, e.remote_id) == (snap.link.calendar_id, snap.link.remote_id)
            ),
            None,
        )
    if chosen is None and snap.desired is not None:
        chosen = next((e for e in events if e.calendar_id == snap.desired.calendar_id), None)
    if chosen is None:
        chosen = events[0]
    strays = [e for e in events if e is not chosen]
    return chosen, strays


def agreed_of(link: EventLink | None) -> Agreed | None:
    if link is None:
        return None
    return Agreed(link.calendar_id, link.remote_id, link.etag, link.content_hash, link.booking_version)


def zone_of(snap: BookingSnapshot) -> str:
    return snap.tech.timezone if snap.tech else "UTC"


def parts_of(snap: BookingSnapshot) -> tuple[Booking, Customer, Technician]:
    if snap.booking is None or snap.customer is None or snap.tech is None:
        raise Replan()
    return snap.booking, snap.customer, snap.tech
