"""The CalDAV side of `CalendarProvider` (iCloud, Fastmail, Nextcloud, Radicale), over httpx.

Reading a calendar uses `sync-collection` (RFC 6578) when the server offers it: the cursor is
the server's sync token, a stale one answers `valid-sync-token` and the calendar is read afresh.
A server without it is read by comparing ETags: the cursor names the calendar's ctag and a list
of ETags this provider keeps in memory, so a provider opened afresh reads such a calendar in full
once (nothing is duplicated: a full read replaces the mirror). Changed objects are fetched with
calendar-multiget, in small batches, and objects too large to be a phone's event are skipped
before they are downloaded.

One object (href) holds a whole series; the provider remembers which event ids each object gave,
so an override that disappears from an object is reported deleted. A provider that has not read
the calendar yet reads it in full when a series changed, as Graph's adapter does.

Writes: a booking's object is named after a UID derived from the store's key (nobody can guess
or pre-empt it), PUT with `If-None-Match: *`; a 412 there means a retried create, adopted only
when the object's ownership tag verifies, otherwise the next generation of the UID is used.
Updates and deletes send `If-Match` with the ETag we last saw. CalDAV has no push: `watch`
refuses, and the engine polls.
"""

from __future__ import annotations

import contextlib
import logging
import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, datetime

import httpx

from app.domain.model import Calendar, RemoteEvent
from app.domain.recurrence import occurrence_interval
from app.domain.time import Interval
from app.services.ports import RemoteCalendar
from sync.core.ownership import event_tag, secret_event_id, tag_verifies
from sync.providers.caldav_client import (
    HTTP_TIMEOUT,
    CaldavCredentials,
    CaldavSession,
    Discovery,
)
from sync.providers.caldav_ical import (
    MAX_OBJECT_BYTES,
    CalendarObject,
    booking_to_vcalendar,
    object_content_hash,
    object_name,
    read_object,
)
from sync.providers.caldav_xml import CALDAV, DAV, DavResponse, multiget, q, sync_collection
from sync.providers.errors import (
    AuthExpired,
    BadRemoteData,
    CursorExpired,
    NotFoundRemote,
    PreconditionFailed,
    ProviderError,
    RateLimited,
    Transient,
)
from sync.providers.protocol import BookingEventContent, ChangeBatch, Channel, WrittenEvent

log = logging.getLogger(__name__)

MAX_GENERATION = 8
MULTIGET_BATCH = 50
SYNC_PREFIX = "sync:"
ETAG_PREFIX = "etag:"
_MEMBER_PROPS = [q(DAV, "getetag"), q(DAV, "getcontentlength")]
_DATA_PROPS = [q(DAV, "getetag"), q(CALDAV, "calendar-data")]
_ICS = "text/calendar; charset=utf-8"

Clock = Callable[[], datetime]


def _utc_now() -> datetime:
    return datetime.now(UTC)


class NoPush(ProviderError):
    """CalDAV has no standard push notifications: the calendar is polled instead."""


