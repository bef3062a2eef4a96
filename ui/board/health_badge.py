"""One tech's calendar connection and sync freshness, reduced to a badge colour and a sentence."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum

from app.domain.model import AccountStatus, HealthLevel
from app.services.board import TechRow


class Badge(Enum):
    NONE = "none"  # no calendar connected
    OK = "ok"
    STALE = "stale"  # connected, but nothing read for a while or not read yet
    WARNING = "warning"
    FAILING = "failing"


@dataclass(frozen=True, slots=True)
class HealthBadge:
    badge: Badge
    text: str


STALE_AFTER = timedelta(minutes=5)


def _ago(then: datetime, now: datetime) -> str:
    seconds = max(0, int((now - then).total_seconds()))
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{seconds // 60} min ago"
    if seconds < 86400:
        return f"{seconds // 3600} h ago"
    return f"{seconds // 86400} days ago"


def health_badge(row: TechRow, now: datetime) -> HealthBadge:
    """The worst state among the tech's calendar accounts, said in one sentence."""
    accounts = [a for a in row.accounts if a.status is not AccountStatus.DISCONNECTED]
    if not accounts:
        return HealthBadge(Badge.NONE, "No calendar connected: bookings are not sent to a calendar.")
    broken = [a for a in accounts if a.status in (AccountStatus.NEEDS_RECONNECT, AccountStatus.REVOKED)]
    if broken:
        return HealthBadge(
            Badge.FAILING, f"The calendar {broken[0].email} needs reconnecting; sync is stopped for it."
        )
    failing = [h for h in row.health if h.failing_since is not None or h.level is not HealthLevel.OK]
    if failing:
        worst = failing[0]
        since = f" since {_ago(worst.failing_since, now)}" if worst.failing_since else ""
        why = f": {worst.last_error}" if worst.last_error else ""
        badge = Badge.WARNING if worst.level in (HealthLevel.OK, HealthLevel.WARNING) else Badge.FAILING
        return HealthBadge(badge, f"Calendar sync failing{since}{why}")
    successes = [h.last_success for h in row.health if h.last_success is not None]
    if not successes:
        return HealthBadge(Badge.STALE, "Calendar connected; waiting for the first sync.")
    last = min(successes)
    if now - last > STALE_AFTER:
        return HealthBadge(Badge.STALE, f"Calendar last synced {_ago(last, now)}.")
    return HealthBadge(Badge.OK, f"Calendar synced {_ago(last, now)}.")
