"""The desktop composition root: open the store, build the use cases, start sync and the window.

This is where the ui meets the parts it must not import: the provider sign-ins (`sync.providers`)
reach the screens only as a connector factory, and the sync engine only as a runner with
start/stop/request_read. Imports of Qt, the store and the providers happen inside functions, so
the command line stays fast when it only prints help or runs a headless command.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import subprocess
import sys
import webbrowser
from collections.abc import Callable, Coroutine
from types import FrameType
from typing import TYPE_CHECKING, Any

from app import office
from app.domain.ids import CalendarId
from app.domain.model import CalendarAccount, Provider
from app.errors import CrewboardError, StorageError
from app.services.container import Services
from app.services.ports import CalendarConnector

if TYPE_CHECKING:
    from app.about import AboutFacts
    from sync.engine import SyncEngine
    from sync.providers.secrets import TokenStore
    from sync.wiring import SyncCompanions
    from ui.main_window import MainWindow
    from ui.signin import ConnectionSetup
    from ui.store_reach import StoreReachNotice

log = logging.getLogger(__name__)

Browser = Callable[[str], object]
Decorate = Callable[["MainWindow", "ConnectionSetup"], None]


def connector_factory(
    sandbox_control: str | None, store: TokenStore | None = None
) -> Callable[..., CalendarConnector]:
    """`make_connector(provider, sandbox, browser=None)`: the sign-in the calendar screens start.

    Real accounts use the client ids from settings; `sandbox=True` uses the sandbox at
    `sandbox_control`. Tokens go to `store` (the OS keyring under its service name).
    """

    def make(provider: Provider, sandbox: bool, browser: Browser | None = None) -> CalendarConnector:
        from sync.providers import config
        from sync.providers.caldav_auth import CaldavConnector
        from sync.providers.endpoints import read_endpoints

        if provider is Provider.CALDAV:  # disconnecting or checking: the password is in the keyring
            return CaldavConnector(store=store)
        from sync.providers.google_auth import GoogleConnector
        from sync.providers.microsoft_auth import MicrosoftConnector

        if sandbox and not sandbox_control:
            raise config.ConfigurationError(
                "No provider sandbox is running; start the app with 'crewboard demo' to use sandbox calendars."
            )
        endpoints = read_endpoints(sandbox_control) if sandbox and sandbox_control else None
        opener: Browser = browser or webbrowser.open
        if provider is Provider.GOOGLE:
            google = endpoints.google_settings() if endpoints else config.google_settings()
            return GoogleConnector(google, store, browser=opener)
        microsoft = endpoints.microsoft_settings() if endpoints else config.microsoft_settings()
        return MicrosoftConnector(microsoft, store, browser=opener)

    return make


class OutlookColourConnectors:
    """Microsoft sign-ins that also ask for the permission Outlook colour needs (incremental consent).

    The desktop's "Show jobs in this tech's colour in Outlook" switch signs the tech in through one
    of these; `granted` then says whether the tech allowed it (the connector knows, the ui must not).
    """

    def __init__(self, sandbox_control: str | None, store: TokenStore | None = None) -> None:
        self._sandbox_control = sandbox_control
        self._store = store

    def connector(self, sandbox: bool, login_hint: str | None = None) -> CalendarConnector:
        from sync.providers import config
        from sync.providers.endpoints import read_endpoints
        from sync.providers.microsoft_auth import COLOUR_SCOPE, MicrosoftConnector

        if sandbox and not self._sandbox_control:
            raise config.ConfigurationError(
                "No provider sandbox is running; start the app with 'crewboard demo' to use sandbox calendars."
            )
        settings = (
            read_endpoints(self._sandbox_control).microsoft_settings()
            if sandbox and self._sandbox_control
            else config.microsoft_settings()
        )
        return MicrosoftConnector(settings, self._store, login_hint=login_hint, extra_scopes=(COLOUR_SCOPE,))

    def granted(self, connector: CalendarConnector, account: CalendarAccount) -> bool:
        from sync.providers.microsoft_auth import COLOUR_SCOPE, MicrosoftConnector

        return isinstance(connector, MicrosoftConnector) and connector.has_scope(account, COLOUR_SCOPE)


def caldav_connector_factory(store: TokenStore | None = None) -> Callable[[str, str, str], CalendarConnector]:
    """What the "Connect iCloud / CalDAV" dialog connects with: server, user name, app password."""

    def make(url: str, username: str, password: str) -> CalendarConnector:
        from sync.providers.caldav_auth import CaldavConnector

        return CaldavConnector(url, username, password, store)

    return make


def build_sync_engine(services: Services, store: TokenStore | None = None) -> DesktopSync:
    """The two-way sync engine over the app's store, with health escalation and alert e-mail beside it."""
    from sync.engine import SyncEngine
    from sync.providers.factory import open_provider
    from sync.providers.secrets import TokenStore
    from sync.wiring import SyncCompanions, build_health_monitor

    tokens = store or TokenStore()

    def provider_for(account: Any) -> Any:
        return open_provider(account, tokens)

    monitor = build_health_monitor(
        services.uow, services.clock, services.bus, office_zone=office.office_zone()
    )
    engine = SyncEngine(
        services.uow,
        provider_for,
        services.clock,
        services.bus,
        health=monitor,
        holder_name="Crewboard desktop",
    )
    companions = SyncCompanions(monitor, services.uow, services.clock, provider_for, pool=engine.providers)
    return DesktopSync(engine, companions)


