"""Rebuilding a calendar's busy blocks from its mirrored events, series by series.

Blocks are filed under their series (a master's or a one-off event's id; an instance's master
id), so a read rebuilds only the series it touched. Past days keep the blocks they had: the
window no longer reads them, and the board keeps showing what was there.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, date, datetime

from app.domain.blocking import calendar_blocks, materialize
from app.domain.ids import CalendarId
from app.domain.model import BusyBlock, Calendar, RemoteEvent, Technician
from app.domain.recurrence import InvalidRecurrence, occurrence_interval
from app.domain.time import Interval
from app.services.ports import UnitOfWork

log = logging.getLogger(__name__)


def is_single(event: RemoteEvent | None) -> bool:
    """A one-off event: not a series, not an instance of one."""
    return event is not None and not event.recurrence and event.master_remote_id is None


def past_blocks(
    uow: UnitOfWork, tech: Technician, calendar: Calendar, horizon: Interval
) -> dict[str, list[BusyBlock]]:
    """The calendar's blocks that ended before the window starts, by the event they are filed under.

    Only those the tech's current settings still let block: a calendar turned off, or tentative
    events no longer counted, take their past blocks with them.
    """
    found: dict[str, list[BusyBlock]] = {}
    if not calendar_blocks(calendar, tech):
        return found
    for block in uow.busy.for_calendar(calendar.id, Interval(_LONG_AGO, horizon.start)):
        if (
            block.tech_id == tech.id
            and block.remote_id is not None
            and block.interval.end <= horizon.start
            and (tech.tentative_blocks or not block.tentative)
        ):
            found.setdefault(block.remote_id, []).append(block)
    return found


def blocks_by_series(
    uow: UnitOfWork, tech: Technician, calendar_id: CalendarId, horizon: Interval
) -> dict[str, list[BusyBlock]]:
    found: dict[str, list[BusyBlock]] = {}
    for block in uow.busy.for_calendar(calendar_id, horizon):
        if block.tech_id == tech.id and block.remote_id is not None:
            found.setdefault(block.remote_id, []).append(block)
    return found


class SeriesIndex:
    """A calendar's mirrored events by id and by master, for rebuilding busy blocks in memory."""

    def __init__(self, events: Sequence[RemoteEvent]) -> None:
        self._by_id = {e.remote_id: e for e in events}
        self._instances: dict[str, list[RemoteEvent]] = {}
        for event in events:
            if event.master_remote_id is not None:
                self._instances.setdefault(event.master_remote_id, []).append(event)
        for instances in self._instances.values():
            instances.sort(key=_instance_order)

    @classmethod
    def load(cls, uow: UnitOfWork, calendar_id: CalendarId, keys: set[str]) -> SeriesIndex:
        """Only the series named by `keys`, with the masters of instances among them."""
        events = uow.remote_events.series(calendar_id, keys)
        loaded = {e.remote_id for e in events}
        parents = {e.master_remote_id for e in events if e.master_remote_id} - loaded
        if parents:
            events += [e for e in uow.remote_events.series(calendar_id, parents) if e.remote_id not in loaded]
        return cls(events)

    def get(self, remote_id: str) -> RemoteEvent | None:
        return self._by_id.get(remote_id)

    def instances_of(self, master_remote_id: str) -> list[RemoteEvent]:
        return self._instances.get(master_remote_id, [])

    def keys(self) -> set[str]:
        """Every series key: a master's (or single event's) own id, an instance's master id."""
        return {e.master_remote_id or e.remote_id for e in self._by_id.values()}


_EARLIEST = datetime.min.replace(tzinfo=UTC)
_LONG_AGO = datetime(1970, 1, 1, tzinfo=UTC)


def _instance_order(event: RemoteEvent) -> tuple[datetime, date, str]:
    """Instances in the order of their original start (timed or all-day), then id."""
    return (event.original_start or _EARLIEST, event.original_start_date or date.min, event.remote_id)


def materialize_series(
    index: SeriesIndex, tech: Technician, calendar: Calendar, key: str, horizon: Interval
) -> dict[str, list[BusyBlock]]:
    """The blocks to file under series `key`, and [] under each filing it replaces.

    Instances whose master we do not have (a series shared in part) block on their own, filed
    under their own id; once the master arrives they are folded into it.
    """
    filed: dict[str, list[BusyBlock]] = {}
    master = index.get(key)
    instances = index.instances_of(key)
    if master is not None and master.master_remote_id is None:
        filed[key] = _expand(tech, calendar, master, instances, horizon)
        for instance in instances:
            filed[instance.remote_id] = []
    elif master is not None:
        # `key` is itself an instance whose master we lack.
        parent = index.get(master.master_remote_id or "")
        filed[key] = [] if parent is not None else _expand(tech, calendar, master, [], horizon)
    else:
        filed[key] = []
        for instance in instances:
            filed[instance.remote_id] = _expand(tech, calendar, instance, [], horizon)
    return filed


def _expand(
    tech: Technician,
    calendar: Calendar,
    master: RemoteEvent,
    exceptions: Sequence[RemoteEvent],
    horizon: Interval,
) -> list[BusyBlock]:
    if is_single(master):
        # A one-off event blocks its own time even once the window has moved past it: the
        # mirror keeps it as last seen, and so does the board.
        horizon = Interval(min(horizon.start, occurrence_interval(master.when).start), horizon.end)
    try:
        return materialize(tech, calendar, master, exceptions, horizon)
    except InvalidRecurrence as error:
        log.warning("cannot expand event %r of %s: %s", master.remote_id[:80], calendar.name, error)
        return []
