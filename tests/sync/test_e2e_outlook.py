"""End to end with Outlook: the engine with the real Graph adapter against the sandbox's Graph.

The phone is an HTTPS client with the tech's own token on the same Graph API the adapter uses.
"""

from __future__ import annotations

import random
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from app.bus import Bus
from app.domain.model import Provider
from app.domain.time import FixedClock, Interval
from app.services.bookings import NewBooking
from app.services.container import Services
from storage.database import Database, open_database
from sync.engine import SyncEngine
from sync.providers.endpoints import read_endpoints
from sync.providers.factory import open_provider
from sync.providers.microsoft_auth import MicrosoftConnector
from sync.providers.normalize_graph import BOOKING_ID_PROPERTY, BOOKING_TAG_PROPERTY
from sync.providers.secrets import TokenStore
from sync.sandbox.approver import SandboxApprover
from sync.sandbox.server import Sandbox
from tests.accounts.conftest import add_sandbox_account, keyring_problem, token_store
from tests.sandbox.conftest import control, sandbox
from tests.sync.window_scenario import window_roll_scenario

__all__ = ["control", "keyring_problem", "sandbox", "token_store"]

pytestmark = [pytest.mark.keyring, pytest.mark.slow]

EMAIL = "sam@contoso.com"
CHICAGO = ZoneInfo("America/Chicago")


