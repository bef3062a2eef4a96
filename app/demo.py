"""Over 500 lines: the demo starts, seeds and tears down every part of the product in one place.

`crewboard demo`: the whole two-way loop on a demo business, on this computer only.

It starts the provider sandbox in-process with the demo business (five technicians, three on Google
and two on Outlook, each with a realistic week ahead), and a real CalDAV server (Radicale, a child
process on loopback) for a sixth, iPhone tech whose calendar is iCloud-style CalDAV. It creates the
six technicians in a fresh temporary store, connects each one's calendar through the real sign-in
(the sandbox's consent page is completed by `SandboxApprover`, exactly as `crewboard connect
--approve-as` does; the CalDAV tech's app-specific password goes through the CalDAV connector into
the keyring), reads their calendars once, books a week of jobs into free time only, and opens the
board with sync running. The week is the coming five business days from the day the demo starts (today if it
is one), so a demo started on a Sunday shows a full week ahead rather than the week just past.
The sandbox runs on this computer, so it delivers push notices to a receiver on loopback: a phone
edit reaches the board at once, not at the next poll. A Demo menu opens the "Sandbox phone",
which edits a tech's calendar through the provider's own API so the board can be seen following it.

Nothing touches the user's real data: the database, logs and Radicale's collections live in a
temporary folder removed on exit (Radicale is stopped first), and the sign-ins live in the OS
keyring under a demo-only service name whose entries are deleted on exit. Without a working
keyring the demo still opens, saying why calendars are off.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import signal
import tempfile
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

from app.domain.model import Provider, Technician
from app.domain.time import Clock, SystemClock, local_to_utc, zone
from app.errors import CrewboardError
from app.services.bookings import NewBooking
from app.services.container import Services

if TYPE_CHECKING:
    from app.domain.ids import CalendarId
    from storage.database import Database
    from sync.engine import SyncEngine
    from sync.providers.secrets import TokenStore
    from sync.sandbox.phone import PhoneTech, SandboxPhone
    from sync.sandbox.radicale import DemoCaldavServer
    from sync.sandbox.seed import DemoTech
    from sync.sandbox.server import Sandbox, SandboxUrls
    from sync.wiring import PushSide

log = logging.getLogger(__name__)

DEMO_KEYRING_SERVICE = "crewboard-demo"

# Working hours per demo tech (by email); the rest work mon-fri 08:00-17:00.
HOURS = {
    "jordan.lee@gmail.example": "mon-fri 08:00-17:00; sat 09:00-13:00",
    "casey.nguyen@outlook.example": "mon-fri 07:00-16:00",
}

# (customer, address, service, minutes): a week of HVAC and plumbing work around Chicago and LA.
JOBS_CHICAGO = (
    ("Harbor Dental", "1200 Lake St, Chicago", "AC maintenance", 90),
    ("Greene Residence", "44 Elm Ave, Evanston", "Furnace repair", 120),
    ("Oak Park Library", "834 Lake St, Oak Park", "Thermostat install", 60),
    ("Riverside Bakery", "19 Harlem Ave, Riverside", "Walk-in cooler service", 150),
    ("Kowalski Family", "310 Pine Rd, Skokie", "Water heater flush", 90),
    ("Lakeview Apartments", "2500 N Clark St, Chicago", "Boiler inspection", 180),
    ("Patel Residence", "71 Maple Ct, Oak Brook", "Duct cleaning", 120),
    ("Wicker Park Coffee", "1540 N Milwaukee Ave, Chicago", "Ice machine repair", 60),
    ("Hyde Park Dental", "5300 S Lake Park Ave, Chicago", "Rooftop unit service", 120),
    ("Morales Residence", "18 Willow Ln, Berwyn", "Leaking pipe repair", 90),
)
JOBS_LA = (
    ("Sunset Cafe", "8801 Sunset Blvd, Los Angeles", "Ice machine repair", 120),
    ("Nguyen Residence", "77 Vista Dr, Pasadena", "AC repair", 90),
    ("Bayside Clinic", "400 Ocean Ave, Santa Monica", "Filter replacement", 60),
    ("Marina Lofts", "13900 Marquesas Way, Marina del Rey", "Duct cleaning", 150),
    ("Echo Park Yoga", "1822 Sunset Blvd, Los Angeles", "Mini-split install", 180),
    ("Okafor Residence", "5 Palm Ct, Glendale", "Water heater install", 120),
    ("Silver Lake Books", "3401 W Sunset Blvd, Los Angeles", "Thermostat install", 60),
    ("Venice Bistro", "1000 Abbot Kinney Blvd, Venice", "Walk-in cooler service", 90),
)
TRAVEL = timedelta(minutes=30)
JOBS_PER_DAY = 2

# The iPhone tech: her calendar is iCloud-style CalDAV, served by the demo's own Radicale.
CALDAV_TECH_NAME = "Priya Shah"
CALDAV_TECH_EMAIL = "priya.shah@icloud.example"
CALDAV_TECH_ZONE = "America/Chicago"
CALDAV_SECOND_CALENDAR = "Family"


DEMO_OFFICE_ZONE = "America/Chicago"


BUSINESS_DAYS = 5
LOOPBACK = "127.0.0.1"


def week_start(today: date) -> date:
    return today - timedelta(days=today.weekday())


def demo_days(today: date) -> list[date]:
    """The coming five business days: from today when it is one, else from the next Monday."""
    days: list[date] = []
    day = today
    while len(days) < BUSINESS_DAYS:
        if day.weekday() < 5:
            days.append(day)
        day += timedelta(days=1)
    return days


@dataclass
class DemoSession:
    """A running demo: its sandbox, store, keyring service and phone; `close()` removes all of it."""

    folder: Path
    sandbox: Sandbox
    urls: SandboxUrls
    database: Database
    services: Services
    store: TokenStore
    phone: SandboxPhone
    techs: list[Technician] = field(default_factory=list)
    problem: str | None = None  # why calendars could not be connected, for the banner
    owns_folder: bool = True
    booking_url: str | None = None  # the customers' booking page, once the demo's server is up
    caldav: DemoCaldavServer | None = None  # the CalDAV tech's server (Radicale), stopped on close

    def booking_page_at(self, url: str) -> None:
        self.booking_url = url

    def close(self) -> None:
        from sync.providers.secrets import KeyringUnavailable

        self.phone.close()
        if self.problem is None:
            try:
                for view in self.services.accounts.list():
                    self.store.delete(view.account.token_ref)
            except (KeyringUnavailable, CrewboardError):
                log.warning("could not remove the demo's keyring entries")
        self.database.dispose()
        self.sandbox.stop()
        if self.caldav is not None:
            self.caldav.stop()
        if self.owns_folder:
            shutil.rmtree(self.folder, ignore_errors=True)


def start_demo(
    folder: Path | None = None,
    clock: Clock | None = None,
    store: TokenStore | None = None,
    first_sync: Callable[[Services, TokenStore], None] | None = None,
) -> DemoSession:
    """Sandbox, Radicale, store, the six techs connected and read once, and a week of jobs in their
    free time."""
    from storage.database import open_database
    from sync.providers.secrets import TokenStore
    from sync.sandbox.phone import SandboxPhone
    from sync.sandbox.radicale import DemoCaldavServer
    from sync.sandbox.server import Sandbox

    owns = folder is None
    folder = folder or Path(tempfile.mkdtemp(prefix="crewboard-demo-"))
    clock = clock or SystemClock()
    now = clock.now
    sandbox = Sandbox(clock=now)  # the sandbox's week and the board's week are the same week
    urls = sandbox.start(seed="empty")
    seed_demo_days(sandbox.providers, now())
    database = None
    caldav = DemoCaldavServer(folder / "caldav")
    try:
        caldav.start()
        caldav_password = seed_caldav_tech(caldav, now())
        database = open_database(f"sqlite:///{folder / 'crewboard.db'}")
        services = Services.build(database.unit_of_work, clock)
        # A demo-only keyring service: the user's own Crewboard sign-ins are never touched.
        store = store or TokenStore(service=f"{DEMO_KEYRING_SERVICE}-{uuid.uuid4().hex[:8]}")
        phone = SandboxPhone(
            urls.control, urls.google, urls.graph, urls.ca, caldav=(caldav_phone_tech(), caldav)
        )
        session = DemoSession(folder, sandbox, urls, database, services, store, phone, owns_folder=owns)
        session.caldav = caldav
        session.techs = add_demo_techs(services)
        add_demo_services(services)
        session.problem = connect_demo_techs(
            services, urls, store, session.techs, CaldavSignIn(caldav.url, caldav_password)
        )
        if session.problem is None:
            (first_sync or read_calendars_once)(services, store)
        book_demo_week(services, clock, session.techs)
        return session
    except BaseException:
        if database is not None:
            database.dispose()
        sandbox.stop()
        caldav.stop()
        if owns:
            shutil.rmtree(folder, ignore_errors=True)
        raise


def seed_demo_days(providers: Mapping[str, Any], now: datetime) -> list[str]:
    """The sandbox's demo seed, laid on the coming business days instead of the current week.

    `sync.sandbox.seed` writes each tech's week from this week's Monday; on a Sunday that whole week
    is past. Each Monday-to-Friday event moves to the business day of the same rank in `demo_days`,
    the Saturday one to the first Saturday of that span; the weekly meeting keeps its own dates.
    """
    from sync.sandbox.seed import TECHS, week_specs

    created = []
    for index, tech in enumerate(TECHS):
        provider = providers.get(tech.provider)
        if provider is None:
            continue
        tz = zone(tech.timezone)
        today = now.astimezone(tz).date()
        monday, days = week_start(today), demo_days(today)
        provider.create_account(tech.email, tech.timezone, tech.name)
        provider.add_calendar(tech.email, tech.second_calendar)
        for calendar, spec in week_specs(tech, now, index):
            provider.seed_event(tech.email, calendar, _onto_days(spec, monday, days, tz))
        created.append(tech.email)
    return created


def caldav_tech() -> DemoTech:
    from sync.sandbox.seed import DemoTech

    return DemoTech("caldav", CALDAV_TECH_EMAIL, CALDAV_TECH_NAME, CALDAV_TECH_ZONE, CALDAV_SECOND_CALENDAR)


def caldav_phone_tech() -> PhoneTech:
    from sync.sandbox.phone import PhoneTech

    return PhoneTech(CALDAV_TECH_NAME, CALDAV_TECH_EMAIL, "caldav", CALDAV_TECH_ZONE)


def seed_caldav_tech(server: DemoCaldavServer, now: datetime) -> str:
    """The CalDAV tech's user, two calendars and week, written into Radicale as her iPhone would
    (MKCALENDAR, then a PUT per VEVENT); her app-specific password."""
    from sync.sandbox.seed import TECHS, week_specs

    tech = caldav_tech()
    password = server.add_user(tech.email)
    calendars = {
        None: server.make_calendar(tech.email, "calendar", "Calendar"),
        tech.second_calendar: server.make_calendar(tech.email, "family", tech.second_calendar),
    }
    tz = zone(tech.timezone)
    today = now.astimezone(tz).date()
    monday, days = week_start(today), demo_days(today)
    for calendar, spec in week_specs(tech, now, len(TECHS)):
        server.put_event(tech.email, calendars[calendar], _onto_days(spec, monday, days, tz))
    return password


def _onto_days(spec: dict[str, Any], monday: date, days: list[date], tz: Any) -> dict[str, Any]:
    """`spec` (laid out from `monday`) moved onto `days`; a recurring event is left as it is."""
    if spec.get("rrule"):
        return spec
    first = spec["start_date"] if "start_date" in spec else spec["start"].astimezone(tz).date()
    offset = (first - monday).days
    if 0 <= offset < len(days):
        target = days[offset]
    else:  # the weekend: the first one of the span, same weekday
        target = days[0] + timedelta(days=(first.weekday() - days[0].weekday()) % 7)
    shift = timedelta(days=(target - first).days)
    moved = dict(spec)
    for key in ("start", "end", "start_date", "end_date"):
        if key in moved:
            # Aware datetimes in the tech's zone keep their wall time across a DST change.
            moved[key] = moved[key] + shift
    return moved


def add_demo_techs(services: Services) -> list[Technician]:
    """The sandbox seed's five technicians (same names, emails and zones) and the CalDAV tech."""
    from sync.sandbox.seed import TECHS

    return [
        services.techs.add(t.name, t.email, t.timezone, HOURS.get(t.email, "mon-fri 08:00-17:00"))
        for t in (*TECHS, caldav_tech())
    ]


