"""One engine per database: a lock row with a heartbeat, named after whoever holds it.

A second engine (the desktop app while `crewboard sync` runs, or a second office PC) finds the
lock held and stays read-only, saying who holds it. A holder that stops beating for a minute, or
whose process is gone from this very machine, has lost it.
"""

from __future__ import annotations

import os
import socket
from datetime import datetime, timedelta

from app.domain.time import Clock
from app.services.ports import UnitOfWorkFactory
from storage.repositories import SyncLockRecord
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
