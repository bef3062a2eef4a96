"""Fixtures for health, notifications and push: a business with connected accounts, a bus that
remembers, a real SMTP server on loopback, and a Notifier and HealthMonitor over the real store."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import Message
from email.parser import BytesParser
from email.policy import default as default_policy
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from app.bus import HealthChanged, NotificationAdded
from app.domain.escalation import Thresholds
from app.domain.ids import AccountId, CalendarId
from app.domain.model import Calendar, CalendarAccount, Provider, Technician
from app.services.container import Services
from sync.health_monitor import HealthMonitor
from sync.notify import NotificationSettings, Notifier, SmtpSettings

DISPATCHER_EMAIL = "dispatch@harbor-hvac.example"
OWNER_EMAIL = "owner@harbor-hvac.example"


@dataclass
class Business:
    maria: Technician
    sam: Technician
    maria_google: CalendarAccount
    sam_outlook: CalendarAccount
    maria_calendar: Calendar
    sam_calendar: Calendar


def add_account(
    services: Services, tech: Technician, provider: Provider, key: str
) -> tuple[CalendarAccount, Calendar]:
    account = CalendarAccount(
        id=AccountId(f"acct{key}".ljust(32, "0")),
        tech_id=tech.id,
        provider=provider,
        email=tech.email,
        token_ref=f"{provider.value}:{tech.email}",
    )
    calendar = Calendar(
        id=CalendarId(f"cal{key}".ljust(32, "0")),
        account_id=account.id,
        remote_id="primary" if provider is Provider.GOOGLE else f"AAMk{key}",
        name=tech.email,
        primary=True,
        blocks=True,
    )
    with services.uow() as uow:
        uow.accounts.add(account)
        uow.calendars.add(calendar)
        uow.commit()
    return account, calendar


@pytest.fixture
def business(services: Services) -> Business:
    maria = services.techs.add("Maria Lopez", "maria@example.com", "America/Chicago", "mon-sun 07:00-19:00")
    sam = services.techs.add(
        "Sam Okafor",
        "sam@example.com",
        "America/Los_Angeles",
        "mon-sun 07:00-19:00",
        notify_email="sam.phone@example.com",
    )
    maria_google, maria_calendar = add_account(services, maria, Provider.GOOGLE, "1")
    sam_outlook, sam_calendar = add_account(services, sam, Provider.MICROSOFT, "2")
    return Business(maria, sam, maria_google, sam_outlook, maria_calendar, sam_calendar)


@dataclass
class Heard:
    """Everything the bus carried."""

    health: list[AccountId] = field(default_factory=list)
    notifications: list[str] = field(default_factory=list)


@pytest.fixture
def heard(services: Services) -> Heard:
    events = Heard()
    services.bus.subscribe(HealthChanged, lambda e: events.health.append(e.account_id))
    services.bus.subscribe(NotificationAdded, lambda e: events.notifications.append(e.notification_id))
    return events


ADDRESSES = NotificationSettings(dispatcher_email=DISPATCHER_EMAIL, owner_email=OWNER_EMAIL)


@pytest.fixture
def notifier(services: Services) -> Notifier:
    return Notifier(services.uow, services.clock, ADDRESSES)


def monitor_for(
    services: Services, notifier: Notifier, thresholds: Thresholds | None = None
) -> HealthMonitor:
    return HealthMonitor(services.uow, services.clock, services.bus, notifier, thresholds)


@pytest.fixture
def monitor(services: Services, notifier: Notifier) -> HealthMonitor:
    return monitor_for(services, notifier)


# --- a real SMTP server -------------------------------------------------------------------------


class Mailbox:
    """An aiosmtpd handler that keeps every message, or refuses the next `refuse` with 451."""

    def __init__(self) -> None:
        self.messages: list[Message] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.refuse = 0
        self.refused = 0
        self._lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self._lock:
            if self.refuse > 0:
                self.refuse -= 1
                self.refused += 1
                return "451 4.3.0 Mailbox temporarily unavailable, try again later"
            self.messages.append(BytesParser(policy=default_policy).parsebytes(envelope.content))
            self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 OK"


class EphemeralController(Controller):  # type: ignore[misc]
    """aiosmtpd's threaded controller on a port the system picks."""

    def _trigger_server(self) -> None:
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


@dataclass
class SmtpServer:
    mailbox: Mailbox
    host: str
    port: int

    def settings(self, **changes: Any) -> SmtpSettings:
        values: dict[str, Any] = {
            "host": self.host,
            "port": self.port,
            "starttls": False,
            "from_address": "crewboard@harbor-hvac.example",
            "timeout": 5.0,
        }
        values.update(changes)
        return SmtpSettings(**values)


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    mailbox = Mailbox()
    controller = EphemeralController(mailbox, hostname="127.0.0.1", port=0)
    controller.start()
    try:
        yield SmtpServer(mailbox, "127.0.0.1", controller.port)
    finally:
        controller.stop()
