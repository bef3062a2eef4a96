"""The push receiver's HTTP side: Starlette routes that turn verified notices into engine reads.

Google watch channels and Graph subscriptions POST here (through whatever public HTTPS relay or
tunnel forwards `--public-url` to the service). A notice only ever says "this calendar changed", so
all the routes do is check that the notice is ours and ask the engine for an immediate read of
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
- Anything else: a Content-Length or message number that is not plain ASCII digits or is out of
  range (400), a repeated Host or Transfer-Encoding (400), chunked bodies (411), a body over the
  limit (413, without reading it), a body that does not arrive in time (408), other methods (405),
  paths (404). The request head itself (its size, its time, control characters, connections per
  address) is the server's to check: see app.web.server and app.web.connections.

The answer (200 or 202) is sent before the engine is poked or a lifecycle notice is acted on, so
providers get their acknowledgement well inside their deadlines (Graph: 3 s) whatever the read or
the renewal costs. Every push answer closes its connection: providers open one per notice.

- LARGE_BODY (64 KB): bodies above it (no genuine notice is near it) are read LARGE_AT_ONCE (4) at
  a time, so a flood of 1 MB bodies holds a few megabytes, while small ones never wait for them.
- Replays are recognised by the numbers recently seen on the channel (RECENT_NUMBERS), not by
  "not above the highest", so one forged huge number cannot make every later genuine one look old.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from starlette.types import Receive, Scope, Send

from app.domain.ids import CalendarId
from app.peers import source_of
from sync.push_channels import (
    ChannelEntry,
    ChannelRegistry,
    LifecycleEvent,
    LifecycleHandler,
    Trigger,
    same_token,
)
from sync.push_checks import (
    MAX_GOOGLE_CHANNEL_ID,
    MAX_ITEMS,
    MAX_MESSAGE_NUMBER,
    MAX_OBJECTS,
    MAX_TOKEN,
    MAX_VALIDATION_TOKEN,
    SHOWN,
    SUMMARY_EVERY,
    RefusalLog,
    Rejection,
    TooManyObjects,
    ascii_digits,
    graph_item,
    has_control,
    loads_bounded,
    sender_named,
    shown,
    summary_of,
)

log = logging.getLogger("sync.push_receiver")

MAX_BODY = 1024 * 1024
READ_TIMEOUT = 10.0  # for a body, once the headers are in
LARGE_BODY = 64 * 1024
LARGE_AT_ONCE = 4
RECENT_NUMBERS = 256  # message numbers remembered per channel, to recognise replays
GOOGLE_STATES = frozenset({"sync", "exists", "not_exists"})
UNREAD = (411, 413)  # refusals whose body is left unread (the server swallows it after the answer)


@dataclass(slots=True)
class _Request:
    method: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-case names; repeated ones joined with ", "
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


class PushRoutes:
    """The push endpoints as one ASGI app, mounted last (it answers 404 for any other path)."""

    def __init__(
        self,
        registry: ChannelRegistry,
        trigger: Trigger,
        *,
        max_body: int = MAX_BODY,
        read_timeout: float = READ_TIMEOUT,
        on_lifecycle: LifecycleHandler | None = None,
        summary_every: float = SUMMARY_EVERY,
    ) -> None:
        self._registry = registry
        self._trigger = trigger
        # Without a handler, `missed` and `subscriptionRemoved` still read the calendar at once;
        # only the subscription's care is left to whoever keeps the channels.
        self.on_lifecycle = on_lifecycle
        self._max_body = max_body
        self._read_timeout = read_timeout
        self._recent: dict[str, tuple[set[int], deque[int]]] = {}  # channel -> numbers seen lately
        self._large: asyncio.Semaphore | None = None  # made on the serving loop
        self.refusals = RefusalLog(summary_every)

    def routes(self) -> list[BaseRoute]:
        """Every path: the provider is told by the path's end, whatever the relay put before it."""
        return [Route("/{path:path}", endpoint=self)]

    def refused(self, status: int, kind: str, source: str) -> None:
        """The server refused a connection or a request head (the server's `on_refused`)."""
        self.refusals.note(status, kind, "", source)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        source = source_of(scope.get("client"))
        sender = sender_named(source, request.headers)
        notices: list[_Notice] = []
        try:
            parsed = await self._read(request)
            answer, notices = await self._handle(parsed, request.url.path, sender)
        except Rejection as rejection:
            self.refusals.note(rejection.status, rejection.kind, rejection.detail, sender)
            text = shown(rejection.reason, 4 * SHOWN)
            answer = _Answer(rejection.status, text.encode("ascii") + b"\n")
        except ClientDisconnect:
            return  # gone before its body arrived (or the service is stopping): nobody to answer
        except Exception:
            log.exception("push notice could not be handled")
            answer = _Answer(500, b"internal error\n")
        headers = {} if answer.status in UNREAD else {"Connection": "close"}
        response = Response(answer.body, answer.status, headers, media_type=answer.content_type)
        await response(scope, receive, send)
        for notice in notices:  # only after the acknowledgement went out
            self._act(notice)

    def _act(self, notice: _Notice) -> None:
        calendar_id, event = notice.calendar_id, notice.lifecycle
        try:
            if event is None:
                self._trigger(calendar_id)
            elif self.on_lifecycle is not None:
                self.on_lifecycle(calendar_id, notice.subscription_id, event)
            elif event is not LifecycleEvent.REAUTHORIZATION_REQUIRED:
                self._trigger(calendar_id)
        except Exception:
            log.exception("acting on a push notice for calendar %s failed", calendar_id)

    async def _read(self, request: Request) -> _Request:
        method = request.method.upper()
        if method != "POST":
            raise Rejection(405, "method not accepted", method)
        headers: dict[str, str] = {}
        for key, value in request.headers.items():  # names lower-case, values latin-1 as sent
            if has_control(value):
                raise Rejection(400, "control character in the request head")
            if key in headers and key in ("content-length", "host", "transfer-encoding"):
                raise Rejection(400, "repeated header", key)
            headers[key] = f"{headers[key]}, {value}" if key in headers else value
        if "transfer-encoding" in headers:
            raise Rejection(411, "chunked bodies are not accepted; send Content-Length")
        raw_length = headers.get("content-length", "0")
        if not ascii_digits(raw_length):
            raise Rejection(400, "malformed Content-Length")
        if len(raw_length.lstrip("0")) > len(str(self._max_body)):
            raise Rejection(413, "body over the limit", f"of {self._max_body} bytes")
        length = int(raw_length)
        if length > self._max_body:
            raise Rejection(413, "body over the limit", f"of {self._max_body} bytes ({length} bytes)")
        body = await self._body(request, length)
        query: dict[str, list[str]] = {}
        for key, value in request.query_params.multi_items():
            query.setdefault(key, []).append(value)
        return _Request(method, query, headers, body)

    async def _body(self, request: Request, length: int) -> bytes:
        if not length:
            return b""
        try:
            async with asyncio.timeout(self._read_timeout):
                if length <= LARGE_BODY:
                    return await request.body()
                # Large bodies take turns (no genuine notice is this large): a flood of them holds a
                # few megabytes at a time, and small ones never wait behind them.
                if self._large is None:
                    self._large = asyncio.Semaphore(LARGE_AT_ONCE)
                async with self._large:
                    return await request.body()
        except TimeoutError:
            raise Rejection(408, "request body did not arrive in time") from None

    # -- routing ------------------------------------------------------------------------------------

    async def _handle(self, request: _Request, path: str, source: str) -> tuple[_Answer, list[_Notice]]:
        segments = path.rstrip("/").split("/")
        if segments[-1] == "google":
            return await self._google(request, source)
        if segments[-1] == "microsoft" or segments[-2:] == ["microsoft", "lifecycle"]:
            return await self._graph(request, source)
        raise Rejection(404, "no such endpoint")

    async def _resolve(self, pairs: Sequence[tuple[str, str]]) -> list[ChannelEntry | None]:
        # One call, so "not stored yet" and "no longer being made" are never seen apart (a notice
        # checked while its channel is being stored would otherwise be refused as unknown), and one
        # thread hop for a whole batch however many items it has.
        return await asyncio.to_thread(self._registry.resolve_many, pairs)

    async def _google(self, request: _Request, source: str) -> tuple[_Answer, list[_Notice]]:
        headers = request.headers
        channel_id = headers.get("x-goog-channel-id", "")
        if not channel_id:
            raise Rejection(400, "no X-Goog-Channel-ID")
        if len(channel_id) > MAX_GOOGLE_CHANNEL_ID:
            raise Rejection(400, "X-Goog-Channel-ID too long", f"({len(channel_id)} characters)")
        state = headers.get("x-goog-resource-state", "")
        if state not in GOOGLE_STATES:
            raise Rejection(400, "unknown resource state on channel", channel_id)
        number_text = headers.get("x-goog-message-number", "")
        if not ascii_digits(number_text) or len(number_text) > 19 or int(number_text) > MAX_MESSAGE_NUMBER:
            raise Rejection(400, "malformed message number on channel", channel_id)
        token = headers.get("x-goog-channel-token", "")
        if len(token) > MAX_TOKEN:
            raise Rejection(403, "wrong channel token on channel", channel_id)
        # A channel still being made (its watch not answered yet, or its row not yet stored) already
        # gets notices: its handshake, and changes made meanwhile (our own writes to that calendar
        # above all). Its token, which only we can compute, says which calendar it is for.
        entry = (await self._resolve([(channel_id, token)]))[0]
        if entry is None:
            raise Rejection(404, "unknown channel", channel_id)
        if not same_token(token, entry.token):
            raise Rejection(403, "wrong channel token on channel", channel_id)
        resource = headers.get("x-goog-resource-id")
        if entry.resource_id is not None and resource != entry.resource_id:
            raise Rejection(403, "wrong resource id on channel", channel_id)
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
                raise Rejection(400, "validation token too long")
            return _Answer(200, token.encode("utf-8", "replace")), []
        try:
            payload: Any = loads_bounded(request.take_body(), MAX_OBJECTS)
        except TooManyObjects:
            raise Rejection(
                400, "too many items in one notification", f"(over {MAX_OBJECTS} objects)"
            ) from None
        except (UnicodeDecodeError, ValueError, RecursionError):
            raise Rejection(400, "notification body is not JSON") from None
        items = payload.get("value") if isinstance(payload, dict) else None
        del payload
        if not isinstance(items, list) or not items:
            raise Rejection(400, "notification body has no value list")
        if len(items) > MAX_ITEMS:
            raise Rejection(400, "too many items in one notification", f"({len(items)}; at most {MAX_ITEMS})")
        checked: list[tuple[str, str, Any] | Rejection] = [graph_item(item) for item in items]
        del items
        pairs = list(dict.fromkeys((c[0], c[1]) for c in checked if isinstance(c, tuple)))
        entries = dict(zip(pairs, await self._resolve(pairs), strict=True)) if pairs else {}
        notices: list[_Notice] = []
        refusals: list[Rejection] = []
        for found in checked:
            try:
                if isinstance(found, Rejection):
                    raise found
                subscription, state, raw = found
                notices.append(self._graph_notice(subscription, state, raw, entries[(subscription, state)]))
            except Rejection as rejection:
                refusals.append(rejection)
        if refusals and not notices:
            raise summary_of(refusals)
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
            raise Rejection(404, "unknown subscription", subscription)
        if not same_token(state, entry.token):
            raise Rejection(403, "wrong clientState on subscription", subscription)
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
