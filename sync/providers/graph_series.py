"""A Microsoft series as `/instances` lists it: its exceptions, and the rule slots Outlook dropped.

Pure functions over rows the Graph adapter has already fetched. Outlook lists a cancelled
occurrence nowhere (no tombstone, no EXDATE on the master), so a slot of the rule that the
complete instance list leaves out becomes an EXDATE; a list that may be incomplete says nothing.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any

from app.domain.model import Calendar, RemoteEvent
from app.domain.recurrence import InvalidRecurrence, expand
from app.domain.time import Interval
from sync.providers.content import parse_instant
from sync.providers.errors import BadRemoteData
from sync.providers.normalize_graph import graph_event_to_remote


def _slot(event: RemoteEvent) -> datetime | date | None:
    """The rule slot an instance fills, the way the domain's expansion names it."""
    return event.original_start_date if event.original_start_date is not None else event.original_start


@dataclasses.dataclass(frozen=True, slots=True)
class SeriesRead:
    """What reading one series gave: its events, ids gone, rows skipped, and whether its instance
    list was complete (False: read the series again next round)."""

    events: list[RemoteEvent]
    gone: list[str]
    bad: list[tuple[str, str]]
    settled: bool = True


def read_instances(
    calendar: Calendar, master: RemoteEvent, rows: list[Any], known: dict[str, str]
) -> tuple[list[RemoteEvent], list[tuple[str, str]], set[datetime | date | None]] | None:
    """The exceptions among `rows`, the rows we could not read, and every slot listed; None
    when some row cannot be placed in a slot (the list then says nothing about that slot).

    A row we cannot read is placed by its `originalStart` alone: an instant, which names a
    timed slot but not an all-day series' slot (a date), so there it leaves the list unknown.
    """
    master_id = master.remote_id
    exceptions: list[RemoteEvent] = []
    bad: list[tuple[str, str]] = []
    listed: set[datetime | date | None] = set()
    for row in rows:
        if not isinstance(row, Mapping) or not isinstance(row.get("id"), str):
            return None
        known[row["id"]] = master_id
        try:
            instance = graph_event_to_remote(row, calendar.id)
        except BadRemoteData as error:
            bad.append((error.remote_id, error.why))
            if master.when.all_day:
                return None
            try:
                listed.add(parse_instant(row.get("originalStart"), row["id"], "its original start"))
            except BadRemoteData:
                return None
            continue
        listed.add(_slot(instance))
        if instance.original_start is not None:
            listed.add(instance.original_start)
        if row.get("type") == "exception":
            exceptions.append(instance)
    return exceptions, bad, listed


def fallback_exceptions(
    calendar: Calendar, master_id: str, items: list[Mapping[str, Any]]
) -> tuple[list[RemoteEvent], list[tuple[str, str]]]:
    """The series' exceptions as the delta carried them, when its instance list is unknown."""
    exceptions: list[RemoteEvent] = []
    bad: list[tuple[str, str]] = []
    for item in items:
        try:
            event = graph_event_to_remote(item, calendar.id)
        except BadRemoteData as error:
            bad.append((error.remote_id, error.why))
            continue
        if event.master_remote_id == master_id:
            exceptions.append(event)
    return exceptions, bad


def cancelled_slots(master: RemoteEvent, listed: set[datetime | date | None], window: Interval) -> list[str]:
    """EXDATE lines for the rule's slots inside the window that Outlook no longer lists."""
    try:
        expected = expand(master, [], window)
    except InvalidRecurrence:
        return []
    lines: list[str] = []
    for occurrence in expected:
        if occurrence.original_start_date is not None:
            day = occurrence.original_start_date
            inside = window.start.date() < day and day + timedelta(days=1) < window.end.date()
            if inside and day not in listed:
                lines.append(f"EXDATE;VALUE=DATE:{day.strftime('%Y%m%d')}")
        elif occurrence.original_start is not None:
            start = occurrence.original_start
            end = occurrence.when.end
            inside = window.start <= start and end is not None and end <= window.end
            if inside and start not in listed:
                lines.append(f"EXDATE:{start.astimezone(UTC).strftime('%Y%m%dT%H%M%SZ')}")
    return lines
