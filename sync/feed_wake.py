"""The office service acts on a desk's write at once: the change feed wakes the engine's flush.

A desk saving a booking writes its calendar write to the outbox in the same transaction, and the
change feed records an OUTBOX entry; on PostgreSQL the commit NOTIFYs every listener. The desk's
own bus is the desk's, so the service hears of the write only through the feed: `FeedWake`
follows it and asks the engine to send queued writes when another program queued one. The
engine's poll stays on as the safety net (a missed notice only delays a write to the next round).
A service that fell behind the feed's pruning cannot know which writes were queued meanwhile: it
flushes anyway, and a flush sends everything waiting in the outbox.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence

from app.domain.changes import Change, ChangeKind
from app.services.change_feed import ChangeFeedListener, ChangeFeedStore, FollowTiming, Missed

log = logging.getLogger(__name__)

# Entries that may mean a calendar write is waiting: a queued write, or a booking (whose write was
# queued in the same transaction).
WAKING = frozenset({ChangeKind.OUTBOX, ChangeKind.BOOKING})


class FeedWake:
    def __init__(
        self, feed: ChangeFeedStore, flush: Callable[[], None], timing: FollowTiming | None = None
    ) -> None:
        self._feed = feed
        self._flush = flush
        self._listener = ChangeFeedListener(feed, timing)
        self.woken = 0  # how many batches asked for a flush (for tests and the log)

    def wants_flush(self, batch: Sequence[Change] | Missed) -> bool:
        if isinstance(batch, Missed):
            return True  # what was missed may have queued writes: send all that wait
        return any(c.kind in WAKING and not self._feed.written_here(c.seq) for c in batch)

    async def run(self) -> None:
        """Follow the feed from now until cancelled; the listener rides out a lost store by itself."""
        follower = self._listener.follow(skip_missed=True)
        try:
            async for batch in follower:
                if self.wants_flush(batch):
                    self.woken += 1
                    self._flush()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("following the change feed stopped; desks' writes wait for the next poll")
            raise
        finally:
            await follower.aclose()
