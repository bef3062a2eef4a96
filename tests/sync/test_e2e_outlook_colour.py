"""End to end with Outlook: colour on Outlook is one category in the mailbox's master list, made
once, put on the tech's job events; a tech who did not consent gets no category and nothing else
changes. The real Graph adapter and MSAL against the sandbox's Graph and identity server."""

from __future__ import annotations

import random
import ssl
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from app.bus import Bus
from app.domain.model import CalendarAccount, Provider
from app.domain.time import FixedClock
from app.services.bookings import NewBooking
from app.services.container import Services
from app.services.outlook_colour import CATEGORY_NAME, OutlookColourService
from storage.database import Database, open_database
from sync.engine import SyncEngine
from sync.providers.endpoints import read_endpoints
from sync.providers.factory import open_provider
from sync.providers.microsoft_auth import COLOUR_SCOPE, MicrosoftConnector
from sync.providers.outlook_categories import nearest_preset
from sync.providers.secrets import TokenStore
from sync.sandbox.approver import SandboxApprover
from sync.sandbox.server import Sandbox
from tests.accounts.conftest import add_sandbox_account, keyring_problem, token_store
from tests.sandbox.conftest import control, sandbox
from tests.sandbox.test_graph_delta import schema_check

__all__ = ["control", "keyring_problem", "sandbox", "token_store"]

pytestmark = [pytest.mark.keyring, pytest.mark.slow]

SAM, LEE = "sam@contoso.com", "lee@contoso.com"
CHICAGO = ZoneInfo("America/Chicago")
TEAL = "#0f766e"


@dataclass
class Office:
    database: Database
    services: Services
    clock: FixedClock
    accounts: dict[str, CalendarAccount]
    sandbox: Sandbox
    store: TokenStore

    def engine(self) -> SyncEngine:
        return SyncEngine(
            self.database.unit_of_work,
            lambda account: open_provider(account, self.store, timeout=5),
            self.clock,
            self.services.bus,
            rng=random.Random(7),
        )

    def book(self, tech: str, days: int) -> None:
        local = self.clock.now().astimezone(CHICAGO) + timedelta(days=days)
        self.services.bookings.create(
            NewBooking(
                customer="Ada Park",
                service="AC repair",
                duration=timedelta(minutes=60),
                start=local.replace(hour=9, minute=0, second=0, microsecond=0),
                tech=tech,
                address="12 Elm St",
            ),
            force=True,
        )

    def graph(self, token: str) -> httpx.Client:
        assert self.sandbox.urls.graph is not None
        return httpx.Client(
            base_url=self.sandbox.urls.graph + "/",
            headers={"Authorization": f"Bearer {token}"},
            verify=ssl.create_default_context(cafile=self.sandbox.urls.ca),
            timeout=10,
            trust_env=False,
        )

    def token(self, email: str) -> str:
        """The access token Crewboard holds for `email` (with the scopes the tech granted)."""
        settings = read_endpoints(self.sandbox.urls.control).microsoft_settings()
        with MicrosoftConnector(settings, self.store) as connector:
            return connector.access_token(self.accounts[email])


def _connect(
    services: Services, sandbox: Sandbox, store: TokenStore, name: str, email: str, extra: tuple[str, ...]
) -> CalendarAccount:
    connector = MicrosoftConnector(
        read_endpoints(sandbox.urls.control).microsoft_settings(),
        store,
        timeout=20,
        browser=SandboxApprover(email, sandbox.urls.ca),
        extra_scopes=extra,
    )
    with connector:
        view = services.accounts.connect(name, Provider.MICROSOFT, connector)
        assert connector.has_scope(view.account, COLOUR_SCOPE) == bool(extra)
    return view.account


@pytest.fixture
async def office(
    sandbox: Sandbox, control: httpx.Client, token_store: TokenStore, tmp_path: Path
) -> AsyncIterator[Office]:
    add_sandbox_account(control, "microsoft", SAM, "Sam Reed")
    add_sandbox_account(control, "microsoft", LEE, "Lee Chan")
    database = open_database(f"sqlite:///{tmp_path / 'office.db'}")
    clock = FixedClock(datetime.now(UTC).replace(microsecond=0))
    services = Services.build(database.unit_of_work, clock, Bus())
    services.techs.add("Sam Reed", SAM, "America/Chicago")
    services.techs.edit("Sam Reed", color=TEAL)
    services.techs.add("Lee Chan", LEE, "America/Chicago")
    colour = OutlookColourService(services.uow, clock)
    colour.set_office(True)
    colour.set_tech("Sam Reed", True)
    colour.set_tech("Lee Chan", True)
    # Sam allows the extra permission at sign-in; Lee signed in before it was asked for.
    accounts = {
        SAM: _connect(services, sandbox, token_store, "Sam Reed", SAM, (COLOUR_SCOPE,)),
        LEE: _connect(services, sandbox, token_store, "Lee Chan", LEE, ()),
    }
    try:
        yield Office(database, services, clock, accounts, sandbox, token_store)
    finally:
        database.dispose()


