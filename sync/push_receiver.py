"""The push receiver as `crewboard sync --listen` and `crewboard serve` run it: one ASGI app on uvicorn.

`PushReceiver` serves the push routes (sync.push_routes), and whatever other routes the command
mounts (`extra_routes`: /healthz, the booking page), on one web server that the composer gives it
(`serve`: app.web.server.serve_routes, with every connection limit and hostile-traffic guard of
app.web.connections); sync itself imports no server. The channel table lives in
sync.push_channels and knows no HTTP; the checks that need no request live in sync.push_checks.

Why in process on the engine's event loop: a verified notice becomes a plain call to the engine's
trigger with no thread hand-off, and the answer goes out before the read starts.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

from starlette.routing import BaseRoute

from sync.push_channels import (
    CalendarChannels,
    ChannelEntry,
    ChannelRegistry,
    LifecycleEvent,
    LifecycleHandler,
    Trigger,
    push_address,
)
from sync.push_checks import MAX_ITEMS, SUMMARY_EVERY, RefusalLog, shown
from sync.push_routes import MAX_BODY, READ_TIMEOUT, PushRoutes

HEAD_TIMEOUT = 5.0  # seconds for a request head to arrive (providers send theirs at once)
MAX_PER_SOURCE = 16  # connections from one address once the server is half full


class WebFront(Protocol):
    """A web server of an ASGI app, as app.web.server's WebServer is: listens from `start` to `aclose`."""

    host: str
    port: int

    @property
    def url(self) -> str: ...

    async def start(self, host: str = ..., port: int = ...) -> None: ...

    async def aclose(self) -> None: ...


class ServeRoutes(Protocol):
    """Makes the server of `routes` (app.web.server.serve_routes); sync never imports a server."""

    def __call__(
        self,
        routes: Sequence[BaseRoute],
        *,
        on_refused: Callable[[int, str, str], None],
        head_timeout: float,
        max_per_source: int,
    ) -> WebFront: ...


__all__ = [
    "MAX_BODY",
    "MAX_ITEMS",
    "CalendarChannels",
    "ChannelEntry",
    "ChannelRegistry",
    "LifecycleEvent",
    "LifecycleHandler",
    "PushReceiver",
    "RefusalLog",
    "ServeRoutes",
    "Trigger",
    "push_address",
    "shown",
]


class PushReceiver:
    """An HTTP endpoint on the running event loop that turns verified notices into `trigger` calls."""

    def __init__(
        self,
        registry: ChannelRegistry,
        trigger: Trigger,
        serve: ServeRoutes,
        max_body: int = MAX_BODY,
        read_timeout: float = READ_TIMEOUT,
        on_lifecycle: LifecycleHandler | None = None,
        header_timeout: float = HEAD_TIMEOUT,
        max_per_source: int = MAX_PER_SOURCE,
        summary_every: float = SUMMARY_EVERY,
        extra_routes: Sequence[BaseRoute] = (),
    ) -> None:
        self.routes = PushRoutes(
            registry,
            trigger,
            max_body=max_body,
            read_timeout=read_timeout,
            on_lifecycle=on_lifecycle,
            summary_every=summary_every,
        )
        self._server = serve(
            [*extra_routes, *self.routes.routes()],
            on_refused=self.routes.refused,
            head_timeout=min(header_timeout, read_timeout),
            max_per_source=max_per_source,
        )
        self.refusals: RefusalLog = self.routes.refusals

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        await self._server.start(host, port)

    @property
    def host(self) -> str:
        return self._server.host

    @property
    def port(self) -> int:
        return self._server.port

    @property
    def url(self) -> str:
        return self._server.url

    async def aclose(self) -> None:
        await self._server.aclose()
        self.refusals.flush()

    async def __aenter__(self) -> PushReceiver:
        if not self.port:
            await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
