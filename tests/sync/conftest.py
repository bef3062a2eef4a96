"""A small business wired to the sync engine: a real SQLite file, a fixed clock, in-memory calendars.

`World` holds one technician with a connected account whose calendars live in the in-memory
provider (sync.providers.fake), the use cases over the same database, and an engine. Tests play the
dispatcher through `world.services`, the tech's phone through `world.phone`, and time through
`world.clock`.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from app.bus import Bus
from app.domain.hours import BusinessHours
from app.domain.ids import AccountId, BookingId, CalendarId, TechId, new_id
from app.domain.model import (
    AccountStatus,
    Booking,
    Calendar,
    CalendarAccount,
    CalendarBlocking,
    EventTime,
    Provider,
    RemoteEvent,
    Technician,
)
from app.domain.time import FixedClock
from app.services.bookings import NewBooking
from app.services.container import Services
from app.services.ports import RemoteCalendar
from storage.database import Database, open_database
from sync.engine import SyncEngine
from sync.providers.fake import InMemoryCalendarProvider
from sync.providers.protocol import BookingEventContent, WrittenEvent

# A Monday in November 2026, 06:00 in Chicago.
NOW = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
CHICAGO = "America/Chicago"
PRIMARY = "primary"
SECOND = "family"


class SharedProvider(InMemoryCalendarProvider):
    """The in-memory calendar, surviving an engine's close so a second engine sees the same data.

    It also remembers what each write was asked to show, and can run a technician's edit just
    before an update arrives (a race the engine must survive).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.written: list[BookingEventContent] = []
        self.before_update: list[Callable[[], None]] = []
        self.closes = 0
        self.wrote = asyncio.Event()  # set by every successful create

    async def create_event(self, calendar: Calendar, content: BookingEventContent) -> WrittenEvent:
        self.written.append(content)
        written = await super().create_event(calendar, content)
        self.wrote.set()
        return written

    async def update_event(
        self, calendar: Calendar, remote_id: str, etag: str | None, content: BookingEventContent
    ) -> WrittenEvent:
        self.written.append(content)
        if self.before_update:
            self.before_update.pop(0)()
        return await super().update_event(calendar, remote_id, etag, content)

    async def aclose(self) -> None:
        self.closes += 1


@dataclass
class Tech:
    tech: Technician
    account: CalendarAccount
    primary: Calendar
    second: Calendar
    phone: SharedProvider


@dataclass
class World:
    database: Database
    services: Services
    clock: FixedClock
    bus: Bus
    techs: dict[str, Tech] = field(default_factory=dict)
    engines: list[SyncEngine] = field(default_factory=list)

    @property
    def tech(self) -> Tech:
        return next(iter(self.techs.values()))

    @property
    def phone(self) -> SharedProvider:
        return self.tech.phone

    def provider_for(self, account: CalendarAccount) -> SharedProvider:
        for tech in self.techs.values():
            if tech.account.id == account.id:
                return tech.phone
        raise KeyError(account.id)

    def engine(self, **options: Any) -> SyncEngine:
        options.setdefault("rng", random.Random(7))
        engine = SyncEngine(self.database.unit_of_work, self.provider_for, self.clock, self.bus, **options)
        self.engines.append(engine)
        return engine

    def add_tech(
        self, name: str, *, tentative: bool = False, blocking: CalendarBlocking = CalendarBlocking.MARKED
    ) -> Tech:
        tech = Technician(
            id=TechId(new_id()),
            name=name,
            email=f"{name.lower()}@example.com",
            timezone=CHICAGO,
            hours=BusinessHours.parse("mon-fri 08:00-17:00"),
            tentative_blocks=tentative,
            calendar_blocking=blocking,
        )
        account = CalendarAccount(
            id=AccountId(new_id()),
            tech_id=tech.id,
            provider=Provider.GOOGLE,
            email=f"{name.lower()}@gmail.test",
            token_ref=f"token-{name.lower()}",
        )
        primary = Calendar(CalendarId(new_id()), account.id, PRIMARY, name, primary=True, blocks=True)
        second = Calendar(CalendarId(new_id()), account.id, SECOND, "Family", primary=False, blocks=False)
        with self.database.unit_of_work() as uow:
            uow.techs.add(tech)
            uow.accounts.add(account)
            uow.calendars.add(primary)
            uow.calendars.add(second)
            uow.commit()
        phone = SharedProvider(
            [RemoteCalendar(PRIMARY, name, True), RemoteCalendar(SECOND, "Family", False)],
            clock=self.clock.now,
        )
        self.techs[name] = Tech(tech, account, primary, second, phone)
        return self.techs[name]

    # --- the dispatcher -------------------------------------------------------------------------

    def book(self, tech: str | None = "Maria", hours: float = 2, minutes: int = 90, **extra: Any) -> Booking:
        new = NewBooking(
            customer=extra.pop("customer", "Ada Park"),
            service=extra.pop("service", "AC repair"),
            duration=timedelta(minutes=minutes),
            start=NOW + timedelta(hours=hours),
            tech=tech,
            address=extra.pop("address", "12 Elm St"),
            phone=extra.pop("phone", "555-0100"),
            notes=extra.pop("notes", "Gate code 4411"),
        )
        return self.services.bookings.create(new, force=extra.pop("force", False))

    def booking(self, booking_id: BookingId) -> Booking:
        return self.services.bookings.get(booking_id)

    # --- what is stored -------------------------------------------------------------------------

    def uow(self) -> Any:
        return self.database.unit_of_work()

    def booking_events(self, tech: Tech | None = None, calendar: str = PRIMARY) -> list[RemoteEvent]:
        phone = (tech or self.tech).phone
        return [e for e in phone.events(calendar) if e.booking_id is not None]

    def account_status(self, tech: Tech | None = None) -> AccountStatus:
        with self.uow() as uow:
            account = uow.accounts.get((tech or self.tech).account.id)
            assert account is not None
            return account.status


def timed(start: datetime, minutes: int = 60, tz: str = CHICAGO) -> EventTime:
    return EventTime(start=start, end=start + timedelta(minutes=minutes), timezone=tz)


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    database = open_database(f"sqlite:///{tmp_path / 'crewboard.db'}")
    clock = FixedClock(NOW)
    bus = Bus()
    world = World(database, Services.build(database.unit_of_work, clock, bus), clock, bus)
    world.add_tech("Maria")
    try:
        yield world
    finally:
        for made in world.engines:
            await made.aclose()
        database.dispose()


@pytest.fixture
def engine(world: World) -> SyncEngine:
    return world.engine()
