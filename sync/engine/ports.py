"""What the engine needs from around it, as small protocols: health recording and the sync lock.

`HealthRecorder` is called from the engine's database worker (blocking, one short transaction);
sync.health_monitor offers the escalating implementation, `StoreHealthRecorder` the plain one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from enum import Enum
from typing import Protocol

from app.domain.ids import AccountId
from app.domain.model import CalendarAccount, SyncHealth
from app.services.ports import UnitOfWork, UnitOfWorkFactory
from storage.repositories import SyncLockRecord
from sync.providers.protocol import CalendarProvider

ProviderFor = Callable[[CalendarAccount], CalendarProvider]


class Direction(Enum):
    """Which way an attempt went: a read of the calendar, or a write to it."""

    READ = "read"
    WRITE = "write"


class HealthRecorder(Protocol):
    """Told of every read and write attempt of an account; blocking, called off the event loop."""

    def succeeded(self, account_id: AccountId, at: datetime, kind: Direction = Direction.READ) -> None: ...

    def failed(self, account_id: AccountId, at: datetime, error: str) -> None: ...


class StoreHealthRecorder:
    """Writes last success, failing-since and last error to SyncHealth; escalation is someone else's."""

    def __init__(self, uow_factory: UnitOfWorkFactory) -> None:
        self._uow = uow_factory

    def succeeded(self, account_id: AccountId, at: datetime, kind: Direction = Direction.READ) -> None:
        with self._uow() as uow:
            health = uow.health.get(account_id) or SyncHealth(account_id)
            health = replace(health, last_success=at, failing_since=None, last_error=None)
            health = (
                replace(health, last_read=at) if kind is Direction.READ else replace(health, last_write=at)
            )
            uow.health.put(health)
            uow.commit()

    def failed(self, account_id: AccountId, at: datetime, error: str) -> None:
        with self._uow() as uow:
            health = uow.health.get(account_id) or SyncHealth(account_id)
            uow.health.put(replace(health, failing_since=health.failing_since or at, last_error=error))
            uow.commit()


class SyncLockRepository(Protocol):
    """The store's single-row engine lock (storage.repositories.SqlSyncLockRepository)."""

    def current(self) -> SyncLockRecord | None: ...
    def claim(self, claimant: SyncLockRecord, stale_before: datetime) -> bool: ...
    def heartbeat(self, host: str, pid: int, at: datetime) -> bool: ...
    def release(self, host: str, pid: int) -> None: ...


def lock_repository(uow: UnitOfWork) -> SyncLockRepository:
    """The sync lock of `uow`, or TypeError naming what is missing."""
    found = getattr(uow, "sync_lock", None)
    if found is None:
        raise TypeError(f"{type(uow).__name__} has no sync_lock; the engine needs storage's unit of work")
    repository: SyncLockRepository = found
    return repository
