"""The webhook receiver behind `crewboard sync --listen HOST:PORT --public-url URL`.

Google watch channels and Graph subscriptions POST here (through whatever public HTTPS relay or
tunnel forwards `--public-url` to `--listen`). A notice only ever says "this calendar changed", so
all the receiver does is check that the notice is ours and ask the engine for an immediate read of
that calendar; polling stays on as the safety net, because providers may drop notices.

Checks, in order, and what a failure answers (always with no effect and one log line that carries
no token):
- Google (`.../google`): X-Goog-Channel-ID must be one of our channels, or the token must be that of
  a channel being made right now (404), X-Goog-Channel-Token must match (constant-time compare,
  403), X-Goog-Resource-ID must match when we know it (403); a message number already seen on
  the channel lately is a replay, acknowledged and ignored. `sync` is the handshake right
  after the channel is made (no read); `exists`/`not_exists` read.
- Graph (`.../microsoft`, and `.../microsoft/lifecycle` for lifecycle notices):
  `?validationToken=` is the subscription handshake, answered at once with the decoded token as
  text/plain (Graph allows 10 s, and validates both URLs). A notification body is JSON
  `{"value": [...]}` (malformed: 400); each item's subscriptionId must be ours and its clientState
  must match, lifecycle notices included. Change notices trigger reads; lifecycle notices
  (`lifecycleEvent`) go to the `on_lifecycle` handler (the channel keeper: reauthorize, subscribe
  anew, read), which is also where either path's items end up by their content, since Graph allows
  one URL for both. If no item passes the request is refused (404/403).
- Anything else: bad request line or headers (400: control characters such as a bare LF, a
  Content-Length or message number that is not plain ASCII digits or is out of range), chunked
  bodies (411), a body over the limit (413, without reading it), headers over the limit (431),
  other methods (405), paths (404).

Hostile traffic costs little and says little (see "Limits" below): each request's work is bounded
(at most MAX_ITEMS items, ids and tokens of bounded length, one registry look-up per request
whatever its size), every answer and log line is short and shows what it quotes escaped, and
refusals are counted: the first of each kind in a minute is logged, the rest summed up in one
line at the end of that minute.

The answer (200 or 202) is written and flushed before the engine is poked or a lifecycle notice is
acted on, so providers get their acknowledgement well inside their deadlines (Graph: 3 s) whatever
the read or the renewal costs.

Why asyncio.start_server with a small HTTP/1.1 parser, not http.server in a thread: the receiver
lives on the engine's event loop, so a notice becomes a plain call to the engine's trigger with no
thread hand-off, and every limit (header size, body size, read timeouts, one request per
connection) is explicit here rather than left to defaults made for other uses.

Limits, and why these numbers:
- MAX_ITEMS (1,000) items per Graph POST. Graph batches the notices that are due together into
  one POST; a mailbox can hold at most 1,000 subscriptions (Graph's documented quota for Outlook
  events), so even one notice for each of them fits, and Crewboard holds one per calendar. More
  is no notice Graph sends: 400, unread past the count.
- MAX_GOOGLE_CHANNEL_ID (64) characters for a Google channel id and MAX_TOKEN (256) for its token,
  as Google documents them; MAX_ID (256) for a Graph subscription id (a GUID) and MAX_TOKEN for
  clientState (Graph: 128). Ours are 32 and 43 characters.
- MAX_MESSAGE_NUMBER (2**63 - 1): Google's message numbers are 64-bit counters; anything longer
  is refused (400). Replays are recognised by the numbers recently seen on the channel, not by
  "not above the highest", so one forged huge number cannot make every later genuine one look old.
- MAX_PER_SOURCE (16) connections at once from one address (an IPv6 /64 counts as one) once half
  of MAX_CONNECTIONS (128) are open: one sender can hold at most half, and the others always find
  a door. Below half, any address may open more, so a relay's burst (every connection through a
  relay comes from the relay) is not cut short. HEADER_TIMEOUT
  (5 s) closes a connection whose request line and headers have not all arrived (providers send
  theirs at once). Behind a relay every connection comes from the relay's address: let the relay
  limit connections per client (nginx `limit_conn`, for one). A relay on this computer (a
  loopback peer) is trusted to name its client in X-Forwarded-For, for the log only.
- LARGE_BODY (64 KB): bodies above it (no genuine notice is near it) are read LARGE_AT_ONCE (4) at
  a time, so a flood of 1 MB bodies holds a few megabytes, while small ones never wait for them.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import ipaddress
import json
import logging
import re
import secrets
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol
from urllib.parse import parse_qs, urlsplit

from app.domain.ids import CalendarId
from app.domain.model import Calendar
from app.services.ports import UnitOfWorkFactory
from sync.store_settings import store_settings

log = logging.getLogger(__name__)

MAX_BODY = 1024 * 1024
MAX_HEADER = 16 * 1024
READ_TIMEOUT = 10.0  # for a body, once the headers are in
HEADER_TIMEOUT = 5.0  # for the request line and headers, from the connection's start
MAX_CONNECTIONS = 128
MAX_PER_SOURCE = 16
LARGE_BODY = 64 * 1024
LARGE_AT_ONCE = 4
MAX_VALIDATION_TOKEN = 4096
MAX_ITEMS = 1000
MAX_OBJECTS = 4 * MAX_ITEMS + 1  # JSON objects in a body: an item, its resourceData, and room to spare
MAX_ID = 256
MAX_GOOGLE_CHANNEL_ID = 64  # Google's documented limit for a channel id
MAX_TOKEN = 256
MAX_MESSAGE_NUMBER = 2**63 - 1
RECENT_NUMBERS = 256  # message numbers remembered per channel, to recognise replays
SUMMARY_EVERY = 60.0  # seconds: one summary line of the refusals not logged one by one
SHOWN = 80  # characters of a quoted id shown in an answer or a log line
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

    def resolve_many(self, pairs: Sequence[tuple[str, str]]) -> list[ChannelEntry | None]:
        """`resolve` for each (id, token) pair, in one step (one lock, at most one table read)."""
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
        return self.resolve_many([(channel_id, token)])[0]

    def resolve_many(self, pairs: Sequence[tuple[str, str]]) -> list[ChannelEntry | None]:
        with self._lock:
            return [self._resolve(channel_id, token) for channel_id, token in pairs]

    def _resolve(self, channel_id: str, token: str) -> ChannelEntry | None:
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
                settings = store_settings(uow, "push channels")
                stored = settings.get(self.KEY_SETTING)
                if stored is None:
                    stored = secrets.token_urlsafe(32)
                    settings.put(self.KEY_SETTING, stored)
                    uow.commit()
            self._key = stored.encode("ascii")
        return self._key


# --- HTTP --------------------------------------------------------------------------------------------


class _Reject(Exception):
    """A refusal: `kind` is one of a few fixed phrases (what is counted), `detail` what it is about."""

    def __init__(self, status: int, kind: str, detail: str = "") -> None:
        super().__init__(kind)
        self.status = status
        self.kind = kind
        self.detail = detail

    @property
    def reason(self) -> str:
        return f"{self.kind} {self.detail}" if self.detail else self.kind


@dataclass(slots=True)
class _Request:
    method: str
    path: str
    query: Mapping[str, list[str]]
    headers: Mapping[str, str]  # lower-case names
    body: bytes  # handed over (and emptied) by `take_body`, so no 1 MB waits on a look-up

    def take_body(self) -> bytes:
        body, self.body = self.body, b""
        return body


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
    503: "Service Unavailable",
}


def shown(text: str, limit: int = SHOWN) -> str:
    """`text` as it may appear in an answer or a log line: printable ASCII, at most `limit`
    characters of it, everything else escaped (so no line break, terminal escape or lone surrogate
    gets through, and a 1 MB id costs a line of 100 characters)."""
    head = text[:limit]
    out = [ch if " " <= ch <= "~" and ch != "\\" else "\\\\" if ch == "\\" else _escape(ch) for ch in head]
    if len(text) > limit:
        out.append(f"... ({len(text)} characters)")
    return "".join(out)


def _escape(ch: str) -> str:
    code = ord(ch)
    if code < 0x100:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


class RefusalLog:
    """Refusals counted by kind: the first of each kind in a period is logged with its detail, the
    others are summed up in one line when the period ends. A flood of forged notices thus writes a
    few lines a minute, not one per request, and cannot push the log's history out."""

    MAX_SOURCES = 1000  # addresses told apart in a period; the rest count as "others"

    def __init__(self, every: float = SUMMARY_EVERY) -> None:
        self._every = every
        self._seen: set[tuple[int, str]] = set()
        self._counts: Counter[tuple[int, str]] = Counter()
        self._sources: Counter[str] = Counter()
        self._level = logging.INFO  # the summary's: WARNING if any refusal is in it, INFO for replays only
        self._timer: asyncio.TimerHandle | None = None
        self.total: Counter[tuple[int, str]] = Counter()  # since the start: (status, kind) -> count

    def note(self, status: int, kind: str, detail: str, source: str, level: int = logging.WARNING) -> None:
        """Count a refusal (or, at INFO, a notice ignored); log it if it is its period's first."""
        key = (status, kind)
        self.total[key] += 1
        if key not in self._seen:
            self._seen.add(key)
            what = f"{kind} {shown(detail)}" if detail else kind
            verb = "refused" if level >= logging.WARNING else "ignored"
            log.log(level, "push notice %s (%d): %s [from %s]", verb, status, what, shown(source, 64))
            self._arm()
            return
        self._counts[key] += 1
        self._level = max(self._level, level)
        if source in self._sources or len(self._sources) < self.MAX_SOURCES:
            self._sources[source] += 1
        else:
            self._sources["others"] += 1
        self._arm()

    def _arm(self) -> None:
        if self._timer is None:
            with contextlib.suppress(RuntimeError):  # no running loop: summed up at flush()
                self._timer = asyncio.get_running_loop().call_later(self._every, self.flush)

    def flush(self) -> None:
        """Log the period's summary (if anything was not logged) and start a new period."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        counts, sources, level = self._counts, self._sources, self._level
        self._seen, self._counts, self._sources, self._level = set(), Counter(), Counter(), logging.INFO
        if not counts:
            return
        kinds = "; ".join(f"{status} {kind}: {n}" for (status, kind), n in counts.most_common(8))
        top = ", ".join(f"{shown(source, 64)} ({n})" for source, n in sources.most_common(3))
        log.log(
            level,
            "push notices refused or ignored and not logged one by one in the last %.0f s: %d (%s); from %d "
            "address(es), most from %s",
            self._every,
            sum(counts.values()),
            kinds,
            len(sources),
            top,
        )


class PushReceiver:
    """An HTTP endpoint on the running event loop that turns verified notices into `trigger` calls."""

    def __init__(
        self,
        registry: ChannelRegistry,
        trigger: Trigger,
        max_body: int = MAX_BODY,
        read_timeout: float = READ_TIMEOUT,
        on_lifecycle: LifecycleHandler | None = None,
        header_timeout: float = HEADER_TIMEOUT,
        max_per_source: int = MAX_PER_SOURCE,
        summary_every: float = SUMMARY_EVERY,
    ) -> None:
        self._registry = registry
        self._trigger = trigger
        # Without a handler, `missed` and `subscriptionRemoved` still read the calendar at once;
        # only the subscription's care is left to whoever keeps the channels.
        self._on_lifecycle = on_lifecycle
        self._max_body = max_body
        self._read_timeout = read_timeout
        self._header_timeout = min(header_timeout, read_timeout)
        self._max_per_source = max_per_source
        self._server: asyncio.Server | None = None
        self._recent: dict[str, tuple[set[int], deque[int]]] = {}  # channel -> numbers seen lately
        self._connections: set[asyncio.Task[None]] = set()
        self._per_source: Counter[str] = Counter()
        self._large = asyncio.Semaphore(LARGE_AT_ONCE)
        self.refusals = RefusalLog(summary_every)
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
            self.refusals.flush()

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
        source = _source(writer.get_extra_info("peername"))
        crowded = len(self._connections) >= MAX_CONNECTIONS // 2
        if len(self._connections) >= MAX_CONNECTIONS or (
            crowded and self._per_source[source] >= self._max_per_source
        ):
            # Refused before reading anything: one address cannot hold every door. While fewer
            # than half are open any address may open more (a relay's burst: every connection
            # through a relay comes from the relay); past that, only those holding few.
            self.refusals.note(503, "too many connections at once", "", source)
            writer.close()
            with contextlib.suppress(ConnectionError, OSError):
                await writer.wait_closed()
            return
        self._connections.add(task)
        self._per_source[source] += 1
        notices: list[_Notice] = []
        sender = source  # who is named in the log: behind a relay on this computer, its client
        try:
            unread = False
            try:
                request = await self._read(reader, writer)
                sender = _sender(source, request.headers)
                answer, notices = await self._handle(request, sender)
            except _Reject as rejection:
                self.refusals.note(rejection.status, rejection.kind, rejection.detail, sender)
                text = shown(rejection.reason, 4 * SHOWN)
                answer, notices = _Answer(rejection.status, text.encode("ascii") + b"\n"), []
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
            self._per_source[source] -= 1
            if self._per_source[source] <= 0:
                del self._per_source[source]
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
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), self._header_timeout)
        except asyncio.LimitOverrunError:
            raise _Reject(431, "request headers too large") from None
        except TimeoutError:
            raise _Reject(408, "request headers did not arrive in time") from None
        except asyncio.IncompleteReadError as error:
            if len(error.partial) >= MAX_HEADER:
                raise _Reject(431, "request headers too large") from None
            raise
        text = head.decode("latin-1")  # every byte decodes; what is not ASCII is escaped when shown
        lines = text[:-4].split("\r\n")
        if any(_has_control(line) for line in lines):
            # A bare LF or CR would split a header in two for one reader and not for another (and
            # end up as a forged line in the log); NUL and other controls have no place here either.
            raise _Reject(400, "control character in the request head")
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
            value = value.strip(" \t")
            if key in headers and key in ("content-length", "host", "transfer-encoding"):
                raise _Reject(400, "repeated header", key)
            headers[key] = f"{headers[key]}, {value}" if key in headers else value
        if "transfer-encoding" in headers:
            raise _Reject(411, "chunked bodies are not accepted; send Content-Length")
        raw_length = headers.get("content-length", "0")
        if not _ascii_digits(raw_length):
            raise _Reject(400, "malformed Content-Length")
        if len(raw_length.lstrip("0")) > len(str(self._max_body)):
            raise _Reject(413, "body over the limit", f"of {self._max_body} bytes")
        length = int(raw_length)
        if length > self._max_body:
            raise _Reject(413, "body over the limit", f"of {self._max_body} bytes ({length} bytes)")
        if length and headers.get("expect", "").lower() == "100-continue":
            writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            await writer.drain()
        body = await self._body(reader, length)
        split = urlsplit(target)
        return _Request(method.upper(), split.path, parse_qs(split.query), headers, body)

    async def _body(self, reader: asyncio.StreamReader, length: int) -> bytes:
        if not length:
            return b""
        try:
            async with asyncio.timeout(self._read_timeout):
                if length <= LARGE_BODY:
                    return await reader.readexactly(length)
                # Large bodies take turns (no genuine notice is this large): a flood of them holds a
                # few megabytes at a time, and small ones never wait behind them.
                async with self._large:
                    return await reader.readexactly(length)
        except TimeoutError:
            raise _Reject(408, "request body did not arrive in time") from None

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

    async def _handle(self, request: _Request, source: str = "") -> tuple[_Answer, list[_Notice]]:
        if request.method != "POST":
            raise _Reject(405, "method not accepted", request.method)
        segments = request.path.rstrip("/").split("/")
        if segments[-1] == "google":
            return await self._google(request, source)
        if segments[-1] == "microsoft" or segments[-2:] == ["microsoft", "lifecycle"]:
            return await self._graph(request, source)
        raise _Reject(404, "no such endpoint")

    async def _resolve(self, pairs: Sequence[tuple[str, str]]) -> list[ChannelEntry | None]:
        # One call, so "not stored yet" and "no longer being made" are never seen apart (a notice
        # checked while its channel is being stored would otherwise be refused as unknown), and one
        # thread hop for a whole batch however many items it has.
        return await asyncio.to_thread(self._registry.resolve_many, pairs)

    async def _google(self, request: _Request, source: str) -> tuple[_Answer, list[_Notice]]:
        headers = request.headers
        channel_id = headers.get("x-goog-channel-id", "")
        if not channel_id:
            raise _Reject(400, "no X-Goog-Channel-ID")
        if len(channel_id) > MAX_GOOGLE_CHANNEL_ID:
            raise _Reject(400, "X-Goog-Channel-ID too long", f"({len(channel_id)} characters)")
        state = headers.get("x-goog-resource-state", "")
        if state not in GOOGLE_STATES:
            raise _Reject(400, "unknown resource state on channel", channel_id)
        number_text = headers.get("x-goog-message-number", "")
        if not _ascii_digits(number_text) or len(number_text) > 19 or int(number_text) > MAX_MESSAGE_NUMBER:
            raise _Reject(400, "malformed message number on channel", channel_id)
        token = headers.get("x-goog-channel-token", "")
        if len(token) > MAX_TOKEN:
            raise _Reject(403, "wrong channel token on channel", channel_id)
        # A channel still being made (its watch not answered yet, or its row not yet stored) already
        # gets notices: its handshake, and changes made meanwhile (our own writes to that calendar
        # above all). Its token, which only we can compute, says which calendar it is for.
        entry = (await self._resolve([(channel_id, token)]))[0]
        if entry is None:
            raise _Reject(404, "unknown channel", channel_id)
        if not _same(token, entry.token):
            raise _Reject(403, "wrong channel token on channel", channel_id)
        resource = headers.get("x-goog-resource-id")
        if entry.resource_id is not None and resource != entry.resource_id:
            raise _Reject(403, "wrong resource id on channel", channel_id)
        if self._replayed(channel_id, int(number_text)):
            self.refusals.note(200, "replayed message number on channel", channel_id, source, logging.INFO)
            return _Answer(200), []
        if state == "sync":
            return _Answer(200), []
        return _Answer(200), [_Notice(entry.calendar_id)]

    def _replayed(self, channel_id: str, number: int) -> bool:
        """Whether `number` was seen on the channel lately; if not, remember it.

        Not "not above the highest seen": a verified notice with a forged huge number would then
        make every later genuine one look old until a restart. A number never seen (an older one
        arriving late included) reads the calendar, which is always safe; only exact repeats are
        ignored, among the last RECENT_NUMBERS numbers of each verified channel.
        """
        seen, order = self._recent.setdefault(channel_id, (set(), deque()))
        if number in seen:
            return True
        seen.add(number)
        order.append(number)
        if len(order) > RECENT_NUMBERS:
            seen.discard(order.popleft())
        return False

    async def _graph(self, request: _Request, source: str) -> tuple[_Answer, list[_Notice]]:
        if "validationToken" in request.query:
            token = request.query["validationToken"][0]
            if len(token) > MAX_VALIDATION_TOKEN:
                raise _Reject(400, "validation token too long")
            return _Answer(200, token.encode("utf-8", "replace")), []
        try:
            payload: Any = _loads(request.take_body(), MAX_OBJECTS)
        except _TooManyObjects:
            raise _Reject(
                400, "too many items in one notification", f"(over {MAX_OBJECTS} objects)"
            ) from None
        except (UnicodeDecodeError, ValueError, RecursionError):
            raise _Reject(400, "notification body is not JSON") from None
        items = payload.get("value") if isinstance(payload, dict) else None
        del payload
        if not isinstance(items, list) or not items:
            raise _Reject(400, "notification body has no value list")
        if len(items) > MAX_ITEMS:
            raise _Reject(400, "too many items in one notification", f"({len(items)}; at most {MAX_ITEMS})")
        checked: list[tuple[str, str, Any] | _Reject] = [_graph_item(item) for item in items]
        del items
        pairs = list(dict.fromkeys((c[0], c[1]) for c in checked if isinstance(c, tuple)))
        entries = dict(zip(pairs, await self._resolve(pairs), strict=True)) if pairs else {}
        notices: list[_Notice] = []
        refusals: list[_Reject] = []
        for found in checked:
            try:
                if isinstance(found, _Reject):
                    raise found
                subscription, state, raw = found
                notices.append(self._graph_notice(subscription, state, raw, entries[(subscription, state)]))
            except _Reject as rejection:
                refusals.append(rejection)
        if refusals and not notices:
            raise _summary(refusals)
        for refusal in refusals:
            self.refusals.note(
                refusal.status, "notification item refused: " + refusal.kind, refusal.detail, source
            )
        reads = list(dict.fromkeys(n.calendar_id for n in notices if n.lifecycle is None))
        lifecycle = list(dict.fromkeys(n for n in notices if n.lifecycle is not None))
        return _Answer(202), [*lifecycle, *(_Notice(c) for c in reads)]

    def _graph_notice(self, subscription: str, state: str, raw: Any, entry: ChannelEntry | None) -> _Notice:
        # As for Google: a subscription still being stored is known by its clientState; its change
        # notices read the calendar (lifecycle news waits for the stored subscription).
        if entry is None or (entry.pending and raw is not None):
            raise _Reject(404, "unknown subscription", subscription)
        if not _same(state, entry.token):
            raise _Reject(403, "wrong clientState on subscription", subscription)
        if raw is None or entry.pending:
            return _Notice(entry.calendar_id)
        try:
            event = LifecycleEvent(raw)
        except ValueError:
            # One Graph may add later: reading the calendar is always safe, and a refusal would
            # only make Graph retry it.
            log.warning(
                "subscription %s: unknown lifecycle event %s; reading",
                shown(subscription),
                shown(str(raw), 40),
            )
            return _Notice(entry.calendar_id)
        log.info(
            "subscription %s of calendar %s: lifecycle event %s",
            shown(subscription),
            entry.calendar_id,
            event,
        )
        return _Notice(entry.calendar_id, subscription, event)


class _TooManyObjects(Exception):
    pass


def _loads(body: bytes, max_objects: int) -> Any:
    """JSON, given up on at the object after `max_objects`: a body of 24,000 tiny items stops
    costing time and memory a sixth of the way in, and no spelling of the keys avoids the count.
    Every object opens with a `{` byte in any of JSON's encodings, so a body with no more of those
    than `max_objects` is parsed without the count, at the decoder's full speed."""
    if body.count(b"{") <= max_objects:
        return json.loads(body)
    made = 0

    def counted(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        nonlocal made
        made += 1
        if made > max_objects:
            raise _TooManyObjects
        return dict(pairs)

    return json.loads(body, object_pairs_hook=counted)


def _graph_item(item: Any) -> tuple[str, str, Any] | _Reject:
    """An item's (subscriptionId, clientState, lifecycleEvent), checked for shape and size only."""
    if not isinstance(item, dict):
        return _Reject(400, "notification item is not an object")
    subscription = item.get("subscriptionId")
    if not isinstance(subscription, str) or not subscription:
        return _Reject(400, "notification item has no subscriptionId")
    if len(subscription) > MAX_ID:
        return _Reject(400, "subscriptionId too long", f"({len(subscription)} characters)")
    client_state = item.get("clientState")
    if not _text(subscription) or (isinstance(client_state, str) and not _text(client_state)):
        return _Reject(400, "notification item is not valid Unicode", "(a lone surrogate)")
    if not isinstance(client_state, str) or len(client_state) > MAX_TOKEN:
        # Looked up all the same, with an empty state: an unknown subscription says 404 first.
        client_state = "\0"
    raw = item.get("lifecycleEvent")
    if raw is not None and (not isinstance(raw, str) or len(raw) > 64):
        raw = "unknown"
    return subscription, client_state, raw


def _text(value: str) -> bool:
    """Whether `value` is text (JSON's \\ud800 escapes make strings no UTF-8 can carry)."""
    if value.isascii():
        return True
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _summary(refusals: list[_Reject]) -> _Reject:
    """One refusal for a batch whose every item was refused: the most common status, the count per
    kind, and the first item's detail (so the answer stays short whatever the batch's size)."""
    if len(refusals) == 1:
        return refusals[0]
    status = Counter(r.status for r in refusals).most_common(1)[0][0]
    kinds = Counter(r.kind for r in refusals)
    first = next(r for r in refusals if r.status == status)
    counted = ", ".join(f"{kind} x{n}" for kind, n in kinds.most_common(4))
    detail = f"({len(refusals)}: {counted}); the first: {first.reason}"
    return _Reject(status, "every notification item refused", detail)


_CONTROL = re.compile("[\x00-\x08\x0a-\x1f\x7f]")  # every control character but TAB


def _has_control(line: str) -> bool:
    return _CONTROL.search(line) is not None


def _ascii_digits(text: str) -> bool:
    """Plain 0-9 only: str.isdigit also says yes to "²" and "١", which int() may refuse."""
    return bool(text) and text.isascii() and text.isdigit()


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(
        given.encode("utf-8", "surrogatepass"), expected.encode("utf-8", "surrogatepass")
    )


def _sender(source: str, headers: Mapping[str, str]) -> str:
    """The address to name in the log: a relay on this computer (a loopback peer) passes on its
    client's as the last X-Forwarded-For entry; from anywhere else the header could be anyone's."""
    forwarded = headers.get("x-forwarded-for", "")
    if not forwarded or not _is_loopback(source):
        return source
    return f"{forwarded.rsplit(',', 1)[-1].strip()[:64]} via {source}"


def _is_loopback(source: str) -> bool:
    try:
        return ipaddress.ip_network(source, strict=False).is_loopback
    except ValueError:
        return False


def _source(peer: Any) -> str:
    """Who is asking, for the per-source limit: the address, or an IPv6 address's /64."""
    host = str(peer[0]) if isinstance(peer, tuple) and peer else "unknown"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        if address.is_loopback:
            return str(address)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)
