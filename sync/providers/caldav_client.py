"""A CalDAV server over httpx: one request with its errors read, and discovery of the calendars.

Every server we target (iCloud, Fastmail, Nextcloud, Radicale) signs in with HTTP Basic and an
(app-specific) password, so there is no token to renew: a 401 means the password was revoked or
changed and the tech must connect again. Answers map to the provider error tree the way Google's
and Graph's do: 412 means the event changed (re-read), 429 and 503 with Retry-After mean slow
down, other 5xx and timeouts are transient.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import quote, unquote, urlsplit

import httpx

from sync.providers.caldav_xml import (
    APPLE_ICAL,
    CALDAV,
    CALSERVER,
    DAV,
    DavResponse,
    DavXmlError,
    Multistatus,
    absolute,
    normalize_href,
    parse_multistatus,
    propfind,
    q,
)
from sync.providers.errors import (
    AuthExpired,
    CursorExpired,
    NotFoundRemote,
    PreconditionFailed,
    ProviderError,
    RateLimited,
    Transient,
    retry_after_seconds,
)
from sync.providers.tls import tls_context

log = logging.getLogger(__name__)

HTTP_TIMEOUT = 30.0
# Our own name in the server's logs; some servers (iCloud) refuse clients that send none.
USER_AGENT = "Crewboard-CalDAV/1"


@dataclass(frozen=True, slots=True)
class CaldavCredentials:
    """What the keyring keeps for a CalDAV account: where, who, and the app-specific password."""

    url: str
    username: str
    password: str = field(repr=False)  # never in a log line or a traceback's locals


@dataclass(frozen=True, slots=True)
class DiscoveredCalendar:
    href: str  # a path on the server, unquoted
    name: str
    color: str | None


@dataclass(frozen=True, slots=True)
class Discovery:
    """Where the account's calendars live, and the addresses that are the account itself."""

    base: str  # scheme://host[:port] every href is relative to (the calendar home's host)
    principal: str
    home: str
    addresses: tuple[str, ...]
    default_calendar: str | None


def quote_path(path: str) -> str:
    return quote(path, safe="/@:+,;=~!$&'()*")


def classify_caldav(status: int, headers: Mapping[str, str] | None, body: bytes) -> ProviderError:
    """The error kind of a failed CalDAV answer."""
    if status == 401:
        return AuthExpired(
            "The calendar server refused the password (it was revoked or changed); connect the "
            "calendar again with a new app-specific password.",
            status=status,
            reason="unauthorized",
        )
    if status in (403, 409, 412) and b"valid-sync-token" in body:
        # RFC 6578: the server no longer knows our sync token (Radicale answers 412, others 403).
        return CursorExpired(
            "The calendar's change feed expired; the calendar will be read again in full.",
            status=status,
            reason="valid-sync-token",
        )
    retry_after = retry_after_seconds(headers)
    if status == 429 or (status == 503 and retry_after is not None):
        return RateLimited(
            "The calendar server asked us to slow down; sync will continue shortly.",
            retry_after=retry_after,
            status=status,
            reason="throttled",
        )
    if status in (404, 410):
        return NotFoundRemote("The calendar event no longer exists.", status=status)
    if status == 412:
        return PreconditionFailed(
            "The calendar event changed since it was read; it will be read again.", status=status
        )
    if status >= 500 or status == 408:
        return Transient(
            f"The calendar server had a temporary problem (HTTP {status}); sync will retry.", status=status
        )
    return ProviderError(f"The calendar server refused the request (HTTP {status}).", status=status)


