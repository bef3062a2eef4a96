"""An office whose tech keeps an iPhone-style CalDAV calendar on a real Radicale.

The account is connected as a dispatcher connects it (CaldavConnector: discovery, password into
the Secret Service); the engine reaches Radicale through the fault layer; the tech's phone is the
`caldav` client library talking to Radicale itself.
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from app.bus import Bus
from app.domain.model import BusyBlock, CalendarAccount, Provider, Technician
from app.domain.time import FixedClock, Interval
from app.services.container import Services
from storage.database import Database, open_database
from sync.engine import SyncEngine
from sync.health_monitor import HealthMonitor
from sync.notify import NotificationSettings, Notifier
from sync.providers.caldav_auth import CaldavConnector
from sync.providers.factory import open_provider
from sync.providers.secrets import TokenStore
from tests.accounts.conftest import keyring_problem, token_store
from tests.caldav.harness import PASSWORD, USER, CaldavBackend

__all__ = ["keyring_problem", "token_store"]

CHICAGO = ZoneInfo("America/Chicago")
# The fault layer holds a "timeout" request this long; the engine's provider gives up sooner.
HOLD = 3.0
CLIENT_TIMEOUT = 1.5


@pytest.fixture
def backend(tmp_path: Path) -> Iterator[CaldavBackend]:
    made = CaldavBackend(tmp_path / "radicale", hold=HOLD)
    try:
        yield made
    finally:
        made.close()


@dataclass
class Office:
    database: Database
    services: Services
    clock: FixedClock
    tech: Technician
    account: CalendarAccount
    backend: CaldavBackend
    engine: SyncEngine
    monitor: HealthMonitor

    def busy(self, days: int = 60) -> list[BusyBlock]:
        now = self.clock.now()
        with self.database.unit_of_work() as uow:
            return list(
                uow.busy.for_techs(
                    [self.tech.id], Interval(now - timedelta(days=2), now + timedelta(days=days))
                )
            )


@pytest.fixture
async def office(backend: CaldavBackend, token_store: TokenStore, tmp_path: Path) -> AsyncIterator[Office]:
    database = open_database(f"sqlite:///{tmp_path / 'office.db'}")
    clock = FixedClock(datetime.now(UTC).replace(microsecond=0))
    services = Services.build(database.unit_of_work, clock, Bus())
    tech = services.techs.add("Maria Lopez", USER, "America/Chicago")
    connector = CaldavConnector(backend.url, USER, PASSWORD, token_store)
    view = services.accounts.connect("Maria Lopez", Provider.CALDAV, connector)
    monitor = HealthMonitor(
        database.unit_of_work,
        clock,
        services.bus,
        Notifier(database.unit_of_work, clock, NotificationSettings()),
    )
    engine = SyncEngine(
        database.unit_of_work,
        lambda account: open_provider(account, token_store, timeout=CLIENT_TIMEOUT),
        clock,
        services.bus,
        rng=random.Random(3),
        health=monitor,
    )
    office = Office(database, services, clock, tech, view.account, backend, engine, monitor)
    try:
        yield office
    finally:
        await engine.aclose()
        database.dispose()


def next_weekday(weekday: int, hour: int, clock: FixedClock) -> datetime:
    """The next `weekday` (0 = Monday) at least two days away, at `hour` in Chicago."""
    local = clock.now().astimezone(CHICAGO) + timedelta(days=2)
    while local.weekday() != weekday:
        local += timedelta(days=1)
    return local.replace(hour=hour, minute=0, second=0, microsecond=0)


def titles(blocks: list[BusyBlock]) -> set[Any]:
    return {b.title for b in blocks}
