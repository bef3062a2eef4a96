"""uvicorn's HTTP/1.1 protocol (h11) with the limits uvicorn has no option for.

uvicorn bounds the request head's size (h11_max_incomplete_event_size), idle keep-alive time and
the number of requests in flight. It does not bound how long a request head may take to arrive
(slowloris: one byte every few seconds holds a connection forever), nor how many connections one
address may hold, and it answers every malformed head with the same 400 and one warning per
request. `GuardedH11Protocol` adds:

- a head timeout: a request line and headers not complete `head_timeout` seconds after the
  connection opened (or after the previous answer) are answered 408 and the connection closed;
- a per-source share: once half of `max_connections` are open, an address (an IPv6 /64 counts as
  one) holding `max_per_source` gets no more; past `max_connections` nobody does. A refused
  connection is closed before anything is read. Below half, any address may open more, so a
  relay's burst (every connection through a relay comes from the relay) is not cut short;
- the right status for a refused head (431 for a head over the limit, 400 otherwise), with no
  traceback and no log line of its own: each refusal goes to the `on_refused` callback, which
  counts and sums them up (the push receiver's RefusalLog);
- a bounded drain: a body left unread after its answer (a 413, say) is swallowed up to
  `drain_budget` bytes so the client reads the answer rather than a reset, then the connection is
  cut.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from app.peers import source_of

# (status, kind, source): a connection or a request head refused before any route saw it.
OnRefused = Callable[[int, str, str], None]

LINGER = 1.0  # seconds at most that a refused request's remaining bytes are swallowed
LINGER_QUIET = 0.2  # ...or until the client pauses this long

_PHRASES = {400: "Bad Request", 408: "Request Timeout", 431: "Request Header Fields Too Large"}


@dataclass
class ConnectionGuard:
    """The limits one server shares between its connections, and who hears of refusals."""

    max_connections: int
    max_per_source: int
    head_timeout: float
    max_head: int
    drain_budget: int
    on_refused: OnRefused
    open: int = 0
    per_source: Counter[str] = field(default_factory=Counter)

    def admit(self, source: str) -> bool:
        crowded = self.open >= self.max_connections // 2
        if self.open >= self.max_connections or (crowded and self.per_source[source] >= self.max_per_source):
            return False
        self.open += 1
        self.per_source[source] += 1
        return True

    def leave(self, source: str) -> None:
        self.open -= 1
        self.per_source[source] -= 1
        if self.per_source[source] <= 0:
            del self.per_source[source]


class GuardedH11Protocol(H11Protocol):
    """One connection. `guard` is set on a subclass made per server (see `protocol_for`)."""

    guard: ConnectionGuard

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.logger = _QUIET_400
        self.access_log = False  # one line per request is no log for a flood; refusals are counted
        self._source = "unknown"
        self._admitted = False
        self._head_timer: asyncio.TimerHandle | None = None
        self._cycle_at_arm: object = None
        self._drained = 0
        self._linger: asyncio.TimerHandle | None = None
        self._linger_until = 0.0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._source = source_of(transport.get_extra_info("peername"))
        if not self.guard.admit(self._source):
            # Refused before reading anything: one address cannot hold every door.
            self.guard.on_refused(503, "too many connections at once", self._source)
            transport.close()
            return
        self._admitted = True
        assert isinstance(transport, asyncio.Transport)
        super().connection_made(transport)
        self._arm_head_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self._admitted:
            return
        self._admitted = False
        self.guard.leave(self._source)
        self._disarm_head_timer()
        if self._linger is not None:
            self._linger.cancel()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._linger_until:
            self._drained += len(data)
            self._keep_lingering()
            return
        if self._draining():
            # The answer went out before the body came in: swallow it, up to the budget.
            self._drained += len(data)
            if self._drained > self.guard.drain_budget:
                self.transport.abort()
                return
        if self.conn.their_state is h11.IDLE:
            # A head is arriving. h11 bounds only a head that is still incomplete when a chunk ends;
            # one that arrives whole in a large chunk must be measured here.
            pending = self.conn.trailing_data[0] + data
            if len(pending) > self.guard.max_head and b"\r\n\r\n" not in pending[: self.guard.max_head + 4]:
                self._refuse(431, "request headers too large")
                return
        try:
            super().data_received(data)
        except ValueError:
            # h11 turns a Content-Length of thousands of digits into an int, which Python refuses.
            self._refuse(400, "malformed request head")
            return
        if self.cycle is not self._cycle_at_arm:
            self._disarm_head_timer()

    def _draining(self) -> bool:
        return (
            self.cycle is not None
            and self.cycle.response_complete
            and self.conn.our_state is h11.DONE
            and self.conn.their_state is h11.SEND_BODY
        )

    def send_400_response(self, msg: str) -> None:
        # h11 found the head malformed (its size was checked before h11 saw it).
        self._refuse(400, "malformed request head")

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._arm_head_timer()  # the next request's head gets the same time as the first's

    def _arm_head_timer(self) -> None:
        self._disarm_head_timer()
        self._cycle_at_arm = self.cycle
        self._head_timer = self.loop.call_later(self.guard.head_timeout, self._head_timed_out)

    def _disarm_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if self.transport.is_closing() or self.cycle is not self._cycle_at_arm:
            return  # a request began meanwhile: its body has the route's own timeout
        if self._draining():
            self.transport.abort()  # a body still trickling in after its answer
            return
        if self.conn.their_state is h11.IDLE and not self.conn.trailing_data[0] and self.cycle is not None:
            self.transport.close()  # an idle keep-alive connection: closed quietly
            return
        self._refuse(408, "request headers did not arrive in time")

    def _refuse(self, status: int, kind: str) -> None:
        self.guard.on_refused(status, kind, self._source)
        body = f"{kind}\n".encode("ascii")
        head = (
            f"HTTP/1.1 {status} {_PHRASES.get(status, 'Error')}\r\n"
            "Content-Type: text/plain; charset=utf-8\r\n"
            f"Content-Length: {len(body)}\r\n"
            "Connection: close\r\n\r\n"
        )
        self.transport.write(head.encode("ascii") + body)
        # Not closed at once: what the client is still sending would make the kernel answer with a
        # reset, which may reach it before our answer. Swallowed until it pauses (or the budget).
        self._disarm_head_timer()
        self._linger_until = self.loop.time() + LINGER
        self._keep_lingering()

    def _keep_lingering(self) -> None:
        if self._linger is not None:
            self._linger.cancel()
        if self._drained > self.guard.drain_budget or self.loop.time() >= self._linger_until:
            self.transport.close()
            return
        self._linger = self.loop.call_later(LINGER_QUIET, self.transport.close)


class _Drop400Warning(logging.Filter):
    """uvicorn warns once per malformed request; the guard counts those through `on_refused`."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != "Invalid HTTP request received."


_QUIET_400 = logging.getLogger("app.web.http")
_QUIET_400.addFilter(_Drop400Warning())


def protocol_for(guard: ConnectionGuard) -> type[GuardedH11Protocol]:
    """A protocol class whose connections share `guard` (uvicorn builds one per connection)."""
    return type("ServerH11Protocol", (GuardedH11Protocol,), {"guard": guard})
