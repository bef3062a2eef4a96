"""Over 500 lines: one class serves the whole protocol (reads, series, writes, subscriptions).

The Microsoft Graph side of `CalendarProvider`, over httpx on the engine's asyncio loop.

Every request asks for immutable ids and UTC times, carries a bearer token from MSAL (a blocking
call, run in a thread; a 401 forces one refresh and one retry), and waits for one of four slots:
Outlook admits four requests in flight per mailbox and throttles the fifth.

Reading a calendar uses calendarView/delta over the sync window. Delta lists single events,
exceptions and plain occurrences of series but never the series masters, and it says nothing
when one occurrence is deleted or a whole series goes. The domain expands masters itself, so for
every series the delta touches we read the master and its instances in the window: the master
(with an EXDATE for each slot of its rule that Outlook no longer lists), its exceptions, and no
plain occurrences, so nothing is counted twice. Which occurrence belongs to which series is
remembered per calendar, so a removed occurrence leads back to its series.

A slot missing from `/instances` counts as cancelled only when that list is known complete for
the window: every page read, every row placed in its slot, no error. An instance read that failed
or came back incomplete proves nothing, so the master keeps every slot of its rule (busy time is
never turned into free time on missing evidence), the exceptions the delta itself carried stand
in for the instance list, and the series is read again on the next round.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import httpx

from app.domain.model import Calendar, RemoteEvent
from app.domain.time import Interval
from app.services.ports import ProviderUnavailable, ReconnectRequired, RemoteCalendar
from sync.core.ownership import event_tag, tag_verifies
from sync.providers.config import MicrosoftSettings
from sync.providers.content import booking_content_hash, parse_instant
from sync.providers.errors import (
    AlreadyExists,
    AuthExpired,
    BadRemoteData,
    NotFoundRemote,
    ProviderError,
    RateLimited,
    Transient,
    classify_graph,
)
from sync.providers.graph_series import SeriesRead, cancelled_slots, fallback_exceptions, read_instances
from sync.providers.normalize_graph import (
    BOOKING_ID_PROPERTY,
    BOOKING_TAG_PROPERTY,
    booking_to_graph_event,
    graph_event_to_remote,
    is_removed,
    transaction_id,
)
from sync.providers.outlook_categories import nearest_preset
from sync.providers.protocol import BookingEventContent, ChangeBatch, Channel, WrittenEvent, lifecycle_url
from sync.providers.tls import tls_context

log = logging.getLogger(__name__)

HTTP_TIMEOUT = 30.0
MAILBOX_CONCURRENCY = 4
# Idle connections are kept past the fast poll (10 s ± 20 %): httpx's default of 5 s made every
# poll open a new TLS connection, a quarter of a quiet Graph read's CPU at 1,000 techs. A connection the
# server closed sooner is seen closed before it is reused, and replaced.
KEEP_ALIVE = 30.0
# How long a mailbox that refused the category (no consent yet) is left alone before we look again.
CATEGORY_RECHECK = timedelta(minutes=10)
DELTA_PAGE_SIZE = 100
# Outlook event subscriptions live at most 4,230 minutes; ask for a little less.
SUBSCRIPTION_MINUTES = 4200
PREFER = 'IdType="ImmutableId", outlook.timezone="UTC"'
_EXPAND_BOOKING = (
    f"singleValueExtendedProperties($filter=id eq '{BOOKING_ID_PROPERTY}' or id eq '{BOOKING_TAG_PROPERTY}')"
)

TokenSource = Callable[[bool], str]  # force_refresh -> access token (blocking)
Clock = Callable[[], datetime]


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _graph_instant(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _segment(remote_id: str) -> str:
    return quote(remote_id, safe="")


def _odata_text(value: str) -> str:
    return value.replace("'", "''")


def _written(item: Mapping[str, Any], adopted: bool) -> WrittenEvent:
    etag = item.get("@odata.etag") or item.get("changeKey") or ""
    return WrittenEvent(
        remote_id=str(item["id"]),
        etag=str(etag),
        content_hash=booking_content_hash(item),
        adopted=adopted,
    )


class GraphCalendarProvider:
    """One Microsoft mailbox through Graph v1.0."""

    def __init__(
        self,
        settings: MicrosoftSettings,
        token_source: TokenSource,
        *,
        timeout: float = HTTP_TIMEOUT,
        clock: Clock = _utc_now,
        on_close: Callable[[], None] | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._token_source = token_source
        self._clock = clock
        self._on_close = on_close
        self._client = httpx.AsyncClient(
            base_url=settings.graph_base.rstrip("/") + "/",
            verify=tls_context(settings.ca_file),
            limits=httpx.Limits(max_keepalive_connections=MAILBOX_CONCURRENCY, keepalive_expiry=KEEP_ALIVE),
            trust_env=settings.ca_file is None,
            timeout=timeout,
            headers={"Accept": "application/json", "Prefer": PREFER},
            transport=transport,  # httpx's seam for tests; None is the real network
        )
        self._slots = asyncio.Semaphore(MAILBOX_CONCURRENCY)
        self._token_lock = asyncio.Lock()
        self._token: str | None = None
        # Per calendar: occurrence and exception ids seen, mapped to their series master's id.
        self._series_of: dict[str, dict[str, str]] = {}
        self._known_calendars: set[str] = set()  # calendars read in full by this provider
        # Per calendar: series whose instance list could not be read whole last time; read again.
        self._unsettled: dict[str, set[str]] = {}
        # Category wanted → (its name in the master list or None without consent, when to look again).
        self._categories: dict[str, tuple[str | None, datetime]] = {}

    async def aclose(self) -> None:
        if self._client.is_closed:
            return
        await self._client.aclose()
        if self._on_close is not None:
            on_close, self._on_close = self._on_close, None
            on_close()

    # -- HTTP -----------------------------------------------------------------------------------------

    async def _bearer(self, force: bool) -> str:
        async with self._token_lock:
            if self._token is None or force:
                try:
                    self._token = await asyncio.to_thread(self._token_source, force)
                except ReconnectRequired as error:
                    raise AuthExpired(str(error), reason="reconnect_required") from None
                except ProviderUnavailable as error:
                    raise Transient(str(error)) from None
            return self._token

    async def _request(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, str] | None = None,
        body: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """One Graph call in one of the mailbox's four slots; errors become provider errors."""
        async with self._slots:
            for attempt in range(2):
                token = await self._bearer(force=attempt > 0)
                try:
                    response = await self._client.request(
                        method,
                        url,
                        params=params,
                        json=body,
                        headers={**(headers or {}), "Authorization": f"Bearer {token}"},
                    )
                except httpx.TimeoutException as error:
                    raise Transient(
                        f"Microsoft Graph did not answer in time ({type(error).__name__})."
                    ) from None
                except httpx.TransportError as error:
                    raise Transient(f"Could not reach Microsoft Graph ({type(error).__name__}).") from None
                if response.status_code == 401 and attempt == 0:
                    continue  # the access token died early (expired, sessions revoked): refresh once
                if response.status_code >= 400:
                    raise classify_graph(response.status_code, response.content, response.headers)
                return response
        raise AssertionError("unreachable")  # pragma: no cover

    async def _json(self, method: str, url: str, **kwargs: Any) -> dict[str, Any]:
        response = await self._request(method, url, **kwargs)
        try:
            data = response.json()
        except ValueError:
            raise Transient("Microsoft Graph answered something that is not JSON; sync will retry.") from None
        if not isinstance(data, dict):
            raise Transient("Microsoft Graph answered something that is not a JSON object; sync will retry.")
        return data

    async def _pages(self, url: str, params: Mapping[str, str] | None = None) -> list[Any]:
        """Every item of a collection, following @odata.nextLink."""
        items: list[Any] = []
        next_url: str | None = url
        next_params = params
        while next_url:
            page = await self._json("GET", next_url, params=next_params)
            value = page.get("value")
            if isinstance(value, list):
                items.extend(value)
            link = page.get("@odata.nextLink")
            next_url, next_params = (str(link), None) if link else (None, None)
        return items

    # -- calendars ------------------------------------------------------------------------------------

    async def list_calendars(self) -> list[RemoteCalendar]:
        items = await self._pages("me/calendars", {"$select": "id,name,isDefaultCalendar", "$top": "100"})
        found = [
            RemoteCalendar(
                remote_id=str(item["id"]),
                name=str(item.get("name") or "Calendar"),
                primary=bool(item.get("isDefaultCalendar")),
            )
            for item in items
            if isinstance(item, Mapping) and item.get("id")
        ]
        found.sort(key=lambda c: (not c.primary, c.name.lower()))
        return found

    # -- reading changes --------------------------------------------------------------------------------

    async def _delta(self, calendar: Calendar, cursor: str | None, window: Interval) -> tuple[list[Any], str]:
        """One whole delta round: every page's items and the deltaLink that ends it."""
        headers = {"Prefer": f"{PREFER}, odata.maxpagesize={DELTA_PAGE_SIZE}"}
        url: str
        params: Mapping[str, str] | None
        if cursor is None:
            url = f"me/calendars/{_segment(calendar.remote_id)}/calendarView/delta"
            params = {
                "startDateTime": _graph_instant(window.start),
                "endDateTime": _graph_instant(window.end),
            }
        else:
            url, params = cursor, None
        items: list[Any] = []
        while True:
            page = await self._json("GET", url, params=params, headers=headers)
            value = page.get("value")
            if isinstance(value, list):
                items.extend(value)
            if page.get("@odata.nextLink"):
                url, params = str(page["@odata.nextLink"]), None
                continue
            delta_link = page.get("@odata.deltaLink")
            if not delta_link:
                raise Transient("Microsoft Graph ended a change round without a delta link; sync will retry.")
            return items, str(delta_link)

    async def read_changes(self, calendar: Calendar, cursor: str | None, window: Interval) -> ChangeBatch:
        full = cursor is None
        items, next_cursor = await self._delta(calendar, cursor, window)
        if (
            not full
            and calendar.id not in self._known_calendars
            and any(isinstance(i, Mapping) and is_removed(i) for i in items)
        ):
            # Something left the calendar and this provider has not seen the calendar's series yet,
            # so it cannot tell a removed occurrence (its whole series may be gone) from anything
            # else: read the window afresh instead, once.
            log.info("Reading a Microsoft calendar in full to place removed events")
            items, next_cursor = await self._delta(calendar, None, window)
            full = True
        if full:
            self._series_of[calendar.id] = {}
        known = self._series_of.setdefault(calendar.id, {})

        events: list[RemoteEvent] = []
        deleted: list[str] = []
        skipped: list[tuple[str, str]] = []
        # Series left unsettled by an earlier round are read again, whatever this delta says.
        series: set[str] = set(self._unsettled.get(calendar.id, ()))
        delta_exceptions: dict[str, list[Mapping[str, Any]]] = {}
        for item in items:
            if not isinstance(item, Mapping) or not isinstance(item.get("id"), str):
                skipped.append(("(no id)", "the change is not an event with an id"))
                continue
            remote_id: str = item["id"]
            if is_removed(item):
                deleted.append(remote_id)
                if remote_id in known:
                    series.add(known[remote_id])
                continue
            kind = item.get("type")
            if kind in ("occurrence", "exception"):
                master_id = item.get("seriesMasterId")
                if not isinstance(master_id, str) or not master_id:
                    skipped.append((remote_id, "an instance of a series does not name its series"))
                    continue
                known[remote_id] = master_id
                series.add(master_id)
                if kind == "exception":
                    delta_exceptions.setdefault(master_id, []).append(item)
                continue
            if kind == "seriesMaster":
                series.add(remote_id)
                continue
            try:
                events.append(graph_event_to_remote(item, calendar.id))
            except BadRemoteData as error:
                log.warning("Skipping a Microsoft calendar event: %s", error)
                skipped.append((error.remote_id, error.why))
        unsettled: set[str] = set()
        for master_id in sorted(series):
            read = await self._read_series(
                calendar, master_id, window, known, delta_exceptions.get(master_id, [])
            )
            events.extend(read.events)
            deleted.extend(read.gone)
            skipped.extend(read.bad)
            if not read.settled:
                unsettled.add(master_id)
        self._unsettled[calendar.id] = unsettled
        self._known_calendars.add(calendar.id)

        present = {e.remote_id for e in events}
        unique_deleted = tuple(dict.fromkeys(d for d in deleted if d not in present))
        return ChangeBatch(
            events=tuple(events),
            deleted=unique_deleted,
            cursor=next_cursor,
            full=full,
            skipped=tuple(skipped),
        )

    async def _read_series(
        self,
        calendar: Calendar,
        master_id: str,
        window: Interval,
        known: dict[str, str],
        delta_exceptions: list[Mapping[str, Any]],
    ) -> SeriesRead:
        """The master (cancelled slots as EXDATEs) and exceptions of one series, or its removal.

        Slots become EXDATEs only when the instance list is complete; otherwise the master keeps
        all its rule's slots, the delta's own exceptions are used, and the read is not settled.
        """
        try:
            master_item = await self._json(
                "GET", f"me/events/{_segment(master_id)}", params={"$expand": _EXPAND_BOOKING}
            )
        except NotFoundRemote:
            gone = [master_id, *(rid for rid, mid in known.items() if mid == master_id)]
            for rid in gone[1:]:
                known.pop(rid, None)
            return SeriesRead([], gone, [])
        try:
            master = graph_event_to_remote(master_item, calendar.id)
        except BadRemoteData as error:
            return SeriesRead([], [], [(error.remote_id, error.why)])
        if not master.recurrence:
            return SeriesRead([master], [], [])  # no longer a series: one event
        rows = await self._instance_rows(master_id, window)
        listing = None if rows is None else read_instances(calendar, master, rows, known)
        if listing is None:
            log.warning(
                "Could not read every instance of a Microsoft series; keeping all its slots busy "
                "and reading it again next time"
            )
            exceptions, bad = fallback_exceptions(calendar, master_id, delta_exceptions)
            return SeriesRead([master, *exceptions], [], bad, settled=False)
        exceptions, bad, listed = listing
        exdates = cancelled_slots(master, listed, window)
        if exdates:
            master = dataclasses.replace(master, recurrence=(*master.recurrence, *exdates))
        return SeriesRead([master, *exceptions], [], bad)

    async def _instance_rows(self, master_id: str, window: Interval) -> list[Any] | None:
        """Every row of the series' `/instances` in the window, or None when the list may be
        incomplete: a request failed (other than for throttling or sign-in, which end the whole
        read as usual) or a page came back without its `value` array."""
        rows: list[Any] = []
        url: str | None = f"me/events/{_segment(master_id)}/instances"
        params: Mapping[str, str] | None = {
            "startDateTime": _graph_instant(window.start),
            "endDateTime": _graph_instant(window.end),
        }
        while url:
            try:
                page = await self._json("GET", url, params=params)
            except (AuthExpired, RateLimited):
                raise
            except ProviderError as error:
                log.info("Reading a Microsoft series' instances failed: %s", error)
                return None
            value = page.get("value")
            if not isinstance(value, list):
                return None
            rows.extend(value)
            link = page.get("@odata.nextLink")
            url, params = (str(link), None) if link else (None, None)
        return rows

    # -- finding a booking's event ------------------------------------------------------------------------

    async def _find_item(self, calendar: Calendar, content: BookingEventContent) -> dict[str, Any] | None:
        """The booking's event as we created it in `calendar`: carrying the transactionId our create
        sends and a tag over it that verifies. Events that only claim the booking id are left out."""
        booking_id = content.booking.id
        expected = transaction_id(booking_id, calendar.remote_id, key=content.owner_key)
        params = {
            "$filter": (
                f"singleValueExtendedProperties/Any(ep: ep/id eq '{_odata_text(BOOKING_ID_PROPERTY)}' "
                f"and ep/value eq '{_odata_text(booking_id)}')"
            ),
            "$expand": _EXPAND_BOOKING,
        }
        items = await self._pages(f"me/calendars/{_segment(calendar.remote_id)}/events", params)
        for item in items:
            if not isinstance(item, dict) or item.get("isCancelled") or item.get("transactionId") != expected:
                continue
            try:
                event = graph_event_to_remote(item, calendar.id)
            except BadRemoteData:
                continue
            if event.booking_id == booking_id and tag_verifies(
                content.owner_key, booking_id, calendar.remote_id, event.tag_subject, event.booking_tag
            ):
                return item
        return None

    async def find_booking_event(
        self, calendar: Calendar, content: BookingEventContent
    ) -> RemoteEvent | None:
        item = await self._find_item(calendar, content)
        return graph_event_to_remote(item, calendar.id) if item is not None else None

    # -- the Crewboard category (colour on Outlook) ---------------------------------------------------------

    async def _category_for(self, content: BookingEventContent) -> str | None:
        """The category to put on the event: `content.category` once it is in the mailbox's master
        list, or None when the tech did not ask for colour or the mailbox has not allowed Crewboard
        to read and add categories (then the event is written exactly as without colour)."""
        name = content.category
        if name is None:
            return None
        known = self._categories.get(name)
        if known is not None and (known[0] is not None or known[1] > self._clock()):
            return known[0]
        try:
            found: str | None = await self._ensure_category(name, nearest_preset(content.tech.color))
        except ProviderError as error:
            if error.status != 403:
                raise
            # No MailboxSettings consent (yet): ask again later, not before every write.
            log.info(
                "This Outlook mailbox has not allowed Crewboard to add its category; jobs keep their colour"
            )
            found = None
        self._categories[name] = (found, self._clock() + CATEGORY_RECHECK)
        return found

    async def _ensure_category(self, name: str, color: str) -> str:
        """`name` in the master list: the existing one (found by display name, any case, whatever
        colour the tech gave it since) or one made with `color`. Other categories are never touched."""
        existing = await self._master_category(name)
        if existing is not None:
            return existing
        try:
            made = await self._json(
                "POST", "me/outlook/masterCategories", body={"displayName": name, "color": color}
            )
        except (AlreadyExists, ProviderError) as error:
            # Another writer made it between our look and our POST (display names are unique).
            if not isinstance(error, AlreadyExists) and error.status not in (400, 409):
                raise
            existing = await self._master_category(name)
            if existing is None:
                raise
            return existing
        return str(made.get("displayName") or name)

    async def _master_category(self, name: str) -> str | None:
        for item in await self._pages("me/outlook/masterCategories"):
            shown = item.get("displayName") if isinstance(item, dict) else None
            if isinstance(shown, str) and shown.casefold() == name.casefold():
                return shown
        return None

    # -- writes ---------------------------------------------------------------------------------------------

    async def create_event(self, calendar: Calendar, content: BookingEventContent) -> WrittenEvent:
        """POST with a keyed transactionId derived from the booking: Graph answers a repeated POST
        with the first event, so a create whose answer was lost never makes a second one. Looking
        for an event of ours before creating again is the engine's job (OutboxFlusher, through
        `find_booking_event`), for every provider alike."""
        transaction = transaction_id(content.booking.id, calendar.remote_id, key=content.owner_key)
        body = booking_to_graph_event(
            content.booking,
            content.customer,
            content.tech,
            link=content.link,
            tag=event_tag(content.owner_key, content.booking.id, calendar.remote_id, transaction),
            office_phone=content.office_phone,
            category=await self._category_for(content),
            drop_category=content.drop_category,
        )
        body["transactionId"] = transaction
        item = await self._json("POST", f"me/calendars/{_segment(calendar.remote_id)}/events", body=body)
        return _written(item, adopted=False)

    async def update_event(
        self, calendar: Calendar, remote_id: str, etag: str | None, content: BookingEventContent
    ) -> WrittenEvent:
        body = booking_to_graph_event(
            content.booking,
            content.customer,
            content.tech,
            link=content.link,
            office_phone=content.office_phone,
            category=await self._category_for(content),
            drop_category=content.drop_category,
        )
        headers = {"If-Match": etag} if etag else None
        item = await self._json(
            "PATCH",
            f"me/calendars/{_segment(calendar.remote_id)}/events/{_segment(remote_id)}",
            body=body,
            headers=headers,
        )
        return _written(item, adopted=False)

    async def delete_event(self, calendar: Calendar, remote_id: str, etag: str | None) -> None:
        headers = {"If-Match": etag} if etag else None
        with contextlib.suppress(NotFoundRemote):  # already gone
            await self._request(
                "DELETE",
                f"me/calendars/{_segment(calendar.remote_id)}/events/{_segment(remote_id)}",
                headers=headers,
            )

    # -- subscriptions ----------------------------------------------------------------------------------------

    def _expiry(self) -> str:
        return _graph_instant(self._clock() + timedelta(minutes=SUBSCRIPTION_MINUTES))

    @staticmethod
    def _channel(answer: Mapping[str, Any], token: str) -> Channel:
        try:
            expires = parse_instant(answer.get("expirationDateTime"), str(answer.get("id")), "expiry")
        except BadRemoteData:
            raise ProviderError("Microsoft Graph answered a subscription without a usable expiry.") from None
        return Channel(
            id=str(answer["id"]),
            resource_id=str(answer["resource"]) if answer.get("resource") else None,
            expires=expires,
            token=token,
        )

    async def watch(self, calendar: Calendar, address: str, token: str) -> Channel:
        body = {
            "changeType": "created,updated,deleted",
            "notificationUrl": address,
            # Graph warns here before it stops notifying (reauthorizationRequired), after it dropped
            # the subscription (subscriptionRemoved) and when notices were lost (missed). It can only
            # be given now: a PATCH cannot add it later.
            "lifecycleNotificationUrl": lifecycle_url(address),
            "resource": f"me/calendars/{calendar.remote_id}/events",
            "expirationDateTime": self._expiry(),
            "clientState": token,
        }
        return self._channel(await self._json("POST", "subscriptions", body=body), token)

    async def renew(self, calendar: Calendar, channel: Channel, address: str) -> Channel:
        """PATCH the expiry (which reauthorizes the subscription as well); a subscription Graph
        already dropped is created anew, and so is one whose addresses are not `address` and its
        lifecycle URL (made before lifecycle notices were asked for, or for another public URL),
        because a PATCH cannot change those."""
        try:
            answer = await self._json(
                "PATCH", f"subscriptions/{_segment(channel.id)}", body={"expirationDateTime": self._expiry()}
            )
        except NotFoundRemote:
            return await self.watch(calendar, address, channel.token)
        if answer.get("notificationUrl") not in (None, address) or answer.get("lifecycleNotificationUrl") != (
            lifecycle_url(address)
        ):
            # A new subscription; the caller stops the old one once this one is stored.
            return await self.watch(calendar, address, channel.token)
        return self._channel(answer, channel.token)

    async def stop_watch(self, calendar: Calendar, channel: Channel) -> None:
        with contextlib.suppress(NotFoundRemote):  # already deleted or expired
            await self._request("DELETE", f"subscriptions/{_segment(channel.id)}")
