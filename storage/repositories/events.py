"""The mirror of remote calendars: events, the busy blocks materialized from them, and the
links between bookings and the events that carry them."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, TypeVar, cast

from sqlalchemy import CursorResult, Row, Table, delete, insert, select

from app.domain.changes import ChangeKind
from app.domain.ids import BookingId, CalendarId, TechId
from app.domain.model import BusyBlock, EventLink, EventTime, RemoteEvent
from app.domain.time import Interval
from storage import change_feed
from storage.orm import BusyBlockRow, CalendarAccountRow, CalendarRow, EventLinkRow, RemoteEventRow
from storage.repositories.base import SqlRepository, assign

# Ids per IN (...) list: far below SQLite's variable limit, large enough that a full read of a
# busy calendar takes a handful of statements rather than one per event.
CHUNK = 500

T = TypeVar("T")

# The tables themselves, for inserts that need no ORM object back.
_REMOTE_EVENTS = cast(Table, RemoteEventRow.__table__)
_BUSY_BLOCKS = cast(Table, BusyBlockRow.__table__)


def _chunks(items: Sequence[T]) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), CHUNK):
        yield items[start : start + CHUNK]


# --- remote events ------------------------------------------------------------------------


def _event_values(event: RemoteEvent) -> dict[str, Any]:
    return {
        "etag": event.etag,
        "start": event.when.start,
        "end": event.when.end,
        "timezone": event.when.timezone,
        "start_date": event.when.start_date,
        "end_date": event.when.end_date,
        "show_as": event.show_as,
        "response": event.response,
        "cancelled": event.cancelled,
        "private": event.private,
        "title": event.title,
        "event_type": event.event_type,
        "recurrence": event.recurrence,
        "master_remote_id": event.master_remote_id,
        "original_start": event.original_start,
        "original_start_date": event.original_start_date,
        "booking_id": event.booking_id,
        "updated": event.updated,
    }


def _event(row: RemoteEventRow) -> RemoteEvent:
    return RemoteEvent(
        calendar_id=CalendarId(row.calendar_id),
        remote_id=row.remote_id,
        etag=row.etag,
        when=EventTime(
            start=row.start,
            end=row.end,
            timezone=row.timezone,
            start_date=row.start_date,
            end_date=row.end_date,
        ),
        show_as=row.show_as,
        response=row.response,
        cancelled=row.cancelled,
        private=row.private,
        title=row.title,
        event_type=row.event_type,
        recurrence=row.recurrence,
        master_remote_id=row.master_remote_id,
        original_start=row.original_start,
        original_start_date=row.original_start_date,
        booking_id=None if row.booking_id is None else BookingId(row.booking_id),
        updated=row.updated,
    )


class SqlRemoteEventRepository(SqlRepository):
    def upsert(self, event: RemoteEvent) -> None:
        row = self._row(event.calendar_id, event.remote_id)
        if row is None:
            row = RemoteEventRow(calendar_id=event.calendar_id, remote_id=event.remote_id)
            self._session.add(row)
        assign(row, _event_values(event))

    def upsert_many(self, calendar_id: CalendarId, events: Iterable[RemoteEvent]) -> None:
        """Store a read's events of one calendar: one lookup per chunk, one insert for the new ones.

        The same event twice in `events` (a page boundary that moved under a changing calendar)
        is stored once, as last given.
        """
        latest: dict[str, RemoteEvent] = {}
        for event in events:
            if event.calendar_id != calendar_id:
                raise ValueError(f"event of calendar {event.calendar_id} stored under calendar {calendar_id}")
            latest[event.remote_id] = event
        new: list[dict[str, Any]] = []
        for chunk in _chunks(list(latest)):
            query = select(RemoteEventRow).where(
                RemoteEventRow.calendar_id == calendar_id, RemoteEventRow.remote_id.in_(chunk)
            )
            rows = {row.remote_id: row for row in self._session.scalars(query)}
            for remote_id in chunk:
                values = _event_values(latest[remote_id])
                row = rows.get(remote_id)
                if row is None:
                    new.append({"calendar_id": calendar_id, "remote_id": remote_id, **values})
                else:
                    assign(row, values)
        if new:
            # Into the table, as busy blocks are: mirrored events are not in the change feed.
            self._session.execute(insert(_REMOTE_EVENTS), new)

    def get(self, calendar_id: CalendarId, remote_id: str) -> RemoteEvent | None:
        row = self._row(calendar_id, remote_id)
        return None if row is None else _event(row)

    def delete(self, calendar_id: CalendarId, remote_id: str) -> None:
        """Forget one event; deleting one already gone is not an error."""
        self._session.execute(
            delete(RemoteEventRow).where(
                RemoteEventRow.calendar_id == calendar_id, RemoteEventRow.remote_id == remote_id
            )
        )

    def for_calendar(self, calendar_id: CalendarId) -> list[RemoteEvent]:
        query = (
            select(RemoteEventRow)
            .where(RemoteEventRow.calendar_id == calendar_id)
            .order_by(RemoteEventRow.remote_id)
        )
        return [_event(row) for row in self._session.scalars(query)]

    def instances_of(self, calendar_id: CalendarId, master_remote_id: str) -> list[RemoteEvent]:
        """The modified or cancelled instances stored for one recurring master."""
        query = (
            select(RemoteEventRow)
            .where(
                RemoteEventRow.calendar_id == calendar_id,
                RemoteEventRow.master_remote_id == master_remote_id,
            )
            .order_by(
                RemoteEventRow.original_start, RemoteEventRow.original_start_date, RemoteEventRow.remote_id
            )
        )
        return [_event(row) for row in self._session.scalars(query)]

    def series(self, calendar_id: CalendarId, remote_ids: Iterable[str]) -> list[RemoteEvent]:
        """The events with these ids and every instance stored for any of them (as a master)."""
        found: dict[str, RemoteEvent] = {}
        for chunk in _chunks(sorted(set(remote_ids))):
            query = select(RemoteEventRow).where(
                RemoteEventRow.calendar_id == calendar_id,
                RemoteEventRow.remote_id.in_(chunk) | RemoteEventRow.master_remote_id.in_(chunk),
            )
            for row in self._session.scalars(query):
                found[row.remote_id] = _event(row)
        return list(found.values())

    def clear_calendar(self, calendar_id: CalendarId) -> None:
        self._session.execute(delete(RemoteEventRow).where(RemoteEventRow.calendar_id == calendar_id))

    def _row(self, calendar_id: CalendarId, remote_id: str) -> RemoteEventRow | None:
        query = select(RemoteEventRow).where(
            RemoteEventRow.calendar_id == calendar_id, RemoteEventRow.remote_id == remote_id
        )
        return self._session.scalars(query).one_or_none()


# --- busy blocks --------------------------------------------------------------------------


def _block(row: BusyBlockRow | Row[Any]) -> BusyBlock:
    return BusyBlock(
        tech_id=TechId(row.tech_id),
        interval=Interval(row.start, row.end),
        source=row.source,
        title=row.title,
        calendar_id=CalendarId(row.calendar_id),
        remote_id=row.occurrence_remote_id,
        all_day=row.all_day,
        tentative=row.tentative,
        calendar_name=row.calendar_name,
    )


# What the block reads select, in the order `_unpacked` unpacks them.
_BLOCK_COLUMNS = tuple(
    BusyBlockRow.__table__.c[name]
    for name in (
        "tech_id",
        "start",
        "end",
        "source",
        "title",
        "calendar_id",
        "occurrence_remote_id",
        "all_day",
        "tentative",
        "calendar_name",
    )
)


def _unpacked(rows: Iterable[Sequence[Any]]) -> list[BusyBlock]:
    """Blocks from rows of `_BLOCK_COLUMNS`, unpacked by position."""
    return [
        BusyBlock(
            tech_id=TechId(tech),
            interval=Interval(start, end),
            source=source,
            title=title,
            calendar_id=CalendarId(calendar),
            remote_id=occurrence,
            all_day=all_day,
            tentative=tentative,
            calendar_name=calendar_name,
        )
        for tech, start, end, source, title, calendar, occurrence, all_day, tentative, calendar_name in rows
    ]


class SqlBusyBlockRepository(SqlRepository):
    def replace_for_event(self, calendar_id: CalendarId, remote_id: str, blocks: Sequence[BusyBlock]) -> None:
        """Swap every block filed under one remote event (or series) for `blocks`."""
        self.replace_for_events(calendar_id, {remote_id: blocks})

    def replace_for_events(self, calendar_id: CalendarId, filed: Mapping[str, Sequence[BusyBlock]]) -> None:
        """Swap the blocks filed under each remote event (or series) of `filed` for its blocks.

        Blocks are filed under (`calendar_id`, event id) whatever instance id each carries, so the
        next replace for the same event removes all of them.
        """
        rows: list[dict[str, Any]] = []
        for remote_id, blocks in filed.items():
            for block in blocks:
                if block.calendar_id is not None and block.calendar_id != calendar_id:
                    raise ValueError(
                        f"busy block of calendar {block.calendar_id} filed under calendar {calendar_id}"
                    )
                rows.append(
                    {
                        "tech_id": block.tech_id,
                        "start": block.interval.start,
                        "end": block.interval.end,
                        "source": block.source,
                        "title": block.title,
                        "calendar_id": calendar_id,
                        "remote_id": remote_id,
                        "occurrence_remote_id": block.remote_id,
                        "all_day": block.all_day,
                        "tentative": block.tentative,
                        "calendar_name": block.calendar_name,
                    }
                )
        removed = 0
        for chunk in _chunks(list(filed)):
            removed += self._deleted(
                delete(BusyBlockRow).where(
                    BusyBlockRow.calendar_id == calendar_id, BusyBlockRow.remote_id.in_(chunk)
                )
            )
        if rows:
            # Into the table, not through the ORM's bulk insert: no object is wanted back, and the
            # ORM's per-row bookkeeping was a tenth of an initial sync (the feed is noted below).
            self._session.execute(insert(_BUSY_BLOCKS), rows)
        self._note_busy(calendar_id, {str(row["tech_id"]) for row in rows}, removed)

    def clear_calendar(self, calendar_id: CalendarId) -> None:
        removed = self._deleted(delete(BusyBlockRow).where(BusyBlockRow.calendar_id == calendar_id))
        self._note_busy(calendar_id, set(), removed)

    def _deleted(self, statement: Any) -> int:
        result = cast("CursorResult[Any]", self._session.execute(statement))
        return int(result.rowcount)

    def _note_busy(self, calendar_id: CalendarId, added_for: set[str], removed: int) -> None:
        """Bulk statements bypass the ORM's bookkeeping, so the change feed is told here."""
        techs = set(added_for)
        if removed:
            owner = self._session.execute(
                select(CalendarAccountRow.tech_id)
                .join(CalendarRow, CalendarRow.account_id == CalendarAccountRow.id)
                .where(CalendarRow.id == calendar_id)
            ).scalar_one_or_none()
            if owner is not None:
                techs.add(owner)
        for tech_id in sorted(techs):
            change_feed.note(self._session, ChangeKind.BUSY, tech_id)

    def for_techs(self, tech_ids: Sequence[TechId], window: Interval) -> list[BusyBlock]:
        """Blocks of these techs overlapping the half-open `window`, by start."""
        query = (
            select(BusyBlockRow)
            .where(
                BusyBlockRow.tech_id.in_(tech_ids),
                BusyBlockRow.start < window.end,
                BusyBlockRow.end > window.start,
            )
            .order_by(BusyBlockRow.start, BusyBlockRow.tech_id, BusyBlockRow.id)
        )
        # Plain rows on the session's connection (no ORM loading step), unpacked by position: the
        # board reads a week of 200 techs here and only reads it. The connection does not flush
        # by itself as the session would.
        if self._session.autoflush:
            self._session.flush()
        rows = self._session.connection().execute(
            query.with_only_columns(*_BLOCK_COLUMNS, maintain_column_froms=True)
        )
        return _unpacked(rows)

    def for_calendar(self, calendar_id: CalendarId, window: Interval) -> list[BusyBlock]:
        """The blocks one calendar's events made that overlap the half-open `window`, by start."""
        query = (
            select(*_BLOCK_COLUMNS)
            .where(
                BusyBlockRow.calendar_id == calendar_id,
                BusyBlockRow.occurrence_remote_id.is_not(None),
                BusyBlockRow.start < window.end,
                BusyBlockRow.end > window.start,
            )
            .order_by(BusyBlockRow.start, BusyBlockRow.id)
        )
        return _unpacked(self._session.execute(query))

    def spans(self, tech_ids: Sequence[TechId], window: Interval) -> list[tuple[TechId, Interval]]:
        query = select(BusyBlockRow.tech_id, BusyBlockRow.start, BusyBlockRow.end).where(
            BusyBlockRow.tech_id.in_(tech_ids),
            BusyBlockRow.start < window.end,
            BusyBlockRow.end > window.start,
        )
        return [(TechId(tech), Interval(start, end)) for tech, start, end in self._session.execute(query)]


