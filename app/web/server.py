"""uvicorn running one ASGI application on the caller's event loop, with every limit set here.

In process, not `uvicorn.run`: the service's sync engine, health rounds and channel keeper share
the loop with the routes, so a verified push notice becomes a plain call to the engine's trigger
with no thread hand-off. uvicorn installs no signal handlers and no logging configuration this way
(the command owns both).

The limits, and why these numbers (they were the hand-written receiver's, and hold for every route):
- MAX_HEAD (16 KB) for a request line and headers (h11_max_incomplete_event_size): providers send
  a few hundred bytes; the booking page's cookies fit many times over. Over it: 431.
- HEAD_TIMEOUT (5 s) for the head to arrive (providers send theirs at once): 408. A body has the
  route's own timeout once the head is in.
- MAX_CONNECTIONS (128) at once, and MAX_PER_SOURCE (16) from one address once half are open (see
  app.web.connections). Behind a relay every connection comes from the relay's address: let the relay limit
  connections per client (nginx `limit_conn`, for one).
- KEEP_ALIVE (5 s): an idle kept-alive connection is closed.
- GRACE (1 s) at shutdown for answers in flight; then what is still open is cut.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from email.utils import formatdate

import uvicorn
from starlette.routing import BaseRoute
from starlette.types import ASGIApp

from app.web.asgi import build_asgi_app
from app.web.connections import ConnectionGuard, OnRefused, protocol_for

MAX_HEAD = 16 * 1024
HEAD_TIMEOUT = 5.0
MAX_CONNECTIONS = 128
MAX_PER_SOURCE = 16
KEEP_ALIVE = 5.0
GRACE = 1.0
DRAIN_BUDGET = 4 * 1024 * 1024  # bytes of an unread body swallowed after its answer

log = logging.getLogger(__name__)


def _nobody_told(status: int, kind: str, source: str) -> None:
    log.info("refused (%d): %s [from %s]", status, kind, source)


class WebServer:
    """Serves `app` on `host:port` from `start()` until `aclose()`."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        on_refused: OnRefused = _nobody_told,
        head_timeout: float = HEAD_TIMEOUT,
        max_connections: int = MAX_CONNECTIONS,
        max_per_source: int = MAX_PER_SOURCE,
    ) -> None:
        self._app = app
        self.guard = ConnectionGuard(
            max_connections=max_connections,
            max_per_source=max_per_source,
            head_timeout=head_timeout,
            max_head=MAX_HEAD,
            drain_budget=DRAIN_BUDGET,
            on_refused=on_refused,
        )
        self._server: uvicorn.Server | None = None
        self._dating: asyncio.Task[None] | None = None
        self.host = ""
        self.port = 0

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        """Listen; OSError when the address is taken or not this computer's."""
        config = uvicorn.Config(
            self._app,
            host=host,
            port=port,
            http=protocol_for(self.guard),
            lifespan="off",
            log_config=None,  # the command configured logging; uvicorn must not redo it
            access_log=False,
            server_header=False,
            h11_max_incomplete_event_size=MAX_HEAD,
            timeout_keep_alive=int(KEEP_ALIVE),
            # A backstop: the guard admits at most max_connections, so uvicorn's 503 (counted on the
            # connections already admitted, this one included) must not trip before it.
            limit_concurrency=self.guard.max_connections + 1,
            proxy_headers=False,  # X-Forwarded-For is read by the routes, from a loopback relay only
        )
        config.load()
        server = uvicorn.Server(config)
        loop = asyncio.get_running_loop()
        listener = await loop.create_server(
            lambda: config.http_protocol_class(  # type: ignore[call-arg]
                config=config, server_state=server.server_state, app_state={}, _loop=loop
            ),
            host=host,
            port=port,
            backlog=config.backlog,
        )
        server.servers = [listener]
        server.started = True
        self._server = server
        self._dating = asyncio.create_task(self._keep_date(server))
        assert listener.sockets
        bound = listener.sockets[0].getsockname()
        self.host, self.port = str(bound[0]), int(bound[1])
        log.info("serving HTTP on %s", self.url)

    async def _keep_date(self, server: uvicorn.Server) -> None:
        """The Date header every answer carries (HTTP requires it of a server with a clock), renewed
        each second, as uvicorn's own main loop would do: answers only copy the current one."""
        while True:
            server.server_state.default_headers = [(b"date", formatdate(usegmt=True).encode("ascii"))]
            await asyncio.sleep(1.0)

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    async def aclose(self) -> None:
        """Stop listening, let answers in flight finish for GRACE seconds, then cut what is left."""
        server, self._server = self._server, None
        if server is None:
            return
        if self._dating is not None:
            self._dating.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._dating
            self._dating = None
        for listener in server.servers:
            listener.close()
        state = server.server_state
        for connection in list(state.connections):
            connection.shutdown()  # idle ones close now; busy ones close after their answer
        loop = asyncio.get_running_loop()
        deadline = loop.time() + GRACE
        while state.tasks and loop.time() < deadline:
            await asyncio.wait(set(state.tasks), timeout=max(0.0, deadline - loop.time()))
        for connection in list(state.connections):
            transport = getattr(connection, "transport", None)
            if transport is not None:
                transport.abort()  # a request still waiting for its body sees a disconnect
        if state.tasks:
            await asyncio.wait(set(state.tasks), timeout=GRACE)
        for listener in server.servers:
            await listener.wait_closed()


def serve_routes(
    routes: Sequence[BaseRoute],
    *,
    on_refused: OnRefused = _nobody_told,
    head_timeout: float = HEAD_TIMEOUT,
    max_per_source: int = MAX_PER_SOURCE,
) -> WebServer:
    """A server (not started) of one ASGI app over `routes`, in order, with every limit above.

    The shape sync.push_receiver asks its composer for: the push routes know no server, and this
    server knows no route, so the composition roots (the commands, the desktop, the demo) join them.
    """
    return WebServer(
        build_asgi_app(routes),
        on_refused=on_refused,
        head_timeout=head_timeout,
        max_connections=MAX_CONNECTIONS,
        max_per_source=max_per_source,
    )
