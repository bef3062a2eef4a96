"""End to end: the engine with the real Google adapter against the sandbox, the tech's phone on its API.

The account is connected the way a dispatcher connects it (the consent page is really submitted,
tokens go to the real Secret Service); the phone is an HTTP client with the tech's own access token
from the control API, talking to the same Calendar API the adapter uses.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from app.bus import Bus
from app.domain.model import AccountStatus, CalendarAccount, Provider, Technician
from app.domain.time import FixedClock, Interval
from app.services.bookings import NewBooking
from app.services.container import Services
from storage.database import Database, open_database
from sync.engine import SyncEngine
from sync.providers.endpoints import read_endpoints
from sync.providers.factory import open_provider
from sync.providers.google_auth import GoogleConnector
from sync.providers.normalize_google import BOOKING_ID_KEY, BOOKING_TAG_KEY, google_event_id
from sync.providers.secrets import TokenStore
from sync.sandbox.approver import SandboxApprover
from sync.sandbox.server import Sandbox
from tests.accounts.conftest import add_sandbox_account, keyring_problem, token_store
from tests.children import child_python_path
from tests.sandbox.conftest import control, sandbox
from tests.sync.window_scenario import window_roll_scenario

__all__ = ["control", "keyring_problem", "sandbox", "token_store"]

pytestmark = [pytest.mark.keyring, pytest.mark.slow]

EMAIL = "maria@example.com"
CHICAGO = ZoneInfo("America/Chicago")
ROOT = Path(__file__).resolve().parents[2]


def booking_id_of(event: dict[str, Any]) -> str | None:
    found = event.get("extendedProperties", {}).get("private", {}).get(BOOKING_ID_KEY)
    return found if isinstance(found, str) else None


class Phone:
    """The tech's phone: the Calendar API with the tech's own token."""

    def __init__(self, sandbox: Sandbox, control: httpx.Client, email: str) -> None:
        token = control.post(f"/accounts/{email}/token").json()["access_token"]
        self.control = control
        self.email = email
        self.http = httpx.Client(
            base_url=f"{sandbox.urls.google}/calendar/v3/",
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
            trust_env=False,
        )

    def add(self, summary: str, start: datetime, minutes: int = 60, **extra: Any) -> dict[str, Any]:
        body = {
            "summary": summary,
            "start": {"dateTime": start.isoformat(), "timeZone": "America/Chicago"},
            "end": {
                "dateTime": (start + timedelta(minutes=minutes)).isoformat(),
                "timeZone": "America/Chicago",
            },
            **extra,
        }
        answer = self.http.post("calendars/primary/events", json=body)
        assert answer.status_code == 200, answer.text
        result: dict[str, Any] = answer.json()
        return result

    def seed(self, **spec: Any) -> None:
        answer = self.control.post(f"/accounts/{self.email}/events", json=spec)
        assert answer.status_code == 201, answer.text

    def events(self, calendar: str = "primary") -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        page: str | None = None
        while True:
            params = {"maxResults": "250", **({"pageToken": page} if page else {})}
            answer = self.http.get(f"calendars/{calendar}/events", params=params)
            assert answer.status_code == 200, answer.text
            data = answer.json()
            items += [i for i in data.get("items", []) if i.get("status") != "cancelled"]
            page = data.get("nextPageToken")
            if not page:
                return items

    def booking_events(self) -> list[dict[str, Any]]:
        return [e for e in self.events() if booking_id_of(e) is not None]

    def patch(self, event_id: str, body: dict[str, Any]) -> None:
        answer = self.http.patch(f"calendars/primary/events/{event_id}", json=body)
        assert answer.status_code == 200, answer.text

    def close(self) -> None:
        self.http.close()


@dataclass
class Office:
    database: Database
    services: Services
    clock: FixedClock
    tech: Technician
    account: CalendarAccount
    phone: Phone
    store: TokenStore
    engine: SyncEngine

    def busy(self, days: int = 130) -> list[Any]:
        now = self.clock.now()
        with self.database.unit_of_work() as uow:
            return uow.busy.for_techs(
                [self.tech.id], Interval(now - timedelta(days=2), now + timedelta(days=days))
            )


@pytest.fixture
async def office(
    sandbox: Sandbox, control: httpx.Client, token_store: TokenStore, tmp_path: Path
) -> AsyncIterator[Office]:
    add_sandbox_account(control, "google", EMAIL, "Maria Lopez", ("Family",))
    database = open_database(f"sqlite:///{tmp_path / 'office.db'}")
    clock = FixedClock(datetime.now(UTC).replace(microsecond=0))
    services = Services.build(database.unit_of_work, clock, Bus())
    tech = services.techs.add("Maria Lopez", "maria@example.com", "America/Chicago")
    connector = GoogleConnector(
        read_endpoints(sandbox.urls.control).google_settings(),
        token_store,
        browser=SandboxApprover(EMAIL),
        timeout=20,
    )
    try:
        view = services.accounts.connect("Maria Lopez", Provider.GOOGLE, connector)
    finally:
        connector.close()
    phone = Phone(sandbox, control, EMAIL)
    engine = SyncEngine(
        database.unit_of_work,
        lambda account: open_provider(account, token_store, timeout=1.5),
        clock,
        services.bus,
        rng=random.Random(3),
    )
    office = Office(database, services, clock, tech, view.account, phone, token_store, engine)
    try:
        yield office
    finally:
        await engine.aclose()
        phone.close()
        database.dispose()


def next_weekday(weekday: int, hour: int, clock: FixedClock) -> datetime:
    """The next `weekday` (0 = Monday) at least two days away, at `hour` in Chicago."""
    local = clock.now().astimezone(CHICAGO) + timedelta(days=2)
    while local.weekday() != weekday:
        local += timedelta(days=1)
    return local.replace(hour=hour, minute=0, second=0, microsecond=0)


async def test_what_the_tech_puts_in_the_calendar_blocks_the_right_time(office: Office) -> None:
    clock, phone = office.clock, office.phone
    tuesday = next_weekday(1, 10, clock)
    phone.add("Dentist", tuesday)
    pto_day = (tuesday + timedelta(days=1)).date()
    phone.seed(
        summary="PTO", start_date=pto_day.isoformat(), end_date=(pto_day + timedelta(days=1)).isoformat()
    )
    first_meeting = next_weekday(0, 9, clock) - timedelta(weeks=7)  # a series begun weeks ago
    phone.seed(
        summary="Team meeting",
        start=first_meeting.isoformat(),
        end=(first_meeting + timedelta(hours=1)).isoformat(),
        timezone="America/Chicago",
        rrule=["RRULE:FREQ=WEEKLY;BYDAY=MO"],
    )
    thursday = tuesday + timedelta(days=2)
    phone.seed(
        summary="Maybe lunch",
        start=thursday.isoformat(),
        end=(thursday + timedelta(hours=1)).isoformat(),
        response="tentative",
    )
    phone.seed(
        summary="Therapy",
        start=(thursday + timedelta(hours=3)).isoformat(),
        end=(thursday + timedelta(hours=4)).isoformat(),
        private=True,
    )
    phone.seed(
        summary="Soccer",
        calendar="Family",
        start=(thursday + timedelta(hours=6)).isoformat(),
        end=(thursday + timedelta(hours=7)).isoformat(),
    )
    report = await office.engine.run_once()
    assert report.ok, report.errors

    blocks = office.busy()
    titles = {b.title for b in blocks}
    assert "Dentist" in titles and "PTO" in titles and "Team meeting" in titles
    assert "Maybe lunch" not in titles and "Soccer" not in titles
    [dentist] = [b for b in blocks if b.title == "Dentist"]
    assert dentist.interval.start == tuesday.astimezone(UTC)
    [private] = [b for b in blocks if b.interval.start == (thursday + timedelta(hours=3)).astimezone(UTC)]
    assert private.title is None  # busy, without its details
    [pto] = [b for b in blocks if b.title == "PTO"]
    day = office.services.schedule.day("Maria Lopez", pto_day)
    assert day.free == () and pto.all_day
    meetings = [b for b in blocks if b.title == "Team meeting"]
    assert len(meetings) >= 17
    assert {b.interval.start.astimezone(CHICAGO).hour for b in meetings} == {9}
    assert {b.interval.start.astimezone(CHICAGO).weekday() for b in meetings} == {0}
    assert len({b.interval.start.utcoffset() for b in meetings}) == 1
    # 9:00 stays 9:00 whatever Chicago's offset that Monday: where the window holds a DST change
    # (most days of the year; test_engine_inbound pins one), the meetings carry both offsets.
    mondays = {b.interval.start.astimezone(CHICAGO).date() for b in meetings}
    offsets = {datetime(day.year, day.month, day.day, 9, tzinfo=CHICAGO).utcoffset() for day in mondays}
    assert {b.interval.start.astimezone(CHICAGO).utcoffset() for b in meetings} == offsets

    # The tech counts tentative invitations and marks the family calendar.
    with office.database.unit_of_work() as uow:
        tech = uow.techs.get(office.tech.id)
        assert tech is not None
        uow.techs.update(replace(tech, tentative_blocks=True))
        family = next(c for c in uow.calendars.for_account(office.account.id) if not c.primary)
        uow.commit()
    office.services.accounts.set_calendar_blocks(family.id, True)
    await office.engine.run_once()
    titles = {b.title for b in office.busy()}
    assert "Maybe lunch" in titles and "Soccer" in titles


async def test_bookings_reach_the_calendar_and_the_tech_moves_them(office: Office) -> None:
    from app.services.bookings import NewBooking

    start = next_weekday(2, 9, office.clock)
    booking = office.services.bookings.create(
        NewBooking(
            customer="Ada Park",
            service="AC repair",
            duration=timedelta(minutes=90),
            start=start,
            tech="Maria Lopez",
            address="12 Elm St",
            phone="555-0100",
            notes="Gate code 4411",
        )
    )
    await office.engine.run_once()
    [event] = office.phone.booking_events()
    assert event["summary"] == "AC repair — Ada Park"
    assert event["location"] == "12 Elm St"
    for text in ("Gate code 4411", "555-0100", "1 h 30 min"):
        assert text in event["description"]
    assert "crewboard://" not in event["description"] and "source" not in event
    assert datetime.fromisoformat(event["start"]["dateTime"]) == start

    later = start + timedelta(hours=3)
    office.phone.patch(
        event["id"],
        {
            "start": {"dateTime": later.isoformat(), "timeZone": "America/Chicago"},
            "end": {"dateTime": (later + timedelta(minutes=90)).isoformat(), "timeZone": "America/Chicago"},
        },
    )
    await office.engine.run_once()
    moved = office.services.bookings.get(booking.id)
    assert moved.start == later.astimezone(UTC)
    assert len(office.phone.booking_events()) == 1


async def test_every_kind_of_fault_loses_nothing_and_doubles_nothing(
    office: Office, control: httpx.Client
) -> None:
    from app.services.bookings import NewBooking

    start = next_weekday(3, 8, office.clock)
    ids = []
    for kind in ("5xx", "429", "timeout", "reset", "drop_after_commit"):
        fault = control.post(
            "/faults", json={"provider": "google", "kind": kind, "count": 2, "retry_after": 1}
        )
        assert fault.status_code in (200, 201), fault.text
        booking = office.services.bookings.create(
            NewBooking(
                customer=f"Customer {kind}",
                service="Tune-up",
                duration=timedelta(minutes=30),
                start=start,
                tech="Maria Lopez",
            ),
            force=True,
        )
        ids.append(booking.id)
        start += timedelta(minutes=45)
        await office.engine.run_once()
        office.clock.advance(timedelta(minutes=6))
    control.delete("/faults")
    for _ in range(4):
        await office.engine.run_once()
        office.clock.advance(timedelta(minutes=6))
    events = office.phone.booking_events()
    found = sorted(booking_id_of(e) for e in events)
    assert found == sorted(ids)
    with office.database.unit_of_work() as uow:
        assert uow.outbox.pending() == []
        assert uow.accounts.get(office.account.id).status is AccountStatus.CONNECTED  # type: ignore[union-attr]


@pytest.fixture
def child_env(tmp_path: Path) -> Iterator[dict[str, str]]:
    env = dict(os.environ)
    env["CREWBOARD_LOG_DIR"] = str(tmp_path / "logs")
    env["PYTHONPATH"] = child_python_path()
    yield env


async def test_a_sync_killed_mid_round_loses_and_doubles_nothing(
    office: Office, control: httpx.Client, child_env: dict[str, str]
) -> None:
    from app.services.bookings import NewBooking

    start = next_weekday(4, 8, office.clock)
    ids = []
    for n in range(12):
        booking = office.services.bookings.create(
            NewBooking(
                customer=f"Customer {n}",
                service="Inspection",
                duration=timedelta(minutes=20),
                start=start + timedelta(minutes=30 * n),
                tech="Maria Lopez",
            ),
        )
        ids.append(booking.id)
    # Every write's answer is lost once: the child is killed while its writes are half-confirmed.
    control.post("/faults", json={"provider": "google", "kind": "drop_after_commit", "count": 4})
    rng = random.Random()
    for _ in range(2):
        child = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "--db", office.database.url, "sync", "--poll", "1"],
            env=child_env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            _wait_for_writes(control, rng.randint(1, 6))
        finally:
            child.send_signal(signal.SIGKILL)
            child.wait(timeout=10)
    control.delete("/faults")
    office.clock.current = datetime.now(UTC) + timedelta(minutes=10)  # everything the child left is due
    for _ in range(3):
        await office.engine.run_once()
    found = sorted(booking_id_of(e) for e in office.phone.booking_events())
    assert found == sorted(ids)
    with office.database.unit_of_work() as uow:
        assert uow.outbox.pending() == []
        assert all(uow.links.for_booking(b) is not None for b in ids)
        assert uow.conflicts.list() == []


def _wait_for_writes(control: httpx.Client, count: int, timeout: float = 30.0) -> None:
    """Poll the sandbox's request log until the child has sent `count` event writes (bounded)."""
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        entries = control.get("/requests", params={"site": "google"}).json()
        writes = [
            e
            for e in entries
            if e.get("method") in ("POST", "PUT", "PATCH") and "/events" in e.get("path", "")
        ]
        if len(writes) >= count:
            return
        time.sleep(0.05)
    raise AssertionError("the sync process never wrote to the calendar")


