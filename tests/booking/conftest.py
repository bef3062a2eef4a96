"""The booking page over a real store, served by the office service's real web server on loopback."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from starlette.applications import Starlette

from app.domain.service_types import ServiceType
from app.services.container import Services
from app.services.online_booking import BookingPolicy, OnlineBookingService
from app.services.service_types import ServiceTypeService
from app.web.booking import ConfirmationMailer, Limits, booking_routes
from web.server import WebServer

CHI = ZoneInfo("America/Chicago")
MON_9 = datetime(2026, 11, 2, 9, 0, tzinfo=CHI)  # the fixed clock is Mon 06:00 in Chicago


@dataclass
class Shop:
    services: Services
    page: OnlineBookingService
    ac: ServiceType


@pytest.fixture
def shop(services: Services) -> Shop:
    services.techs.add("Maria Lopez", "maria@example.com", "America/Chicago", "mon-fri 08:00-17:00")
    services.techs.add("Sam Okafor", "sam@example.com", "America/Chicago", "mon-fri 08:00-17:00")
    kinds = ServiceTypeService(services.uow)
    ac = kinds.add("AC repair", timedelta(minutes=60), timedelta(minutes=30), ["Maria Lopez", "Sam Okafor"])
    kinds.add("Drain cleaning", timedelta(minutes=90), techs=["Sam Okafor"])
    kinds.add("Solar panels", timedelta(minutes=120))  # nobody qualified: never offered
    page = OnlineBookingService(services.uow, services.clock, services.bus, BookingPolicy("America/Chicago"))
    return Shop(services, page, ac)


def booking_app(
    page: OnlineBookingService, mailer: ConfirmationMailer | None = None, **limits: int
) -> Starlette:
    return Starlette(
        routes=booking_routes(page, business_name="Harbor HVAC", mailer=mailer, limits=Limits(**limits))
    )


class LiveServer:
    """WebServer on its own event loop in a thread, as `crewboard serve` runs it (minus the engine)."""

    def __init__(self, app: Starlette) -> None:
        self.server = WebServer(app)
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._failed: BaseException | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_until_complete(self.server.start())
        except BaseException as error:  # reported to the test by start()
            self._failed = error
            self._ready.set()
            return
        self._ready.set()
        self._loop.run_forever()

    def start(self) -> str:
        self._thread.start()
        self._ready.wait()
        if self._failed is not None:
            raise self._failed
        return self.server.url

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self.server.aclose(), self._loop).result()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop.close()


@pytest.fixture
def serve() -> Iterator[list[LiveServer]]:
    started: list[LiveServer] = []
    yield started
    for server in started:
        server.stop()


def live(started: list[LiveServer], app: Starlette) -> str:
    server = LiveServer(app)
    url = server.start()
    started.append(server)
    return url
