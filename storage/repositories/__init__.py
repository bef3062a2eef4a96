"""SQLAlchemy implementations of the storage ports in app.services.ports.

Each repository works inside the Session of one unit of work and returns domain dataclasses,
never rows, so nothing outside `storage` can lazy-load or mutate the database by accident.
"""

from __future__ import annotations

from storage.repositories.bookings import SqlBookingRepository
from storage.repositories.calendars import SqlCalendarAccountRepository, SqlCalendarRepository
from storage.repositories.events import (
    SqlBusyBlockRepository,
    SqlEventLinkRepository,
    SqlRemoteEventRepository,
)
from storage.repositories.outbox import SqlOutboxRepository
from storage.repositories.people import SqlCustomerRepository, SqlTechnicianRepository, SqlTimeOffRepository
from storage.repositories.settings_and_lock import (
    SqlSettingsRepository,
    SqlSyncLockRepository,
    SyncLockRecord,
)
from storage.repositories.sync_outcomes import (
    SqlAuditLog,
    SqlConflictRepository,
    SqlNotificationRepository,
    SqlSyncHealthRepository,
)

__all__ = [
    "SqlAuditLog",
    "SqlBookingRepository",
    "SqlBusyBlockRepository",
    "SqlCalendarAccountRepository",
    "SqlCalendarRepository",
    "SqlConflictRepository",
    "SqlCustomerRepository",
    "SqlEventLinkRepository",
    "SqlNotificationRepository",
    "SqlOutboxRepository",
    "SqlRemoteEventRepository",
    "SqlSettingsRepository",
    "SqlSyncHealthRepository",
    "SqlSyncLockRepository",
    "SqlTechnicianRepository",
    "SqlTimeOffRepository",
    "SyncLockRecord",
]
