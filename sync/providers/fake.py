"""`InMemoryCalendarProvider`: the calendar provider contract kept in memory, for fast tests.

It behaves as the real adapters do where the sync engine can tell: events per calendar with
etags that change on every write, cursors that are positions in a change log (and expire when
told), creates that are idempotent per booking (a retry adopts the first event, but only when
its ownership tag verifies, as the real adapters check; a deleted event's id is never reused), If-Match on updates and deletes, and deletes of events already gone
that succeed. Tests play the technician's phone through `add_event`, `edit_event` and
`remove_event`, and inject failures: errors on the next calls, answers lost after the change was
made, a revoked sign-in, expired cursors.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from app.domain.ids import BookingId, CalendarId
from app.domain.model import Calendar, EventTime, RemoteEvent, Response, ShowAs
from app.domain.time import Interval
from app.services.ports import RemoteCalendar
from sync.core.ownership import event_tag, tag_verifies
from sync.providers.content import booking_content_hash, booking_title, writable_span
from sync.providers.errors import (
    AuthExpired,
    CursorExpired,
    NotFoundRemote,
    PreconditionFailed,
    ProviderError,
    RateLimited,
    Transient,
)
from sync.providers.normalize_google import google_event_id
from sync.providers.protocol import BookingEventContent, ChangeBatch, Channel, WrittenEvent

FaultKind = Literal["transient", "rate_limited", "auth_expired"]
Notifier = Callable[[str, Mapping[str, str]], None]  # (address, headers) of one change notice

MAX_GENERATION = 3
CHANNEL_LIFETIME = timedelta(days=7)
PROTOCOL_METHODS = frozenset(
    {
        "list_calendars",
        "read_changes",
        "find_booking_event",
        "create_event",
        "update_event",
        "delete_event",
        "watch",
        "renew",
        "stop_watch",
    }
)


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(slots=True)
class _Fault:
    error: Callable[[], ProviderError] | None  # None: the call succeeds, then its answer is lost
    count: int
    methods: frozenset[str] | None

    def applies(self, method: str) -> bool:
        return self.count > 0 and (self.methods is None or method in self.methods)


@dataclass(slots=True)
class _Calendar:
    remote: RemoteCalendar
    events: dict[str, RemoteEvent] = field(default_factory=dict)
    tombstones: set[str] = field(default_factory=set)
    epoch: int = 0


def _time_payload(event: RemoteEvent) -> dict[str, Any]:
    """The event's times and title in the shape `booking_content_hash` reads (Google's)."""
    when = event.when
    if when.all_day:
        assert when.start_date is not None and when.end_date is not None
        start: dict[str, str] = {"date": when.start_date.isoformat()}
        end: dict[str, str] = {"date": when.end_date.isoformat()}
    else:
        assert when.start is not None and when.end is not None
        start = {"dateTime": when.start.astimezone(UTC).isoformat()}
        end = {"dateTime": when.end.astimezone(UTC).isoformat()}
    return {"id": event.remote_id, "summary": event.title or "", "start": start, "end": end}


def _owned(event: RemoteEvent, calendar: Calendar, content: BookingEventContent) -> bool:
    """Whether the event is the booking's as we wrote it: its tag verifies, not just its booking id."""
    return event.booking_id == content.booking.id and tag_verifies(
        content.owner_key, content.booking.id, calendar.remote_id, event.tag_subject, event.booking_tag
    )


def content_hash(event: RemoteEvent) -> str:
    """The hash the real adapters compute for the same start, end and title."""
    return booking_content_hash(_time_payload(event))


