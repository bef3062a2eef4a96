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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from app.bus import Bus
from app.domain.ids import CalendarId
from app.domain.model import Calendar, CalendarAccount, Provider, Technician
from app.domain.time import SystemClock
from app.services.accounts import AccountService
from app.services.container import Services
from app.web.server import serve_routes
from storage.database import Database, open_database
from sync.channels import ChannelKeeper
from sync.engine import SyncEngine
from sync.providers.endpoints import read_endpoints
from sync.providers.factory import open_provider
from sync.providers.google_auth import GoogleConnector
from sync.providers.microsoft_auth import MicrosoftConnector
from sync.providers.protocol import CalendarProvider
from sync.providers.secrets import TokenStore
from sync.push_receiver import CalendarChannels, PushReceiver
from sync.sandbox.approver import SandboxApprover
from sync.wiring import PushSide
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
    endpoints = read_endpoints(control)
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
        self.keeper: ChannelKeeper | None = None
        self._keeper_task: concurrent.futures.Future[None] | None = None

    def call(self, work: Coroutine[Any, Any, T], timeout: float = 600) -> T:
        return asyncio.run_coroutine_threadsafe(work, self._loop).result(timeout)

    def start(self) -> None:
        async def make_stop() -> asyncio.Event:
            return asyncio.Event()

        self._stop = self.call(make_stop())
        self._task = asyncio.run_coroutine_threadsafe(self.engine.run_forever(self._stop), self._loop)
        if self.keeper is not None:  # renews channels while running; stops them all at the end
            self._keeper_task = asyncio.run_coroutine_threadsafe(self.keeper.run(self._stop), self._loop)

    def start_push(self) -> int:
        """The push side of `crewboard sync --listen`: the receiver on the engine's loop, whose verified
        notices call `engine.request_read`, and the ChannelKeeper watching every calendar (a Google
        channel or Graph subscription pointing at the receiver). Returns how many channels it opened.
        """
        tokens = self.made.tokens

        def provider_for(account: CalendarAccount) -> CalendarProvider:
            return open_provider(account, tokens)

        push = PushSide(
            self.made.database.unit_of_work,
            provider_for,
            self.made.services.clock,
            self.engine.request_read,
            serve_routes,
            self.engine.providers,
            polls=self.engine.polls,  # push first: live channels' calendars wait for notices
        )
        keeper = self.call(push.start("127.0.0.1", 0))
        self.receiver, self.channels, self.keeper = push.receiver, push.channels, keeper
        return self.call(keeper.keep())

    def stop(self) -> None:
        if self._stop is not None and self._task is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
            with contextlib.suppress(Exception):
                self._task.result(60)
            if self._keeper_task is not None:
                with contextlib.suppress(Exception):
                    self._keeper_task.result(60)
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
