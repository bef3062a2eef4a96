"""The push receiver as `crewboard sync --listen` and `crewboard serve` run it: one ASGI app on uvicorn.

`PushReceiver` serves the push routes (sync.push_routes), and whatever other routes the command
mounts (`extra_routes`: /healthz, the booking page), on one web server (web.server), with every
connection limit and hostile-traffic guard of web.guard. The channel table lives in
sync.push_channels and knows no HTTP; the checks that need no request live in sync.push_checks.

Why in process on the engine's event loop: a verified notice becomes a plain call to the engine's
trigger with no thread hand-off, and the answer goes out before the read starts.
"""

from __future__ import annotations

from collections.abc import Sequence

from starlette.applications import Starlette
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
from web.app import build_asgi_app
from web.server import HEAD_TIMEOUT, MAX_CONNECTIONS, MAX_HEAD, MAX_PER_SOURCE, WebServer

__all__ = [
    "MAX_BODY",
    "MAX_CONNECTIONS",
    "MAX_HEAD",
    "MAX_ITEMS",
    "CalendarChannels",
    "ChannelEntry",
    "ChannelRegistry",
    "LifecycleEvent",
    "LifecycleHandler",
    "PushReceiver",
    "RefusalLog",
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
        self.app: Starlette = build_asgi_app(self.routes.routes(), extra_routes=extra_routes)
        self._server = WebServer(
            self.app,
            on_refused=self.routes.refused,
            head_timeout=min(header_timeout, read_timeout),
            max_connections=MAX_CONNECTIONS,
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
