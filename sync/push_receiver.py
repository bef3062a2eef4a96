"""The webhook receiver behind `crewboard sync --listen HOST:PORT --public-url URL`.

Google watch channels and Graph subscriptions POST here (through whatever public HTTPS relay or
tunnel forwards `--public-url` to `--listen`). A notice only ever says "this calendar changed", so
all the receiver does is check that the notice is ours and ask the engine for an immediate read of
that calendar; polling stays on as the safety net, because providers may drop notices.

Checks, in order, and what a failure answers (always with no effect and one log line that carries
no token):
- Google (`.../google`): X-Goog-Channel-ID must be one of our channels, or the token must be that of
  a channel being made right now (404), X-Goog-Channel-Token must match (constant-time compare,
  403), X-Goog-Resource-ID must match when we know it (403); a message number not above the last
  one seen on the channel is a replay, acknowledged and ignored. `sync` is the handshake right
  after the channel is made (no read); `exists`/`not_exists` read.
- Graph (`.../microsoft`, and `.../microsoft/lifecycle` for lifecycle notices):
  `?validationToken=` is the subscription handshake, answered at once with the decoded token as
  text/plain (Graph allows 10 s, and validates both URLs). A notification body is JSON
  `{"value": [...]}` (malformed: 400); each item's subscriptionId must be ours and its clientState
  must match, lifecycle notices included. Change notices trigger reads; lifecycle notices
  (`lifecycleEvent`) go to the `on_lifecycle` handler (the channel keeper: reauthorize, subscribe
  anew, read), which is also where either path's items end up by their content, since Graph allows
  one URL for both. If no item passes the request is refused (404/403).
- Anything else: bad request line or headers (400), chunked bodies (411), a body over the limit
  (413, without reading it), headers over the limit (431), other methods (405), paths (404).

The answer (200 or 202) is written and flushed before the engine is poked or a lifecycle notice is
acted on, so providers get their acknowledgement well inside their deadlines (Graph: 3 s) whatever
the read or the renewal costs.

Why asyncio.start_server with a small HTTP/1.1 parser, not http.server in a thread: the receiver
lives on the engine's event loop, so a notice becomes a plain call to the engine's trigger with no
thread hand-off, and every limit (header size, body size, read timeouts, one request per
connection) is explicit here rather than left to defaults made for other uses.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import json
import logging
import secrets
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol
from urllib.parse import parse_qs, urlsplit

from app.domain.ids import CalendarId
from app.domain.model import Calendar
from app.services.ports import UnitOfWork, UnitOfWorkFactory

log = logging.getLogger(__name__)

MAX_BODY = 1024 * 1024
MAX_HEADER = 16 * 1024
READ_TIMEOUT = 10.0
MAX_CONNECTIONS = 128
MAX_VALIDATION_TOKEN = 4096
GOOGLE_STATES = frozenset({"sync", "exists", "not_exists"})

Trigger = Callable[[CalendarId], None]


class LifecycleEvent(StrEnum):
    """Graph's `lifecycleEvent` values."""

    REAUTHORIZATION_REQUIRED = "reauthorizationRequired"  # renew or reauthorize, or notices stop
    SUBSCRIPTION_REMOVED = "subscriptionRemoved"  # subscribe anew, then read: changes were missed
    MISSED = "missed"  # some change notices were lost: read


# (calendar, subscription id, event): called on the receiver's loop after the 202 went out; it
# must not block (the channel keeper starts a task).
LifecycleHandler = Callable[[CalendarId, str, LifecycleEvent], None]


@dataclass(frozen=True, slots=True)
class ChannelEntry:
    """What a channel or subscription id stands for: the calendar to read and the token it carries."""

    calendar_id: CalendarId
    token: str
    resource_id: str | None = None  # Google's X-Goog-Resource-ID, when known
    pending: bool = False  # a channel still being made: known by its token, its id not stored yet


class ChannelRegistry(Protocol):
    def resolve(self, channel_id: str, token: str) -> ChannelEntry | None:
        """What a notice's channel (Google) or subscription (Graph) id stands for, or None: not ours.

        A stored channel's entry whatever `token` is (the receiver compares them); for an id not
        stored, the calendar whose channel is being made right now with `token`, as a `pending`
        entry. Decided on one state of the registry, so a channel that is stored and stops being
        made meanwhile is found one way or the other, never neither.
        """
        ...


def push_address(public_url: str, provider: str) -> str:
    """The notification URL to register with `provider` ("google" or "microsoft")."""
    if provider not in ("google", "microsoft"):
        raise ValueError(f"unknown provider {provider!r}")
    return f"{public_url.rstrip('/')}/{provider}"


