"""Wiring for `crewboard sync`: what runs beside the engine (health rounds, e-mail and push).

The command builds the monitor first (the engine records every attempt through it), then the
engine, then runs both until stopped:

    monitor = build_health_monitor(s.uow, s.clock, s.bus, warn=a.warn_after, ...)
    engine = SyncEngine(s.uow, provider_for, s.clock, s.bus, health=monitor)
    companions = SyncCompanions(monitor, s.uow, s.clock, provider_for, a.listen, a.public_url)
    await asyncio.gather(engine.run_forever(stop), companions.run(engine.request_read, stop))
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import UTC, timedelta, tzinfo
from pathlib import Path

from starlette.routing import BaseRoute

from app.bus import Bus
from app.domain.ids import CalendarId
from app.domain.time import Clock
from app.errors import InvalidInput
from app.services.ports import UnitOfWorkFactory
from sync.channels import ChannelKeeper
from sync.engine.poll_book import PollBook
from sync.engine.ports import ProviderFor
from sync.engine.providers import ProviderPool
from sync.health_monitor import HealthMonitor, load_thresholds
from sync.notify import Notifier, notification_settings
from sync.providers.config import read_settings_file, settings_path
from sync.push_receiver import CalendarChannels, LifecycleEvent, PushReceiver, ServeRoutes, Trigger

log = logging.getLogger(__name__)


def build_health_monitor(
    uow_factory: UnitOfWorkFactory,
    clock: Clock,
    bus: Bus,
    *,
    warn: timedelta | None = None,
    dispatcher: timedelta | None = None,
    owner: timedelta | None = None,
    office_zone: tzinfo = UTC,
    path: Path | None = None,
) -> HealthMonitor:
    """A monitor with thresholds from the flags, else settings.toml, and its e-mail settings."""
    path = path or settings_path()
    data = read_settings_file(path)
    thresholds = load_thresholds(data, warn, dispatcher, owner, path)
    notifier = Notifier(uow_factory, clock, notification_settings(data, path))
    return HealthMonitor(uow_factory, clock, bus, notifier, thresholds, office_zone)


class PushSide:
    """The push receiver and the channel keeper, wired together as `crewboard sync --listen` runs them.

    Verified change notices call `trigger` (the engine's immediate read); lifecycle notices go to the
    keeper, which renews, subscribes anew or reads. The keeper opens its channels toward
    `public_url`, or toward the receiver's own address when none is given (a test or a benchmark on
    loopback, where the providers reach the receiver directly).
    """

    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        provider_for: ProviderFor,
        clock: Clock,
        trigger: Trigger,
        serve: ServeRoutes,
        pool: ProviderPool | None = None,
        polls: PollBook | None = None,
        extra_routes: Sequence[BaseRoute] = (),
    ) -> None:
        self._uow = uow_factory
        self._provider_for = provider_for
        self._pool = pool
        self._polls = polls  # the engine's push-first poll, told of the channels the keeper keeps
        self._clock = clock
        self._trigger = trigger
        self.channels = CalendarChannels(uow_factory)
        # One ASGI app: the push routes, and what the command mounts beside them (`crewboard serve`:
        # /healthz and the booking page).
        self.receiver = PushReceiver(
            self.channels, trigger, serve, on_lifecycle=self._lifecycle, extra_routes=extra_routes
        )
        self.keeper: ChannelKeeper | None = None

    async def start(self, host: str, port: int, public_url: str | None = None) -> ChannelKeeper:
        """Listen on `host:port`; the keeper that watches every calendar (not started: `keeper.run`)."""
        try:
            await self.receiver.start(host, port)
        except OSError as error:
            raise InvalidInput(
                f"Cannot listen for push notices on {host}:{port} ({error.strerror or error}); "
                "choose another --listen address or stop what uses it."
            ) from None
        return self.new_keeper(public_url)

    def new_keeper(self, public_url: str | None = None) -> ChannelKeeper:
        """A keeper of every calendar's channel toward `public_url` (or the receiver's own address);
        lifecycle notices go to it from now on. One per term of sync ownership (sync.office_service)."""
        self.keeper = ChannelKeeper(
            self._uow,
            self._provider_for,
            self.channels,
            public_url or self.receiver.url,
            self._clock,
            trigger=self._trigger,
            pool=self._pool,
            polls=self._polls,
        )
        return self.keeper

    def _lifecycle(self, calendar_id: CalendarId, subscription_id: str, event: LifecycleEvent) -> None:
        if self.keeper is not None:
            self.keeper.lifecycle(calendar_id, subscription_id, event)

    async def aclose(self) -> None:
        await self.receiver.aclose()


class SyncCompanions:
    """Health rounds (escalation and e-mail) always; with `listen`, the push receiver and channels."""

    def __init__(
        self,
        monitor: HealthMonitor,
        uow_factory: UnitOfWorkFactory,
        clock: Clock,
        provider_for: ProviderFor,
        listen: tuple[str, int] | None = None,
        public_url: str | None = None,
        health_every: timedelta = timedelta(seconds=15),
        pool: ProviderPool | None = None,
        polls: PollBook | None = None,
        serve: ServeRoutes | None = None,
    ) -> None:
        if not (listen is None) == (public_url is None) == (serve is None):
            raise ValueError("listen, public_url and serve (the web server's maker) go together")
        self._monitor = monitor
        self._uow = uow_factory
        self._clock = clock
        self._provider_for = provider_for
        self._listen = listen
        self._public_url = public_url
        self._health_every = health_every
        self._pool = pool  # the engine's providers, shared by the channel keeper
        self._polls = polls  # the engine's push-first poll
        self._serve = serve  # app.web.server.serve_routes, given by the command
        self.push: PushSide | None = None  # with `listen`: the receiver, its channel table, the keeper
        self.listening = asyncio.Event()  # set once the receiver is up (or at once without one)

    @property
    def receiver(self) -> PushReceiver | None:
        return self.push.receiver if self.push is not None else None

    async def run(self, trigger: Trigger, stop: asyncio.Event) -> None:
        work = [self._monitor.run(stop, self._health_every)]
        push: PushSide | None = None
        if self._listen is not None and self._public_url is not None and self._serve is not None:
            push = self.push = PushSide(
                self._uow, self._provider_for, self._clock, trigger, self._serve, self._pool, self._polls
            )
            host, port = self._listen
            keeper = await push.start(host, port, self._public_url)
            work.append(keeper.run(stop))
            log.info("push notices are received on %s via %s", push.receiver.url, self._public_url)
        self.listening.set()
        try:
            await asyncio.gather(*work)
        finally:
            if push is not None:
                await push.aclose()
