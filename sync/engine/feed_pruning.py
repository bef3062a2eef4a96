"""The sync owner keeps the change feed to about a day, pruning its oldest entries a batch at a time.

Every committed change adds feed entries, and at 1,000 techs busy time alone adds some every
round, for ever: unpruned, the table and its index grow without bound. Listeners only need the
entries they have not read yet, and a desk that was away longer than the feed is kept re-reads
everything it shows instead (app.services.change_feed.Missed), which costs one board snapshot.

How long: 24 hours covers a desk closed overnight or over a lunch-time outage, and the service
restarting, so each of them catches up entry by entry; whoever was away longer pays one full
re-read, which is cheap. The newest 10,000 entries stay whatever their age, so a quiet office's
`crewboard changes` still shows its last few days; and the newest entry always stays, so the next
number (MAX + 1) keeps rising and no number is ever handed out twice.

How: only the process that holds the sync lock prunes (the engine calls `upkeep` between rounds),
every 10 minutes, in transactions of at most 2,000 entries each. Each is one short write, so the
store's writer lock (SQLite's file lock, PostgreSQL's writer advisory lock) passes to a desk's
save between batches; a large backlog (the first prune after an upgrade) is spread over rounds,
at most `MAX_BATCHES` batches per round. Deleting feed rows records no feed entries of its own.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Protocol

from app.domain.time import Clock
from app.services.ports import UnitOfWork, UnitOfWorkFactory

log = logging.getLogger(__name__)

RETENTION = timedelta(hours=24)
KEEP_AT_LEAST = 10_000
BATCH = 2_000
MAX_BATCHES = 50  # per round: 100,000 entries, then the round goes on and the rest wait for the next
EVERY = timedelta(minutes=10)

Call = Callable[[Callable[[], int]], Awaitable[int]]


class PrunableFeed(Protocol):
    def prune(self, before: datetime, keep: int, limit: int) -> int: ...


def feed_repository(uow: UnitOfWork) -> PrunableFeed:
    """The change feed of `uow`, or TypeError naming what is missing."""
    found = getattr(uow, "changes", None)
    if found is None:
        raise TypeError(f"{type(uow).__name__} has no change feed; pruning needs storage's unit of work")
    repository: PrunableFeed = found
    return repository


class FeedPruner:
    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        clock: Clock,
        *,
        retention: timedelta = RETENTION,
        keep: int = KEEP_AT_LEAST,
        batch: int = BATCH,
        max_batches: int = MAX_BATCHES,
        every: timedelta = EVERY,
    ) -> None:
        self._uow = uow_factory
        self._clock = clock
        self.retention = retention
        self.keep = keep
        self.batch = batch
        self.max_batches = max_batches
        self.every = every
        self._next: datetime | None = None  # None: due at once
        self.batches = 0  # transactions that deleted entries (tests and the log)

    def due(self) -> bool:
        return self._next is None or self._clock.now() >= self._next

    def prune_batch(self) -> int:
        """One transaction deleting at most `batch` of the oldest entries due; how many it deleted."""
        before = self._clock.now() - self.retention
        with self._uow() as uow:
            deleted = feed_repository(uow).prune(before, self.keep, self.batch)
            uow.commit()
        if deleted:
            self.batches += 1
        return deleted

    async def prune(self, call: Call) -> int:
        """Delete what is due, one `prune_batch` per `call` (the engine's database thread); how many."""
        started = self._clock.now()
        total = 0
        for _ in range(self.max_batches):
            deleted = await call(self.prune_batch)
            total += deleted
            if deleted < self.batch:
                self._next = started + self.every
                break
        else:
            self._next = None  # more is due: go on at the next round
        if total:
            log.info("pruned %d change-feed entries older than %s", total, self.retention)
        return total

    async def upkeep(self, owner: bool, call: Call) -> None:
        """Between rounds: prune when this program owns sync and a prune is due. Never raises."""
        if not owner or not self.due():
            return
        try:
            await self.prune(call)
        except Exception:
            # Retried at the next due time; meanwhile the feed is only longer than it need be.
            self._next = self._clock.now() + self.every
            log.exception("pruning the change feed failed; trying again in %s", self.every)