@pytest.fixture
def sams_graph(office: Office) -> Iterator[httpx.Client]:
    with office.graph(office.token(SAM)) as client:
        yield client


def _categories(graph: httpx.Client) -> list[dict[str, Any]]:
    answer = graph.get("me/outlook/masterCategories")
    assert answer.status_code == 200, answer.text
    items: list[dict[str, Any]] = answer.json()["value"]
    for item in items:
        schema_check("outlookCategory", item, "masterCategories")
    return items


def _job_events(graph: httpx.Client) -> list[dict[str, Any]]:
    answer = graph.get("me/events", params={"$top": "200"})
    assert answer.status_code == 200, answer.text
    return [e for e in answer.json()["value"] if e["subject"].startswith("AC repair")]


async def test_outlook_jobs_carry_one_crewboard_category_per_mailbox(
    office: Office, sams_graph: httpx.Client
) -> None:
    own = sams_graph.post("me/outlook/masterCategories", json={"displayName": "Family", "color": "preset0"})
    assert own.status_code == 201, own.text
    office.book("Sam Reed", 3)
    office.book("Sam Reed", 4)
    office.book("Lee Chan", 3)
    engine = office.engine()
    try:
        report = await engine.run_once()
        assert report.ok, report.errors
    finally:
        await engine.aclose()

    events = _job_events(sams_graph)
    assert len(events) == 2 and all(e["categories"] == [CATEGORY_NAME] for e in events)
    categories = _categories(sams_graph)
    assert [(c["displayName"], c["color"]) for c in categories] == [
        ("Family", "preset0"),  # the tech's own, untouched
        (CATEGORY_NAME, nearest_preset(TEAL)),
    ]
    assert nearest_preset(TEAL) == "preset20"  # dark teal

    # Lee never allowed it: no category on the events, none in the list, the rest as always.
    with office.graph(office.token(LEE)) as lees_graph:
        [lees] = _job_events(lees_graph)
        assert lees["categories"] == []
        refused = lees_graph.get("me/outlook/masterCategories")
        assert refused.status_code == 403 and refused.json()["error"]["code"] == "ErrorAccessDenied"
        made = lees_graph.post("me/outlook/masterCategories", json={"displayName": "x", "color": "preset1"})
        assert made.status_code == 403
    for name in ("subject", "body", "location", "showAs", "isReminderOn", "sensitivity", "importance"):
        assert lees[name] == events[0][name], name

    # Another engine (a new provider, nothing remembered) finds the category by its name.
    office.book("Sam Reed", 5)
    engine = office.engine()
    try:
        assert (await engine.run_once()).ok
    finally:
        await engine.aclose()
    assert len(_job_events(sams_graph)) == 3
    assert all(e["categories"] == [CATEGORY_NAME] for e in _job_events(sams_graph))
    assert [c["displayName"] for c in _categories(sams_graph)] == ["Family", CATEGORY_NAME]


async def test_a_tech_who_turns_colour_off_gets_jobs_without_the_category(
    office: Office, sams_graph: httpx.Client
) -> None:
    office.book("Sam Reed", 3)
    office.book("Lee Chan", 3)
    engine = office.engine()
    try:
        assert (await engine.run_once()).ok
        [lees_before] = _lee_events(office)
        OutlookColourService(office.services.uow, office.clock).set_tech("Sam Reed", False)
        report = await engine.run_once()
        assert report.ok, report.errors
    finally:
        await engine.aclose()
    [event] = _job_events(sams_graph)
    assert event["categories"] == []
    # The category stays in Sam's list (Sam may use it); Lee, who never had colour, saw no write.
    assert [c["displayName"] for c in _categories(sams_graph)] == [CATEGORY_NAME]
    [lees_after] = _lee_events(office)
    assert lees_after["changeKey"] == lees_before["changeKey"]


def _lee_events(office: Office) -> list[dict[str, Any]]:
    with office.graph(office.token(LEE)) as graph:
        return _job_events(graph)