class CaldavCalendarProvider:
    """One CalDAV account (principal) with an app-specific password."""

    def __init__(
        self,
        credentials: CaldavCredentials,
        *,
        home: str | None = None,
        addresses: Iterable[str] = (),
        timeout: float = HTTP_TIMEOUT,
        clock: Clock = _utc_now,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._session = CaldavSession(credentials, timeout=timeout, transport=transport)
        self._username = credentials.username
        # The home as kept with the password: a URL, whose host serves every calendar path.
        self._home = self._session.rebase(home) if home else None
        self._addresses = tuple(addresses)
        self._discovered = False
        self._default: str | None = None
        self._clock = clock
        # Per calendar: the event ids each object (href) gave at its last read.
        self._objects: dict[str, dict[str, tuple[str, ...]]] = {}
        # Per calendar without sync-collection: (cursor nonce, {href: etag}).
        self._etags: dict[str, tuple[str, dict[str, str]]] = {}

    @property
    def home(self) -> str:
        """The calendar home's URL, kept with the password: it names the host calendars live on."""
        return self._session.url_of(self._home) if self._home else ""

    async def aclose(self) -> None:
        if not self._session.closed:
            await self._session.aclose()

    # -- calendars --------------------------------------------------------------------------------

    async def _discovery(self) -> None:
        """Principal, home, the account's own addresses and default calendar: asked once."""
        if self._discovered:
            return
        found: Discovery = await self._session.discover()
        self._home = found.home
        self._addresses = self._addresses or found.addresses
        self._default = found.default_calendar
        self._discovered = True

    def _self_addresses(self) -> tuple[str, ...]:
        own = [*self._addresses]
        if "@" in self._username:
            own.append(f"mailto:{self._username}")
        return tuple(own)

    async def list_calendars(self) -> list[RemoteCalendar]:
        await self._discovery()
        assert self._home is not None
        found = await self._session.calendars(self._home)
        found.sort(key=lambda c: c.href)
        primary = self._default if any(c.href == self._default for c in found) else None
        if primary is None and found:
            primary = found[0].href
        listed = [RemoteCalendar(c.href, c.name, c.href == primary) for c in found]
        listed.sort(key=lambda c: (not c.primary, c.name.lower()))
        return listed

    # -- reading --------------------------------------------------------------------------------------

    async def read_changes(self, calendar: Calendar, cursor: str | None, window: Interval) -> ChangeBatch:
        if cursor is None:
            return await self._full(calendar, window)
        if cursor.startswith(SYNC_PREFIX):
            return await self._sync_changes(calendar, cursor.removeprefix(SYNC_PREFIX), window)
        if cursor.startswith(ETAG_PREFIX):
            return await self._etag_changes(calendar, cursor, window)
        raise CursorExpired("The calendar's change feed is not one this version reads; reading it afresh.")

    async def _full(self, calendar: Calendar, window: Interval) -> ChangeBatch:
        token, ctag, offers = await self._session.collection_state(calendar.remote_id)
        synced = await self._sync_members(calendar) if offers and token is not None else None
        if synced is not None:
            members, cursor = synced
        else:
            listing = await self._session.props(calendar.remote_id, _MEMBER_PROPS, depth="1")
            members = {
                r.href: r for r in listing.responses if r.href.rstrip("/") != calendar.remote_id.rstrip("/")
            }
            nonce = uuid.uuid4().hex
            self._etags[calendar.id] = (
                nonce,
                {h: r.text(q(DAV, "getetag")) or "" for h, r in members.items()},
            )
            cursor = f"{ETAG_PREFIX}{nonce}:{ctag or ''}"
        wanted, skipped = _fetchable(members)
        objects, more_skipped, _gone = await self._fetch(calendar, wanted)
        self._objects[calendar.id] = {
            href: tuple(e.remote_id for e in obj.events) for href, obj in objects.items()
        }
        events = [e for obj in objects.values() for e in obj.events if _touches(e, window, obj)]
        return ChangeBatch(tuple(events), (), cursor, True, tuple(skipped + more_skipped))

    async def _sync_members(self, calendar: Calendar) -> tuple[dict[str, DavResponse], str] | None:
        """Every member by sync-collection, and the token; None when the server advertises the
        report but refuses it (the calendar is then read by ETags)."""
        try:
            found = await self._session.dav(
                "REPORT", calendar.remote_id, sync_collection(None, _MEMBER_PROPS), depth="0"
            )
        except (AuthExpired, RateLimited, Transient):
            raise
        except ProviderError as error:
            log.info("A CalDAV server refused the sync-collection it offers (%s); comparing ETags", error)
            return None
        if not found.sync_token:
            return None
        members = {
            r.href: r for r in found.responses if r.status in (None, 200) and r.href != calendar.remote_id
        }
        return members, SYNC_PREFIX + found.sync_token

    async def _sync_changes(self, calendar: Calendar, token: str, window: Interval) -> ChangeBatch:
        found = await self._session.dav(
            "REPORT", calendar.remote_id, sync_collection(token, _MEMBER_PROPS), depth="0"
        )
        cursor = SYNC_PREFIX + (found.sync_token or token)
        removed = [r.href for r in found.responses if r.status == 404]
        changed = {
            r.href: r
            for r in found.responses
            if r.status in (None, 200) and r.href.rstrip("/") != calendar.remote_id.rstrip("/")
        }
        return await self._changes(calendar, changed, removed, cursor, window)

    async def _etag_changes(self, calendar: Calendar, cursor: str, window: Interval) -> ChangeBatch:
        nonce, _, old_ctag = cursor.removeprefix(ETAG_PREFIX).partition(":")
        known = self._etags.get(calendar.id)
        if known is None or known[0] != nonce:
            raise CursorExpired("This calendar's ETags were not kept; it is read again in full.")
        _token, ctag, _offers = await self._session.collection_state(calendar.remote_id)
        if ctag is not None and ctag == old_ctag:
            return ChangeBatch((), (), cursor, False)
        listing = await self._session.props(calendar.remote_id, _MEMBER_PROPS, depth="1")
        members = {
            r.href: r for r in listing.responses if r.href.rstrip("/") != calendar.remote_id.rstrip("/")
        }
        etags = known[1]
        now = {h: r.text(q(DAV, "getetag")) or "" for h, r in members.items()}
        changed = {h: members[h] for h, tag in now.items() if etags.get(h) != tag or not tag}
        removed = [h for h in etags if h not in now]
        fresh = uuid.uuid4().hex
        self._etags[calendar.id] = (fresh, now)
        return await self._changes(calendar, changed, removed, f"{ETAG_PREFIX}{fresh}:{ctag or ''}", window)

    async def _changes(
        self,
        calendar: Calendar,
        changed: dict[str, DavResponse],
        removed: list[str],
        cursor: str,
        window: Interval,
    ) -> ChangeBatch:
        wanted, skipped = _fetchable(changed)
        objects, more_skipped, gone = await self._fetch(calendar, wanted)
        memory = self._objects.get(calendar.id)
        if memory is None and any(_is_series(obj) for obj in objects.values()):
            # This provider never read the calendar, so it cannot tell which of a series'
            # overrides went away: read it afresh instead, once.
            log.info("Reading a CalDAV calendar in full to place a changed series")
            return await self._full(calendar, window)
        memory = self._objects.setdefault(calendar.id, {})
        events: list[RemoteEvent] = []
        deleted: list[str] = []
        for href in [*removed, *gone]:
            deleted.append(href)
            memory.pop(href, None)
        for href, obj in objects.items():
            ids = tuple(e.remote_id for e in obj.events)
            deleted.extend(old for old in memory.get(href, ()) if old not in ids)
            memory[href] = ids
            events.extend(obj.events)
        return ChangeBatch(
            tuple(events), tuple(dict.fromkeys(deleted)), cursor, False, tuple(skipped + more_skipped)
        )

    async def _fetch(
        self, calendar: Calendar, hrefs: list[str]
    ) -> tuple[dict[str, CalendarObject], list[tuple[str, str]], list[str]]:
        """The objects at `hrefs` (multiget), what could not be read, and hrefs already gone."""
        objects: dict[str, CalendarObject] = {}
        skipped: list[tuple[str, str]] = []
        gone: list[str] = []
        addresses = self._self_addresses()
        for first in range(0, len(hrefs), MULTIGET_BATCH):
            chunk = hrefs[first : first + MULTIGET_BATCH]
            found = await self._session.dav(
                "REPORT", calendar.remote_id, multiget(chunk, _DATA_PROPS), depth="1"
            )
            for response in found.responses:
                if response.status == 404:
                    gone.append(response.href)
                    continue
                data = response.props.get(q(CALDAV, "calendar-data"))
                text = data.text if data is not None else None
                if not text:
                    skipped.append((response.href, "the server sent no calendar data for it"))
                    continue
                etag = response.text(q(DAV, "getetag")) or ""
                try:
                    objects[response.href] = read_object(
                        response.href, etag, text, calendar.id, self_addresses=addresses
                    )
                except BadRemoteData as error:
                    log.warning("Skipping a CalDAV calendar object: %s", error)
                    skipped.append((error.remote_id, error.why))
        return objects, skipped, gone

    # -- finding and writing a booking's event -----------------------------------------------------------

    def _href(self, calendar: Calendar, uid: str) -> str:
        return calendar.remote_id.rstrip("/") + "/" + object_name(uid)

    async def _get_object(self, calendar: Calendar, href: str) -> CalendarObject | None:
        try:
            response = await self._session.request("GET", href)
        except NotFoundRemote:
            return None
        try:
            return read_object(
                href,
                response.headers.get("ETag", ""),
                response.content,
                calendar.id,
                self_addresses=self._self_addresses(),
            )
        except BadRemoteData:
            return None  # unreadable: certainly not the object we wrote

    @staticmethod
    def _owned(
        obj: CalendarObject | None, calendar: Calendar, content: BookingEventContent
    ) -> RemoteEvent | None:
        if obj is None or not obj.events:
            return None
        event = obj.events[0]
        booking_id = content.booking.id
        if event.booking_id != booking_id or event.master_remote_id is not None:
            return None
        if not tag_verifies(
            content.owner_key, booking_id, calendar.remote_id, event.tag_subject, event.booking_tag
        ):
            return None
        return event

    async def find_booking_event(
        self, calendar: Calendar, content: BookingEventContent
    ) -> RemoteEvent | None:
        for generation in range(MAX_GENERATION + 1):
            uid = secret_event_id(content.owner_key, content.booking.id, generation)
            obj = await self._get_object(calendar, self._href(calendar, uid))
            if obj is None:
                return None  # generations are used in order, so none follows a free one
            event = self._owned(obj, calendar, content)
            if event is not None:
                return event
        return None

    def _body(self, calendar: Calendar, content: BookingEventContent, uid: str) -> bytes:
        return booking_to_vcalendar(
            content.booking,
            content.customer,
            content.tech,
            uid=uid,
            link=content.link,
            tag=event_tag(content.owner_key, content.booking.id, calendar.remote_id, uid),
            stamp=self._clock(),
            office_phone=content.office_phone,
        )

    async def _written(
        self, calendar: Calendar, href: str, response_etag: str | None, body: bytes, adopted: bool
    ) -> WrittenEvent:
        """What a PUT stored, with the ETag the object has now.

        The PUT's own ETag is not trusted: a server that rewrites what it stores (adds properties,
        normalizes) may still answer with one the stored object lacks, and some (iCloud) answer
        none. A stale ETag would make the next read look like the tech's edit and a later move a
        conflict, so one PROPFIND asks for the ETag the object has; the answer's is the fallback.
        """
        obj = read_object(href, response_etag or "", body, calendar.id)
        etag = await self._stored_etag(href) or response_etag or ""
        return WrittenEvent(href, etag, object_content_hash(obj.events[0]), adopted=adopted)

    async def _stored_etag(self, href: str) -> str | None:
        try:
            found = await self._session.props(href, [q(DAV, "getetag")])
        except (AuthExpired, RateLimited):
            raise
        except ProviderError as error:  # the write stands; the answer's ETag will do
            log.info("Could not read back a CalDAV object's ETag: %s", error)
            return None
        return next((r.text(q(DAV, "getetag")) for r in found.responses if r.text(q(DAV, "getetag"))), None)

    async def create_event(self, calendar: Calendar, content: BookingEventContent) -> WrittenEvent:
        for generation in range(MAX_GENERATION + 1):
            uid = secret_event_id(content.owner_key, content.booking.id, generation)
            href = self._href(calendar, uid)
            body = self._body(calendar, content, uid)
            try:
                response = await self._session.request(
                    "PUT", href, body=body, headers={"If-None-Match": "*"}, content_type=_ICS
                )
            except PreconditionFailed:
                existing = await self._get_object(calendar, href)
                event = self._owned(existing, calendar, content)
                if event is None:
                    log.info("CalDAV object generation %d of a booking is taken; trying the next", generation)
                    continue
                return WrittenEvent(href, event.etag, object_content_hash(event), adopted=True)
            return await self._written(calendar, href, response.headers.get("ETag"), body, adopted=False)
        raise ProviderError(
            "Every calendar object name Crewboard could give this booking is taken; the booking's "
            "event cannot be created in this calendar."
        )

    async def update_event(
        self, calendar: Calendar, remote_id: str, etag: str | None, content: BookingEventContent
    ) -> WrittenEvent:
        uid = remote_id.rstrip("/").rsplit("/", 1)[-1].removesuffix(".ics")
        body = self._body(calendar, content, uid)
        headers = {"If-Match": etag} if etag else {}
        response = await self._session.request(
            "PUT", remote_id, body=body, headers=headers, content_type=_ICS
        )
        return await self._written(calendar, remote_id, response.headers.get("ETag"), body, adopted=False)

    async def delete_event(self, calendar: Calendar, remote_id: str, etag: str | None) -> None:
        headers = {"If-Match": etag} if etag else {}
        with contextlib.suppress(NotFoundRemote):  # already gone
            await self._session.request("DELETE", remote_id, headers=headers)

    # -- push: none in CalDAV ---------------------------------------------------------------------------------

    async def watch(self, calendar: Calendar, address: str, token: str) -> Channel:
        raise NoPush("CalDAV servers send no change notices; this calendar is polled.", reason="no_push")

    async def renew(self, calendar: Calendar, channel: Channel, address: str) -> Channel:
        raise NoPush("CalDAV servers send no change notices; this calendar is polled.", reason="no_push")

    async def stop_watch(self, calendar: Calendar, channel: Channel) -> None:
        return None


# --- helpers ------------------------------------------------------------------------------------------------


def _fetchable(members: dict[str, DavResponse]) -> tuple[list[str], list[tuple[str, str]]]:
    """The member hrefs worth fetching, and those skipped for their size without downloading."""
    wanted: list[str] = []
    skipped: list[tuple[str, str]] = []
    for href, response in sorted(members.items()):
        length = response.text(q(DAV, "getcontentlength"))
        if length is not None and length.isdigit() and int(length) > MAX_OBJECT_BYTES:
            skipped.append((href, f"the calendar object is {int(length) // 1024} KB, more than we read"))
            continue
        wanted.append(href)
    return wanted, skipped


def _is_series(obj: CalendarObject) -> bool:
    return len(obj.events) > 1 or any(e.recurrence for e in obj.events)


def _touches(event: RemoteEvent, window: Interval, obj: CalendarObject) -> bool:
    """Whether a full read keeps `event`: series and their parts always, single events in the window."""
    if _is_series(obj) or event.master_remote_id is not None:
        return True
    return occurrence_interval(event.when).overlaps(window)
