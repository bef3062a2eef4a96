"""`crewboard serve`: the office's always-on service (sync owner or standby, and its web side).

    crewboard serve --db postgresql://crewboard@db.office/crewboard \\
        [--listen 127.0.0.1:8470] [--public-url https://relay.example.com/crewboard]

It runs the sync engine, health escalation with its e-mail and, with --public-url, the push
channels, while it owns sync (one process per store; a second one stands by and takes over within
seconds when the owner dies: sync.office_service). Its web side listens from start to end on
--listen: the push routes, GET /healthz, and the routes other packages mount (the booking page,
the techs' job pages).
CREWBOARD_LISTEN and CREWBOARD_PUBLIC_URL stand in for the flags (the systemd unit's environment
file sets them, with CREWBOARD_DB). Stops cleanly on Ctrl-C or SIGTERM, releasing ownership.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys
from typing import TYPE_CHECKING, Any

from app.cli.monitoring import add_threshold_arguments, check_public_url, listen_argument
from app.cli.sync import build_engine, seconds_argument
from app.domain.model import CalendarAccount
from app.errors import InvalidInput
from app.office import office_zone_name
from app.services.container import Services

if TYPE_CHECKING:  # the sync machinery loads only when the command runs
    from starlette.routing import BaseRoute

    from sync.engine import SyncEngine
    from sync.engine.lock import EngineLock
    from sync.engine.ports import ProviderFor
    from sync.health_monitor import HealthMonitor
    from sync.providers.secrets import TokenStore
    from sync.token_handover import HandoverClaimer

DEFAULT_LISTEN = "127.0.0.1:8470"
LISTEN_ENV = "CREWBOARD_LISTEN"
PUBLIC_URL_ENV = "CREWBOARD_PUBLIC_URL"
BUSINESS_NAME_ENV = "CREWBOARD_BUSINESS_NAME"  # the name the booking page shows customers


def register(sub: Any) -> None:
    """Add `serve` to the main parser's subcommands."""
    sv = sub.add_parser("serve", help="run the office service: calendar sync, alerts, push and web pages")
    sv.add_argument(
        "--listen",
        metavar="HOST:PORT",
        help=f"where the web side listens (default ${LISTEN_ENV}, else {DEFAULT_LISTEN})",
    )
    sv.add_argument(
        "--public-url",
        metavar="URL",
        help="the public https address that forwards to --listen; with it, Google and Microsoft "
        f"push changes at once (default ${PUBLIC_URL_ENV}; without one, calendars are polled)",
    )
    sv.add_argument(
        "--poll",
        type=seconds_argument,
        default=10.0,
        metavar="SECONDS",
        help="how often to read every calendar (default 10; writes go out at once)",
    )
    add_threshold_arguments(sv)
    sv.set_defaults(run=run_serve)


def _listen(given: str | None) -> tuple[str, int]:
    from_env = os.environ.get(LISTEN_ENV, "").strip()
    source, text = (
        ("--listen", given) if given else (LISTEN_ENV, from_env) if from_env else ("", DEFAULT_LISTEN)
    )
    try:
        address: tuple[str, int] = listen_argument(text)
    except argparse.ArgumentTypeError as error:
        raise InvalidInput(f"{source}: {error}.") from None
    return address


def _public_url(given: str | None) -> str | None:
    text = given if given is not None else os.environ.get(PUBLIC_URL_ENV, "").strip() or None
    if text is not None:
        check_public_url(text)
    return text


def run_serve(s: Services, a: argparse.Namespace) -> int:
    from sync.providers.factory import open_provider
    from sync.providers.protocol import CalendarProvider
    from sync.providers.secrets import TokenStore

    listen = _listen(a.listen)
    public_url = _public_url(a.public_url)
    store = TokenStore()

    def provider_for(account: CalendarAccount) -> CalendarProvider:
        return open_provider(account, store)

    engine, monitor, lock = build_engine(s, a, provider_for, "crewboard serve")
    return asyncio.run(_serve(s, engine, monitor, lock, provider_for, listen, public_url, store))


