"""One writer at a time inside this program, queued before the store's own writer lock.

The store lets one writer in at a time: SQLite through its file lock, PostgreSQL through the writer
advisory lock (storage.engine). A writer that finds it taken waits at most the busy timeout
(SQLite polls for it; PostgreSQL's lock_timeout). With fifty of one program's threads writing at
once (the booking page's last free slot) on a loaded machine, the last in line ran out that timeout
and failed although every writer was making progress; and SQLite's polling is not even a queue, so
the longest waiter could keep losing to newcomers. Queueing this program's writers on one lock first
leaves the store's lock, and its timeout, to arbitrate between programs (desks beside the service),
which is what that timeout is for. Writers were one at a time already; nothing runs slower.
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
