"""A realistic small business for GUI tests and screenshots: techs in two zones, a week of jobs,
calendar busy time (private, all-day, tentative), time off, unassigned jobs, sync health."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from app.domain.ids import AccountId, BookingId, CalendarId, ConflictId, TechId, new_id
from app.domain.model import (
    AccountStatus,
    Booking,
    BusyBlock,
    BusySource,
    Calendar,
    CalendarAccount,
    Conflict,
    ConflictKind,
    HealthLevel,
    Provider,
    SyncHealth,
    Technician,
)
from app.domain.time import Interval, local_to_utc, zone
from app.services.bookings import NewBooking
from app.services.container import Services

CHICAGO = "America/Chicago"
DENVER = "America/Denver"
MONDAY = date(2026, 11, 2)
# Wednesday 4 Nov 2026, 10:40 in Chicago: a working morning in the middle of the demo week.
DEMO_NOW = datetime(2026, 11, 4, 16, 40, tzinfo=UTC)


def at(day: date, hh: int, mm: int = 0, tz: str = CHICAGO) -> datetime:
    return local_to_utc(day, time(hh, mm), zone(tz))


@dataclass
class Business:
    techs: dict[str, Technician] = field(default_factory=dict)
    bookings: dict[str, Booking] = field(default_factory=dict)
    calendars: dict[str, CalendarId] = field(default_factory=dict)
    accounts: dict[str, AccountId] = field(default_factory=dict)


def add_tech(
    services: Services,
    name: str,
    tz: str = CHICAGO,
    hours: str = "mon-fri 08:00-17:00",
    color: str | None = None,
) -> Technician:
    email = name.lower().replace(" ", ".") + "@example.com"
    return services.techs.add(name, email, tz, hours=hours, color=color)


def connect_calendar(
    services: Services,
    tech: Technician,
    status: AccountStatus = AccountStatus.CONNECTED,
    name: str = "Personal",
) -> tuple[AccountId, CalendarId]:
    account = CalendarAccount(
        AccountId(new_id()), tech.id, Provider.GOOGLE, tech.email, f"token:{tech.id}", status
    )
    calendar = Calendar(CalendarId(new_id()), account.id, f"{tech.email}", name, primary=True, blocks=True)
    with services.uow() as uow:
        uow.accounts.add(account)
        uow.calendars.add(calendar)
        uow.commit()
    return account.id, calendar.id


def add_busy(
    services: Services,
    tech: Technician,
    calendar_id: CalendarId,
    span: Interval,
    title: str | None,
    all_day: bool = False,
    tentative: bool = False,
    calendar_name: str = "Personal",
) -> None:
    """A calendar busy block as the sync engine would materialize it (written through the repositories)."""
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
        calendar_name=calendar_name,
    )
    with services.uow() as uow:
        uow.busy.replace_for_event(calendar_id, remote_id, [block])
        uow.commit()


def all_day(day: date, tz: str) -> Interval:
    return Interval(at(day, 0, 0, tz), at(day + timedelta(days=1), 0, 0, tz))


def book(
    services: Services,
    biz: Business,
    key: str,
    customer: str,
    service: str,
    tech: str | None,
    start: datetime | None,
    minutes: int,
    address: str = "",
    phone: str = "",
    notes: str = "",
    force: bool = False,
) -> Booking:
    booking = services.bookings.create(
        NewBooking(
            customer=customer,
            service=service,
            duration=timedelta(minutes=minutes),
            start=start,
            tech=biz.techs[tech].id if tech else None,
            address=address or None,
            phone=phone or None,
            notes=notes,
        ),
        force=force,
    )
    biz.bookings[key] = booking
    return booking


def build_business(services: Services) -> Business:
    biz = Business()
    specs = [
        ("Dana Ortiz", CHICAGO, "mon-fri 07:00-16:00", "#2563eb"),
        ("Elena Novak", DENVER, "mon-fri 08:00-17:00", "#16a34a"),
        ("Jordan Brooks", DENVER, "mon-fri 08:00-12:00,13:00-17:00", "#d97706"),
        ("Marcus Lee", CHICAGO, "mon-fri 08:00-17:00; sat 09:00-13:00", "#9333ea"),
        ("Priya Shah", CHICAGO, "mon-fri 09:00-18:00", "#0891b2"),
        ("Sam Whitaker", CHICAGO, "mon-thu 07:00-17:30", "#db2777"),
    ]
    for name, tz, hours, color in specs:
        biz.techs[name] = add_tech(services, name, tz, hours, color)
    for name in ("Dana Ortiz", "Elena Novak", "Marcus Lee", "Priya Shah"):
        account, calendar = connect_calendar(services, biz.techs[name])
        biz.accounts[name], biz.calendars[name] = account, calendar
    account, calendar = connect_calendar(services, biz.techs["Jordan Brooks"], AccountStatus.NEEDS_RECONNECT)
    biz.accounts["Jordan Brooks"], biz.calendars["Jordan Brooks"] = account, calendar
    with services.uow() as uow:
        for name in ("Dana Ortiz", "Elena Novak", "Marcus Lee"):
            uow.health.put(SyncHealth(biz.accounts[name], last_success=DEMO_NOW - timedelta(minutes=1)))
        uow.health.put(
            SyncHealth(
                biz.accounts["Priya Shah"],
                last_success=DEMO_NOW - timedelta(minutes=52),
                failing_since=DEMO_NOW - timedelta(minutes=41),
                last_error="Google answered 503 (service unavailable)",
                level=HealthLevel.DISPATCHER,
            )
        )
        uow.commit()

    mon, tue, wed, thu, fri = (MONDAY + timedelta(days=i) for i in range(5))
    t = biz.techs
    # Calendar busy time.
    add_busy(
        services,
        t["Dana Ortiz"],
        biz.calendars["Dana Ortiz"],
        Interval(at(wed, 12), at(wed, 13)),
        "Lunch with supplier",
    )
    add_busy(
        services,
        t["Elena Novak"],
        biz.calendars["Elena Novak"],
        Interval(at(wed, 14, 0, DENVER), at(wed, 15, 0, DENVER)),
        None,
    )
    add_busy(
        services,
        t["Marcus Lee"],
        biz.calendars["Marcus Lee"],
        all_day(thu, CHICAGO),
        "Trade show",
        all_day=True,
    )
    add_busy(
        services,
        t["Priya Shah"],
        biz.calendars["Priya Shah"],
        Interval(at(wed, 9), at(wed, 10, 30)),
        "Dentist",
    )
    add_busy(
        services,
        t["Priya Shah"],
        biz.calendars["Priya Shah"],
        Interval(at(mon, 16), at(mon, 17)),
        "School pickup",
        tentative=True,
    )
    add_busy(
        services,
        t["Dana Ortiz"],
        biz.calendars["Dana Ortiz"],
        Interval(at(tue, 7), at(tue, 8)),
        "Van service",
        calendar_name="Fleet",
    )
    # Time off.
    services.time_off.add_days(t["Sam Whitaker"].id, fri, 1, "Vacation")
    services.time_off.add_span(
        t["Jordan Brooks"].id, at(wed, 8, 0, DENVER), at(wed, 10, 0, DENVER), "Training"
    )

    jobs = [
        (
            "hill",
            "Hill family",
            "AC repair",
            "Dana Ortiz",
            at(wed, 8),
            90,
            "412 Oak St, Evanston",
            "(847) 555-0142",
        ),
        (
            "garcia",
            "Garcia Bakery",
            "Furnace tune-up",
            "Dana Ortiz",
            at(wed, 10),
            60,
            "18 Main St, Skokie",
            "",
        ),
        (
            "park",
            "Park residence",
            "Water heater install",
            "Dana Ortiz",
            at(wed, 13, 30),
            150,
            "77 Elm Ave",
            "",
        ),
        (
            "chen",
            "Chen dental office",
            "Heat pump service",
            "Elena Novak",
            at(wed, 8, 30, DENVER),
            120,
            "2200 Blake St, Denver",
            "",
        ),
        (
            "ruiz",
            "Ruiz family",
            "Leak repair",
            "Elena Novak",
            at(wed, 11, 0, DENVER),
            90,
            "9 Pine Ct, Aurora",
            "",
        ),
        (
            "patel",
            "Patel residence",
            "Drain cleaning",
            "Jordan Brooks",
            at(wed, 10, 30, DENVER),
            90,
            "145 Cedar Dr, Boulder",
            "",
        ),
        (
            "oneill",
            "O'Neill apartments",
            "Toilet repair",
            "Jordan Brooks",
            at(wed, 13, 0, DENVER),
            60,
            "3 Canal St",
            "",
        ),
        ("kim", "Kim family", "Deep clean", "Marcus Lee", at(wed, 8), 180, "51 Lake Shore Dr", ""),
        (
            "brown",
            "Brown & Co. offices",
            "Standard clean",
            "Marcus Lee",
            at(wed, 12),
            120,
            "600 W Adams St",
            "",
        ),
        ("lopez", "Lopez residence", "Estimate", "Priya Shah", at(wed, 11), 45, "88 Birch Ln", ""),
        ("nguyen", "Nguyen family", "AC tune-up", "Priya Shah", at(wed, 13), 90, "12 Walnut St", ""),
        (
            "taylor",
            "Taylor & Sons",
            "Furnace repair",
            "Sam Whitaker",
            at(wed, 7, 30),
            120,
            "400 Industrial Pkwy",
            "",
        ),
        (
            "wright",
            "Wright residence",
            "Water heater repair",
            "Sam Whitaker",
            at(wed, 10, 30),
            90,
            "23 Maple Ave",
            "",
        ),
        ("adams", "Adams family", "AC repair", "Dana Ortiz", at(mon, 9), 120, "5 Spruce St", ""),
        ("baker", "Baker clinic", "Heat pump service", "Elena Novak", at(mon, 10, 0, DENVER), 90, "", ""),
        ("cole", "Cole residence", "Move-out clean", "Marcus Lee", at(mon, 13), 240, "", ""),
        ("diaz", "Diaz family", "Leak repair", "Priya Shah", at(tue, 10), 90, "", ""),
        ("evans", "Evans pharmacy", "Furnace tune-up", "Sam Whitaker", at(tue, 8), 60, "", ""),
        ("fox", "Fox residence", "Drain cleaning", "Jordan Brooks", at(tue, 14, 0, DENVER), 90, "", ""),
        ("gray", "Gray family", "AC tune-up", "Dana Ortiz", at(thu, 9), 90, "", ""),
        ("hart", "Hart bakery", "Standard clean", "Priya Shah", at(thu, 14), 120, "", ""),
        ("ito", "Ito residence", "Water heater install", "Elena Novak", at(thu, 9, 0, DENVER), 180, "", ""),
        ("jones", "Jones family", "Furnace repair", "Dana Ortiz", at(fri, 10), 120, "", ""),
        ("khan", "Khan offices", "Deep clean", "Marcus Lee", at(fri, 8), 240, "", ""),
    ]
    for key, customer, service, tech, start, minutes, address, phone in jobs:
        book(services, biz, key, customer, service, tech, start, minutes, address, phone)
    # Booked over the tech's private event on purpose (the dispatcher forced it).
    book(
        services,
        biz,
        "quinn",
        "Quinn residence",
        "Estimate",
        "Elena Novak",
        at(wed, 14, 0, DENVER),
        60,
        "31 Aspen Way",
        force=True,
    )
    book(
        services,
        biz,
        "unassigned1",
        "Morris family",
        "AC repair",
        None,
        None,
        90,
        "14 Willow Rd",
        notes="Customer prefers mornings",
    )
    book(
        services,
        biz,
        "unassigned2",
        "Lakeside condos",
        "Drain cleaning",
        None,
        at(thu, 13),
        120,
        "1 Lakeside Pl",
    )
    # A conflict the sync engine found: a personal event landed on a booking.
    with services.uow() as uow:
        uow.conflicts.add(
            Conflict(
                ConflictId(new_id()),
                BookingId(biz.bookings["nguyen"].id),
                t["Priya Shah"].id,
                ConflictKind.OVERLAP,
                DEMO_NOW - timedelta(minutes=20),
                other_title="Parent-teacher meeting",
                detail="'Parent-teacher meeting' was added to Priya's calendar at 13:30",
            )
        )
        uow.commit()
    return biz


def tech_id(biz: Business, name: str) -> TechId:
    return biz.techs[name].id
