"""Who owns calendar sync for this store: the process named in the store, for every desk to show.

Exactly one process syncs a store (sync.engine.lock): on PostgreSQL the `crewboard serve` holding
the owner's advisory lock, on SQLite whoever holds the lock row. Either way the owner writes its
name, host, process id and the time it took over into the store's lock row, and renews a
heartbeat there every 15 s; this service reads that row. `crewboard health`, the service's
/healthz and the desktop's health panel show it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Protocol

from app.domain.time import Clock
from app.services.ports import UnitOfWork, UnitOfWorkFactory


# The role of a `crewboard serve` process, as its /healthz answers and its log says.
class Role(StrEnum):
    OWNER = "owner"  # this process syncs
    STANDBY = "standby"  # the store answers, another process owns sync; this one waits to take over
    UNAVAILABLE = "unavailable"  # this process cannot reach the store


@dataclass(frozen=True, slots=True)
class ServiceState:
    role: Role
    holder: str  # how this process names itself in the lock
    since: datetime | None  # when this process became owner
    why: str = ""  # for UNAVAILABLE: the sentence of the last failure


# The owner renews its heartbeat every 15 s; one not heard from for this long may be gone.
QUIET_AFTER = timedelta(seconds=60)


@dataclass(frozen=True, slots=True)
class SyncOwner:
    holder: str  # "crewboard serve (pid 4242 on host office-pc)"
    host: str
    pid: int
    since: datetime
    last_seen: datetime
    quiet: bool  # not heard from for QUIET_AFTER: gone, or cut off from the store

    def sentence(self, shown: str, last_seen: str) -> str:
        """One line for people, with the caller's rendering of `since` and `last_seen`."""
        text = f"Calendar sync is owned by {self.holder} since {shown}"
        if self.quiet:
            return f"{text}; not heard from since {last_seen}, so it may be gone."
        return f"{text}."


class _LockRecord(Protocol):
    holder: str
    pid: int
    host: str
    acquired_at: datetime
    heartbeat_at: datetime


class _LockRows(Protocol):
    def current(self) -> _LockRecord | None: ...


class SyncOwnerService:
    def __init__(self, uow: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    def current(self) -> SyncOwner | None:
        """The process that owns sync, as the store names it; None when nobody does."""
        with self._uow(read_only=True) as uow:
            found = _lock_rows(uow).current()
        if found is None:
            return None
        quiet = self._clock.now() - found.heartbeat_at > QUIET_AFTER
        return SyncOwner(found.holder, found.host, found.pid, found.acquired_at, found.heartbeat_at, quiet)


def _lock_rows(uow: UnitOfWork) -> _LockRows:
    """The lock row's repository: the store's unit of work offers it beside the business ones."""
    found = getattr(uow, "sync_lock", None)
    if found is None:
        raise TypeError(f"{type(uow).__name__} has no sync_lock; sync ownership lives in the store")
    rows: _LockRows = found
    return rows