# (service, minutes, buffer minutes, the demo techs qualified for it): what customers can book online.
DEMO_SERVICES = (
    ("AC repair", 60, 30, ("Alex Rivera", "Jordan Lee", "Morgan Brooks", "Priya Shah")),
    ("Furnace repair", 120, 30, ("Alex Rivera", "Morgan Brooks")),
    ("Drain cleaning", 90, 15, ("Sam Patel", "Casey Nguyen")),
    (
        "Thermostat install",
        60,
        0,
        ("Alex Rivera", "Jordan Lee", "Sam Patel", "Casey Nguyen", "Morgan Brooks", "Priya Shah"),
    ),
)
DEMO_BUSINESS = "Lakeshore Heating & Plumbing"


def add_demo_services(services: Services) -> None:
    """The service types of the demo's booking page (Demo ▸ Booking page)."""
    from app.services.service_types import ServiceTypeService

    kinds = ServiceTypeService(services.uow)
    for name, minutes, buffer, techs in DEMO_SERVICES:
        kinds.add(name, timedelta(minutes=minutes), timedelta(minutes=buffer), techs)


@dataclass(frozen=True, slots=True)
class CaldavSignIn:
    """Where the CalDAV tech's calendar is and the app-specific password she made for Crewboard."""

    url: str
    password: str = field(repr=False)


