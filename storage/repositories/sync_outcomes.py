"""What sync leaves behind for people: conflicts, account health, notifications, the audit log."""

from __future__ import annotations

import builtins
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from app.domain.ids import AccountId, BookingId, CalendarId, ConflictId, NotificationId, TechId
from app.domain.model import AuditEntry, Conflict, ConflictStatus, Notification, SyncHealth
from storage.orm import AuditRow, ConflictRow, NotificationRow, SyncHealthRow
from storage.repositories.base import SqlRepository, assign, existing, like_prefix

# --- conflicts ----------------------------------------------------------------------------


def _conflict_values(conflict: Conflict) -> dict[str, Any]:
    return {
        "booking_id": conflict.booking_id,
        "tech_id": conflict.tech_id,
        "kind": conflict.kind,
        "opened_at": conflict.opened_at,
        "status": conflict.status,
        "remote_id": conflict.remote_id,
        "calendar_id": conflict.calendar_id,
        "other_start": conflict.other_start,
        "other_end": conflict.other_end,
        "other_title": conflict.other_title,
        "resolution": conflict.resolution,
        "resolved_by": conflict.resolved_by,
        "resolved_at": conflict.resolved_at,
        "detail": conflict.detail,
    }


def _conflict(row: ConflictRow) -> Conflict:
    return Conflict(
        id=ConflictId(row.id),
        booking_id=BookingId(row.booking_id),
        tech_id=None if row.tech_id is None else TechId(row.tech_id),
        kind=row.kind,
        opened_at=row.opened_at,
        status=row.status,
        remote_id=row.remote_id,
        calendar_id=None if row.calendar_id is None else CalendarId(row.calendar_id),
        other_start=row.other_start,
        other_end=row.other_end,
        other_title=row.other_title,
        resolution=row.resolution,
        resolved_by=row.resolved_by,
        resolved_at=row.resolved_at,
        detail=row.detail,
    )


class SqlConflictRepository(SqlRepository):
    def add(self, conflict: Conflict) -> None:
        self._session.add(ConflictRow(id=conflict.id, **_conflict_values(conflict)))

    def update(self, conflict: Conflict) -> None:
        assign(existing(self._session, ConflictRow, conflict.id, "conflict"), _conflict_values(conflict))

    def get(self, conflict_id: ConflictId) -> Conflict | None:
        row = self._session.get(ConflictRow, conflict_id)
        return None if row is None else _conflict(row)

    def by_prefix(self, prefix: str) -> builtins.list[Conflict]:
        return self._fetch(select(ConflictRow).where(ConflictRow.id.like(like_prefix(prefix), escape="\\")))

    def open(self) -> builtins.list[Conflict]:
        return self._fetch(select(ConflictRow).where(ConflictRow.status == ConflictStatus.OPEN))

    def for_booking(self, booking_id: BookingId) -> builtins.list[Conflict]:
        return self._fetch(select(ConflictRow).where(ConflictRow.booking_id == booking_id))

    def list(self) -> builtins.list[Conflict]:
        return self._fetch(select(ConflictRow))

    def _fetch(self, query: Select[ConflictRow]) -> builtins.list[Conflict]:
        ordered = query.order_by(ConflictRow.opened_at, ConflictRow.id)
        return [_conflict(row) for row in self._session.scalars(ordered)]


# --- sync health --------------------------------------------------------------------------


def _health(row: SyncHealthRow) -> SyncHealth:
    return SyncHealth(
        account_id=AccountId(row.account_id),
        last_success=row.last_success,
        failing_since=row.failing_since,
        last_error=row.last_error,
        level=row.level,
        last_read=row.last_read,
        last_write=row.last_write,
    )


