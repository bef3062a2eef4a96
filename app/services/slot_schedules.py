"""What a slot search read, kept until the store changes: a quiet booking page reads one number.

Every commit, by any program on the store, numbers a change-feed entry (storage's change feed);
the newest number is the store's version. A search keeps the service and its techs' schedules read
for whole days, with the version they were read at; the next search of the same service and days
reuses them while the version is unchanged, and only searches (its window moves with the clock
inside those days, which the search clips to).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from app.domain.availability import TechSchedule
from app.domain.service_types import ServiceType
from app.domain.time import Interval

MOST_KEPT = 64  # services × day ranges asked for; a page asks for a few


@dataclass(frozen=True, slots=True)
class ReadSchedules:
    """A service as asked for, and its qualified techs' schedules over `days`, read at `version`."""

    version: int
    days: Interval
    service: ServiceType
    schedules: tuple[TechSchedule, ...]


class ScheduleCache:
    """Schedules by (the service as asked for, the days read); shared by the page's threads."""

    def __init__(self) -> None:
        self._kept: dict[tuple[str, Interval], ReadSchedules] = {}
        self._lock = threading.Lock()

    def get(self, asked: str, days: Interval, version: int) -> ReadSchedules | None:
        """What was read for these days at `version`; None when nothing was, or the store changed since."""
        with self._lock:
            found = self._kept.get((asked, days))
        return found if found is not None and found.version == version else None

    def put(self, asked: str, read: ReadSchedules) -> None:
        with self._lock:
            if len(self._kept) >= MOST_KEPT:
                self._kept.clear()  # old days and services nobody asks for any more
            self._kept[(asked, read.days)] = read