def connect_demo_techs(
    services: Services,
    urls: SandboxUrls,
    store: TokenStore,
    techs: list[Technician],
    caldav: CaldavSignIn | None = None,
) -> str | None:
    """Sign each tech in headlessly (sandbox accounts through their consent pages, the CalDAV tech
    with her password, as `crewboard connect --provider caldav` does); the reason if calendars
    cannot be connected."""
    from sync.providers.caldav_auth import CaldavConnector
    from sync.providers.endpoints import read_endpoints
    from sync.providers.google_auth import GoogleConnector
    from sync.providers.microsoft_auth import MicrosoftConnector
    from sync.providers.secrets import KeyringUnavailable
    from sync.sandbox.approver import SandboxApprover
    from sync.sandbox.seed import TECHS

    try:
        store.check()
    except KeyringUnavailable as error:
        log.warning("demo without calendars: %s", error)
        return str(error)
    endpoints = read_endpoints(urls.control)
    providers = {t.email: t.provider for t in TECHS}
    for tech in techs:
        approver = SandboxApprover(tech.email, endpoints.ca)
        connector: Any
        if tech.email not in providers:
            if caldav is None:
                continue
            connector = CaldavConnector(caldav.url, tech.email, caldav.password, store)
            provider = Provider.CALDAV
        elif providers[tech.email] == "google":
            connector = GoogleConnector(
                endpoints.google_settings(), store, browser=approver, login_hint=tech.email
            )
            provider = Provider.GOOGLE
        else:
            connector = MicrosoftConnector(
                endpoints.microsoft_settings(), store, browser=approver, login_hint=tech.email
            )
            provider = Provider.MICROSOFT
        try:
            services.accounts.connect(tech.id, provider, connector)
        except CrewboardError as error:
            log.warning("demo could not connect %s: %s", tech.name, error)
            return f"{tech.name}'s calendar could not be connected: {error}"
        finally:
            connector.close()
    return None


