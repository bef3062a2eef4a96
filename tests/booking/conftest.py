"""The booking page over a real store, served by the office service's real web server on loopback."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import default as default_policy
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from starlette.applications import Starlette

from app.domain.service_types import ServiceType
from app.services.container import Services
from app.services.online_booking import BookingPolicy, OnlineBookingService
from app.services.service_types import ServiceTypeService
from app.web.booking import ConfirmationMailer, Limits, booking_routes
from app.web.server import WebServer
from sync.notify import SmtpSettings
from tests.health.conftest import EphemeralController

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


class Inbox:
    """An aiosmtpd handler keeping every message; `wait_for(n)` waits on a condition, not a clock."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self._arrived = threading.Condition()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = BytesParser(policy=default_policy).parsebytes(envelope.content)
        assert isinstance(parsed, EmailMessage)
        with self._arrived:
            self.messages.append(parsed)
            self._arrived.notify_all()
        return "250 OK"

    def wait_for(self, count: int, timeout: float = 30.0) -> list[EmailMessage]:
        with self._arrived:
            if not self._arrived.wait_for(lambda: len(self.messages) >= count, timeout):
                raise AssertionError(f"{len(self.messages)} of {count} e-mails arrived")
            return list(self.messages)


@dataclass
class MailServer:
    inbox: Inbox
    settings: SmtpSettings


@pytest.fixture
def mail_server() -> Iterator[MailServer]:
    inbox = Inbox()
    controller = EphemeralController(inbox, hostname="127.0.0.1", port=0)
    controller.start()
    try:
        settings = SmtpSettings(
            host="127.0.0.1",
            port=controller.port,
            starttls=False,
            from_address="book@harbor-hvac.example",
            timeout=5.0,
        )
        yield MailServer(inbox, settings)
    finally:
        controller.stop()
