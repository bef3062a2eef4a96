"""Crewboard as it runs for real, against the sandbox: a SQLite store, technicians whose accounts are
connected through the providers' real sign-in (tokens in the keyring), and the sync engine on its
own asyncio loop in a background thread, with the push receiver on the same loop when asked.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import tempfile
import threading
import time
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TypeVar

from app.bus import Bus
from app.domain.ids import CalendarId
from app.domain.model import Calendar, CalendarAccount, Provider, Technician
from app.domain.time import SystemClock
from app.services.accounts import AccountService
from app.services.container import Services
from storage.database import Database, open_database
from sync.engine import SyncEngine
from sync.providers.config import SandboxApprover, sandbox_endpoints
from sync.providers.factory import open_provider
from sync.providers.google_auth import GoogleConnector
from sync.providers.microsoft_auth import MicrosoftConnector
from sync.providers.protocol import CalendarProvider
from sync.providers.secrets import TokenStore
from sync.push_receiver import CalendarChannels, PushReceiver, push_address
from tests.bench.sandbox_proc import AccountSpec

T = TypeVar("T")


@dataclass(slots=True)
class Connected:
    spec: AccountSpec
    tech: Technician
    account: CalendarAccount
    calendars: tuple[Calendar, ...]

    @property
    def primary(self) -> Calendar:
        return next(c for c in self.calendars if c.primary)


@dataclass(slots=True)
class Store:
    folder: tempfile.TemporaryDirectory[str]
    database: Database
    services: Services
    bus: Bus
    tokens: TokenStore = field(default_factory=TokenStore)
    connected: list[Connected] = field(default_factory=list)

    @property
    def path(self) -> Path:
        return Path(self.folder.name) / "bench.db"


@contextlib.contextmanager
def store() -> Iterator[Store]:
    folder = tempfile.TemporaryDirectory(prefix="crewboard-bench-")
    database = open_database(f"sqlite:///{Path(folder.name) / 'bench.db'}")
    bus = Bus()
    made = Store(folder, database, Services.build(database.unit_of_work, SystemClock(), bus), bus)
    try:
        yield made
    finally:
        for item in made.connected:
            with contextlib.suppress(Exception):
                made.tokens.delete(item.account.token_ref)
        database.dispose()
        folder.cleanup()


def connect(
    made: Store, urls: dict[str, str], specs: list[AccountSpec], both_block: bool = True
) -> list[Connected]:
    """Add each spec's technician and connect its account through the provider's sign-in pages."""
    control = urls["control"]
    endpoints = sandbox_endpoints(control)
    accounts = AccountService(made.services.uow, made.services.clock, made.bus)
    found: list[Connected] = []
    for spec in specs:
        tech = made.services.techs.add(spec.name, spec.email, spec.timezone, hours="mon-sat 07:00-19:00")
        if spec.provider == "google":
            google = GoogleConnector(
                endpoints.google_settings(), made.tokens, browser=SandboxApprover(spec.email), timeout=30
            )
            try:
                view = accounts.connect(tech.id, Provider.GOOGLE, google)
            finally:
                google.close()
        else:
            microsoft = MicrosoftConnector(
                endpoints.microsoft_settings(),
                made.tokens,
                browser=SandboxApprover(spec.email, urls["ca"]),
                timeout=30,
            )
            try:
                view = accounts.connect(tech.id, Provider.MICROSOFT, microsoft)
            finally:
                microsoft.close()
        calendars = view.calendars
        if both_block:
            calendars = tuple(
                c if c.blocks else accounts.set_calendar_blocks(c.id, True) for c in view.calendars
            )
        item = Connected(spec, tech, view.account, calendars)
        found.append(item)
        made.connected.append(item)
    return found


class EngineThread:
    """The sync engine on an asyncio loop of its own (a thread), as the app runs it beside the GUI."""

    def __init__(self, made: Store, poll_seconds: float = 10.0, timeout: float = 30.0) -> None:
        self.made = made
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="bench-engine", daemon=True)
        self._thread.start()
        self.providers: dict[str, CalendarProvider] = {}
        tokens = made.tokens

        def provider_for(account: CalendarAccount) -> CalendarProvider:
            provider = open_provider(account, tokens, timeout=timeout)
            self.providers[account.id] = provider
            return provider

        self.engine = SyncEngine(
            made.database.unit_of_work, provider_for, made.services.clock, made.bus, poll_seconds=poll_seconds
        )
        self._stop: asyncio.Event | None = None
        self._task: concurrent.futures.Future[None] | None = None
        self.receiver: PushReceiver | None = None
        self.channels: CalendarChannels | None = None

    def call(self, work: Coroutine[Any, Any, T], timeout: float = 600) -> T:
        return asyncio.run_coroutine_threadsafe(work, self._loop).result(timeout)

    def start(self) -> None:
        async def make_stop() -> asyncio.Event:
            return asyncio.Event()

        self._stop = self.call(make_stop())
        self._task = asyncio.run_coroutine_threadsafe(self.engine.run_forever(self._stop), self._loop)

    def start_push(self, connected: list[Connected]) -> int:
        """Start the push receiver on the engine's loop and watch each calendar through the adapters.

        The receiver turns a verified notice into `engine.request_read`; the channels are made with
        each provider's `watch` and stored on the calendar, as the receiver's registry expects.
        """
        channels = CalendarChannels(self.made.database.unit_of_work)
        receiver = PushReceiver(channels, self.engine.request_read)
        self.call(receiver.start())
        self.receiver, self.channels = receiver, channels
        made = 0
        for item in connected:
            provider = open_provider(item.account, self.made.tokens)
            try:
                for calendar in item.calendars:
                    address = push_address(receiver.url, item.spec.provider)
                    channel = self.call(provider.watch(calendar, address, channels.token_for(calendar.id)))
                    with self.made.database.unit_of_work() as uow:
                        stored = uow.calendars.get(calendar.id)
                        assert stored is not None
                        uow.calendars.update(
                            replace(
                                stored,
                                channel_id=channel.id,
                                channel_resource_id=channel.resource_id,
                                channel_expires=channel.expires,
                            )
                        )
                        uow.commit()
                    made += 1
            finally:
                self.call(provider.aclose())
        channels.refresh()
        return made

    def stop(self) -> None:
        if self._stop is not None and self._task is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
            with contextlib.suppress(Exception):
                self._task.result(60)
        if self.receiver is not None:
            with contextlib.suppress(Exception):
                self.call(self.receiver.aclose(), 30)
        with contextlib.suppress(Exception):
            self.call(self.engine.aclose(), 60)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(30)
        self._loop.close()


def wait_until(check: Any, timeout: float, every: float = 0.005) -> float | None:
    """Poll `check()` until true; the perf_counter time it first was, or None at the deadline."""
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        if check():
            return time.perf_counter()
        time.sleep(every)
    return None


def calendar_ids(connected: list[Connected]) -> list[CalendarId]:
    return [c.id for item in connected for c in item.calendars]
