"""What the outbound flush records in the store: confirmed writes, forgotten links, deferred rows.

Each function returns an `Effect`, a change to apply inside one unit of work, so the flusher can
commit what a provider confirmed before it sends the next request.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime

from app.domain.ids import BookingId, CalendarId, OutboxId
from app.domain.model import AuditEntry, Calendar, EventLink, OutboxItem, RemoteEvent
from app.services.ports import UnitOfWork
from app.services.sync_outcomes import QUEUED_AT
from sync.core.planner import ForgetLink

Effect = Callable[[UnitOfWork], None]


def mark_attempt(uow: UnitOfWork, items: list[OutboxItem]) -> None:
    """Count the attempt before the request goes out, so a crash mid-request is known next time."""
    for item in items:
        uow.outbox.update(replace(item, attempts=item.attempts + 1))


def defer_effect(items: list[OutboxItem], when: datetime, reason: str) -> Effect:
    def defer(uow: UnitOfWork) -> None:
        for item in items:
            uow.outbox.update(replace(item, next_attempt=when, last_error=reason))

    return defer


def remove_items(items: list[OutboxItem]) -> Effect:
    ids: list[OutboxId] = [item.id for item in items]

    def remove(uow: UnitOfWork) -> None:
        for item_id in ids:
            uow.outbox.remove(item_id)

    return remove


def forget_link(action: ForgetLink) -> Effect:
    """Drop the agreement on the vanished event, unless a later write already replaced it."""

    def forget(uow: UnitOfWork) -> None:
        current = uow.links.for_booking(action.booking_id)
        if current is not None and current.remote_id == action.remote_id:
            uow.links.remove(action.booking_id)

    return forget


def mirror(event: RemoteEvent) -> Effect:
    return lambda uow: uow.remote_events.upsert(event)


def forget_mirror(calendar_id: CalendarId, remote_id: str) -> Effect:
    return lambda uow: uow.remote_events.delete(calendar_id, remote_id)


def _write_extra(calendar: Calendar, queued: datetime | None) -> dict[str, str]:
    """The audit extra of a confirmed write: its calendar, and when its outbox row was queued."""
    extra: dict[str, str] = {"calendar": calendar.id}
    if queued is not None:
        extra[QUEUED_AT] = queued.astimezone(UTC).isoformat()
    return extra


def record_write(
    link: EventLink,
    mirror: RemoteEvent,
    what: str,
    calendar: Calendar,
    now: datetime,
    queued: datetime | None,
) -> Effect:
    def record(uow: UnitOfWork) -> None:
        uow.links.put(link)
        uow.remote_events.upsert(mirror)
        uow.audit.record(
            AuditEntry(
                now,
                what,
                f"{calendar.name}: {link.remote_id}",
                link.booking_id,
                extra=_write_extra(calendar, queued),
            )
        )

    return record


def record_delete(
    booking_id: BookingId, calendar: Calendar, remote_id: str, now: datetime, queued: datetime | None
) -> Effect:
    def record(uow: UnitOfWork) -> None:
        current = uow.links.for_booking(booking_id)
        if current is not None and (current.calendar_id, current.remote_id) == (calendar.id, remote_id):
            uow.links.remove(booking_id)
        uow.remote_events.delete(calendar.id, remote_id)
        uow.audit.record(
            AuditEntry(
                now,
                "sync.event_deleted",
                f"{calendar.name}: {remote_id}",
                booking_id,
                extra=_write_extra(calendar, queued),
            )
        )

    return record
