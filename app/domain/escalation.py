"""Sync health rules: how long an account may fail before who hears about it.

An outage escalates by elapsed time alone: a warning on the board first, then the dispatcher,
then the owner. The thresholds are values a business may tune; everything here is pure.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from app.domain.model import HealthLevel
from app.errors import InvalidInput

_ORDER = (HealthLevel.OK, HealthLevel.WARNING, HealthLevel.DISPATCHER, HealthLevel.OWNER)


def rank(level: HealthLevel) -> int:
    """Escalation order: OK < WARNING < DISPATCHER < OWNER."""
    return _ORDER.index(level)


def levels_between(reached: HealthLevel, target: HealthLevel) -> tuple[HealthLevel, ...]:
    """The levels above `reached` up to and including `target`, lowest first."""
    return _ORDER[rank(reached) + 1 : rank(target) + 1]


@dataclass(frozen=True, slots=True)
class Thresholds:
    """How long an account fails before a warning, a dispatcher alert and an owner alert."""

    warn: timedelta = timedelta(minutes=5)
    dispatcher: timedelta = timedelta(minutes=30)
    owner: timedelta = timedelta(hours=2)

    def __post_init__(self) -> None:
        if not (timedelta(0) < self.warn < self.dispatcher < self.owner):
            raise InvalidInput(
                "Alert thresholds must be more than zero and grow in order, warning before dispatcher "
                f"before owner; got warning after {format_duration(self.warn)}, dispatcher after "
                f"{format_duration(self.dispatcher)}, owner after {format_duration(self.owner)}."
            )


def level_for(failing_since: datetime | None, now: datetime, t: Thresholds) -> HealthLevel:
    """The level an outage that began at `failing_since` has reached at `now`."""
    if failing_since is None:
        return HealthLevel.OK
    elapsed = now - failing_since
    if elapsed >= t.owner:
        return HealthLevel.OWNER
    if elapsed >= t.dispatcher:
        return HealthLevel.DISPATCHER
    if elapsed >= t.warn:
        return HealthLevel.WARNING
    return HealthLevel.OK


_UNITS = {
    "d": timedelta(days=1),
    "h": timedelta(hours=1),
    "m": timedelta(minutes=1),
    "s": timedelta(seconds=1),
}
_DURATION = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")


def parse_duration(text: str) -> timedelta:
    """A span written like 90s, 5m, 2h, 1h30m or 1d."""
    cleaned = text.strip().lower().replace(" ", "")
    match = _DURATION.match(cleaned)
    if not cleaned or match is None:
        raise InvalidInput(f"Duration '{text}' is not understood; write it like 90s, 5m or 2h.")
    total = timedelta(0)
    for amount, unit in zip(match.groups(), "dhms", strict=True):
        if amount is not None:
            total += int(amount) * _UNITS[unit]
    return total


def format_duration(span: timedelta) -> str:
    """`span` the way parse_duration reads it back: 90s, 5m, 2h, 1h30m."""
    seconds = int(span.total_seconds())
    if seconds <= 0:
        return f"{seconds}s"
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        amount, seconds = divmod(seconds, size)
        if amount:
            parts.append(f"{amount}{unit}")
    return "".join(parts)
