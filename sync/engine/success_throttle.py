"""Records an account's continuing good health at most once a minute per direction.

A quiet poll round used to write every account's SyncHealth (a read, an update, a commit, a
change-feed row that wakes every desk) each 10 s: at 1,000 accounts, about a sixth of the round's
CPU for a "last sync" the health panel shows to the minute. Every failure still goes through at
once, and so does the first success after one (it ends the outage and sends the recovery notices);
only repeats of "still fine" within `every` are dropped.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

from app.domain.ids import AccountId
from sync.engine.ports import Direction, HealthRecorder

EVERY = timedelta(minutes=1)


class SuccessThrottle:
    """A HealthRecorder that passes failures on and thins out repeated successes."""

    def __init__(self, inner: HealthRecorder, every: timedelta = EVERY) -> None:
        self.inner = inner
        self._every = every
        self._lock = threading.Lock()
        self._recorded: dict[tuple[AccountId, Direction], datetime] = {}

    def succeeded(self, account_id: AccountId, at: datetime, kind: Direction = Direction.READ) -> None:
        key = (account_id, kind)
        with self._lock:
            last = self._recorded.get(key)
            if last is not None and timedelta(0) <= at - last < self._every:
                return
        self.inner.succeeded(account_id, at, kind)
        with self._lock:
            self._recorded[key] = at

    def failed(self, account_id: AccountId, at: datetime, error: str) -> None:
        with self._lock:
            for kind in Direction:
                self._recorded.pop((account_id, kind), None)
        self.inner.failed(account_id, at, error)