class InMemoryCalendarProvider:
    """One signed-in account whose calendars live in memory."""

    def __init__(
        self,
        calendars: Iterable[RemoteCalendar] = (RemoteCalendar("primary", "Calendar", True),),
        *,
        clock: Callable[[], datetime] = _utc_now,
        notifier: Notifier | None = None,
    ) -> None:
        self._calendars = {c.remote_id: _Calendar(c) for c in calendars}
        self._clock = clock
        self._notifier = notifier
        self._seq = 0
        self._log: list[tuple[int, str, str]] = []  # (seq, calendar remote id, event remote id)
        self._faults: list[_Fault] = []
        self._revoked = False
        self._access_expired = False
        self._channels: dict[str, tuple[str, str, Channel]] = {}  # id -> (calendar, address, channel)
        self.calls: list[str] = []  # every protocol call, in order
        self.refreshes = 0  # access tokens renewed after `expire_access`
        self.notices: list[tuple[str, dict[str, str]]] = []  # change notices sent to watchers
        self.closed = False

    # -- the technician's side (and test set-up) ---------------------------------------------------------

    def _cal(self, calendar_remote_id: str) -> _Calendar:
        try:
            return self._calendars[calendar_remote_id]
        except KeyError:
            raise NotFoundRemote("The calendar does not exist.", status=404) from None

    def add_calendar(self, remote: RemoteCalendar) -> None:
        self._calendars.setdefault(remote.remote_id, _Calendar(remote))

    def _commit(self, calendar_remote_id: str, event: RemoteEvent) -> RemoteEvent:
        self._seq += 1
        stored = dataclasses.replace(event, etag=f'"{self._seq}"', updated=self._clock())
        self._cal(calendar_remote_id).events[event.remote_id] = stored
        self._log.append((self._seq, calendar_remote_id, event.remote_id))
        self._notify(calendar_remote_id)
        return stored

    def _drop(self, calendar_remote_id: str, remote_id: str) -> None:
        cal = self._cal(calendar_remote_id)
        event = cal.events.pop(remote_id)
        cal.tombstones.add(remote_id)
        self._seq += 1
        self._log.append((self._seq, calendar_remote_id, remote_id))
        if event.recurrence:  # a deleted series takes its exceptions with it
            for other in [e for e in cal.events.values() if e.master_remote_id == remote_id]:
                self._drop(calendar_remote_id, other.remote_id)
        self._notify(calendar_remote_id)

    def add_event(
        self,
        calendar_remote_id: str,
        when: EventTime,
        *,
        title: str | None = None,
        remote_id: str | None = None,
        **fields: Any,
    ) -> RemoteEvent:
        """Create an event as the technician would (any RemoteEvent field may be given)."""
        event = RemoteEvent(
            calendar_id=CalendarId(calendar_remote_id),
            remote_id=remote_id or uuid.uuid4().hex,
            etag="",
            when=when,
            title=None if fields.get("private") else title,
            **fields,
        )
        if event.remote_id in self._cal(calendar_remote_id).events:
            raise ValueError(f"an event {event.remote_id} already exists")
        return self._commit(calendar_remote_id, event)

    def edit_event(self, calendar_remote_id: str, remote_id: str, **changes: Any) -> RemoteEvent:
        """Change an event as the technician would; its etag changes."""
        current = self._cal(calendar_remote_id).events.get(remote_id)
        if current is None:
            raise KeyError(remote_id)
        return self._commit(calendar_remote_id, dataclasses.replace(current, **changes))

    def remove_event(self, calendar_remote_id: str, remote_id: str) -> None:
        """Delete an event as the technician would."""
        if remote_id not in self._cal(calendar_remote_id).events:
            raise KeyError(remote_id)
        self._drop(calendar_remote_id, remote_id)

    def events(self, calendar_remote_id: str) -> list[RemoteEvent]:
        """The calendar's live events, as stored."""
        return list(self._cal(calendar_remote_id).events.values())

    # -- faults ------------------------------------------------------------------------------------------

    def fail_next(
        self,
        kind: FaultKind | ProviderError,
        count: int = 1,
        *,
        methods: Iterable[str] | None = None,
        retry_after: float | None = 1.0,
    ) -> None:
        """The next `count` calls (of `methods`, or any) raise this error and change nothing."""
        error: Callable[[], ProviderError]
        if isinstance(kind, ProviderError):
            instance = kind
            error = lambda: instance  # noqa: E731
        elif kind == "transient":
            error = lambda: Transient("The calendar provider had a temporary problem (HTTP 503).", status=503)  # noqa: E731
        elif kind == "rate_limited":
            error = lambda: RateLimited("Slow down.", retry_after=retry_after, status=429)  # noqa: E731
        elif kind == "auth_expired":
            error = lambda: AuthExpired("The calendar sign-in has expired.", status=401)  # noqa: E731
        else:
            raise ValueError(f"unknown fault kind {kind!r}")
        self._faults.append(_Fault(error, count, self._methods(methods)))

    def lose_answers(self, count: int = 1, *, methods: Iterable[str] | None = None) -> None:
        """The next `count` calls do their work, then fail with Transient as if the answer was lost."""
        self._faults.append(_Fault(None, count, self._methods(methods)))

    @staticmethod
    def _methods(methods: Iterable[str] | None) -> frozenset[str] | None:
        if methods is None:
            return None
        chosen = frozenset(methods)
        unknown = chosen - PROTOCOL_METHODS
        if unknown:
            raise ValueError(f"not provider methods: {sorted(unknown)}")
        return chosen

    def clear_faults(self) -> None:
        self._faults.clear()

    def revoke(self) -> None:
        """Every call raises AuthExpired until `reconnect()`."""
        self._revoked = True

    def reconnect(self) -> None:
        self._revoked = False

    def expire_access(self) -> None:
        """The access token dies; the next call renews it without the caller noticing."""
        self._access_expired = True

    def expire_cursors(self, calendar_remote_id: str | None = None) -> None:
        """Every cursor handed out so far (for one calendar, or all) raises CursorExpired."""
        for remote_id, cal in self._calendars.items():
            if calendar_remote_id is None or remote_id == calendar_remote_id:
                cal.epoch += 1

    def _enter(self, method: str) -> None:
        self.calls.append(method)
        if self.closed:
            raise RuntimeError("the in-memory calendar provider is closed")
        if self._revoked:
            raise AuthExpired("The calendar sign-in was revoked; reconnect the calendar.", status=401)
        if self._access_expired:
            self._access_expired = False
            self.refreshes += 1
        for fault in self._faults:
            if fault.error is not None and fault.applies(method):
                fault.count -= 1
                self._prune()
                raise fault.error()

    def _leave(self, method: str) -> None:
        for fault in self._faults:
            if fault.error is None and fault.applies(method):
                fault.count -= 1
                self._prune()
                raise Transient("The connection dropped before the answer arrived.")

    def _prune(self) -> None:
        self._faults = [f for f in self._faults if f.count > 0]

    # -- CalendarProvider ---------------------------------------------------------------------------------

    async def list_calendars(self) -> list[RemoteCalendar]:
        self._enter("list_calendars")
        found = sorted(
            (c.remote for c in self._calendars.values()), key=lambda c: (not c.primary, c.name.lower())
        )
        self._leave("list_calendars")
        return found

    def _cursor(self, calendar_remote_id: str) -> str:
        return f"fake:{self._cal(calendar_remote_id).epoch}:{self._seq}:{calendar_remote_id}"

    def _as_read(self, event: RemoteEvent, calendar: Calendar) -> RemoteEvent:
        return dataclasses.replace(event, calendar_id=calendar.id)

    async def read_changes(self, calendar: Calendar, cursor: str | None, window: Interval) -> ChangeBatch:
        self._enter("read_changes")
        cal = self._cal(calendar.remote_id)
        batch = self._full(cal, calendar, window) if cursor is None else self._since(cal, calendar, cursor)
        self._leave("read_changes")
        return batch

    def _full(self, cal: _Calendar, calendar: Calendar, window: Interval) -> ChangeBatch:
        masters = {e.remote_id for e in cal.events.values() if e.recurrence}
        chosen: list[RemoteEvent] = []
        for event in cal.events.values():
            if event.recurrence:
                keep = self._starts_before(event, window.end)
            elif event.master_remote_id is not None and event.master_remote_id in masters:
                keep = True  # exceptions travel with their series
            else:
                keep = self._overlaps(event, window)
            if keep:
                chosen.append(self._as_read(event, calendar))
        return ChangeBatch(
            events=tuple(chosen), deleted=(), cursor=self._cursor(calendar.remote_id), full=True
        )

    def _since(self, cal: _Calendar, calendar: Calendar, cursor: str) -> ChangeBatch:
        try:
            prefix, epoch_text, seq_text, remote_id = cursor.split(":", 3)
            epoch, since = int(epoch_text), int(seq_text)
        except ValueError:
            raise CursorExpired("The calendar's change feed does not know this cursor.", status=410) from None
        if prefix != "fake" or remote_id != calendar.remote_id or epoch != cal.epoch or since > self._seq:
            raise CursorExpired(
                "The calendar's change feed expired; the calendar will be read again in full.", status=410
            )
        changed = list(
            dict.fromkeys(rid for seq, cid, rid in self._log if seq > since and cid == calendar.remote_id)
        )
        events = tuple(self._as_read(cal.events[rid], calendar) for rid in changed if rid in cal.events)
        deleted = tuple(rid for rid in changed if rid not in cal.events)
        return ChangeBatch(
            events=events, deleted=deleted, cursor=self._cursor(calendar.remote_id), full=False
        )

    @staticmethod
    def _span(event: RemoteEvent) -> tuple[datetime, datetime]:
        when = event.when
        if when.all_day:
            assert when.start_date is not None and when.end_date is not None
            # Local dates: widen by a day each side, as any zone's day lies within that.
            return (
                datetime.combine(when.start_date, datetime.min.time(), UTC) - timedelta(days=1),
                datetime.combine(when.end_date, datetime.min.time(), UTC) + timedelta(days=1),
            )
        assert when.start is not None and when.end is not None
        return when.start, when.end

    def _overlaps(self, event: RemoteEvent, window: Interval) -> bool:
        start, end = self._span(event)
        return start < window.end and (end > window.start or start >= window.start)

    def _starts_before(self, event: RemoteEvent, moment: datetime) -> bool:
        return self._span(event)[0] < moment

    async def find_booking_event(
        self, calendar: Calendar, content: BookingEventContent
    ) -> RemoteEvent | None:
        self._enter("find_booking_event")
        cal = self._cal(calendar.remote_id)
        found = next((e for e in cal.events.values() if _owned(e, calendar, content)), None)
        self._leave("find_booking_event")
        return self._as_read(found, calendar) if found is not None else None

    def _booking_event(
        self, calendar: Calendar, remote_id: str, content: BookingEventContent, base: RemoteEvent | None
    ) -> RemoteEvent:
        start, end = writable_span(content.booking)
        when = EventTime(
            start=start.astimezone(UTC).replace(microsecond=0),
            end=end.astimezone(UTC).replace(microsecond=0),
            timezone=content.tech.timezone,
        )
        title = booking_title(content.booking, content.customer)
        booking_id = BookingId(content.booking.id)
        # Tagged as the Google adapter tags: over the booking, the calendar and the event id.
        tag = event_tag(content.owner_key, content.booking.id, calendar.remote_id, remote_id)
        if base is not None:
            return dataclasses.replace(
                base,
                when=when,
                title=title,
                booking_id=booking_id,
                show_as=ShowAs.BUSY,
                cancelled=False,
                booking_tag=tag,
                tag_subject=remote_id,
            )
        return RemoteEvent(
            calendar_id=CalendarId(""),
            remote_id=remote_id,
            etag="",
            when=when,
            title=title,
            booking_id=booking_id,
            show_as=ShowAs.BUSY,
            response=Response.ORGANIZER,
            booking_tag=tag,
            tag_subject=remote_id,
        )

    async def create_event(self, calendar: Calendar, content: BookingEventContent) -> WrittenEvent:
        self._enter("create_event")
        cal = self._cal(calendar.remote_id)
        written: WrittenEvent | None = None
        for generation in range(MAX_GENERATION + 1):
            remote_id = google_event_id(content.booking.id, generation=generation, key=content.owner_key)
            existing = cal.events.get(remote_id)
            if existing is not None and _owned(existing, calendar, content):
                written = WrittenEvent(remote_id, existing.etag, content_hash(existing), adopted=True)
                break
            if existing is not None or remote_id in cal.tombstones:
                continue
            stored = self._commit(calendar.remote_id, self._booking_event(calendar, remote_id, content, None))
            written = WrittenEvent(remote_id, stored.etag, content_hash(stored))
            break
        if written is None:
            raise ProviderError("Every event id this booking could have is taken in this calendar.")
        self._leave("create_event")
        return written

    async def update_event(
        self, calendar: Calendar, remote_id: str, etag: str | None, content: BookingEventContent
    ) -> WrittenEvent:
        self._enter("update_event")
        current = self._cal(calendar.remote_id).events.get(remote_id)
        if current is None:
            raise NotFoundRemote("The calendar event no longer exists.", status=404)
        if etag is not None and etag != current.etag:
            raise PreconditionFailed("The calendar event changed since it was read.", status=412)
        stored = self._commit(calendar.remote_id, self._booking_event(calendar, remote_id, content, current))
        self._leave("update_event")
        return WrittenEvent(remote_id, stored.etag, content_hash(stored))

    async def delete_event(self, calendar: Calendar, remote_id: str, etag: str | None) -> None:
        self._enter("delete_event")
        current = self._cal(calendar.remote_id).events.get(remote_id)
        if current is not None:
            if etag is not None and etag != current.etag:
                raise PreconditionFailed("The calendar event changed since it was read.", status=412)
            self._drop(calendar.remote_id, remote_id)
        self._leave("delete_event")

    # -- push channels --------------------------------------------------------------------------------------

    def _notify(self, calendar_remote_id: str) -> None:
        for channel_id, (cal_id, address, channel) in list(self._channels.items()):
            if cal_id != calendar_remote_id:
                continue
            if channel.expires <= self._clock():
                del self._channels[channel_id]
                continue
            headers = {
                "X-Goog-Channel-ID": channel.id,
                "X-Goog-Channel-Token": channel.token,
                "X-Goog-Resource-ID": channel.resource_id or "",
                "X-Goog-Resource-State": "exists",
            }
            self.notices.append((address, headers))
            if self._notifier is not None:
                self._notifier(address, headers)

    async def watch(self, calendar: Calendar, address: str, token: str) -> Channel:
        self._enter("watch")
        self._cal(calendar.remote_id)
        channel = Channel(
            id=uuid.uuid4().hex,
            resource_id=f"fake-{calendar.remote_id}",
            expires=self._clock() + CHANNEL_LIFETIME,
            token=token,
        )
        self._channels[channel.id] = (calendar.remote_id, address, channel)
        self._leave("watch")
        return channel

    async def renew(self, calendar: Calendar, channel: Channel, address: str) -> Channel:
        self._enter("renew")
        # A new channel beside the old, as Google's renewal: the caller stops the old one.
        fresh = dataclasses.replace(channel, id=uuid.uuid4().hex, expires=self._clock() + CHANNEL_LIFETIME)
        self._channels[fresh.id] = (calendar.remote_id, address, fresh)
        self._leave("renew")
        return fresh

    async def stop_watch(self, calendar: Calendar, channel: Channel) -> None:
        self._enter("stop_watch")
        self._channels.pop(channel.id, None)
        self._leave("stop_watch")

    def watching(self, calendar_remote_id: str) -> list[Channel]:
        """The live channels on a calendar."""
        return [ch for cal, _address, ch in self._channels.values() if cal == calendar_remote_id]

    async def aclose(self) -> None:
        self.closed = True