async def _serve(
    s: Services,
    engine: SyncEngine,
    monitor: HealthMonitor,
    lock: EngineLock,
    provider_for: ProviderFor,
    listen: tuple[str, int],
    public_url: str | None,
    tokens: TokenStore,
) -> int:
    from app.services.sync_owner import SyncOwnerService
    from app.web.healthz import healthz_route
    from app.web.server import serve_routes
    from sync.feed_wake import FeedWake
    from sync.office_service import OfficeService
    from sync.wiring import PushSide

    service: OfficeService | None = None

    def state() -> Any:
        assert service is not None
        return service.state()

    # The seam for the web pages: each package gives Starlette routes, mounted here beside the push
    # routes (which answer every other path).
    routes = [
        healthz_route(state, SyncOwnerService(s.uow, s.clock)),
        *_booking_routes(s, public_url),
        *_job_routes(s, public_url),
    ]
    push = PushSide(
        s.uow,
        provider_for,
        s.clock,
        engine.request_read,
        serve_routes,
        pool=engine.providers,
        polls=engine.polls,
        extra_routes=routes,
    )
    service = OfficeService(engine, lock, monitor, push, s.clock, public_url=public_url)
    claimer = _handover_claimer(s, tokens, lock.holder)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(signum, stop.set)
    try:
        host, port = listen
        await push.start(host, port, public_url)
        how = f"push notices via {public_url}" if public_url else "no push (calendars are polled)"
        _say(f"Serving on {push.receiver.url} (/healthz; {how}) as {lock.holder}; press Ctrl-C to stop.")
        claiming = asyncio.ensure_future(claimer.run(stop, s.feed))
        # A desk's saved booking goes out at once: its feed entry wakes the engine's flush.
        waking = asyncio.ensure_future(FeedWake(s.feed, engine.request_flush).run()) if s.feed else None
        try:
            await service.run(stop)
        finally:
            stop.set()
            await claiming
            if waking is not None:
                waking.cancel()
                await asyncio.gather(waking, return_exceptions=True)
    finally:
        stop.set()
        await push.aclose()
        await engine.aclose()
        for signum in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.remove_signal_handler(signum)
    _say("Service stopped.")
    return 0


def _handover_claimer(s: Services, tokens: TokenStore, holder: str) -> HandoverClaimer:
    """This service's hand-over key, published for desks, and what takes up the sign-ins sealed to it.

    Owner or standby, each service claims what was sealed to its own key, so a standby that takes
    over already holds the tokens of techs who connected while it stood by.
    """
    from sync.token_handover import HandoverClaimer, ServiceKey

    key = ServiceKey.load_or_create(tokens)
    _say(f"Sign-in hand-over key: {key.fingerprint} (desks seal techs' sign-ins to it).")
    return HandoverClaimer(s.uow, tokens, key, s.clock, holder)


def _booking_routes(s: Services, public_url: str | None) -> list[BaseRoute]:
    """The customers' booking page (/book), with confirmations by the alerts' mail server if set."""
    from app.services.online_booking import OnlineBookingService
    from app.web.booking import booking_routes
    from app.web.booking.mail import ConfirmationMailer
    from sync.notify import notification_settings
    from sync.providers.config import read_settings_file, settings_path

    path = settings_path()
    smtp = notification_settings(read_settings_file(path), path).smtp
    page = OnlineBookingService.for_office(s.uow, s.clock, s.bus, office_zone_name())
    name = os.environ.get(BUSINESS_NAME_ENV, "").strip() or "Crewboard"
    mailer = ConfirmationMailer(smtp) if smtp is not None else None
    return booking_routes(page, business_name=name, public_url=public_url, mailer=mailer)


def _job_routes(s: Services, public_url: str | None) -> list[BaseRoute]:
    """The techs' job pages (/job/<token>), and the address job events link them by.

    The address is kept in the store, so whichever process writes the events links to the page
    this service serves; without a public address events say "Call the office" instead.
    """
    from app.services.job_links import JobPageService, publish_address
    from app.web.job import job_routes

    with s.uow() as uow:
        publish_address(uow, public_url, s.clock.now())
        uow.commit()
    name = os.environ.get(BUSINESS_NAME_ENV, "").strip() or "Crewboard"
    return job_routes(JobPageService(s.uow, s.clock), business_name=name)


def _say(text: str) -> None:
    sys.stderr.write(text + "\n")
    sys.stderr.flush()