class DesktopSync:
    """The engine plus its companions (health rounds, alert delivery), run and stopped as one."""

    def __init__(self, engine: SyncEngine, companions: SyncCompanions) -> None:
        self.engine = engine
        self._companions = companions

    async def run_forever(self, stop: asyncio.Event) -> None:
        beside = asyncio.ensure_future(self._companions.run(self.engine.request_read, stop))
        try:
            await self.engine.run_forever(stop)
        finally:
            stop.set()
            await beside

    def request_read(self, calendar_id: CalendarId) -> None:
        self.engine.request_read(calendar_id)

    async def aclose(self) -> None:
        await self.engine.aclose()


def run_desktop(
    services: Services,
    *,
    sandbox_control: str | None = None,
    sandbox_identity_url: str | None = None,
    store: TokenStore | None = None,
    title_suffix: str = "",
    decorate: Decorate | None = None,
    log_path: str | None = None,
    sync: bool = True,
    office_zone: str | None = None,
    build_sync: Callable[[], Any] | None = None,
    about: AboutFacts | None = None,
    first_run: bool = False,
) -> int:
    """Show the dispatch board over `services`, sync in the background, run until the window closes.

    `build_sync` makes the background sync (anything with run_forever, request_read and aclose)
    instead of `build_sync_engine`; the demo adds push on loopback that way. `about` is what
    Help ▸ About shows (the version, the store, the log). `first_run` welcomes a store with no
    technicians (the demo never needs it).
    """
    import qasync
    from PySide6.QtWidgets import QApplication

    from ui.about import attach_about
    from ui.gc_guard import MainThreadGarbageCollector
    from ui.main_window import MainWindow
    from ui.settings import attach_calendar_settings
    from ui.settings.caldav_dialog import CALDAV_CONNECTOR
    from ui.signin import ConnectionSetup
    from ui.store_reach import StoreReachNotice
    from ui.style import apply_style
    from ui.sync_runner import SyncRunner
    from ui.worker import set_log_path

    set_log_path(log_path)
    app = QApplication.instance() or QApplication(sys.argv)
    assert isinstance(app, QApplication)
    app.setApplicationName("Crewboard")
    app.setOrganizationName("Crewboard")
    apply_style(app)
    collector = MainThreadGarbageCollector(app)  # Qt objects in cycles die on the GUI thread
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    runner: SyncRunner | None = None
    if sync:
        try:
            runner = SyncRunner(
                build_sync() if build_sync is not None else build_sync_engine(services, store)
            )
        except Exception:  # the board works without sync; the log says why it is off
            log.exception("calendar sync could not start")
    setup = ConnectionSetup(
        make_connector=connector_factory(sandbox_control, store),
        sandbox=sandbox_control is not None,
        sandbox_identity_url=sandbox_identity_url,
        sync=runner,
        extra={CALDAV_CONNECTOR: caldav_connector_factory(store)},
        outlook_colour=OutlookColourConnectors(sandbox_control, store),
    )
    closed = asyncio.Event()
    # The window's banner hears of the store lost and back, once the window exists (the relay
    # reports only after the loop starts).
    reach: list[StoreReachNotice] = []

    def on_connection(problem: StorageError | None) -> None:
        for notice in reach:
            notice.report(problem)

    relay = feed_relay(services, on_connection)  # before the window's first snapshot: nothing falls between
    window = MainWindow(
        services, office_zone=office_zone or office.office_zone_name(), title_suffix=title_suffix
    )
    reach.append(StoreReachNotice(window))
    collector.settle()  # what start-up built lives as long as the window
    attach_calendar_settings(window, setup)
    if about is not None:
        attach_about(window, about)
    if first_run:
        from storage.store_choice import save_store_url
        from ui.first_run import FirstRunActions, attach_first_run
        from ui.settings import open_calendar_settings

        attach_first_run(
            window,
            FirstRunActions(
                start_demo=start_demo_program,
                save_store=save_store_url,
                open_calendar=lambda tech_id: open_calendar_settings(window, setup, tech_id),
            ),
        )
    if decorate is not None:
        decorate(window, setup)
    window.closed.connect(closed.set)
    window.resize(1440, 860)
    window.show()

    def on_terminate(signum: int, frame: FrameType | None) -> None:
        # A polite stop (`kill`, a session logging out, a closed terminal) closes the window as the
        # user would, so whoever opened the app cleans up after it (the demo removes its folder).
        loop.call_soon_threadsafe(window.close)

    previous = {sig: signal.signal(sig, on_terminate) for sig in stop_signals()}
    try:
        with loop:
            if runner is not None:
                runner.start()
            relaying = loop.create_task(relay()) if relay is not None else None
            loop.run_until_complete(closed.wait())
            if relaying is not None:
                relaying.cancel()
                loop.run_until_complete(asyncio.gather(relaying, return_exceptions=True))
            if runner is not None:
                loop.run_until_complete(runner.wait_stopped())
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        asyncio.set_event_loop(None)
        collector.stop()
    return 0


