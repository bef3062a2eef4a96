"""Conflicts and the messages they send: opened once, told to the tech and the dispatcher."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from app.domain.ids import BookingId, CalendarId, ConflictId, NotificationId, new_id
from app.domain.model import Audience, Conflict, ConflictKind, ConflictStatus, Notification, Technician
from app.services.accounts import DISPATCHER
from app.services.ports import UnitOfWork

SYNC_ACTOR = "sync"  # who closed a conflict that resolved itself


@dataclass(slots=True)
class Alerts:
    """What one unit of work opened, closed and sent; published on the bus after it commits."""

    opened: list[Conflict] = field(default_factory=list)
    closed: list[Conflict] = field(default_factory=list)
    notifications: list[NotificationId] = field(default_factory=list)

    def extend(self, other: Alerts) -> None:
        self.opened.extend(other.opened)
        self.closed.extend(other.closed)
        self.notifications.extend(other.notifications)


def notify(
    uow: UnitOfWork,
    alerts: Alerts,
    audience: Audience,
    recipient: str,
    subject: str,
    body: str,
    now: datetime,
    tech: Technician | None,
) -> None:
    notification = Notification(
        id=NotificationId(new_id()),
        audience=audience,
        recipient=recipient,
        subject=subject,
        body=body,
        created=now,
        tech_id=tech.id if tech else None,
    )
    uow.notifications.add(notification)
    alerts.notifications.append(notification.id)


def tell_tech_and_dispatcher(
    uow: UnitOfWork,
    alerts: Alerts,
    tech: Technician | None,
    subject: str,
    body: str,
    now: datetime,
    *,
    tech_too: bool = True,
) -> None:
    if tech is not None and tech_too:
        notify(uow, alerts, Audience.TECH, tech.notify_email or tech.email, subject, body, now, tech)
    notify(uow, alerts, Audience.DISPATCHER, DISPATCHER, subject, body, now, tech)


def open_conflict(
    uow: UnitOfWork,
    alerts: Alerts,
    *,
    booking_id: BookingId,
    tech: Technician | None,
    kind: ConflictKind,
    now: datetime,
    calendar_id: CalendarId | None,
    remote_id: str | None,
    other_start: datetime | None = None,
    other_end: datetime | None = None,
    other_title: str | None = None,
    detail: str = "",
) -> Conflict | None:
    """Open a conflict unless one already says the same; None when it was already known.

    An overlap a person already decided (kept the booking over that very event time) stays
    decided; one that sync closed because the event went away opens again if it comes back.
    """
    for existing in uow.conflicts.for_booking(booking_id):
        if existing.kind is not kind:
            continue
        if kind is not ConflictKind.OVERLAP:
            if existing.status is ConflictStatus.OPEN:
                return None
            continue
        if existing.remote_id != remote_id or existing.calendar_id != calendar_id:
            continue
        if existing.status is ConflictStatus.OPEN:
            return None
        decided_by_person = existing.resolved_by != SYNC_ACTOR
        if decided_by_person and (existing.other_start, existing.other_end) == (other_start, other_end):
            return None
    conflict = Conflict(
        id=ConflictId(new_id()),
        booking_id=booking_id,
        tech_id=tech.id if tech else None,
        kind=kind,
        opened_at=now,
        remote_id=remote_id,
        calendar_id=calendar_id,
        other_start=other_start,
        other_end=other_end,
        other_title=other_title,
        detail=detail,
    )
    uow.conflicts.add(conflict)
    alerts.opened.append(conflict)
    return conflict
