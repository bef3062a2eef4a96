"""PostgreSQL restarted under a running `crewboard serve` and a desk: both reconnect by themselves,
and every job the desk booked reaches the tech's calendar exactly once."""

from __future__ import annotations

import signal
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from app.services.bookings import NewBooking
from app.services.container import Services
from storage.database import open_database
from sync.providers.secrets import TokenStore
from sync.sandbox.server import Sandbox
from tests.accounts.conftest import add_sandbox_account, keyring_problem, token_store
from tests.office import sandbox_tech as maria
from tests.office.serve_process import ServeProcess
from tests.office.test_serve_sandbox import EMAIL, Office, _tomorrow_but_one, eventually
from tests.pg import PostgresServer, fresh_database, own_pg_server
from tests.sandbox.conftest import control, sandbox

__all__ = ["control", "keyring_problem", "own_pg_server", "sandbox", "token_store"]

pytestmark = [pytest.mark.keyring, pytest.mark.slow]


@pytest.fixture
def office(
    own_pg_server: PostgresServer, sandbox: Sandbox, control: httpx.Client, token_store: TokenStore
) -> Iterator[Office]:
    add_sandbox_account(control, "google", EMAIL, "Maria Lopez")
    with fresh_database(own_pg_server) as url:
        database = open_database(url, desk="front-desk")
        services = Services.build(database.unit_of_work)
        tech = services.techs.add("Maria Lopez", EMAIL, "America/Chicago")
        maria.sign_in(sandbox, services, token_store)
        phone = maria.phone(sandbox, control)
        try:
            yield Office(database, services, tech, phone)
        finally:
            phone.close()
            database.dispose()


def _job(office: Office, customer: str, hour: int) -> str:
    booking = office.services.bookings.create(
        NewBooking(
            customer=customer,
            service="Boiler service",
            duration=timedelta(minutes=30),
            start=_tomorrow_but_one(hour),
            tech="Maria Lopez",
        )
    )
    return str(booking.id)


def test_a_restart_mid_round_loses_and_doubles_nothing(
    office: Office, own_pg_server: PostgresServer, tmp_path: Path
) -> None:
    service = ServeProcess.start(office.database.url, tmp_path / "svc", poll=1)
    try:
        service.wait_owner()
        first = _job(office, "Ada Byron", 8)
        eventually(lambda: first in office.booking_events(), "the first job reached the calendar")

        # Three more jobs, and the server goes down while the service is sending them.
        during = [_job(office, name, hour) for name, hour in (("Hill", 10), ("Okafor", 12), ("Reed", 14))]
        own_pg_server.halt()
        service.wait_for(lambda a: a[0] == 503 and a[1]["store"] == "unreachable")
        own_pg_server.resume()

        service.wait_owner()  # it took ownership again by itself
        after = _job(office, "Lovelace", 16)  # the desk's connections came back by themselves
        wanted = {first, *during, after}
        eventually(lambda: wanted <= set(office.booking_events()), "every job reached the calendar")
        counts = Counter(office.booking_events())
        assert {booking: counts[booking] for booking in wanted} == dict.fromkeys(wanted, 1)
        with office.database.unit_of_work(read_only=True) as uow:
            assert len(uow.bookings.list()) == 5
    finally:
        assert service.stop(signal.SIGTERM) == 0, service.stderr()