class DemoSync:
    """The desktop's sync, plus push on loopback, wired as `crewboard sync --listen` wires it.

    The sandbox runs on this computer and delivers Google's channel notices and Graph's change
    notices to a loopback receiver (real providers need a public https address, which a desktop
    has not). A verified notice makes the engine read that calendar at once, so a phone edit shows
    on the board within a second; polling carries on beside it in case a notice is lost.
    """

    def __init__(
        self, services: Services, store: TokenStore, on_listening: Callable[[str], None] | None = None
    ) -> None:
        from app.main import build_sync_engine
        from app.services.job_links import JobPageService
        from app.services.online_booking import OnlineBookingService
        from app.web.booking import booking_routes
        from app.web.job import job_routes
        from app.web.server import serve_routes
        from sync.providers.factory import open_provider
        from sync.wiring import PushSide

        self._sync = build_sync_engine(services, store)
        self.engine: SyncEngine = self._sync.engine

        def provider_for(account: Any) -> Any:
            return open_provider(account, store)

        self.push: PushSide = PushSide(
            services.uow,
            provider_for,
            services.clock,
            self.engine.request_read,
            serve_routes,
            pool=self.engine.providers,
            polls=self.engine.polls,
            # The customers' booking page and the techs' job pages, on the same loopback server as
            # the push receiver.
            extra_routes=[
                *booking_routes(
                    OnlineBookingService.for_office(
                        services.uow, services.clock, services.bus, DEMO_OFFICE_ZONE
                    ),
                    business_name=DEMO_BUSINESS,
                ),
                *job_routes(JobPageService(services.uow, services.clock), business_name=DEMO_BUSINESS),
            ],
        )
        self._services = services
        self._on_listening = on_listening
        self.listening = asyncio.Event()  # set once the receiver is up, or push is off (then polling only)

    async def run_forever(self, stop: asyncio.Event) -> None:
        watching: asyncio.Future[None] | None = None
        try:
            keeper = await self.push.start(LOOPBACK, 0)
        except OSError as error:
            log.warning("demo without push (the board follows the phone at each poll): %s", error)
        else:
            watching = asyncio.ensure_future(keeper.run(stop))
            log.info("demo push notices are received on %s", self.push.receiver.url)
            # Job events link the job pages served here (on this computer only, as the demo is).
            await asyncio.to_thread(self._publish, self.push.receiver.url)
            if self._on_listening is not None:
                self._on_listening(f"{self.push.receiver.url}/book/")
        self.listening.set()
        try:
            await self._sync.run_forever(stop)
        finally:
            stop.set()
            if watching is not None:
                await watching
            await self.push.aclose()

    def _publish(self, url: str) -> None:
        from app.services.job_links import publish_address

        with self._services.uow() as uow:
            publish_address(uow, url, self._services.clock.now())
            uow.commit()

    def request_read(self, calendar_id: CalendarId) -> None:
        self._sync.request_read(calendar_id)

    async def aclose(self) -> None:
        await self._sync.aclose()


