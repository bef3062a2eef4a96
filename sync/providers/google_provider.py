"""The Google Calendar side of `CalendarProvider`, through google-api-python-client.

The client library is blocking and its httplib2 transport is not thread-safe, so each provider
owns one worker thread: its authorized transport is made there once and every request runs there,
while the engine awaits on its asyncio loop. The request builders are shared by every account of
the process (google_shared_api.py). Credentials refresh themselves through the token URI when
Google answers 401. The library's own retries are off: the engine decides when to try again, from
the error kinds of sync.providers.errors that every failure is mapped to here.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any, TypeVar

import google.auth.exceptions
import google_auth_httplib2  # type: ignore[import-untyped]
import httplib2
from google.oauth2.credentials import Credentials
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError

from app.domain.ids import CalendarId
from app.domain.model import Calendar, RemoteEvent
from app.domain.time import Interval
from app.services.ports import RemoteCalendar
from sync.core.ownership import event_tag, tag_verifies
from sync.providers.config import GoogleSettings
from sync.providers.content import booking_content_hash
from sync.providers.errors import (
    AlreadyExists,
    AuthExpired,
    BadRemoteData,
    NotFoundRemote,
    ProviderError,
    Transient,
    classify_google,
)
from sync.providers.google_shared_api import calendar_api
from sync.providers.normalize_google import (
    BOOKING_ID_KEY,
    BOOKING_TAG_KEY,
    booking_to_google_event,
    google_event_id,
    google_event_to_remote,
    is_deletion,
)
from sync.providers.protocol import BookingEventContent, ChangeBatch, Channel, WrittenEvent

log = logging.getLogger(__name__)

HTTP_TIMEOUT = 30.0
PAGE_SIZE = 2500  # events.list's hard cap
CALENDAR_PAGE_SIZE = 250
# A deleted event keeps its id as a tombstone; a booking re-created in that calendar moves on to
# the next generation of its deterministic id, at most this many times.
MAX_GENERATION = 3
CHANNEL_TTL_SECONDS = 7 * 24 * 3600  # Google's documented default

T = TypeVar("T")


def build_service(settings: GoogleSettings, credentials: Credentials, timeout: float) -> Any:
    """A Calendar v3 client of its own, from the discovery document in the wheel, pointed at
    `api_endpoint`: for a one-off use such as listing calendars at sign-in (a provider shares
    the process's request builders instead)."""
    http = authorized_http(credentials, timeout)
    return build(
        "calendar",
        "v3",
        http=http,
        static_discovery=True,
        cache_discovery=False,
        client_options={"api_endpoint": settings.api_endpoint},
    )


def _refresh_failed(error: google.auth.exceptions.RefreshError) -> ProviderError:
    text = str(error.args[0]) if error.args else ""
    reason = text.split(":", 1)[0].strip() or "refresh_failed"
    if error.retryable:
        return Transient(
            "Google could not renew the calendar sign-in right now; sync will retry.", reason=reason
        )
    return AuthExpired(
        "The Google calendar sign-in has expired or was revoked; reconnect the calendar in the "
        "technician's settings.",
        status=400,
        reason=reason,
    )


def _offline(error: BaseException) -> Transient:
    return Transient(f"Could not reach Google Calendar ({type(error).__name__}); sync will retry.")


def authorized_http(credentials: Credentials, timeout: float) -> Any:
    """An account's transport: its own connection, the bearer token added and refreshed on 401."""
    return google_auth_httplib2.AuthorizedHttp(credentials, http=httplib2.Http(timeout=timeout))


def execute(request: Any, http: Any, if_match: str | None = None) -> Any:
    """Run one API request over the account's `http` on the calling (worker) thread; failures
    become provider errors."""
    if if_match:
        request.headers["If-Match"] = if_match
    try:
        return request.execute(http=http, num_retries=0)
    except HttpError as error:
        headers = {str(k): str(v) for k, v in dict(error.resp).items()}
        raise classify_google(int(error.resp.status), error.content, headers) from None
    except google.auth.exceptions.RefreshError as error:
        raise _refresh_failed(error) from None
    except google.auth.exceptions.TransportError as error:
        raise _offline(error) from None
    except (TimeoutError, httplib2.HttpLib2Error, OSError) as error:  # timeouts, resets, refused
        raise _offline(error) from None


def _booking_id_of(item: Mapping[str, Any]) -> str | None:
    properties = item.get("extendedProperties")
    private = properties.get("private") if isinstance(properties, Mapping) else None
    value = private.get(BOOKING_ID_KEY) if isinstance(private, Mapping) else None
    return value if isinstance(value, str) else None


def _owned(item: Mapping[str, Any], calendar: Calendar, content: BookingEventContent) -> bool:
    """Whether the item is the booking's event as Crewboard wrote it: live, and tagged for this
    booking, calendar and event id under the store's key. The booking id alone proves nothing."""
    if item.get("status") == "cancelled" or _booking_id_of(item) != content.booking.id:
        return False
    properties = item.get("extendedProperties")
    private = properties.get("private") if isinstance(properties, Mapping) else None
    tag = private.get(BOOKING_TAG_KEY) if isinstance(private, Mapping) else None
    return tag_verifies(
        content.owner_key,
        content.booking.id,
        calendar.remote_id,
        str(item.get("id") or ""),
        tag if isinstance(tag, str) else None,
    )


def _written(item: Mapping[str, Any], adopted: bool) -> WrittenEvent:
    return WrittenEvent(
        remote_id=str(item["id"]),
        etag=str(item.get("etag") or ""),
        content_hash=booking_content_hash(item),
        adopted=adopted,
    )


def _expiry(milliseconds: Any) -> datetime:
    try:
        return datetime.fromtimestamp(int(milliseconds) / 1000, UTC)
    except (TypeError, ValueError):
        raise ProviderError("Google answered a watch request without a usable expiration.") from None


class GoogleCalendarProvider:
    """One Google account: every blocking call runs on this provider's single worker thread."""

    def __init__(
        self,
        settings: GoogleSettings,
        credentials: Credentials,
        *,
        timeout: float = HTTP_TIMEOUT,
        channel_ttl: int = CHANNEL_TTL_SECONDS,
        on_close: Callable[[], None] | None = None,
    ) -> None:
        self._settings = settings
        self._credentials = credentials
        self._timeout = timeout
        self._channel_ttl = channel_ttl
        self._on_close = on_close
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="crewboard-google")
        self._api = calendar_api(settings.api_endpoint)
        self._transport: Any = None
        self._closed = False

    # -- the worker thread ------------------------------------------------------------------------

    def _http(self) -> Any:
        """The account's transport, made once, on the worker thread that alone uses it."""
        if self._transport is None:
            self._transport = authorized_http(self._credentials, self._timeout)
        return self._transport

    def _send(self, request: Any, if_match: str | None = None) -> Any:
        return execute(request, self._http(), if_match)

    async def _run(self, work: Callable[..., T], *args: Any) -> T:
        if self._closed:
            raise RuntimeError("the Google calendar provider is closed")
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, work, *args)

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._executor, self._close_service)
        self._executor.shutdown(wait=True)
        if self._on_close is not None:
            self._on_close()

    def _close_service(self) -> None:
        if self._transport is not None:
            self._transport.close()
            self._transport = None

    # -- calendars ----------------------------------------------------------------------------------

    async def list_calendars(self) -> list[RemoteCalendar]:
        return await self._run(self._list_calendars)

    def _list_calendars(self) -> list[RemoteCalendar]:
        found: list[RemoteCalendar] = []
        page_token: str | None = None
        while True:
            page = self._send(
                self._api.calendar_list.list(maxResults=CALENDAR_PAGE_SIZE, pageToken=page_token)
            )
            for entry in page.get("items", []):
                if entry.get("deleted"):
                    continue
                found.append(
                    RemoteCalendar(
                        remote_id=str(entry["id"]),
                        name=str(entry.get("summaryOverride") or entry.get("summary") or entry["id"]),
                        primary=bool(entry.get("primary")),
                    )
                )
            page_token = page.get("nextPageToken")
            if not page_token:
                break
        found.sort(key=lambda c: (not c.primary, c.name.lower()))
        return found

    # -- reading changes ----------------------------------------------------------------------------

    async def read_changes(self, calendar: Calendar, cursor: str | None, window: Interval) -> ChangeBatch:
        return await self._run(self._read_changes, calendar, cursor, window)

    def _read_changes(self, calendar: Calendar, cursor: str | None, window: Interval) -> ChangeBatch:
        """events.list of masters and exceptions with tombstones, every page, then the sync token.

        Without a cursor the read starts at the window's start (no upper bound: a series that
        began before the window but repeats into it is still listed); with one, only the token
        and the parameters of the full read are sent, as Google requires.
        """
        params: dict[str, Any] = {
            "calendarId": calendar.remote_id,
            "singleEvents": False,
            "showDeleted": True,
            "maxResults": PAGE_SIZE,
        }
        if cursor is None:
            params["timeMin"] = window.start.astimezone(UTC).isoformat().replace("+00:00", "Z")
        else:
            params["syncToken"] = cursor
        events: list[RemoteEvent] = []
        deleted: list[str] = []
        skipped: list[tuple[str, str]] = []
        page_token: str | None = None
        next_sync: str | None = None
        while True:
            page = self._send(self._api.events.list(**params, pageToken=page_token))
            zone = str(page.get("timeZone") or "UTC")
            for item in page.get("items", []):
                self._take(item, calendar.id, zone, events, deleted, skipped)
            page_token = page.get("nextPageToken")
            if not page_token:
                next_sync = page.get("nextSyncToken")
                break
        if not next_sync:
            raise Transient("Google ended the event list without a sync token; sync will retry.")
        return ChangeBatch(
            events=tuple(events),
            deleted=tuple(deleted),
            cursor=str(next_sync),
            full=cursor is None,
            skipped=tuple(skipped),
        )

    @staticmethod
    def _take(
        item: Any,
        calendar_id: CalendarId,
        zone: str,
        events: list[RemoteEvent],
        deleted: list[str],
        skipped: list[tuple[str, str]],
    ) -> None:
        if isinstance(item, Mapping) and is_deletion(item) and isinstance(item.get("id"), str):
            deleted.append(item["id"])
            return
        try:
            events.append(google_event_to_remote(item, calendar_id, calendar_zone=zone))
        except BadRemoteData as error:
            log.warning("Skipping a Google calendar event: %s", error)
            skipped.append((error.remote_id, error.why))
        except ValueError:  # the calendar names a zone nobody knows: read it in UTC instead
            try:
                events.append(google_event_to_remote(item, calendar_id, calendar_zone="UTC"))
            except BadRemoteData as error:
                skipped.append((error.remote_id, error.why))

    # -- finding a booking's event ------------------------------------------------------------------

    async def find_booking_event(
        self, calendar: Calendar, content: BookingEventContent
    ) -> RemoteEvent | None:
        return await self._run(self._find, calendar, content)

    def _find(self, calendar: Calendar, content: BookingEventContent) -> RemoteEvent | None:
        booking_id = content.booking.id
        events = self._api.events
        for generation in range(MAX_GENERATION + 1):
            try:
                item = self._send(
                    events.get(
                        calendarId=calendar.remote_id,
                        eventId=google_event_id(booking_id, generation=generation, key=content.owner_key),
                    )
                )
            except NotFoundRemote:
                break  # a generation is only ever skipped over a tombstone, so none follows
            if not _owned(item, calendar, content):
                continue
            return self._remote(item, calendar)
        # Events carry the booking id in a private property even when their id is not ours; only
        # one whose tag verifies (it names its own id) was written by us.
        page_token: str | None = None
        while True:
            page = self._send(
                events.list(
                    calendarId=calendar.remote_id,
                    privateExtendedProperty=f"{BOOKING_ID_KEY}={booking_id}",
                    showDeleted=False,
                    singleEvents=False,
                    maxResults=CALENDAR_PAGE_SIZE,
                    pageToken=page_token,
                )
            )
            for item in page.get("items", []):
                if _owned(item, calendar, content):
                    return self._remote(item, calendar, zone=str(page.get("timeZone") or "UTC"))
            page_token = page.get("nextPageToken")
            if not page_token:
                return None

    def _remote(self, item: Mapping[str, Any], calendar: Calendar, zone: str | None = None) -> RemoteEvent:
        if zone is None:
            zone = str((item.get("start") or {}).get("timeZone") or "UTC")
        try:
            return google_event_to_remote(item, calendar.id, calendar_zone=zone)
        except ValueError as error:
            if isinstance(error, BadRemoteData):
                raise
            return google_event_to_remote(item, calendar.id, calendar_zone="UTC")

    # -- writes ---------------------------------------------------------------------------------------

    async def create_event(self, calendar: Calendar, content: BookingEventContent) -> WrittenEvent:
        return await self._run(self._create, calendar, content)

    def _create(self, calendar: Calendar, content: BookingEventContent) -> WrittenEvent:
        """Insert under the booking's deterministic (keyed) id, tagged for this calendar and id; a
        409 means a lost answer: adopt the event, but only when its tag verifies.

        An id held by a tombstone (the event was deleted) or by any event whose tag does not
        verify moves the booking on to the next generation of its id.
        """
        events = self._api.events
        for generation in range(MAX_GENERATION + 1):
            event_id = google_event_id(content.booking.id, generation=generation, key=content.owner_key)
            body = booking_to_google_event(
                content.booking,
                content.customer,
                content.tech,
                link=content.link,
                office_phone=content.office_phone,
                event_id=event_id,
                tag=event_tag(content.owner_key, content.booking.id, calendar.remote_id, event_id),
            )
            try:
                item = self._send(events.insert(calendarId=calendar.remote_id, body=body, sendUpdates="none"))
            except AlreadyExists:
                existing = self._send(events.get(calendarId=calendar.remote_id, eventId=event_id))
                if not _owned(existing, calendar, content):
                    log.info("Event id generation %d of a booking is taken; trying the next", generation)
                    continue
                return _written(existing, adopted=True)
            return _written(item, adopted=False)
        raise ProviderError(
            "Every calendar event id Crewboard could give this booking is taken; the booking's event "
            "cannot be created in this calendar."
        )

    async def update_event(
        self, calendar: Calendar, remote_id: str, etag: str | None, content: BookingEventContent
    ) -> WrittenEvent:
        return await self._run(self._update, calendar, remote_id, etag, content)

    def _update(
        self, calendar: Calendar, remote_id: str, etag: str | None, content: BookingEventContent
    ) -> WrittenEvent:
        body = booking_to_google_event(
            content.booking,
            content.customer,
            content.tech,
            link=content.link,
            office_phone=content.office_phone,
            event_id=google_event_id(content.booking.id),
            # Only events proven ours are updated: keep (or give an older one) the tag for its id.
            tag=event_tag(content.owner_key, content.booking.id, calendar.remote_id, remote_id),
        )
        body.pop("id")
        for key in ("location", "colorId", "source"):
            body.setdefault(key, None)  # patch keeps what is not sent: clear what the booking lost
        request = self._api.events.patch(
            calendarId=calendar.remote_id, eventId=remote_id, body=body, sendUpdates="none"
        )
        return _written(self._send(request, if_match=etag), adopted=False)

    async def delete_event(self, calendar: Calendar, remote_id: str, etag: str | None) -> None:
        await self._run(self._delete, calendar, remote_id, etag)

    def _delete(self, calendar: Calendar, remote_id: str, etag: str | None) -> None:
        request = self._api.events.delete(
            calendarId=calendar.remote_id, eventId=remote_id, sendUpdates="none"
        )
        with contextlib.suppress(NotFoundRemote):  # 404, or 410 "deleted": already gone
            self._send(request, if_match=etag)

    # -- push channels --------------------------------------------------------------------------------

    async def watch(self, calendar: Calendar, address: str, token: str) -> Channel:
        return await self._run(self._watch, calendar, address, token)

    def _watch(self, calendar: Calendar, address: str, token: str) -> Channel:
        body = {
            "id": uuid.uuid4().hex,
            "type": "web_hook",
            "address": address,
            "token": token,
            "params": {"ttl": str(self._channel_ttl)},
        }
        answer = self._send(self._api.events.watch(calendarId=calendar.remote_id, body=body))
        return Channel(
            id=str(answer.get("id") or body["id"]),
            resource_id=str(answer["resourceId"]) if answer.get("resourceId") else None,
            expires=_expiry(answer.get("expiration")),
            token=token,
        )

    async def renew(self, calendar: Calendar, channel: Channel, address: str) -> Channel:
        """Google cannot extend a channel: a new one. The caller stops the old one once the new one is
        stored; stopped first, a crash in between would leave a dead channel stored as live."""
        return await self.watch(calendar, address, channel.token)

    async def stop_watch(self, calendar: Calendar, channel: Channel) -> None:
        await self._run(self._stop, channel)

    def _stop(self, channel: Channel) -> None:
        body = {"id": channel.id, "resourceId": channel.resource_id}
        with contextlib.suppress(NotFoundRemote):  # already stopped or expired
            self._send(self._api.channels.stop(body=body))
