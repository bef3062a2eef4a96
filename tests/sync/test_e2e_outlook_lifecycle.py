"""Graph's lifecycle notices end to end: `crewboard sync`'s engine and companions (push receiver and
channel keeper, the real Graph adapter) against the sandbox, which sends each notice as Graph does.

The engine polls only every ten minutes here, so whatever is read within the test was read because
a notice asked for it.
"""

from __future__ import annotations

import asyncio
import random
import socket
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from app.bus import Bus
from app.domain.ids import CalendarId
from app.domain.model import Calendar, Provider
from app.domain.time import FixedClock, Interval
from app.services.container import Services
from app.web.server import serve_routes
from storage.database import Database, open_database
from sync.engine import SyncEngine
from sync.providers.endpoints import read_endpoints
from sync.providers.factory import open_provider
from sync.providers.microsoft_auth import MicrosoftConnector
from sync.providers.secrets import TokenStore
from sync.push_receiver import CalendarChannels
from sync.sandbox.approver import SandboxApprover
from sync.sandbox.microsoft import MicrosoftSandbox
from sync.sandbox.server import Sandbox
from sync.wiring import SyncCompanions, build_health_monitor
from tests.accounts.conftest import add_sandbox_account, keyring_problem, token_store
from tests.sandbox.conftest import control, sandbox
from tests.sync.test_e2e_outlook import EMAIL, OutlookPhone

__all__ = ["control", "keyring_problem", "sandbox", "token_store"]

pytestmark = [pytest.mark.keyring]

CHICAGO = ZoneInfo("America/Chicago")
POLL_SECONDS = 600.0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def until(check: Callable[[], bool], timeout: float = 20.0) -> None:
    async with asyncio.timeout(timeout):
        while not check():
            await asyncio.sleep(0.05)


