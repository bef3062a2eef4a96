"""A crew in a real SQLite store, written through the repositories as the app and the engine write it.

Used by the availability and board groups: technicians in four zones with business hours, one
connected calendar each, calendar busy blocks (some all-day, tentative or private), time off and
bookings, in whatever pattern a group asks for.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from app.domain.ids import AccountId, BookingId, CalendarId, CustomerId, new_id
from app.domain.model import (
    AccountStatus,
    Booking,
    BusyBlock,
    BusySource,
    Calendar,
    CalendarAccount,
    Customer,
    Provider,
    Technician,
)
from app.domain.time import Interval, local_to_utc, zone
from app.services.container import Services

ZONES = ("America/Chicago", "America/New_York", "America/Denver", "America/Los_Angeles")
SERVICES = ("AC repair", "Furnace tune-up", "Water heater install", "Drain cleaning", "Panel upgrade")


@dataclass(slots=True)
class Crew:
    techs: list[Technician] = field(default_factory=list)
    calendars: dict[str, CalendarId] = field(default_factory=dict)  # tech id → calendar id
    customers: list[Customer] = field(default_factory=list)
    bookings: int = 0
    blocks: int = 0


def local(day: date, hh: int, mm: int, tz: str) -> datetime:
    return local_to_utc(day, time(hh, mm), zone(tz))


def add_crew(
    services: Services, count: int, hours: str = "mon-fri 08:00-17:00", customers: int = 200
) -> Crew:
    """`count` techs round-robin over four zones, each with a connected primary calendar."""
    crew = Crew()
    for index in range(count):
        tz = ZONES[index % len(ZONES)]
        tech = services.techs.add(f"Tech {index:03d}", f"tech{index:03d}@bench.example", tz, hours=hours)
        crew.techs.append(tech)
    with services.uow() as uow:
        for tech in crew.techs:
            account = CalendarAccount(
                AccountId(new_id()),
                tech.id,
                Provider.GOOGLE,
                tech.email,
                f"bench:{tech.id}",
                AccountStatus.CONNECTED,
            )
            calendar = Calendar(
                CalendarId(new_id()), account.id, tech.email, "Personal", primary=True, blocks=True
            )
            uow.accounts.add(account)
            uow.calendars.add(calendar)
            crew.calendars[tech.id] = calendar.id
        for index in range(customers):
            customer = Customer(
                CustomerId(new_id()), f"Customer {index:04d}", address=f"{100 + index} Main St"
            )
            uow.customers.add(customer)
            crew.customers.append(customer)
        uow.commit()
    return crew


def add_bookings(services: Services, crew: Crew, items: Iterable[tuple[Technician, Interval]]) -> None:
    """Scheduled bookings (one transaction), customers taken in turn."""
    with services.uow() as uow:
        for tech, span in items:
            customer = crew.customers[crew.bookings % len(crew.customers)]
            uow.bookings.add(
                Booking(
                    id=BookingId(new_id()),
                    customer_id=customer.id,
                    tech_id=tech.id,
                    service=SERVICES[crew.bookings % len(SERVICES)],
                    start=span.start,
                    duration=span.end - span.start,
                    created_at=span.start - timedelta(days=3),
                    updated_at=span.start - timedelta(days=3),
                )
            )
            crew.bookings += 1
        uow.commit()


def add_blocks(
    services: Services, crew: Crew, items: Iterable[tuple[Technician, Interval, str | None, bool, bool]]
) -> None:
    """Calendar busy blocks (tech, span, title or None for private, all-day?, tentative?), one transaction."""
    with services.uow() as uow:
        for tech, span, title, all_day, tentative in items:
            calendar_id = crew.calendars[tech.id]
            remote_id = new_id()
            block = BusyBlock(
                tech.id,
                span,
                BusySource.CALENDAR,
                title=title,
                calendar_id=calendar_id,
                remote_id=remote_id,
                all_day=all_day,
                tentative=tentative,
                calendar_name="Personal",
            )
            uow.busy.replace_for_event(calendar_id, remote_id, [block])
            crew.blocks += 1
        uow.commit()