class SqlSyncHealthRepository(SqlRepository):
    def get(self, account_id: AccountId) -> SyncHealth | None:
        row = self._session.get(SyncHealthRow, account_id)
        return None if row is None else _health(row)

    def put(self, health: SyncHealth) -> None:
        """Record the account's health, replacing what was there."""
        row = self._session.get(SyncHealthRow, health.account_id)
        if row is None:
            row = SyncHealthRow(account_id=health.account_id)
            self._session.add(row)
        assign(
            row,
            {
                "last_success": health.last_success,
                "failing_since": health.failing_since,
                "last_error": health.last_error,
                "level": health.level,
                "last_read": health.last_read,
                "last_write": health.last_write,
            },
        )

    def list(self) -> builtins.list[SyncHealth]:
        query = select(SyncHealthRow).order_by(SyncHealthRow.account_id)
        return [_health(row) for row in self._session.scalars(query)]


# --- notifications ------------------------------------------------------------------------


def _notification_values(notification: Notification) -> dict[str, Any]:
    return {
        "audience": notification.audience,
        "recipient": notification.recipient,
        "subject": notification.subject,
        "body": notification.body,
        "created": notification.created,
        "delivered": notification.delivered,
        "attempts": notification.attempts,
        "last_error": notification.last_error,
        "tech_id": notification.tech_id,
    }


def _notification(row: NotificationRow) -> Notification:
    return Notification(
        id=NotificationId(row.id),
        audience=row.audience,
        recipient=row.recipient,
        subject=row.subject,
        body=row.body,
        created=row.created,
        delivered=row.delivered,
        attempts=row.attempts,
        last_error=row.last_error,
        tech_id=None if row.tech_id is None else TechId(row.tech_id),
    )


class SqlNotificationRepository(SqlRepository):
    def add(self, notification: Notification) -> None:
        self._session.add(NotificationRow(id=notification.id, **_notification_values(notification)))

    def update(self, notification: Notification) -> None:
        row = existing(self._session, NotificationRow, notification.id, "notification")
        assign(row, _notification_values(notification))

    def undelivered(self) -> builtins.list[Notification]:
        """Messages still to send, oldest first."""
        query = (
            select(NotificationRow)
            .where(NotificationRow.delivered.is_(None))
            .order_by(NotificationRow.created, NotificationRow.id)
        )
        return [_notification(row) for row in self._session.scalars(query)]

    def list(self, limit: int = 200) -> builtins.list[Notification]:
        """The most recent messages, newest first."""
        query = (
            select(NotificationRow)
            .order_by(NotificationRow.created.desc(), NotificationRow.id.desc())
            .limit(limit)
        )
        return [_notification(row) for row in self._session.scalars(query)]

    def get(self, notification_id: NotificationId) -> Notification | None:
        row = self._session.get(NotificationRow, notification_id)
        return None if row is None else _notification(row)


# --- audit log ----------------------------------------------------------------------------


class SqlAuditLog(SqlRepository):
    """The audit log; entries recorded without a desk are signed with the desk that opened the store."""

    def __init__(self, session: Session, desk: str) -> None:
        super().__init__(session)
        self._desk = desk

    def record(self, entry: AuditEntry) -> None:
        self._session.add(
            AuditRow(
                at=entry.at,
                action=entry.action,
                detail=entry.detail,
                booking_id=entry.booking_id,
                account_id=entry.account_id,
                extra=dict(entry.extra),
                desk=entry.desk or self._desk,
            )
        )

    def recent(self, limit: int = 200) -> builtins.list[AuditEntry]:
        """The latest entries, newest first (entries at the same instant: last written first)."""
        query = select(AuditRow).order_by(AuditRow.at.desc(), AuditRow.id.desc()).limit(limit)
        return [_entry(row) for row in self._session.scalars(query)]

    def for_booking(self, booking_id: BookingId, limit: int = 20) -> builtins.list[AuditEntry]:
        """One booking's latest entries, newest first."""
        query = (
            select(AuditRow)
            .where(AuditRow.booking_id == booking_id)
            .order_by(AuditRow.id.desc())
            .limit(limit)
        )
        return [_entry(row) for row in self._session.scalars(query)]


def _entry(row: AuditRow) -> AuditEntry:
    return AuditEntry(
        at=row.at,
        action=row.action,
        detail=row.detail,
        booking_id=None if row.booking_id is None else BookingId(row.booking_id),
        account_id=None if row.account_id is None else AccountId(row.account_id),
        extra=dict(row.extra),
        desk=row.desk,
    )
