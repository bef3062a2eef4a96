"""The engine's quota pacer: which due reads a poll round may send, and whether it is pacing.

Each Google account spends its user's bucket and the project's; each Outlook mailbox its own
(sync.core.pacer has the limits and the arithmetic). A poll round asks `choose` with every due
calendar; the most urgent go first, and the rest stay due for the next round. A read the engine
cannot hold back (a notice asked for it, or a write's 412 needs it) is charged when it is made,
so it is counted and the reads that can wait give way.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from app.domain.ids import AccountId, CalendarId, TechId
from app.domain.model import CalendarAccount, Provider
from app.domain.time import Clock, Interval
from app.services.ports import UnitOfWork
from app.services.read_pacing import REFRESH_EVERY, ReadPacing
from sync.core.pacer import (
    GOOGLE_PROJECT,
    GOOGLE_USER,
    GRAPH_MAILBOX,
    Ask,
    Bucket,
    Limit,
    Priority,
    admit,
    charge,
)

Key = tuple[str, AccountId | None]
PROJECT: Key = ("google-project", None)


@dataclass(frozen=True, slots=True)
class PacerLimits:
    google_project: Limit = GOOGLE_PROJECT
    google_user: Limit = GOOGLE_USER
    graph_mailbox: Limit = GRAPH_MAILBOX

    @staticmethod
    def with_google_budget(per_minute: int) -> PacerLimits:
        """The project's budget as agreed with Google (its console's "queries per minute")."""
        return PacerLimits(google_project=Limit(per_minute, timedelta(minutes=1)))


@dataclass(frozen=True, slots=True)
class Wanted:
    calendar_id: CalendarId
    account: CalendarAccount
    priority: Priority


class ReadPacer:
    def __init__(self, clock: Clock, limits: PacerLimits | None = None) -> None:
        self._clock = clock
        self.limits = limits or PacerLimits()
        self._lock = threading.Lock()
        self._buckets: dict[Key, Bucket] = {}
        self._paid: set[CalendarId] = set()  # admitted by `choose`, not yet read
        self._paced_since: datetime | None = None
        self._waiting = 0
        self._reported: ReadPacing | None = None

    def choose(self, wanted: Sequence[Wanted]) -> set[CalendarId]:
        """The due reads this round may send (their tokens are spent); the rest wait."""
        now = self._clock.now()
        asks = [Ask(w.calendar_id, w.priority, self._keys(w.account)) for w in wanted]
        with self._lock:
            limits = {key: self._limit(key) for ask in asks for key in ask.keys}
            result = admit(asks, self._buckets, limits, now.timestamp())
            self._buckets.update(result.buckets)
            self._paid.update(result.admitted)
            self._waiting = len(result.deferred)
            if result.deferred and self._paced_since is None:
                self._paced_since = now
            elif not result.deferred:
                self._paced_since = None
        return set(result.admitted)

    def spend(self, account: CalendarAccount, calendar_id: CalendarId) -> None:
        """A read of the calendar goes out: paid already by `choose`, or charged now."""
        with self._lock:
            if calendar_id in self._paid:
                self._paid.discard(calendar_id)
                return
            keys = self._keys(account)
            limits = {key: self._limit(key) for key in keys}
            self._buckets.update(charge(self._buckets, limits, keys, self._clock.now().timestamp()))

    @property
    def pacing(self) -> ReadPacing | None:
        """Reads are being held back: since when and how many, as of the last round."""
        with self._lock:
            if self._paced_since is None:
                return None
            return ReadPacing(self._paced_since, self._waiting, self._clock.now())

    def report(self) -> tuple[bool, ReadPacing | None]:
        """(whether the stored record should change, the record): on a start, an end, and every
        REFRESH_EVERY while pacing goes on, so the health view sees a live record."""
        pacing = self.pacing
        before = self._reported
        if pacing is None:
            changed = before is not None
        else:
            changed = (
                before is None
                or before.since != pacing.since
                or pacing.updated - before.updated >= REFRESH_EVERY
            )
        if changed:
            self._reported = pacing
        return changed, pacing

    def _keys(self, account: CalendarAccount) -> tuple[Key, ...]:
        if account.provider is Provider.GOOGLE:
            return (("google-user", account.id), PROJECT)
        if account.provider is Provider.MICROSOFT:
            return (("graph-mailbox", account.id),)
        return ()  # CalDAV servers publish no quota; their reads are not paced

    def _limit(self, key: Key) -> Limit:
        kind = key[0]
        if kind == "google-user":
            return self.limits.google_user
        if kind == "graph-mailbox":
            return self.limits.graph_mailbox
        return self.limits.google_project


# "Today's jobs", for the pacer's order: a job that starts or runs within this long from now.
JOBS_AHEAD = timedelta(hours=12)


def techs_with_jobs_soon(uow: UnitOfWork, now: datetime) -> frozenset[TechId]:
    """Technicians with a scheduled job running at `now` or starting within JOBS_AHEAD: their
    calendars are the ones the dispatcher is looking at, so their reads go first when reads are paced."""
    window = Interval(now, now + JOBS_AHEAD)
    return frozenset(b.tech_id for b in uow.bookings.between(window) if b.tech_id is not None)
