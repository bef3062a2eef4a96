"""When to read a calendar again: push first, polling as the safety net (a pure rule).

A calendar whose push channel (Google watch channel, Graph subscription) is alive and recently
heard from is read when a notice says it changed, and otherwise checked every `slow` (default
5 min). A calendar without live push is read in every poll round: the engine's fast poll (10 s,
jittered ±20 %, `SyncEngine.poll_seconds`). A channel drops its calendar back to the fast poll at
once when:
- it has expired, or opening or renewing it failed after its last sign of life;
- it fell silent: no sign (a notice, a handshake, a renewal) for `silent_after`;
- it missed a change: a read that no notice asked for found changes made at the calendar while no
  notice had come since the read before it began (the channel is deaf, whatever it says).
The next sign (a notice, a successful renewal) makes it live again.

Why 5 minutes. Google says push notices are not guaranteed ("a small fraction can be dropped")
and advises a periodic check beside them; Microsoft says the same of Graph subscriptions and
suggests polling delta every 1-5 minutes without them. The check bounds how late a change whose
notice was lost is seen, so it wants to be short; the quota wants it long. At 1,000 technicians
× 2 calendars, the fast poll costs 2,000 × 6 = 12,000 requests a minute, over Google's default
project budget of 10,000; a 5-minute check costs 2,000 / 5 = 400 a minute (12 requests per
calendar per hour, under the 15 the issue allows), leaving the budget to the reads notices ask
for and to the fast-polled calendars whose push is down. A lost notice is rare, so its change
waiting at most 5 minutes (the dispatcher's usual planning horizon is hours) is the better trade
than a quota the franchise cannot afford.

Why 24 hours of silence. A quiet calendar's channel may say nothing for days, so silence alone
proves little; the channel keeper renews a channel whose last sign is older than `heartbeat`
(12 h), and a renewal that works is a sign, so a healthy quiet calendar never reaches the bound,
while one whose keeper has stopped (or whose renewals silently stopped) returns to the fast poll.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

SLOW = timedelta(minutes=5)
SILENT_AFTER = timedelta(hours=24)
HEARTBEAT = timedelta(hours=12)
JITTER = 0.2


@dataclass(frozen=True, slots=True)
class PollPolicy:
    slow: timedelta = SLOW  # the safety-net check of a calendar with live push
    silent_after: timedelta = SILENT_AFTER  # no sign for this long: the channel counts as dead
    heartbeat: timedelta = HEARTBEAT  # renew a channel whose last sign is older than this
    jitter: float = JITTER  # ± share of the interval, so checks spread instead of bunching

    def __post_init__(self) -> None:
        if self.slow <= timedelta(0):
            raise ValueError("the slow check must be a positive interval")
        if not 0 <= self.jitter < 1:
            raise ValueError("jitter is a share of the interval, from 0 up to (not including) 1")
        if self.heartbeat >= self.silent_after:
            raise ValueError("the heartbeat must come before the channel counts as silent")


@dataclass(frozen=True, slots=True)
class PushSigns:
    """What is known of one calendar's push channel, all instants aware UTC."""

    expires: datetime | None = None  # the channel's expiry; None: no channel
    last_sign: datetime | None = None  # the latest notice, handshake or successful renewal
    last_notice: datetime | None = None  # the latest change notice
    failed_at: datetime | None = None  # the latest failure to open or renew the channel
    missed_at: datetime | None = None  # the latest read that found a change no notice announced


@dataclass(frozen=True, slots=True)
class ReadMark:
    """The last successful read of a calendar: when it began, and when the one before it began."""

    started: datetime
    previous_started: datetime | None = None


def push_live(signs: PushSigns, now: datetime, policy: PollPolicy) -> bool:
    """True when the calendar may rely on notices and be checked only every `policy.slow`."""
    sign = signs.last_sign
    if sign is None or signs.expires is None or signs.expires <= now:
        return False
    if now - sign > policy.silent_after:
        return False
    return not any(bad is not None and bad >= sign for bad in (signs.failed_at, signs.missed_at))


def needs_heartbeat(signs: PushSigns, now: datetime, policy: PollPolicy) -> bool:
    """True when the channel should be renewed to prove it still works (no sign for `heartbeat`)."""
    return signs.last_sign is None or now - signs.last_sign >= policy.heartbeat


def next_read(
    last: ReadMark | None, signs: PushSigns, now: datetime, policy: PollPolicy, spread: float
) -> datetime:
    """When the calendar is next due; `spread` in [-1, 1] picks its place inside the jitter.

    Without live push: now, so every poll round reads it (the rounds' own jittered spacing is the
    fast poll). With live push: `slow` after the start of the last read. The rule is judged with
    what holds now, so a channel that has just died makes a calendar read minutes ago due at once.
    """
    if not -1 <= spread <= 1:
        raise ValueError("spread is between -1 and 1")
    if last is None or not push_live(signs, now, policy):
        return now
    return last.started + policy.slow * (1 + policy.jitter * spread)


def is_due(last: ReadMark | None, signs: PushSigns, now: datetime, policy: PollPolicy, spread: float) -> bool:
    return next_read(last, signs, now, policy, spread) <= now


def missed_change(last: ReadMark, signs: PushSigns, found_changes: bool) -> bool:
    """True when the read `last` found changes that no notice announced.

    A notice announces the changes made since the read before it began; one that came after that
    read began (or at the same instant) explains what this read found (including our own writes, which notify too).
    """
    if not found_changes or last.previous_started is None or signs.expires is None:
        return False
    notice = signs.last_notice
    return notice is None or notice < last.previous_started  # at the same instant: benefit of the doubt