# --- the registry over the calendars table ---------------------------------------------------------


class CalendarChannels:
    """ChannelRegistry over Calendar.channel_id / channel_resource_id, with derived tokens.

    A channel's token (Google's X-Goog-Channel-Token, Graph's clientState) is an HMAC of the
    calendar id under one random key per database, so no token is stored per channel and none can
    be guessed. The key lives in the database's settings table, not in the keyring: it is no
    credential to any provider (its only power is to make us read a calendar one extra time, which
    polling does anyway), and an office database moves between machines when another one takes
    over syncing, where a keyring entry would stay behind and make every channel's notices fail.
    DESIGN's "tokens never in the database" is about sign-in tokens, which stay in the keyring.

    Google sends its `sync` notice as soon as `events.watch` has made the channel, often before
    its answer reaches us and so before the channel is stored (Graph, likewise, may post changes
    before the new subscription's id is stored): so from before the request is sent until the
    channel is stored (`with channels.creating(calendar_id):` around both), a notice carrying that
    calendar's token is taken as that calendar's. `resolve` decides on one state, under the lock
    `creating`'s end takes to re-read the table and only then to stop accepting by token, so a
    notice checked while the creation ends is not lost between "not stored yet" and "no longer
    being made". After storing or clearing a channel otherwise, call `refresh()`; `forget()`
    refuses a stopped channel at once. Unknown ids read the table at most once a second, so a flood
    of forged ids costs little.
    """

    KEY_SETTING = "push.channel_key"
    REFRESH_EVERY = 1.0  # at most one table read per second for unknown ids

    def __init__(self, uow_factory: UnitOfWorkFactory) -> None:
        self._uow = uow_factory
        self._lock = threading.Lock()
        self._key: bytes | None = None
        self._known: dict[str, ChannelEntry] = {}
        self._creating: dict[CalendarId, tuple[str, int]] = {}  # calendar -> (its token, how many)
        self._refreshed = float("-inf")

    def token_for(self, calendar_id: CalendarId) -> str:
        """The token to give the provider when watching `calendar_id` (43 characters)."""
        digest = hmac.new(self._secret(), f"crewboard-push:{calendar_id}".encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")

    @contextlib.contextmanager
    def creating(self, calendar_id: CalendarId) -> Iterator[None]:
        """A channel for `calendar_id` is being made: enter before asking the provider for it, store
        it inside; until the end, notices with the calendar's token are accepted (see the class)."""
        token = self.token_for(calendar_id)
        with self._lock:
            depth = self._creating.get(calendar_id, (token, 0))[1]
            self._creating[calendar_id] = (token, depth + 1)
        try:
            yield
        finally:
            with self._lock:  # one step for `resolve`: the stored channel is known, then not pending
                try:
                    self._refresh()
                finally:
                    depth = self._creating[calendar_id][1]
                    if depth > 1:
                        self._creating[calendar_id] = (token, depth - 1)
                    else:
                        del self._creating[calendar_id]

    def resolve(self, channel_id: str, token: str) -> ChannelEntry | None:
        with self._lock:
            entry = self._stored(channel_id)
            if entry is not None:
                return entry
            for calendar_id, (expected, _depth) in self._creating.items():
                if _same(token, expected):
                    return ChannelEntry(calendar_id, expected, pending=True)
        return None

    def forget(self, channel_id: str) -> None:
        """The channel is stopped (or its creation failed): refuse its notices from now on."""
        with self._lock:
            self._known.pop(channel_id, None)

    def refresh(self) -> None:
        """Read the calendars' channels now (call after storing or clearing one)."""
        with self._lock:
            self._refresh()

    def lookup(self, channel_id: str) -> ChannelEntry | None:
        """The stored channel or subscription `channel_id`, or None."""
        with self._lock:
            return self._stored(channel_id)

    def _stored(self, channel_id: str) -> ChannelEntry | None:
        entry = self._known.get(channel_id)
        if entry is None and time.monotonic() - self._refreshed >= self.REFRESH_EVERY:
            self._refresh()
            entry = self._known.get(channel_id)
        return entry

    def _refresh(self) -> None:
        with self._uow() as uow:
            calendars = uow.calendars.list()
        self._known = {c.channel_id: self._entry(c) for c in calendars if c.channel_id}
        self._refreshed = time.monotonic()

    def _entry(self, calendar: Calendar) -> ChannelEntry:
        return ChannelEntry(calendar.id, self.token_for(calendar.id), calendar.channel_resource_id)

    def _secret(self) -> bytes:
        if self._key is None:
            with self._uow() as uow:
                settings = _settings(uow)
                stored = settings.get(self.KEY_SETTING)
                if stored is None:
                    stored = secrets.token_urlsafe(32)
                    settings.put(self.KEY_SETTING, stored)
                    uow.commit()
            self._key = stored.encode("ascii")
        return self._key


class _Settings(Protocol):
    def get(self, key: str) -> str | None: ...
    def put(self, key: str, value: str) -> None: ...


def _settings(uow: UnitOfWork) -> _Settings:
    """The store's key/value settings (storage's unit of work has them), or TypeError."""
    found = getattr(uow, "settings", None)
    if found is None:
        raise TypeError(f"{type(uow).__name__} has no settings; push channels need storage's unit of work")
    settings: _Settings = found
    return settings


# --- HTTP --------------------------------------------------------------------------------------------


class _Reject(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass(frozen=True, slots=True)
class _Request:
    method: str
    path: str
    query: Mapping[str, list[str]]
    headers: Mapping[str, str]  # lower-case names
    body: bytes


@dataclass(frozen=True, slots=True)
class _Notice:
    """What a verified notice asks for: a read of the calendar, or a lifecycle event's handling."""

    calendar_id: CalendarId
    subscription_id: str = ""
    lifecycle: LifecycleEvent | None = None


@dataclass(frozen=True, slots=True)
class _Answer:
    status: int
    body: bytes = b""
    content_type: str = "text/plain; charset=utf-8"


_REASONS = {
    200: "OK",
    202: "Accepted",
    400: "Bad Request",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    408: "Request Timeout",
    411: "Length Required",
    413: "Content Too Large",
    431: "Request Header Fields Too Large",
    500: "Internal Server Error",
}


class PushReceiver:
    """An HTTP endpoint on the running event loop that turns verified notices into `trigger` calls."""

    def __init__(
        self,
        registry: ChannelRegistry,
        trigger: Trigger,
        max_body: int = MAX_BODY,
        read_timeout: float = READ_TIMEOUT,
        on_lifecycle: LifecycleHandler | None = None,
    ) -> None:
        self._registry = registry
        self._trigger = trigger
        # Without a handler, `missed` and `subscriptionRemoved` still read the calendar at once;
        # only the subscription's care is left to whoever keeps the channels.
        self._on_lifecycle = on_lifecycle
        self._max_body = max_body
        self._read_timeout = read_timeout
        self._server: asyncio.Server | None = None
        self._last_number: dict[str, int] = {}
        self._connections: set[asyncio.Task[None]] = set()
        self.host = ""
        self.port = 0

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._server = await asyncio.start_server(self._serve, host, port, limit=MAX_HEADER)
        bound = self._server.sockets[0].getsockname()
        self.host, self.port = str(bound[0]), int(bound[1])
        log.info("listening for calendar push notices on %s:%d", self.host, self.port)

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    async def aclose(self) -> None:
        if self._server is not None:
            self._server.close()
            for task in list(self._connections):
                task.cancel()
            if self._connections:
                await asyncio.gather(*self._connections, return_exceptions=True)
            await self._server.wait_closed()
            self._server = None

    async def __aenter__(self) -> PushReceiver:
        if self._server is None:
            await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # -- connection ----------------------------------------------------------------------------------

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        peer = writer.get_extra_info("peername")
        notices: list[_Notice] = []
        try:
            if len(self._connections) > MAX_CONNECTIONS:
                return
            unread = False
            try:
                request = await self._read(reader, writer)
                answer, notices = await self._handle(request)
            except _Reject as rejection:
                log.warning(
                    "push notice refused (%d): %s [from %s]", rejection.status, rejection.reason, _host(peer)
                )
                answer, notices = _Answer(rejection.status, rejection.reason.encode() + b"\n"), []
                unread = rejection.status in (411, 413, 431)
            except (ConnectionError, asyncio.IncompleteReadError):
                raise
            except Exception:
                log.exception("push notice could not be handled")
                answer, notices = _Answer(500, b"internal error\n"), []
            await self._write(writer, answer)
            if unread:
                await self._linger(reader)
        except (ConnectionError, asyncio.IncompleteReadError):
            notices = []
        except asyncio.CancelledError:
            # Our own shutdown cancels open connections. The connection ends quietly instead of
            # re-raising: asyncio's server (3.11) asks each connection task for its exception, which
            # for a cancelled task raises again and logs a traceback.
            notices = []
        finally:
            self._connections.discard(task)
            writer.close()
            with contextlib.suppress(ConnectionError, OSError):
                await writer.wait_closed()
        for notice in notices:  # only after the acknowledgement went out
            self._act(notice)

    def _act(self, notice: _Notice) -> None:
        calendar_id, event = notice.calendar_id, notice.lifecycle
        try:
            if event is None:
                self._trigger(calendar_id)
            elif self._on_lifecycle is not None:
                self._on_lifecycle(calendar_id, notice.subscription_id, event)
            elif event is not LifecycleEvent.REAUTHORIZATION_REQUIRED:
                self._trigger(calendar_id)
        except Exception:
            log.exception("acting on a push notice for calendar %s failed", calendar_id)

    async def _read(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> _Request:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), self._read_timeout)
        except asyncio.LimitOverrunError:
            raise _Reject(431, "request headers too large") from None
        except TimeoutError:
            raise _Reject(408, "request headers did not arrive in time") from None
        except asyncio.IncompleteReadError as error:
            if len(error.partial) >= MAX_HEADER:
                raise _Reject(431, "request headers too large") from None
            raise
        try:
            text = head.decode("latin-1")
        except UnicodeDecodeError:  # pragma: no cover - latin-1 decodes every byte
            raise _Reject(400, "unreadable request") from None
        lines = text[:-4].split("\r\n")
        parts = lines[0].split(" ")
        if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
            raise _Reject(400, "malformed request line")
        method, target, _version = parts
        headers: dict[str, str] = {}
        for line in lines[1:]:
            name, sep, value = line.partition(":")
            if not sep or not name or name != name.strip() or line[0] in " \t":
                raise _Reject(400, "malformed header line")
            key = name.lower()
            value = value.strip()
            if key in headers and key in ("content-length", "host", "transfer-encoding"):
                raise _Reject(400, f"repeated {key} header")
            headers[key] = f"{headers[key]}, {value}" if key in headers else value
        if "transfer-encoding" in headers:
            raise _Reject(411, "chunked bodies are not accepted; send Content-Length")
        raw_length = headers.get("content-length", "0")
        if not raw_length.isdigit():
            raise _Reject(400, "malformed Content-Length")
        length = int(raw_length)
        if length > self._max_body:
            raise _Reject(413, f"body of {length} bytes is over the {self._max_body}-byte limit")
        if length and headers.get("expect", "").lower() == "100-continue":
            writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            await writer.drain()
        try:
            body = await asyncio.wait_for(reader.readexactly(length), self._read_timeout) if length else b""
        except TimeoutError:
            raise _Reject(408, "request body did not arrive in time") from None
        split = urlsplit(target)
        return _Request(method.upper(), split.path, parse_qs(split.query), headers, body)

    async def _linger(self, reader: asyncio.StreamReader) -> None:
        """Swallow what the client is still sending (until it pauses), so it reads our answer, not a reset."""
        budget = 4 * self._max_body
        deadline = asyncio.get_running_loop().time() + 1.0
        while budget > 0:
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0:
                return
            try:
                chunk = await asyncio.wait_for(reader.read(65536), min(left, 0.2))
            except (TimeoutError, ConnectionError):
                return
            if not chunk:
                return
            budget -= len(chunk)

    async def _write(self, writer: asyncio.StreamWriter, answer: _Answer) -> None:
        head = (
            f"HTTP/1.1 {answer.status} {_REASONS.get(answer.status, 'Error')}\r\n"
            f"Content-Type: {answer.content_type}\r\n"
            f"Content-Length: {len(answer.body)}\r\n"
            "Connection: close\r\n\r\n"
        )
        writer.write(head.encode("latin-1") + answer.body)
        await writer.drain()

    # -- routing ------------------------------------------------------------------------------------

    async def _handle(self, request: _Request) -> tuple[_Answer, list[_Notice]]:
        if request.method != "POST":
            raise _Reject(405, f"{request.method} is not accepted")
        segments = request.path.rstrip("/").split("/")
        if segments[-1] == "google":
            return await self._google(request)
        if segments[-1] == "microsoft" or segments[-2:] == ["microsoft", "lifecycle"]:
            return await self._graph(request)
        raise _Reject(404, "no such endpoint")

    async def _resolve(self, channel_id: str, token: str) -> ChannelEntry | None:
        # One call, so "not stored yet" and "no longer being made" are never seen apart (a notice
        # checked while its channel is being stored would otherwise be refused as unknown).
        return await asyncio.to_thread(self._registry.resolve, channel_id, token)

    async def _google(self, request: _Request) -> tuple[_Answer, list[_Notice]]:
        headers = request.headers
        channel_id = headers.get("x-goog-channel-id", "")
        if not channel_id:
            raise _Reject(400, "no X-Goog-Channel-ID")
        state = headers.get("x-goog-resource-state", "")
        if state not in GOOGLE_STATES:
            raise _Reject(400, f"unknown resource state on channel {channel_id}")
        number_text = headers.get("x-goog-message-number", "")
        if not number_text.isdigit():
            raise _Reject(400, f"malformed message number on channel {channel_id}")
        token = headers.get("x-goog-channel-token", "")
        # A channel still being made (its watch not answered yet, or its row not yet stored) already
        # gets notices: its handshake, and changes made meanwhile (our own writes to that calendar
        # above all). Its token, which only we can compute, says which calendar it is for.
        entry = await self._resolve(channel_id, token)
        if entry is None:
            raise _Reject(404, f"unknown channel {channel_id}")
        if not _same(token, entry.token):
            raise _Reject(403, f"wrong channel token on channel {channel_id}")
        resource = headers.get("x-goog-resource-id")
        if entry.resource_id is not None and resource != entry.resource_id:
            raise _Reject(403, f"wrong resource id on channel {channel_id}")
        calendar_id = entry.calendar_id
        number = int(number_text)
        if number <= self._last_number.get(channel_id, 0):
            log.info("push notice %d on channel %s replayed; ignored", number, channel_id)
            return _Answer(200), []
        self._last_number[channel_id] = number
        if state == "sync":
            return _Answer(200), []
        return _Answer(200), [_Notice(calendar_id)]

    async def _graph(self, request: _Request) -> tuple[_Answer, list[_Notice]]:
        if "validationToken" in request.query:
            token = request.query["validationToken"][0]
            if len(token) > MAX_VALIDATION_TOKEN:
                raise _Reject(400, "validation token too long")
            return _Answer(200, token.encode("utf-8")), []
        try:
            payload: Any = json.loads(request.body)
        except (UnicodeDecodeError, ValueError):
            raise _Reject(400, "notification body is not JSON") from None
        items = payload.get("value") if isinstance(payload, dict) else None
        if not isinstance(items, list) or not items:
            raise _Reject(400, "notification body has no value list")
        notices: list[_Notice] = []
        refusals: list[_Reject] = []
        for item in items:
            try:
                notices.append(await self._graph_item(item))
            except _Reject as rejection:
                refusals.append(rejection)
        if not notices:
            first = refusals[0]
            raise _Reject(first.status, "; ".join(r.reason for r in refusals))
        for refusal in refusals:
            log.warning("push notice item refused: %s", refusal.reason)
        reads = list(dict.fromkeys(n.calendar_id for n in notices if n.lifecycle is None))
        lifecycle = list(dict.fromkeys(n for n in notices if n.lifecycle is not None))
        return _Answer(202), [*lifecycle, *(_Notice(c) for c in reads)]

    async def _graph_item(self, item: Any) -> _Notice:
        if not isinstance(item, dict):
            raise _Reject(400, "notification item is not an object")
        subscription = item.get("subscriptionId")
        if not isinstance(subscription, str) or not subscription:
            raise _Reject(400, "notification item has no subscriptionId")
        client_state = item.get("clientState")
        state = client_state if isinstance(client_state, str) else ""
        raw = item.get("lifecycleEvent")
        # As for Google: a subscription still being stored is known by its clientState; its change
        # notices read the calendar (lifecycle news waits for the stored subscription).
        entry = await self._resolve(subscription, state)
        if entry is None or (entry.pending and raw is not None):
            raise _Reject(404, f"unknown subscription {subscription}")
        if not isinstance(client_state, str) or not _same(client_state, entry.token):
            raise _Reject(403, f"wrong clientState on subscription {subscription}")
        if raw is None or entry.pending:
            return _Notice(entry.calendar_id)
        try:
            event = LifecycleEvent(raw)
        except ValueError:
            # One Graph may add later: reading the calendar is always safe, and a refusal would
            # only make Graph retry it.
            log.warning("subscription %s: unknown lifecycle event %s; reading", subscription, str(raw)[:40])
            return _Notice(entry.calendar_id)
        log.info("subscription %s of calendar %s: lifecycle event %s", subscription, entry.calendar_id, event)
        return _Notice(entry.calendar_id, subscription, event)


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


def _host(peer: Any) -> str:
    return str(peer[0]) if isinstance(peer, tuple) and peer else "unknown"
