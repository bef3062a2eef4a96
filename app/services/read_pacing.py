"""Whether the sync service is pacing calendar reads to stay within the providers' quotas.

The service (sync.engine) records it in the store's settings as it starts and stops pacing, and
refreshes it while pacing goes on; the health view and `crewboard health` read it from there, in
whatever process they run. A record not refreshed for `STALE_AFTER` is old news (the service
stopped) and is not shown.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from app.services.ports import UnitOfWork

KEY = "sync.reads_paced"
STALE_AFTER = timedelta(minutes=2)
REFRESH_EVERY = timedelta(seconds=30)


@dataclass(frozen=True, slots=True)
class ReadPacing:
    """Reads are being paced: since when, and how many due reads the last round held back."""

    since: datetime
    waiting: int
    updated: datetime

    def sentence(self) -> str:
        return (
            f"Reads are being paced to stay within the calendar providers' limits: {self.waiting} "
            "calendar read(s) wait for the next round; bookings still save and are sent at once."
        )


class _Settings(Protocol):
    def get(self, key: str) -> str | None: ...


def encode(pacing: ReadPacing | None) -> str:
    if pacing is None:
        return ""
    return json.dumps(
        {"since": pacing.since.isoformat(), "waiting": pacing.waiting, "updated": pacing.updated.isoformat()}
    )


def decode(text: str | None) -> ReadPacing | None:
    if not text:
        return None
    try:
        data = json.loads(text)
        return ReadPacing(
            datetime.fromisoformat(data["since"]),
            int(data["waiting"]),
            datetime.fromisoformat(data["updated"]),
        )
    except (ValueError, KeyError, TypeError):
        return None  # a record this version cannot read says nothing


def current_pacing(uow: UnitOfWork, now: datetime) -> ReadPacing | None:
    """The pacing the sync service reported lately, or None (not pacing, or no service running).

    Only storage's unit of work keeps settings; another (a test's) reports no pacing.
    """
    settings: _Settings | None = getattr(uow, "settings", None)
    found = decode(settings.get(KEY)) if settings is not None else None
    if found is None or now - found.updated > STALE_AFTER:
        return None
    return found