# --- event links --------------------------------------------------------------------------


def _link(row: EventLinkRow) -> EventLink:
    return EventLink(
        booking_id=BookingId(row.booking_id),
        calendar_id=CalendarId(row.calendar_id),
        remote_id=row.remote_id,
        etag=row.etag,
        content_hash=row.content_hash,
        booking_version=row.booking_version,
    )


class SqlEventLinkRepository(SqlRepository):
    def put(self, link: EventLink) -> None:
        """Record (or replace) the event that mirrors a booking."""
        row = self._session.get(EventLinkRow, link.booking_id)
        if row is None:
            row = EventLinkRow(booking_id=link.booking_id)
            self._session.add(row)
        assign(
            row,
            {
                "calendar_id": link.calendar_id,
                "remote_id": link.remote_id,
                "etag": link.etag,
                "content_hash": link.content_hash,
                "booking_version": link.booking_version,
            },
        )

    def for_booking(self, booking_id: BookingId) -> EventLink | None:
        row = self._session.get(EventLinkRow, booking_id)
        return None if row is None else _link(row)

    def by_remote(self, calendar_id: CalendarId, remote_id: str) -> EventLink | None:
        query = select(EventLinkRow).where(
            EventLinkRow.calendar_id == calendar_id, EventLinkRow.remote_id == remote_id
        )
        row = self._session.scalars(query).one_or_none()
        return None if row is None else _link(row)

    def for_calendar(self, calendar_id: CalendarId) -> list[EventLink]:
        query = select(EventLinkRow).where(EventLinkRow.calendar_id == calendar_id)
        return [_link(row) for row in self._session.scalars(query)]

    def remove(self, booking_id: BookingId) -> None:
        self._session.execute(delete(EventLinkRow).where(EventLinkRow.booking_id == booking_id))
