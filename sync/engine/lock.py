"""One engine per database: who holds the sync lock, and how it is known to be held.

SQLite (`EngineLock`): a lock row with a heartbeat, named after whoever holds it. A second engine
(the desktop app while `crewboard sync` runs) finds the lock held and stays read-only, saying who
holds it. A holder that stops beating for a minute, or whose process is gone from this very
machine, has lost it.

PostgreSQL (`OwnerLock`): a session-level advisory lock on a connection of its own
(storage.session_lock), which the server releases when the owner's connection dies, so a standby
takes over within seconds of a kill -9, not a minute. The same row then only names the owner
(holder, host, pid, since) for every desk to show; it decides nothing. An owner whose lock
connection stops answering has lost sync at once, whatever the row says.

`sync_lock_for(url, ...)` picks the right one for a store.
"""

from __future__ import annotations

import contextlib
import os
import socket
from datetime import UTC, datetime, timedelta
from typing import Protocol

from app.domain.time import Clock
from app.errors import StorageError
from app.services.ports import UnitOfWorkFactory
from storage.engine import is_postgresql
from storage.repositories import SyncLockRecord
from storage.session_lock import SessionLock
from sync.engine.errors import EngineLocked
from sync.engine.ports import lock_repository

HEARTBEAT_EVERY = timedelta(seconds=15)
STALE_AFTER = timedelta(seconds=60)


def holder_text(name: str, pid: int, host: str) -> str:
    return f"{name} (pid {pid} on host {host})"


def _alive(pid: int) -> bool:
    """Whether a process with this id runs on this machine."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists; it is just someone else's
    return True


class EngineLock:
    """Blocking calls: run them on the engine's database thread."""

    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        clock: Clock,
        name: str = "crewboard sync",
        *,
        pid: int | None = None,
        host: str | None = None,
    ) -> None:
        self._uow = uow_factory
        self._clock = clock
        self.pid = os.getpid() if pid is None else pid
        self.host = socket.gethostname() if host is None else host
        self.holder = holder_text(name, self.pid, self.host)
        self.held = False
        self._last_beat: datetime | None = None

    def acquire(self) -> None:
        """Take the lock, or raise EngineLocked naming who has it."""
        now = self._clock.now()
        claimant = SyncLockRecord(self.holder, self.pid, self.host, now, now)
        with self._uow() as uow:
            locks = lock_repository(uow)
            current = locks.current()
            stale_before = now - STALE_AFTER
            if (
                current is not None
                and current.host == self.host
                and current.pid != self.pid
                and not _alive(current.pid)
            ):
                # Its process is gone from this machine: no need to wait for its heartbeat to age.
                stale_before = max(stale_before, current.heartbeat_at + timedelta(microseconds=1))
            if not locks.claim(claimant, stale_before):
                found = locks.current()
                uow.rollback()
                raise EngineLocked(found.holder if found is not None else "another copy of Crewboard")
            uow.commit()
        self.held = True
        self._last_beat = now

    def ensure(self) -> None:
        """Hold the lock: take it if we do not have it, renew it when its heartbeat is due."""
        if not self.held:
            self.acquire()
            return
        now = self._clock.now()
        if self._last_beat is not None and now - self._last_beat < HEARTBEAT_EVERY:
            return
        self.beat()

    def beat(self) -> None:
        now = self._clock.now()
        with self._uow() as uow:
            locks = lock_repository(uow)
            renewed = locks.heartbeat(self.host, self.pid, now)
            found = None if renewed else locks.current()
            uow.commit()
        if not renewed:
            self.held = False
            if found is None:
                self.acquire()  # the row was cleared (released by hand): simply take it again
                return
            raise EngineLocked(found.holder if found is not None else "another copy of Crewboard")
        self._last_beat = now

    def release(self) -> None:
        if not self.held:
            return
        with self._uow() as uow:
            lock_repository(uow).release(self.host, self.pid)
            uow.commit()
        self.held = False


class OwnerSession(Protocol):
    """storage.session_lock.SessionLock, as the owner lock uses it (blocking calls)."""

    held: bool

    def try_acquire(self) -> bool: ...
    def check(self) -> bool: ...
    def release(self) -> None: ...


# A claim made while holding the advisory lock overwrites whatever the row says.
_ANY_ROW = datetime(9999, 1, 1, tzinfo=UTC)


class OwnerLock(EngineLock):
    """Sync ownership on PostgreSQL: the advisory lock decides, the row names the owner.

    Blocking calls, like EngineLock's: run them on the engine's database thread. `check()` may also
    be called from a watchdog thread (the session serializes its own calls).
    """

    LOST = "no process (this service lost its connection to the store and stopped syncing)"

    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        clock: Clock,
        session: OwnerSession,
        name: str = "crewboard serve",
        *,
        pid: int | None = None,
        host: str | None = None,
    ) -> None:
        super().__init__(uow_factory, clock, name, pid=pid, host=host)
        self._session = session
        self.since: datetime | None = None

    def acquire(self) -> None:
        """Take ownership, or raise EngineLocked naming the owner (StorageError when unreachable)."""
        if not self._session.try_acquire():
            self.held = False
            raise EngineLocked(self._named_owner())
        now = self._clock.now()
        try:
            self._name_us(now)
        except BaseException:
            self._session.release()
            raise
        self.held = True
        self.since = now
        self._last_beat = now

    def ensure(self) -> None:
        if not self.held:
            self.acquire()
            return
        if not self.check():
            raise EngineLocked(self.LOST)
        now = self._clock.now()
        if self._last_beat is None or now - self._last_beat >= HEARTBEAT_EVERY:
            self.beat()

    def check(self) -> bool:
        """Whether we still own: the lock's connection answers. False drops ownership for good."""
        if self.held and not self._session.check():
            self.held = False
            self.since = None
        return self.held

    def beat(self) -> None:
        """Renew the row's heartbeat (what desks show as "last seen"), after checking we own."""
        if not self.check():
            raise EngineLocked(self.LOST)
        now = self._clock.now()
        with self._uow() as uow:
            renewed = lock_repository(uow).heartbeat(self.host, self.pid, now)
            uow.commit()
        if not renewed:
            self._name_us(now)  # cleared by hand meanwhile: the advisory lock is still ours
        self._last_beat = now

    def release(self) -> None:
        if self.held:
            # The row only names us; the lock goes with the session even if the store is unreachable.
            with contextlib.suppress(StorageError), self._uow() as uow:
                lock_repository(uow).release(self.host, self.pid)
                uow.commit()
        self._session.release()
        self.held = False
        self.since = None

    def _name_us(self, now: datetime) -> None:
        with self._uow() as uow:
            claimant = SyncLockRecord(self.holder, self.pid, self.host, now, now)
            lock_repository(uow).claim(claimant, _ANY_ROW)
            uow.commit()

    def _named_owner(self) -> str:
        with self._uow() as uow:
            found = lock_repository(uow).current()
        return found.holder if found is not None else "another Crewboard service"


def sync_lock_for(url: str, uow_factory: UnitOfWorkFactory, clock: Clock, name: str) -> EngineLock:
    """The sync lock for the store at `url`: an OwnerLock on PostgreSQL, the lock row on SQLite."""
    if is_postgresql(url):
        return OwnerLock(uow_factory, clock, SessionLock(url), name)
    return EngineLock(uow_factory, clock, name)
