"""Following the change feed: what every other desk and the office service committed, in order.

`ChangeFeedListener.follow()` is an asyncio generator (no Qt): it yields batches of new entries
from the last number it saw, waits for a wake-up (NOTIFY on PostgreSQL, `PRAGMA data_version` on
SQLite) when there are none, and rereads on a heartbeat too, so a missed notice costs at most one
heartbeat. When the store cannot be reached it says so once, waits, reconnects by itself and
catches up from the same number: a desk that slept through a night misses nothing.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator, Callable, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Protocol

from app.domain.changes import Change
from app.errors import StorageError

log = logging.getLogger(__name__)

BATCH = 1000  # entries per read: a desk that was away a week catches up in bounded steps


class FeedWakeups(Protocol):
    """A wake-up source; entered (async with) before the first read, so no commit slips between."""

    async def __aenter__(self) -> FeedWakeups: ...
    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...
    async def wait(self, timeout: float) -> bool:
        """True when another program may have committed, False after `timeout`; StorageError when cut off."""
        ...


@dataclass(frozen=True, slots=True)
class Missed:
    """The entries after `after` up to `oldest` (excluded) were pruned before this reader read them."""

    after: int  # the last number the reader had seen
    oldest: int  # the oldest entry still kept


def missed(after: int, batch: Sequence[Change]) -> Missed | None:
    """Whether `batch`, read as the entries after `after`, shows that some were pruned first."""
    if batch and batch[0].seq > after + 1:
        return Missed(after, batch[0].seq)
    return None


class ChangeFeedStore(Protocol):
    """The store's side of the feed (storage.feed_watch.StoreFeed). Reads are blocking calls."""

    def last_seq(self) -> int: ...
    def since(self, seq: int, limit: int = BATCH) -> list[Change]: ...
    def written_here(self, seq: int) -> bool:
        """Whether this program committed entry `seq` itself (its own bus already told everyone)."""
        ...

    def wakeups(self) -> FeedWakeups: ...


@dataclass(frozen=True, slots=True)
class FollowTiming:
    """Heartbeat: reread (and check the connection) this often without a notice.
    Retry: after losing the store, wait this long first, doubling up to `retry_max`."""

    heartbeat_s: float = 5.0
    retry_s: float = 0.5
    retry_max_s: float = 10.0


class ChangeFeedListener:
    def __init__(
        self,
        store: ChangeFeedStore,
        timing: FollowTiming | None = None,
        on_connection: Callable[[StorageError | None], None] | None = None,
    ) -> None:
        """`on_connection` hears StorageError when the feed is lost and None when it is back."""
        self._store = store
        self._timing = timing or FollowTiming()
        self._on_connection = on_connection or (lambda problem: None)

    async def last_seq(self) -> int:
        """The newest entry's number now: where a screen that just loaded starts following."""
        return await asyncio.to_thread(self._store.last_seq)

    async def follow(
        self, since: int | None = None, *, skip_missed: bool = False
    ) -> AsyncGenerator[list[Change] | Missed]:
        """Yield the entries after `since` (default: after the newest now) in batches, for ever.

        When entries were pruned before they were read, yields `Missed` first; then the oldest
        kept entries follow, or with `skip_missed` only those after the newest at that moment
        (for a reader that re-reads everything anyway: it read the newest number before it
        re-reads, so nothing committed meanwhile is lost). Reconnects by itself; cancel the task
        (or close the generator) to stop.
        """
        timing = self._timing
        delay = timing.retry_s
        last = since
        lost = False
        while True:
            try:
                if last is None:
                    last = await self.last_seq()
                async with self._store.wakeups() as wakeups:
                    while True:
                        batch = await asyncio.to_thread(self._store.since, last, BATCH)
                        if lost:
                            lost, delay = False, timing.retry_s
                            log.info("change feed reachable again; caught up from %d", last)
                            self._on_connection(None)
                        gap = missed(last, batch)
                        if gap is not None:
                            log.warning(
                                "change feed: entries %d to %d were pruned before they were read",
                                gap.after + 1,
                                gap.oldest - 1,
                            )
                            if skip_missed:
                                last = await self.last_seq()  # before the reader re-reads
                            yield gap
                            if skip_missed:
                                continue
                        if batch:
                            last = batch[-1].seq
                            yield batch
                            continue
                        await wakeups.wait(timing.heartbeat_s)
            except StorageError as error:
                if not lost:
                    lost = True
                    log.warning("change feed lost: %s", error)
                    self._on_connection(error)
                await asyncio.sleep(delay)
                delay = min(delay * 2, timing.retry_max_s)