class CaldavSession:
    """One account's HTTP session: Basic auth, our errors, paths in and out unquoted."""

    def __init__(
        self,
        credentials: CaldavCredentials,
        *,
        timeout: float = HTTP_TIMEOUT,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        url = credentials.url.strip()
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ProviderError(
                f"'{url}' is not a CalDAV server address; give one like https://caldav.icloud.com."
            )
        self.url = url
        self.base = f"{parts.scheme}://{parts.netloc}"
        self._client = httpx.AsyncClient(
            auth=httpx.BasicAuth(credentials.username, credentials.password),
            verify=tls_context(),
            timeout=timeout,
            follow_redirects=True,
            headers={"User-Agent": USER_AGENT},
            transport=transport,  # httpx's seam for tests; None is the real network
        )

    def rebase(self, url: str) -> str:
        """Talk to the host of `url` from now on (iCloud names a partition host such as
        p42-caldav.icloud.com for the calendar home); the path of `url`."""
        parts = urlsplit(url)
        if parts.scheme in ("http", "https") and parts.netloc:
            self.base = f"{parts.scheme}://{parts.netloc}"
        return unquote(parts.path) if parts.netloc else url

    @property
    def closed(self) -> bool:
        return self._client.is_closed

    async def aclose(self) -> None:
        await self._client.aclose()

    def url_of(self, path: str) -> str:
        return absolute(self.base, quote_path(path)) if path.startswith("/") else absolute(self.base, path)

    async def request(
        self,
        method: str,
        path: str,
        *,
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        content_type: str | None = None,
    ) -> httpx.Response:
        sent = dict(headers or {})
        if content_type:
            sent["Content-Type"] = content_type
        target = path if "://" in path else self.url_of(path)
        try:
            response = await self._client.request(method, target, content=body, headers=sent)
        except httpx.TimeoutException as error:
            raise Transient(f"The calendar server did not answer in time ({type(error).__name__}).") from None
        except httpx.TransportError as error:
            raise Transient(f"Could not reach the calendar server ({type(error).__name__}).") from None
        if response.status_code >= 400:
            raise classify_caldav(response.status_code, response.headers, response.content)
        return response

    async def dav(
        self,
        method: str,
        path: str,
        body: bytes,
        *,
        depth: str | None = "0",
        headers: Mapping[str, str] | None = None,
    ) -> Multistatus:
        """A PROPFIND or REPORT and its multistatus."""
        sent = dict(headers or {})
        if depth is not None:
            sent["Depth"] = depth
        response = await self.request(
            method, path, body=body, headers=sent, content_type="application/xml; charset=utf-8"
        )
        try:
            return parse_multistatus(response.content)
        except DavXmlError as error:
            raise Transient(f"The calendar server answered something unreadable ({error}).") from None

    async def props(self, path: str, names: list[str], depth: str = "0") -> Multistatus:
        return await self.dav("PROPFIND", path, propfind(names), depth=depth)

    # -- discovery (RFC 6764 and RFC 4791 section 6) -----------------------------------------------

    async def discover(self) -> Discovery:
        principal = await self._principal()
        found = await self.props(
            principal,
            [
                q(CALDAV, "calendar-home-set"),
                q(CALDAV, "calendar-user-address-set"),
                q(CALDAV, "schedule-inbox-URL"),
            ],
        )
        answer = _first(found)
        homes = answer.child_hrefs(q(CALDAV, "calendar-home-set")) if answer else []
        if not homes:
            raise ProviderError("The calendar server names no calendar home for this account.")
        addresses = tuple(
            a for a in (answer.child_hrefs(q(CALDAV, "calendar-user-address-set")) if answer else []) if a
        )
        default = None
        inbox = answer.child_hrefs(q(CALDAV, "schedule-inbox-URL")) if answer else []
        if inbox:
            default = await self._default_calendar(inbox[0])
        home = self.rebase(homes[0]) if "://" in homes[0] else normalize_href(homes[0])
        return Discovery(
            base=self.base,
            principal=principal,
            home=home,
            addresses=addresses,
            default_calendar=default,
        )

    async def _principal(self) -> str:
        """current-user-principal from the URL given, else from /.well-known/caldav."""
        name = [q(DAV, "current-user-principal")]
        tried: list[str] = []
        for path in (self.url, f"{self.base}/.well-known/caldav", f"{self.base}/"):
            if path in tried:
                continue
            tried.append(path)
            try:
                found = await self.props(path, name)
            except (NotFoundRemote, Transient) as error:
                log.info("No CalDAV principal at %s (%s)", path, type(error).__name__)
                continue
            except ProviderError as error:
                if isinstance(error, (AuthExpired, RateLimited)):
                    raise
                log.info("No CalDAV principal at %s (HTTP %s)", path, error.status)
                continue
            for response in found.responses:
                hrefs = response.child_hrefs(name[0])
                if hrefs:
                    return normalize_href(hrefs[0])
        raise ProviderError(
            f"No CalDAV calendars were found at {self.url}; check the server address "
            "(iCloud: https://caldav.icloud.com, Fastmail: https://caldav.fastmail.com)."
        )

    async def _default_calendar(self, inbox: str) -> str | None:
        try:
            found = await self.props(inbox, [q(CALDAV, "schedule-default-calendar-URL")])
        except ProviderError as error:
            if isinstance(error, (AuthExpired, RateLimited)):
                raise
            return None
        answer = _first(found)
        hrefs = answer.child_hrefs(q(CALDAV, "schedule-default-calendar-URL")) if answer else []
        return normalize_href(hrefs[0]) if hrefs else None

    async def calendars(self, home: str) -> list[DiscoveredCalendar]:
        found = await self.props(
            home,
            [
                q(DAV, "resourcetype"),
                q(DAV, "displayname"),
                q(CALDAV, "supported-calendar-component-set"),
                q(APPLE_ICAL, "calendar-color"),
            ],
            depth="1",
        )
        calendars: list[DiscoveredCalendar] = []
        for response in found.responses:
            if not response.has_child(q(DAV, "resourcetype"), q(CALDAV, "calendar")):
                continue
            components = response.props.get(q(CALDAV, "supported-calendar-component-set"))
            if components is not None and not any(
                c.get("name", "").upper() == "VEVENT" for c in components.iter(q(CALDAV, "comp"))
            ):
                continue  # a task list (VTODO only), not a calendar of events
            href = response.href if response.href.endswith("/") else response.href + "/"
            name = response.text(q(DAV, "displayname")) or href.rstrip("/").rsplit("/", 1)[-1]
            calendars.append(DiscoveredCalendar(href, name, response.text(q(APPLE_ICAL, "calendar-color"))))
        return calendars

    async def collection_state(self, path: str) -> tuple[str | None, str | None, bool]:
        """The calendar's sync-token, ctag, and whether it offers sync-collection (RFC 6578)."""
        found = await self.props(
            path, [q(DAV, "sync-token"), q(CALSERVER, "getctag"), q(DAV, "supported-report-set")]
        )
        answer = _first(found)
        if answer is None:
            return None, None, False
        offers = answer.has_child(q(DAV, "supported-report-set"), q(DAV, "sync-collection"))
        return answer.text(q(DAV, "sync-token")), answer.text(q(CALSERVER, "getctag")), offers


def _first(found: Multistatus) -> DavResponse | None:
    return found.responses[0] if found.responses else None