class OutlookPhone:
    def __init__(self, sandbox: Sandbox, control: httpx.Client) -> None:
        token = control.post(f"/accounts/{EMAIL}/token").json()["access_token"]
        self.http = httpx.Client(
            base_url=sandbox.urls.graph + "/",
            headers={"Authorization": f"Bearer {token}"},
            verify=ssl.create_default_context(cafile=sandbox.urls.ca),
            timeout=10,
            trust_env=False,
        )

    def add(
        self, subject: str, start: datetime, minutes: int = 60, claim: tuple[str, str | None] | None = None
    ) -> dict[str, Any]:
        """An event as the tech (or anyone with write access) adds it; `claim` (booking id, tag)
        gives it the properties a job's event carries."""
        body: dict[str, Any] = {
            "subject": subject,
            "start": {"dateTime": start.strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": "America/Chicago"},
            "end": {
                "dateTime": (start + timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%S"),
                "timeZone": "America/Chicago",
            },
        }
        if claim is not None:
            booking_id, tag = claim
            body["singleValueExtendedProperties"] = [{"id": BOOKING_ID_PROPERTY, "value": booking_id}] + (
                [{"id": BOOKING_TAG_PROPERTY, "value": tag}] if tag else []
            )
        answer = self.http.post("me/events", json=body)
        assert answer.status_code == 201, answer.text
        found: dict[str, Any] = answer.json()
        return found

    def events(self) -> list[dict[str, Any]]:
        answer = self.http.get("me/events", params={"$top": "200"})
        assert answer.status_code == 200, answer.text
        items: list[dict[str, Any]] = answer.json()["value"]
        return items

    def move(self, event_id: str, start: datetime, minutes: int) -> None:
        body = {
            "start": {"dateTime": start.strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": "America/Chicago"},
            "end": {
                "dateTime": (start + timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%S"),
                "timeZone": "America/Chicago",
            },
        }
        answer = self.http.patch(f"me/events/{event_id}", json=body)
        assert answer.status_code == 200, answer.text


@dataclass
class Office:
    database: Database
    services: Services
    clock: FixedClock
    phone: OutlookPhone
    engine: SyncEngine


@pytest.fixture
async def office(
    sandbox: Sandbox, control: httpx.Client, token_store: TokenStore, tmp_path: Path
) -> AsyncIterator[Office]:
    add_sandbox_account(control, "microsoft", EMAIL, "Sam Reed")
    database = open_database(f"sqlite:///{tmp_path / 'office.db'}")
    clock = FixedClock(datetime.now(UTC).replace(microsecond=0))
    services = Services.build(database.unit_of_work, clock, Bus())
    services.techs.add("Sam Reed", EMAIL, "America/Chicago")
    connector = MicrosoftConnector(
        read_endpoints(sandbox.urls.control).microsoft_settings(),
        token_store,
        timeout=20,
        browser=SandboxApprover(EMAIL, sandbox.urls.ca),
    )
    with connector:
        services.accounts.connect("Sam Reed", Provider.MICROSOFT, connector)
    phone = OutlookPhone(sandbox, control)
    engine = SyncEngine(
        database.unit_of_work,
        lambda account: open_provider(account, token_store, timeout=1.5),
        clock,
        services.bus,
        rng=random.Random(5),
    )
    try:
        yield Office(database, services, clock, phone, engine)
    finally:
        await engine.aclose()
        phone.http.close()
        database.dispose()


def _book(office: Office, start: datetime, customer: str = "Ada Park") -> str:
    booking = office.services.bookings.create(
        NewBooking(
            customer=customer,
            service="AC repair",
            duration=timedelta(minutes=60),
            start=start,
            tech="Sam Reed",
            address="12 Elm St",
        ),
        force=True,
    )
    return booking.id


def _start(office: Office, days: int, hour: int) -> datetime:
    local = office.clock.now().astimezone(CHICAGO) + timedelta(days=days)
    return local.replace(hour=hour, minute=0, second=0, microsecond=0)


async def test_outlook_events_block_bookings_go_out_and_the_tech_moves_them(office: Office) -> None:
    dentist = _start(office, 3, 10)
    office.phone.add("Dentist", dentist)
    start = _start(office, 4, 9)
    booking_id = _book(office, start)
    report = await office.engine.run_once()
    assert report.ok, report.errors

    now = office.clock.now()
    with office.database.unit_of_work() as uow:
        tech = uow.techs.by_name("Sam Reed")
        assert tech is not None
        blocks = uow.busy.for_techs([tech.id], Interval(now, now + timedelta(days=10)))
    assert [(b.title, b.interval.start) for b in blocks] == [("Dentist", dentist.astimezone(UTC))]

    [event] = [e for e in office.phone.events() if e["subject"] == "AC repair — Ada Park"]
    assert event["location"]["displayName"] == "12 Elm St"
    assert not event.get("attendees")  # no invitation mail

    later = start + timedelta(hours=2)
    office.phone.move(event["id"], later, 60)
    await office.engine.run_once()
    assert office.services.bookings.get(booking_id).start == later.astimezone(UTC)
    assert len([e for e in office.phone.events() if e["subject"] == "AC repair — Ada Park"]) == 1


async def test_outlook_faults_lose_nothing_and_double_nothing(office: Office, control: httpx.Client) -> None:
    ids = []
    for n, kind in enumerate(("5xx", "429", "reset", "drop_after_commit")):
        fault = control.post(
            "/faults", json={"provider": "microsoft", "kind": kind, "count": 2, "retry_after": 1}
        )
        assert fault.status_code in (200, 201), fault.text
        ids.append(_book(office, _start(office, 5, 8 + n), customer=f"Customer {n}"))
        await office.engine.run_once()
        office.clock.advance(timedelta(minutes=6))
    control.delete("/faults")
    for _ in range(4):
        await office.engine.run_once()
        office.clock.advance(timedelta(minutes=6))
    subjects = sorted(e["subject"] for e in office.phone.events())
    assert subjects == sorted(f"AC repair — Customer {n}" for n in range(4))
    with office.database.unit_of_work() as uow:
        assert uow.outbox.pending() == []
        assert all(uow.links.for_booking(b) is not None for b in ids)  # type: ignore[arg-type]


async def test_a_past_job_is_not_taken_for_deleted_when_outlook_reports_it_out_of_window(
    office: Office,
) -> None:
    """Graph's delta reports news of events outside its window as removals: a job from three days
    ago, written after the first read, must not turn into "the tech deleted this job"."""
    await office.engine.run_once()  # the first read fixes the delta window
    past = _book(office, _start(office, -3, 9), customer="Past Customer")
    soon = _book(office, _start(office, 2, 9), customer="Soon Customer")
    for _ in range(3):
        report = await office.engine.run_once()
        assert report.ok, report.errors
    with office.database.unit_of_work() as uow:
        assert uow.conflicts.open() == []
        assert uow.links.for_booking(past) is not None  # type: ignore[arg-type]
        assert uow.links.for_booking(soon) is not None  # type: ignore[arg-type]
    subjects = sorted(e["subject"] for e in office.phone.events())
    assert subjects == ["AC repair — Past Customer", "AC repair — Soon Customer"]


async def test_a_window_that_moved_past_every_known_event_is_not_an_empty_calendar(office: Office) -> None:
    """Outlook's read window starts at the tech's yesterday: jobs and a dentist on one day, then
    Chicago's midnight rolls the window past it. The calendarView delta finds nothing, the account
    stays healthy and the day keeps its events."""

    def add_personal(title: str, start: datetime) -> None:
        office.phone.add(title, start.replace(tzinfo=None))

    await window_roll_scenario(
        office.clock,
        office.database,
        office.engine,
        lambda start, name: _book(office, start, customer=name),
        add_personal,
    )


async def test_after_a_failed_create_an_event_that_only_claims_the_job_is_not_adopted(office: Office) -> None:
    """Outlook: the job's first create failed; the next round looks for the event it may have made
    and must not take someone else's event carrying the job's id (with or without a tag)."""
    start = _start(office, 4, 9)
    booking_id = _book(office, start)
    with office.database.unit_of_work() as uow:
        [row] = uow.outbox.pending()
        uow.outbox.update(replace(row, attempts=1))  # tried once, nothing came of it
        uow.commit()
    elsewhere = start + timedelta(hours=5)
    forged = [
        office.phone.add("Lunch with Jo", elsewhere, claim=(booking_id, None)),
        office.phone.add("Gym", elsewhere + timedelta(hours=2), claim=(booking_id, "0" * 64)),
    ]
    for _ in range(3):
        report = await office.engine.run_once()
        assert report.ok, report.errors
        office.clock.advance(timedelta(minutes=5))

    events = {e["id"]: e for e in office.phone.events()}
    assert [(events[f["id"]]["subject"], events[f["id"]]["changeKey"]) for f in forged] == [
        (f["subject"], f["changeKey"]) for f in forged
    ]
    [job] = [e for e in events.values() if e["subject"] == "AC repair — Ada Park"]
    assert job["id"] not in {f["id"] for f in forged}
    office.phone.move(forged[0]["id"], elsewhere + timedelta(hours=1), 60)
    await office.engine.run_once()
    assert office.services.bookings.get(booking_id).start == start.astimezone(UTC)
