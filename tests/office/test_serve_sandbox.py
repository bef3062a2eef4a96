"""End to end: `crewboard serve` processes on the test run's PostgreSQL, a tech's Google calendar in
the sandbox. A push notice travels sandbox → the service's ASGI app → an immediate read; then the
owner is killed and the standby, now owner, sends the desk's new booking to the calendar."""

from __future__ import annotations

import signal
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import httpx
import pytest

from app.domain.model import Technician
from app.domain.time import Interval
from app.services.bookings import NewBooking
from app.services.container import Services
from storage.database import Database, open_database
from sync.providers.normalize_google import BOOKING_ID_KEY
from sync.providers.secrets import TokenStore
from sync.sandbox.server import Sandbox
from tests.accounts.conftest import add_sandbox_account, keyring_problem, token_store
from tests.office import sandbox_tech as maria
from tests.office.serve_process import PATIENCE, ServeProcess, owner_of
from tests.sandbox.conftest import control, sandbox

__all__ = ["control", "keyring_problem", "sandbox", "token_store"]

pytestmark = [pytest.mark.keyring, pytest.mark.slow]

EMAIL = maria.EMAIL
CHICAGO = ZoneInfo("America/Chicago")
T = TypeVar("T")


@dataclass
class Office:
    database: Database
    services: Services
    tech: Technician
    phone: httpx.Client  # the tech's phone: the Calendar API with the tech's own token

    def busy(self) -> list[Any]:
        now = datetime.now(UTC)
        with self.database.unit_of_work() as uow:
            return uow.busy.for_techs([self.tech.id], Interval(now, now + timedelta(days=30)))

    def channel(self) -> str | None:
        with self.database.unit_of_work() as uow:
            [calendar] = [c for c in uow.calendars.list() if c.primary]
            return calendar.channel_id

    def booking_events(self) -> list[str]:
        answer = self.phone.get("calendars/primary/events", params={"maxResults": "250"})
        assert answer.status_code == 200, answer.text
        found = []
        for item in answer.json().get("items", []):
            booking = item.get("extendedProperties", {}).get("private", {}).get(BOOKING_ID_KEY)
            if item.get("status") != "cancelled" and booking:
                found.append(str(booking))
        return found


@pytest.fixture
def office(sandbox: Sandbox, control: httpx.Client, token_store: TokenStore, pg_url: str) -> Iterator[Office]:
    add_sandbox_account(control, "google", EMAIL, "Maria Lopez")
    database = open_database(pg_url)
    services = Services.build(database.unit_of_work)
    tech = services.techs.add("Maria Lopez", EMAIL, "America/Chicago")
    maria.sign_in(sandbox, services, token_store)
    phone = maria.phone(sandbox, control)
    try:
        yield Office(database, services, tech, phone)
    finally:
        phone.close()
        database.dispose()


def eventually(probe: Callable[[], T | None], what: str, patience: float = PATIENCE) -> T:
    """`probe()`'s first answer that is not None (or empty), polled until a generous deadline."""
    deadline = time.monotonic() + patience
    while time.monotonic() < deadline:
        found = probe()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError(f"never happened: {what}")


def _tomorrow_but_one(hour: int) -> datetime:
    local = datetime.now(CHICAGO) + timedelta(days=2)
    return local.replace(hour=hour, minute=0, second=0, microsecond=0)


def test_push_reaches_the_service_and_a_standby_takes_over_sync(
    office: Office, control: httpx.Client, tmp_path: Path
) -> None:
    db = office.database.url
    first = ServeProcess.start(db, tmp_path / "a", push=True)
    second: ServeProcess | None = None
    try:
        first.wait_owner()
        eventually(office.channel, "the owner opened a watch channel on the tech's calendar")

        # The tech adds a dentist appointment on the phone: Google's notice reaches the ASGI app,
        # which answers and asks for the read at once.
        start = _tomorrow_but_one(9)
        added = office.phone.post(
            "calendars/primary/events",
            json={
                "summary": "Dentist",
                "start": {"dateTime": start.isoformat()},
                "end": {"dateTime": (start + timedelta(hours=1)).isoformat()},
            },
        )
        assert added.status_code == 200, added.text
        eventually(
            lambda: [b for b in office.busy() if b.interval.start == start.astimezone(UTC)],
            "the dentist blocks its hour",
        )
        deliveries = control.get("/push").json()["deliveries"]
        exists = [d for d in deliveries if d["headers"].get("X-Goog-Resource-State") == "exists"]
        assert exists and all(d["status"] == 200 for d in exists), deliveries

        second = ServeProcess.start(db, tmp_path / "b", push=True)
        assert owner_of(second.wait_for(lambda a: a[1]["status"] == "standby")) == first.pid
        first.stop(signal.SIGKILL)
        standby = second
        standby.wait_for(lambda a: a[1]["status"] == "owner" and owner_of(a) == standby.pid)

        # A desk books a job: the new owner sends it to the tech's calendar.
        booking = office.services.bookings.create(
            NewBooking(
                customer="Ada Byron",
                service="Boiler service",
                duration=timedelta(minutes=45),
                start=_tomorrow_but_one(14),
                tech="Maria Lopez",
            )
        )
        eventually(lambda: booking.id in office.booking_events(), "the new owner wrote the job's event")
    finally:
        first.stop(signal.SIGKILL)
        if second is not None:
            assert second.stop(signal.SIGTERM) == 0, second.stderr()