def read_calendars_once(services: Services, store: TokenStore) -> None:
    """One sync round before the window opens, so jobs are booked around the techs' own events."""
    from app.main import build_sync_engine

    async def once() -> None:
        sync = build_sync_engine(services, store)
        try:
            await sync.engine.run_once()
        finally:
            await sync.aclose()

    asyncio.run(once())


def book_demo_week(services: Services, clock: Clock, techs: list[Technician]) -> None:
    """Two jobs a business day per tech over `demo_days`, each at the earliest free time (never
    over their busy time)."""
    chicago = iter(JOBS_CHICAGO * 4)
    la = iter(JOBS_LA * 4)
    for tech in techs:
        tz = zone(tech.timezone)
        jobs = la if tech.timezone == "America/Los_Angeles" else chicago
        for day in demo_days(clock.now().astimezone(tz).date()):
            search_from = local_to_utc(day, time(8, 0), tz)
            day_end = local_to_utc(day + timedelta(days=1), time(0), tz)
            for _ in range(JOBS_PER_DAY):
                customer, address, service, minutes = next(jobs)
                duration = timedelta(minutes=minutes)
                slots = services.schedule.earliest(duration, [tech.id], start=search_from, days=1)
                if not slots or slots[0].interval.start + duration > day_end:
                    break  # the day is full (PTO, say): no job is forced over busy time
                start = slots[0].interval.start
                services.bookings.create(
                    NewBooking(customer, service, duration, start, tech.id, address=address)
                )
                search_from = start + duration + TRAVEL
    services.bookings.create(
        NewBooking(
            "Jensen Hardware",
            "Rooftop unit inspection",
            timedelta(minutes=120),
            address="5 Main St, Naperville",
        )
    )
    services.bookings.create(
        NewBooking(
            "Westwood Pediatrics", "AC not cooling", timedelta(minutes=90), address="10921 Wilshire Blvd, LA"
        )
    )


