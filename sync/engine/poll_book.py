"""The engine's memory of each calendar's reads and push channel, for the push-first poll.

The push side writes to it (a verified notice, a channel opened or renewed, a renewal that
failed, a channel dropped); the engine writes each successful read and asks which calendars are
due (sync.core.poll_schedule decides). It lives in memory only. After a restart the channel
keeper hands it the channels it found stored, unexpired and pointing at this process's address
(`stored`): they get the benefit of the doubt and count as live, as if the restart were a sign,
instead of each being renewed to prove itself (two requests a calendar: 4,000 for 1,000 techs at
every restart). They are proved as at any other time: the first read after the restart (due at
once, a normal incremental read) brings the calendar in step; a channel silent for the heartbeat
is renewed; one that misses a change or fails a renewal drops its calendar to the fast poll.

Thread-safe: notices may arrive on another thread than the engine's loop.
"""

from __future__ import annotations

import threading
import zlib
from collections.abc import Container
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from app.domain.ids import CalendarId
from app.domain.time import Clock
from sync.core.pacer import Priority
from sync.core.poll_schedule import (
    PollPolicy,
    PushSigns,
    ReadMark,
    is_due,
    missed_change,
    needs_heartbeat,
    push_live,
)

# A calendar noticed this recently is "fresh": someone is changing it now, so when the quota is
# short its reads go before the others'.
FRESH = timedelta(minutes=15)


@dataclass(frozen=True, slots=True)
class PushCounts:
    """How many calendars are on which poll, for the health view and the logs."""

    live: int
    fast: int


class PollBook:
    def __init__(self, clock: Clock, policy: PollPolicy | None = None) -> None:
        self._clock = clock
        self.policy = policy or PollPolicy()
        self._lock = threading.Lock()
        self._signs: dict[CalendarId, PushSigns] = {}
        self._reads: dict[CalendarId, ReadMark] = {}
        self._count: dict[CalendarId, int] = {}  # reads so far: moves each calendar's jitter

    # --- the push side -------------------------------------------------------------------------

    def noticed(self, calendar_id: CalendarId) -> None:
        """A verified change notice (or a lifecycle notice) for the calendar arrived."""
        now = self._clock.now()
        self._update(calendar_id, last_sign=now, last_notice=now)

    def renewed(self, calendar_id: CalendarId, expires: datetime) -> None:
        """The calendar's channel was opened or renewed (the provider accepted it) until `expires`."""
        self._update(calendar_id, last_sign=self._clock.now(), expires=expires)

    def stored(self, calendar_id: CalendarId, expires: datetime) -> bool:
        """A channel stored before this process started, still unexpired, found by the keeper:
        trusted as if the restart were its last sign, unless this process knows something of the
        calendar's channel already. True when it was taken as live."""
        with self._lock:
            if calendar_id in self._signs:
                return False
            self._signs[calendar_id] = PushSigns(expires=expires, last_sign=self._clock.now())
            return True

    def failed(self, calendar_id: CalendarId) -> None:
        """Opening or renewing the channel failed: back to the fast poll until the next sign."""
        self._update(calendar_id, failed_at=self._clock.now())

    def dropped(self, calendar_id: CalendarId) -> None:
        """The channel is gone (stopped, or removed by the provider)."""
        with self._lock:
            self._signs.pop(calendar_id, None)

    def needs_heartbeat(self, calendar_id: CalendarId) -> bool:
        """True when the channel should be renewed to prove it still works."""
        with self._lock:
            signs = self._signs.get(calendar_id, PushSigns())
        return needs_heartbeat(signs, self._clock.now(), self.policy)

    # --- the engine ----------------------------------------------------------------------------

    def read(self, calendar_id: CalendarId, started: datetime, found_changes: bool) -> None:
        """A read that began at `started` succeeded; `found_changes`: it stored changes (not a
        first or full read). A change no notice announced marks the channel deaf."""
        with self._lock:
            previous = self._reads.get(calendar_id)
            mark = ReadMark(started, previous.started if previous else None)
            self._reads[calendar_id] = mark
            self._count[calendar_id] = self._count.get(calendar_id, 0) + 1
            signs = self._signs.get(calendar_id)
            if signs is not None and missed_change(mark, signs, found_changes):
                self._signs[calendar_id] = replace(signs, missed_at=self._clock.now())

    def last_read(self, calendar_id: CalendarId) -> datetime | None:
        """When the last successful read of the calendar began (None: never read)."""
        with self._lock:
            mark = self._reads.get(calendar_id)
        return None if mark is None else mark.started

    def due(self) -> Container[CalendarId]:
        """The calendars due for a read now (a container: the engine asks about each of its own)."""
        return _Due(self, self._clock.now())

    def is_due(self, calendar_id: CalendarId, now: datetime) -> bool:
        with self._lock:
            last = self._reads.get(calendar_id)
            signs = self._signs.get(calendar_id, PushSigns())
            count = self._count.get(calendar_id, 0)
        return is_due(last, signs, now, self.policy, _spread(calendar_id, count))

    def priority(self, calendar_id: CalendarId, jobs_today: bool = False) -> Priority:
        """How urgent its read is when the quota is short: fresh (noticed lately, or its tech has
        jobs today), then polled, then checked.

        A calendar left unread as long as the safety-net check (or never read) is urgent too:
        when there are more fresh calendars than the quota reads in a round, they would
        otherwise take every round, and the rest would wait until their techs' jobs were over."""
        now = self._clock.now()
        with self._lock:
            signs = self._signs.get(calendar_id, PushSigns())
            mark = self._reads.get(calendar_id)
        overdue = mark is None or now - mark.started >= self.policy.slow
        if jobs_today or overdue or (signs.last_notice is not None and now - signs.last_notice <= FRESH):
            return Priority.NOTICED
        return Priority.CHECKED if push_live(signs, now, self.policy) else Priority.POLLED

    def live(self, calendar_id: CalendarId) -> bool:
        with self._lock:
            signs = self._signs.get(calendar_id, PushSigns())
        return push_live(signs, self._clock.now(), self.policy)

    def counts(self, calendar_ids: list[CalendarId]) -> PushCounts:
        live = sum(1 for c in calendar_ids if self.live(c))
        return PushCounts(live, len(calendar_ids) - live)

    def _update(self, calendar_id: CalendarId, **changes: datetime | None) -> None:
        with self._lock:
            current = self._signs.get(calendar_id, PushSigns())
            self._signs[calendar_id] = replace(current, **changes)


@dataclass(frozen=True, slots=True)
class _Due:
    book: PollBook
    now: datetime

    def __contains__(self, calendar_id: object) -> bool:
        return isinstance(calendar_id, str) and self.book.is_due(CalendarId(calendar_id), self.now)


def _spread(calendar_id: CalendarId, reads: int) -> float:
    """A stable place in [-1, 1] for this calendar's next check: checks spread out over the
    jitter band instead of all falling due in the same round, and move from one check to the next."""
    return zlib.crc32(f"{calendar_id}:{reads}".encode()) / 0xFFFFFFFF * 2 - 1