def stop_signals() -> tuple[signal.Signals, ...]:
    """The polite stops this platform has: SIGTERM, and SIGHUP where there is one (not on Windows)."""
    hangup = getattr(signal, "SIGHUP", None)
    return (signal.SIGTERM,) if hangup is None else (signal.SIGTERM, hangup)


def demo_command() -> list[str]:
    """How to start `crewboard demo` as its own program, from a bundle or from a virtualenv."""
    if getattr(sys, "frozen", False):  # a PyInstaller bundle: the executable is crewboard itself
        return [sys.executable, "demo"]
    return [sys.executable, "-m", "app.cli", "demo"]


def start_demo_program() -> None:
    """Open the demo beside this window, as a program of its own (its own store, sandbox, folder)."""
    subprocess.Popen(  # a new process, not a fork: the same on Windows and macOS
        demo_command(),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # closing this window leaves the demo running
    )


def feed_relay(
    services: Services, on_connection: Callable[[StorageError | None], None] | None = None
) -> Callable[[], Coroutine[Any, Any, None]] | None:
    """What keeps this desk's screens live: other programs' changes relayed onto its bus.

    The starting number is read now, before the first snapshot, so a change committed while the
    window opens is relayed rather than lost. None when the store offers no feed (or cannot be
    read: the board still works, it only misses other desks' changes until restarted).
    """
    from app.services.feed_relay import FeedRelay

    feed = services.feed
    if feed is None:
        return None
    try:
        since = feed.last_seq()
    except CrewboardError:
        log.exception("the change feed cannot be read; other desks' changes will not show live")
        return None
    relay = FeedRelay(feed, services.uow, services.bus, on_connection=on_connection)
    return lambda: relay.run(since)


def open_app(db_url: str | None, desk: str | None = None) -> int:
    """Open the database named by `db_url` (or the default) and run the dispatch board until it closes."""
    from app.composition import about_store, is_office_store, open_services
    from app.logs import configure_logging, log_file

    configure_logging()
    import ui  # noqa: F401 - after logging is set up: importing ui may log a warning

    # The rule for a desk: on an office store (PostgreSQL) it never syncs, whether or not a service
    # runs right now. The service owns sync; the desk writes bookings and settings to the store,
    # which wakes the service, and its health window says who owns sync. A desk that synced
    # whenever no service answered would race a service starting up and hold tokens only the
    # service's keyring should hold. On SQLite (one desk) the desk syncs, as before.
    office_desk = is_office_store(db_url)
    with open_services(db_url, desk=desk) as services:
        return run_desktop(
            services,
            log_path=str(log_file()),
            about=about_store(db_url),
            first_run=True,
            sync=not office_desk,
            store=handover_store(services) if office_desk else None,
        )


def handover_store(services: Services) -> TokenStore:
    """Where a desk on the office store puts a tech's sign-in: sealed to the office service, in the
    store (sync.token_handover), never in this desk's keyring."""
    from sync.token_handover import HandoverTokenStore

    return HandoverTokenStore(services.uow, services.clock)