async def test_a_window_that_moved_past_every_known_event_is_not_an_empty_calendar(office: Office) -> None:
    """Jobs and a dentist on one day, then Chicago's midnight rolls the read window past that day:
    Google's full read finds nothing, the account stays healthy and the day keeps its events."""
    await window_roll_scenario(
        office.clock,
        office.database,
        office.engine,
        lambda start, name: (
            office.services.bookings.create(
                NewBooking(
                    name, "AC repair", timedelta(minutes=45), start, "Maria Lopez", address="1 Elm St"
                ),
                force=True,
            ).id
        ),
        lambda title, start: office.phone.add(title, start),
    )


def _as_tried(office: Office, booking_id: str) -> None:
    """The booking's create went out once and nothing came of it (or its answer was lost)."""
    with office.database.unit_of_work() as uow:
        [row] = [r for r in uow.outbox.pending() if r.booking_id == booking_id]
        uow.outbox.update(replace(row, attempts=1))
        uow.commit()


async def test_events_that_only_claim_a_job_are_left_alone_and_the_job_still_syncs(office: Office) -> None:
    """A forged tag, a genuine tag copied to another event, an event under the job's guessable id:
    none is adopted, patched, deleted or followed; each blocks its time and is told once."""
    phone = office.phone
    start = next_weekday(2, 9, office.clock)
    job = office.services.bookings.create(
        NewBooking("Ada Park", "AC repair", timedelta(minutes=90), start, "Maria Lopez", address="12 Elm St")
    )
    await office.engine.run_once()
    [genuine] = phone.booking_events()
    tag = genuine["extendedProperties"]["private"].get(BOOKING_TAG_KEY)
    assert tag and genuine["id"] != google_event_id(job.id)  # keyed: not guessable from the job

    elsewhere = start + timedelta(hours=4)
    claim = {BOOKING_ID_KEY: job.id}
    forged = [
        phone.add("Lunch with Jo", elsewhere, extendedProperties={"private": claim}),
        phone.add(
            "Gym",
            elsewhere + timedelta(hours=2),
            extendedProperties={"private": {**claim, BOOKING_TAG_KEY: tag}},
        ),
    ]
    # A job not written yet, whose first create failed, and an event under its guessable id.
    later = office.services.bookings.create(
        NewBooking("Bo Lee", "Boiler", timedelta(minutes=60), start + timedelta(days=1), "Maria Lopez"),
        force=True,
    )
    _as_tried(office, later.id)
    forged.append(
        phone.add(
            "Dentist",
            start + timedelta(days=1, hours=3),
            id=google_event_id(later.id),
            extendedProperties={"private": {BOOKING_ID_KEY: later.id}},
        )
    )
    for _ in range(3):
        report = await office.engine.run_once()
        assert report.ok, report.errors
        office.clock.advance(timedelta(minutes=5))

    def current(event: dict[str, Any]) -> tuple[Any, ...]:
        [now] = [e for e in phone.events() if e["id"] == event["id"]]
        return now["etag"], now["summary"], now["start"]["dateTime"]

    assert [current(e) for e in forged] == [(e["etag"], e["summary"], e["start"]["dateTime"]) for e in forged]
    blocked = {b.title for b in office.busy()}
    assert {"Lunch with Jo", "Gym", "Dentist"} <= blocked
    ours = [e for e in phone.events() if e["summary"].startswith(("AC repair", "Boiler"))]
    assert sorted(e["summary"] for e in ours) == ["AC repair — Ada Park", "Boiler — Bo Lee"]

    # The outsider drags an event; the dispatcher moves the job: only the job's own event follows.
    phone.patch(
        forged[0]["id"],
        {
            "start": {
                "dateTime": (elsewhere + timedelta(hours=1)).isoformat(),
                "timeZone": "America/Chicago",
            },
            "end": {"dateTime": (elsewhere + timedelta(hours=2)).isoformat(), "timeZone": "America/Chicago"},
        },
    )
    office.services.bookings.move(job.id, start + timedelta(hours=1))
    await office.engine.run_once()
    assert office.services.bookings.get(job.id).start == (start + timedelta(hours=1)).astimezone(UTC)
    [moved] = [e for e in phone.events() if e["id"] == genuine["id"]]
    assert datetime.fromisoformat(moved["start"]["dateTime"]) == start + timedelta(hours=1)
    with office.database.unit_of_work() as uow:
        notices = [n for n in uow.notifications.list() if "claims to be job" in n.body]
    assert len(notices) == 3
