"""One writer at a time inside this program, queued before SQLite's file lock.

SQLite lets one writer in at a time through a file lock; a writer that finds it taken polls it
(the busy handler) until its busy timeout. Polling is not a queue: under load, a writer that has
waited longest can keep losing to newcomers, and with fifty of one program's threads writing at
once (the booking page's last free slot) the unlucky ones time out and fail although the program
never stopped making progress. Queueing this program's writers on one lock first leaves SQLite's
lock to arbitrate only between programs (a desk beside `crewboard sync`), which is what its busy
timeout is for. PostgreSQL needs none of this: waiters for its advisory lock queue in order.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from app.errors import StorageError
from storage.errors import LOCKED

# How long a writer waits for its turn behind this program's other writers. Each holds the turn
# for one short transaction; only a burst of them queued together waits this long.
TURN_WAIT_S = 30.0


class WriteTurn:
    """This program's writers to one SQLite file, one at a time, in the order they asked."""

    def __init__(self, wait_s: float = TURN_WAIT_S) -> None:
        # Reentrant: a writer that opens another unit of work on its own thread must not wait on
        # itself (SQLite then answers that second unit as it always did).
        self._lock = threading.RLock()
        self._wait_s = wait_s

    @contextmanager
    def held(self) -> Iterator[None]:
        if not self._lock.acquire(timeout=self._wait_s):
            raise StorageError(LOCKED.format(where=""))
        try:
            yield
        finally:
            self._lock.release()
