"""Quota pacing: token buckets that keep Crewboard's reads under the providers' limits (pure).

Documented limits (README, "Cost and scale"):
- Google Calendar: 600 requests a minute per user, and the project's budget (10,000 a minute by
  default; configurable, since a project may have asked Google for more or share its quota), both
  over a sliding minute;
- Microsoft Graph (Outlook): 10,000 requests per 10 minutes per mailbox, and 4 in flight (the Graph
  adapter's own semaphore keeps that one).

Each limit is a bucket of `burst` tokens refilled at `rate` a second, sized so `burst + rate ×
window ≤ share × limit`: then no window of the limit's length can ever hold more requests than
`share × limit`, wherever it starts, because a window can spend at most the tokens present at its
start (≤ burst) and those that refilled during it (≤ rate × window). `share` (90 %) leaves room for
what is not paced here (channel renewals, a read's extra pages, another desk's sign-in).

Requests are admitted ahead of the limit, never sent to collect a 429: a round asks `admit` with
every due read in priority order (fresh calendars first), and what cannot be paid for now waits
for a later round.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from enum import IntEnum
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
T = TypeVar("T")

SHARE = 0.9  # of a documented limit that Crewboard's paced reads may use
# Of the usable share, what may go at once; the rest refills over the window. A quarter, because
# the engine asks once a poll round (10 s): the bucket must hold a round's refill (a sixth of a
# minute) or the cap wastes it.
BURST = 0.25


@dataclass(frozen=True, slots=True)
class Limit:
    """At most `count` requests in any `window`."""

    count: int
    window: timedelta

    def __post_init__(self) -> None:
        if self.count < 1 or self.window <= timedelta(0):
            raise ValueError("a limit is a positive count over a positive window")

    @property
    def burst(self) -> float:
        return max(1.0, self.count * SHARE * BURST)

    @property
    def rate(self) -> float:
        """Tokens a second; with `burst`, at most SHARE × count in any window."""
        return max(0.0, self.count * SHARE - self.burst) / self.window.total_seconds()


GOOGLE_USER = Limit(600, timedelta(minutes=1))
GOOGLE_PROJECT = Limit(10_000, timedelta(minutes=1))
GRAPH_MAILBOX = Limit(10_000, timedelta(minutes=10))


@dataclass(frozen=True, slots=True)
class Bucket:
    tokens: float
    at: float  # seconds on the caller's monotonic scale when `tokens` was true


def refilled(bucket: Bucket | None, limit: Limit, now: float) -> Bucket:
    """The bucket at `now`: full when new, never above `burst`."""
    if bucket is None:
        return Bucket(limit.burst, now)
    elapsed = max(0.0, now - bucket.at)
    return Bucket(min(limit.burst, bucket.tokens + elapsed * limit.rate), max(now, bucket.at))


class Priority(IntEnum):
    """Lower goes first when the budget is short."""

    NOTICED = 0  # a notice said it changed, or it has jobs today: the dispatcher looks at it now
    POLLED = 1  # no live push: polling is how its changes are seen
    CHECKED = 2  # the safety-net check of a calendar whose push works


@dataclass(frozen=True, slots=True)
class Ask(Generic[T, K]):
    """One read wanting a request: what it is, how urgent, and which limits it spends."""

    item: T
    priority: Priority
    keys: tuple[K, ...]


@dataclass(frozen=True, slots=True)
class Admission(Generic[T, K]):
    admitted: tuple[T, ...]
    deferred: tuple[T, ...]
    buckets: Mapping[K, Bucket] = field(default_factory=dict)


def admit(
    asks: Sequence[Ask[T, K]],
    buckets: Mapping[K, Bucket],
    limits: Mapping[K, Limit],
    now: float,
) -> Admission[T, K]:
    """Admit reads in priority order (stable within a priority) while every bucket they spend
    holds a whole token; the rest wait. A read deferred for want of one limit does not hold up
    less urgent reads that spend other limits (another user's quota)."""
    current: dict[K, Bucket] = dict(buckets)
    admitted: list[T] = []
    deferred: list[T] = []
    for ask in sorted(asks, key=lambda a: a.priority):
        filled = {key: refilled(current.get(key), limits[key], now) for key in ask.keys}
        if all(bucket.tokens >= 1.0 for bucket in filled.values()):
            for key, bucket in filled.items():
                current[key] = Bucket(bucket.tokens - 1.0, bucket.at)
            admitted.append(ask.item)
        else:
            current.update(filled)
            deferred.append(ask.item)
    return Admission(tuple(admitted), tuple(deferred), current)


def charge(
    buckets: Mapping[K, Bucket], limits: Mapping[K, Limit], keys: Sequence[K], now: float
) -> dict[K, Bucket]:
    """The buckets of `keys` after spending one token of each for a request that could not wait (a
    read a notice asked for): a bucket may go below zero, and the reads that can wait are then held
    until it refills. Only those buckets are returned (a read must not cost a copy of every one)."""
    spent: dict[K, Bucket] = {}
    for key in keys:
        bucket = refilled(buckets.get(key), limits[key], now)
        spent[key] = Bucket(bucket.tokens - 1.0, bucket.at)
    return spent