def demo_banner(problem: str) -> str:
    return (
        f"Calendars could not be connected: {problem} The board works with the demo jobs; calendar sync "
        "and the Sandbox phone's effect on the board are off until a keyring is available."
    )


def decorate_demo_window(session: DemoSession) -> Callable[[Any, Any], None]:
    """The Demo menu (Sandbox phone…) and, without a keyring, the banner saying why."""

    def decorate(window: Any, setup: Any) -> None:
        from ui.phone import PhoneWindow

        menu = window.menuBar().addMenu("&Demo")
        action = menu.addAction("Sandbox &phone…")
        action.setObjectName("sandboxPhoneAction")

        def open_phone() -> None:
            current = getattr(window, "phone_window", None)
            if current is not None and current.isVisible():
                current.raise_()
                current.activateWindow()
                return
            phone = PhoneWindow(session.phone, session.services.clock, window)
            window.phone_window = phone
            phone.show()

        action.triggered.connect(open_phone)
        booking = menu.addAction("&Booking page (as customers see it)")
        booking.setObjectName("bookingPageAction")

        def open_booking_page() -> None:
            from PySide6.QtCore import QUrl
            from PySide6.QtGui import QDesktopServices

            if session.booking_url is None:
                window.show_error("The booking page is not running: it starts with calendar sync.")
            else:
                QDesktopServices.openUrl(QUrl(session.booking_url))

        booking.triggered.connect(open_booking_page)
        if session.problem is not None:
            window.show_error(demo_banner(session.problem))
        else:
            window.show_info(
                "Demo: six technicians with their calendars connected (Priya Shah's is iCloud-style "
                "CalDAV, on a real CalDAV server). Demo ▸ Sandbox phone edits a tech's calendar as their "
                "phone would; Demo ▸ Booking page is what customers book on; double-click a tech's name "
                "for calendar settings."
            )

    return decorate


def _stop_starting(signum: int, frame: FrameType | None) -> None:
    """SIGTERM or SIGHUP while the demo is still being set up: unwind, so its folders are removed."""
    raise SystemExit(128 + signum)


def run_demo() -> int:
    # Until the window takes over (it closes itself on these signals), a stop unwinds the set-up.
    from app.main import stop_signals

    for sig in stop_signals():
        signal.signal(sig, _stop_starting)
    folder = Path(tempfile.mkdtemp(prefix="crewboard-demo-"))
    os.environ.setdefault("CREWBOARD_LOG_DIR", str(folder / "logs"))
    # The demo business works from Chicago: the board's time axis and alert times use its clock.
    os.environ.setdefault("CREWBOARD_TIMEZONE", DEMO_OFFICE_ZONE)
    from app.logs import configure_logging, log_file

    configure_logging()
    try:
        session = start_demo(folder)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    session.owns_folder = True
    try:
        from app.about import about_facts
        from app.main import run_desktop

        return run_desktop(
            session.services,
            sandbox_control=session.urls.control,
            sandbox_identity_url=session.urls.microsoft,
            store=session.store,
            title_suffix="demo",
            decorate=decorate_demo_window(session),
            log_path=str(log_file()),
            sync=session.problem is None,
            build_sync=lambda: DemoSync(session.services, session.store, session.booking_page_at),
            about=about_facts(str(session.folder / "crewboard.db")),
        )
    finally:
        session.close()