@dataclass
class Pushed:
    sandbox: Sandbox
    control: httpx.Client
    database: Database
    services: Services
    clock: FixedClock
    phone: OutlookPhone
    companions: SyncCompanions
    public_url: str

    @property
    def calendar(self) -> Calendar:
        with self.database.unit_of_work() as uow:
            [calendar] = uow.calendars.list()
        return calendar

    def channels(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = self.control.get("/push").json()["channels"]
        return found

    def lifecycle(self, event: str) -> dict[str, Any]:
        answer = self.control.post(f"/accounts/{EMAIL}/lifecycle", json={"event": event})
        assert answer.status_code == 200, answer.text
        found: dict[str, Any] = answer.json()
        return found

    def requests(self, since: int, method: str, path_part: str) -> list[dict[str, Any]]:
        entries: list[dict[str, Any]] = self.control.get("/requests", params={"since": since}).json()
        return [e for e in entries if e["method"] == method and path_part in e["path"]]

    def receiver_knows(self, subscription_id: str) -> bool:
        push = self.companions.push
        return push is not None and push.channels.lookup(subscription_id) is not None

    def last_seq(self) -> int:
        entries = self.control.get("/requests").json()
        return int(entries[-1]["seq"]) if entries else 0

    def busy(self) -> set[str]:
        now = self.clock.now()
        with self.database.unit_of_work() as uow:
            tech = uow.techs.by_name("Sam Reed")
            assert tech is not None
            blocks = uow.busy.for_techs([tech.id], Interval(now, now + timedelta(days=20)))
        return {b.title for b in blocks}

    def start(self, days: int, hour: int) -> datetime:
        local = self.clock.now().astimezone(CHICAGO) + timedelta(days=days)
        return local.replace(hour=hour, minute=0, second=0, microsecond=0)


@pytest.fixture
async def pushed(
    sandbox: Sandbox, control: httpx.Client, token_store: TokenStore, tmp_path: Path
) -> AsyncIterator[Pushed]:
    add_sandbox_account(control, "microsoft", EMAIL, "Sam Reed")
    database = open_database(f"sqlite:///{tmp_path / 'office.db'}")
    clock = FixedClock(datetime.now(UTC).replace(microsecond=0))
    bus = Bus()
    services = Services.build(database.unit_of_work, clock, bus)
    services.techs.add("Sam Reed", EMAIL, "America/Chicago")
    connector = MicrosoftConnector(
        read_endpoints(sandbox.urls.control).microsoft_settings(),
        token_store,
        timeout=20,
        browser=SandboxApprover(EMAIL, sandbox.urls.ca),
    )
    with connector:
        services.accounts.connect("Sam Reed", Provider.MICROSOFT, connector)

    def provider_for(account: Any) -> Any:
        return open_provider(account, token_store, timeout=10)

    engine = SyncEngine(
        database.unit_of_work, provider_for, clock, bus, poll_seconds=POLL_SECONDS, rng=random.Random(5)
    )
    monitor = build_health_monitor(database.unit_of_work, clock, bus, path=tmp_path / "settings.toml")
    port = _free_port()
    public_url = f"http://127.0.0.1:{port}/crewboard"
    companions = SyncCompanions(
        monitor,
        database.unit_of_work,
        clock,
        provider_for,
        ("127.0.0.1", port),
        public_url,
        serve=serve_routes,
    )
    stop = asyncio.Event()
    running = asyncio.gather(engine.run_forever(stop), companions.run(engine.request_read, stop))
    phone = OutlookPhone(sandbox, control)
    made = Pushed(sandbox, control, database, services, clock, phone, companions, public_url)
    try:
        await until(lambda: len(made.channels()) == 1 and made.calendar.sync_cursor is not None)
        # The subscription exists at Graph as soon as it answered; its notices are ours once the
        # keeper stored it and the receiver's table has it.
        await until(lambda: made.receiver_knows(made.channels()[0]["id"]))
        yield made
    finally:
        stop.set()
        await running
        await engine.aclose()
        phone.http.close()
        database.dispose()


async def test_crewboard_subscribes_with_a_lifecycle_url_it_serves(pushed: Pushed) -> None:
    [channel] = pushed.channels()
    assert channel["url"] == f"{pushed.public_url}/microsoft"
    assert channel["lifecycle_url"] == f"{pushed.public_url}/microsoft/lifecycle"  # validated by the sandbox
    assert pushed.calendar.channel_id == channel["id"]


async def test_subscription_removed_subscribes_anew_and_reads_what_was_missed(pushed: Pushed) -> None:
    [old] = pushed.channels()
    assert pushed.control.post("/push/pause").status_code == 200
    assert pushed.lifecycle("subscriptionRemoved")["notified"] == [old["id"]]
    assert pushed.channels() == []
    pushed.phone.add("Dentist", pushed.start(3, 10))  # no subscription: nobody is told
    assert pushed.control.post("/push/resume").status_code == 200

    await until(lambda: "Dentist" in pushed.busy())
    [new] = pushed.channels()
    assert new["id"] != old["id"] and new["lifecycle_url"] == old["lifecycle_url"]
    assert pushed.calendar.channel_id == new["id"]

    pushed.phone.add("Vet", pushed.start(4, 10))  # the new subscription carries change notices again
    await until(lambda: "Vet" in pushed.busy())


async def test_missed_notices_make_crewboard_read_at_once(pushed: Pushed) -> None:
    [channel] = pushed.channels()
    assert pushed.control.post("/push/pause").status_code == 200
    pushed.phone.add("Gym", pushed.start(2, 7))
    assert pushed.control.post("/push/drop").json() == {"dropped": 1}  # its change notice is lost
    assert pushed.control.post("/push/resume").status_code == 200  # and Graph says so: `missed`
    await until(lambda: "Gym" in pushed.busy())

    since = pushed.last_seq()
    assert pushed.lifecycle("missed")["notified"] == [channel["id"]]  # on demand: one more read
    await until(lambda: bool(pushed.requests(since, "GET", "/delta")))
    assert pushed.channels() == [channel]  # the subscription itself is left as it is


async def test_reauthorization_required_renews_the_subscription(pushed: Pushed) -> None:
    [channel] = pushed.channels()
    since = pushed.last_seq()
    assert pushed.lifecycle("reauthorizationRequired")["notified"] == [channel["id"]]
    await until(lambda: [r["status"] for r in pushed.requests(since, "PATCH", channel["id"])] == [200])
    assert pushed.requests(since, "POST", "/subscriptions") == []  # renewed, not replaced

    # Near its expiry the sandbox asks by itself; Crewboard's renewal moves the expiry far out again.
    ms = pushed.sandbox.microsoft
    assert isinstance(ms, MicrosoftSandbox)
    soon = datetime.now(UTC) + timedelta(minutes=30)
    with ms.state.lock:
        ms.subscriptions.subscriptions[channel["id"]].expires = soon

    def renewed() -> bool:
        [current] = pushed.channels()
        return current["id"] == channel["id"] and datetime.fromisoformat(
            current["expires"]
        ) > soon + timedelta(days=1)

    await until(renewed)
    stored = pushed.calendar.channel_expires
    assert stored is not None and stored > soon + timedelta(days=1)


async def test_a_forged_lifecycle_notice_is_refused_and_changes_nothing(pushed: Pushed) -> None:
    [channel] = pushed.channels()
    since = pushed.last_seq()
    item = {
        "subscriptionId": channel["id"],
        "subscriptionExpirationDateTime": channel["expires"],
        "tenantId": "tenant",
        "clientState": "forged-client-state",
        "lifecycleEvent": "subscriptionRemoved",
    }
    async with httpx.AsyncClient(trust_env=False, timeout=5) as client:
        answer = await client.post(f"{pushed.public_url}/microsoft/lifecycle", json={"value": [item]})
        assert answer.status_code == 403
        real = dict(
            item,
            clientState=CalendarChannels(pushed.database.unit_of_work).token_for(
                CalendarId(pushed.calendar.id)
            ),
            lifecycleEvent="reauthorizationRequired",
        )
        assert (
            await client.post(f"{pushed.public_url}/microsoft/lifecycle", json={"value": [real]})
        ).status_code == 202
    # The genuine notice, sent after the forged one, is answered; the forged one never was.
    await until(lambda: bool(pushed.requests(since, "PATCH", channel["id"])))
    assert pushed.channels() == [dict(channel, expires=pushed.channels()[0]["expires"])]
    assert pushed.requests(since, "POST", "/subscriptions") == []
    assert pushed.calendar.channel_id == channel["id"]


async def test_a_subscription_without_a_lifecycle_url_is_replaced_when_renewed(pushed: Pushed) -> None:
    """One made before Crewboard asked for lifecycle notices: a PATCH cannot add the URL."""
    [old] = pushed.channels()
    ms = pushed.sandbox.microsoft
    assert isinstance(ms, MicrosoftSandbox)
    with ms.state.lock:
        ms.subscriptions.subscriptions[old["id"]].lifecycle_url = None
    token = CalendarChannels(pushed.database.unit_of_work).token_for(CalendarId(pushed.calendar.id))
    item = {"subscriptionId": old["id"], "clientState": token, "lifecycleEvent": "reauthorizationRequired"}
    async with httpx.AsyncClient(trust_env=False, timeout=5) as client:
        answer = await client.post(f"{pushed.public_url}/microsoft/lifecycle", json={"value": [item]})
    assert answer.status_code == 202
    await until(lambda: [c["id"] for c in pushed.channels()] not in ([], [old["id"]]))
    [new] = pushed.channels()
    assert new["lifecycle_url"] == f"{pushed.public_url}/microsoft/lifecycle"
    await until(lambda: pushed.calendar.channel_id == new["id"])
