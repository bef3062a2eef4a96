"""Conflicts, sync health, notifications and the audit log round-trip and order as promised."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest

from app.domain.ids import AccountId, ConflictId, NotificationId, new_id
from app.domain.model import (
    Audience,
    AuditEntry,
    Calendar,
    Conflict,
    ConflictKind,
    ConflictStatus,
    Customer,
    HealthLevel,
    Notification,
    Resolution,
    SyncHealth,
    Technician,
)
from app.errors import NotFound
from storage import Database
from tests.storage.conftest import T0, booking

MINUTE = timedelta(minutes=1)


def test_conflicts_round_trip_filters_and_resolution(
    db: Database, people: tuple[Technician, Customer], google_calendar: Calendar
) -> None:
    ana, harbor = people
    job, other_job = booking(harbor.id, ana.id, T0), booking(harbor.id, ana.id, T0 + 240 * MINUTE)
    overlap = Conflict(
        id=ConflictId("c0ffee" + new_id()[6:]),
        booking_id=job.id,
        tech_id=ana.id,
        kind=ConflictKind.OVERLAP,
        opened_at=T0 - 30 * MINUTE,
        remote_id="dentist",
        calendar_id=google_calendar.id,
        other_start=T0 + 30 * MINUTE,
        other_end=T0 + 90 * MINUTE,
        other_title="Dentist",
        detail="A personal event landed on this booking.",
    )
    deleted = Conflict(
        ConflictId(new_id()), other_job.id, ana.id, ConflictKind.EVENT_DELETED, T0 - 10 * MINUTE
    )
    with db.unit_of_work() as uow:
        uow.bookings.add(job)
        uow.bookings.add(other_job)
        uow.conflicts.add(deleted)
        uow.conflicts.add(overlap)
        uow.commit()
    resolved = dataclasses.replace(
        overlap,
        status=ConflictStatus.RESOLVED,
        resolution=Resolution.RESCHEDULE,
        resolved_by="dispatcher",
        resolved_at=T0,
    )
    with db.unit_of_work() as uow:
        assert uow.conflicts.get(overlap.id) == overlap
        assert uow.conflicts.open() == [overlap, deleted]
        assert uow.conflicts.by_prefix("c0ffee") == [overlap]
        uow.conflicts.update(resolved)
        uow.commit()
    with db.unit_of_work() as uow:
        assert uow.conflicts.open() == [deleted]
        assert uow.conflicts.for_booking(job.id) == [resolved]
        assert uow.conflicts.list() == [resolved, deleted]
        with pytest.raises(NotFound, match="conflict"):
            uow.conflicts.update(dataclasses.replace(deleted, id=ConflictId(new_id())))


def test_sync_health_put_replaces(db: Database, google_calendar: Calendar) -> None:
    account_id = AccountId(google_calendar.account_id)
    failing = SyncHealth(account_id, last_success=T0, failing_since=T0 + MINUTE, last_error="timeout")
    escalated = dataclasses.replace(failing, level=HealthLevel.DISPATCHER, last_read=T0 + 31 * MINUTE)
    with db.unit_of_work() as uow:
        assert uow.health.get(account_id) is None
        uow.health.put(failing)
        uow.commit()
    with db.unit_of_work() as uow:
        assert uow.health.get(account_id) == failing
        uow.health.put(escalated)
        uow.commit()
    with db.unit_of_work() as uow:
        assert uow.health.list() == [escalated]


def test_notifications_undelivered_and_recent(db: Database, people: tuple[Technician, Customer]) -> None:
    ana, _ = people

    def note(minutes: int, **changes: object) -> Notification:
        values: dict[str, object] = {
            "id": NotificationId(new_id()),
            "audience": Audience.TECH,
            "recipient": "ana@example.com",
            "subject": f"Update {minutes}",
            "body": "Your schedule changed.",
            "created": T0 + minutes * MINUTE,
            "tech_id": ana.id,
        }
        values.update(changes)
        return Notification(**values)  # type: ignore[arg-type]

    older, newer = note(1), note(2, audience=Audience.OWNER, recipient="owner@example.com", tech_id=None)
    sent = note(0, delivered=T0 + MINUTE, attempts=1)
    with db.unit_of_work() as uow:
        for item in (newer, older, sent):
            uow.notifications.add(item)
        uow.commit()
    with db.unit_of_work() as uow:
        assert uow.notifications.undelivered() == [older, newer]
        assert uow.notifications.list() == [newer, older, sent]
        assert uow.notifications.list(limit=1) == [newer]
        delivered = dataclasses.replace(
            older, delivered=T0 + 3 * MINUTE, attempts=2, last_error="421 try later"
        )
        uow.notifications.update(delivered)
        uow.commit()
    with db.unit_of_work() as uow:
        assert uow.notifications.get(older.id) == delivered
        assert uow.notifications.undelivered() == [newer]
        assert uow.notifications.get(NotificationId(new_id())) is None


def test_audit_log_recent_is_newest_first(db: Database) -> None:
    entries = [
        AuditEntry(T0, "booking.created", "AC repair for Harbor Dental", extra={"actor": "dispatcher"}),
        AuditEntry(T0 + MINUTE, "sync.write", "created event", account_id=AccountId(new_id())),
        AuditEntry(T0 + MINUTE, "sync.read", "3 changes"),
    ]
    with db.unit_of_work() as uow:
        for entry in entries:
            uow.audit.record(entry)
        uow.commit()
    signed = [dataclasses.replace(entry, desk=db.desk) for entry in entries]  # the store signs with its desk
    with db.unit_of_work() as uow:
        assert uow.audit.recent() == [signed[2], signed[1], signed[0]]
        assert uow.audit.recent(limit=1) == [signed[2]]
