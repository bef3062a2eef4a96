"""What runs beside the sync engine in `crewboard sync`: health rounds, e-mail, and push.

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
from datetime import UTC, timedelta, tzinfo
from pathlib import Path

from app.bus import Bus
from app.domain.time import Clock
from app.errors import InvalidInput
from app.services.ports import UnitOfWorkFactory
from sync.channels import ChannelKeeper
from sync.engine.ports import ProviderFor
from sync.health import HealthMonitor, load_thresholds
from sync.notify import Notifier, notification_settings
from sync.providers.config import read_settings_file, settings_path
from sync.push_receiver import CalendarChannels, PushReceiver, Trigger

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
    ) -> None:
        if (listen is None) != (public_url is None):
            raise ValueError("listen and public_url go together")
        self._monitor = monitor
        self._uow = uow_factory
        self._clock = clock
        self._provider_for = provider_for
        self._listen = listen
        self._public_url = public_url
        self._health_every = health_every
        self.receiver: PushReceiver | None = None
        self.listening = asyncio.Event()  # set once the receiver is up (or at once without one)

    async def run(self, trigger: Trigger, stop: asyncio.Event) -> None:
        work = [self._monitor.run(stop, self._health_every)]
        if self._listen is not None and self._public_url is not None:
            channels = CalendarChannels(self._uow)
            keeper = ChannelKeeper(
                self._uow, self._provider_for, channels, self._public_url, self._clock, trigger=trigger
            )
            self.receiver = PushReceiver(channels, trigger, on_lifecycle=keeper.lifecycle)
            host, port = self._listen
            try:
                await self.receiver.start(host, port)
            except OSError as error:
                raise InvalidInput(
                    f"Cannot listen for push notices on {host}:{port} ({error.strerror or error}); "
                    "choose another --listen address or stop what uses it."
                ) from None
            work.append(keeper.run(stop))
            log.info("push notices are received on %s via %s", self.receiver.url, self._public_url)
        self.listening.set()
        try:
            await asyncio.gather(*work)
        finally:
            if self.receiver is not None:
                await self.receiver.aclose()
