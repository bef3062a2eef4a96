"""A restart of `crewboard sync --listen`, against the sandbox: the channels the stopped process left
stored cost no request at the next start, its first round still reads every calendar, and a change
on the tech's phone still arrives by notice (the poll here is an hour away)."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from app.domain.ids import CalendarId
from app.domain.model import CalendarAccount
from app.domain.time import Interval
from app.services.container import Services
from app.web.server import serve_routes
from storage.database import open_database
from sync.channels import ChannelKeeper
from sync.engine import SyncEngine
from sync.providers.factory import open_provider
from sync.providers.protocol import CalendarProvider
from sync.providers.secrets import TokenStore
from sync.sandbox.server import Sandbox
from sync.wiring import PushSide
from tests.accounts.conftest import add_sandbox_account, keyring_problem, sandbox_requests, token_store
from tests.office import sandbox_tech as maria
from tests.sandbox.conftest import control, sandbox

__all__ = ["control", "keyring_problem", "sandbox", "token_store"]

pytestmark = [pytest.mark.keyring]

CHICAGO = ZoneInfo("America/Chicago")
HOUR = 3600.0  # the fast poll, pushed out of the way: only a notice can read the change


@dataclass
class Process:
    """One run of the sync with push: the engine, and its receiver and keeper on the same loop."""

    engine: SyncEngine
    keeper: ChannelKeeper


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@asynccontextmanager
async def _process(services: Services, store: TokenStore, port: int) -> AsyncIterator[Process]:
    def provider_for(account: CalendarAccount) -> CalendarProvider:
        return open_provider(account, store, timeout=10)

    engine = SyncEngine(services.uow, provider_for, services.clock, services.bus, poll_seconds=HOUR)
    push = PushSide(
        services.uow,
        provider_for,
        services.clock,
        engine.request_read,
        serve_routes,
        engine.providers,
        engine.polls,
    )
    keeper = await push.start("127.0.0.1", port)  # the same address at every start, as a real relay
    try:
        yield Process(engine, keeper)
    finally:
        await push.aclose()
        await engine.aclose()


def _channel_requests(entries: list[dict[str, Any]]) -> list[str]:
    paths = (str(e.get("path", "")).split("?")[0] for e in entries)
    return [p for p in paths if p.endswith(("/watch", "/channels/stop"))]


async def _until(check: Callable[[], bool], what: str, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"never happened: {what}")
        await asyncio.sleep(0.05)


async def test_a_restart_opens_no_channel_and_a_notice_still_reads_the_change(
    sandbox: Sandbox, control: httpx.Client, token_store: TokenStore, tmp_path: Path
) -> None:
    add_sandbox_account(control, "google", maria.EMAIL, maria.NAME, extra_calendars=("Family",))
    database = open_database(f"sqlite:///{tmp_path / 'crewboard.db'}")
    services = Services.build(database.unit_of_work)
    tech = services.techs.add(maria.NAME, maria.EMAIL, "America/Chicago")
    maria.sign_in(sandbox, services, token_store)
    with services.uow() as uow:
        calendars: list[CalendarId] = [
            c.id for a in uow.accounts.list() for c in uow.calendars.for_account(a.id)
        ]
    assert len(calendars) == 2
    port = _free_port()
    phone = maria.phone(sandbox, control)
    try:
        async with _process(services, token_store, port) as first:
            await first.engine.run_once()
            assert await first.keeper.keep() == 2
            stop = asyncio.Event()
            stop.set()
            await first.keeper.run(stop)  # the end of the process: the channels stay stored
        assert len(_channel_requests(sandbox_requests(control))) == 2
        seen = max(int(e["seq"]) for e in sandbox_requests(control))

        async with _process(services, token_store, port) as second:
            stop = asyncio.Event()
            running = asyncio.ensure_future(second.engine.run_forever(stop))
            try:
                assert await second.keeper.keep() == 0
                polls = second.engine.polls
                await _until(
                    lambda: all(polls.last_read(c) is not None for c in calendars),
                    "the first round read both",
                )
                since = [e for e in sandbox_requests(control) if int(e["seq"]) > seen]
                assert _channel_requests(since) == []
                assert len(since) >= 2  # the first round's reads, which bring each calendar in step
                assert all(polls.live(c) for c in calendars)  # checked every few minutes, not every 10 s

                start = (datetime.now(CHICAGO) + timedelta(days=2)).replace(
                    hour=9, minute=0, second=0, microsecond=0
                )
                added = phone.post(
                    "calendars/primary/events",
                    json={
                        "summary": "Dentist",
                        "start": {"dateTime": start.isoformat()},
                        "end": {"dateTime": (start + timedelta(hours=1)).isoformat()},
                    },
                )
                assert added.status_code == 200, added.text

                def blocked() -> bool:
                    window = Interval(start.astimezone(UTC), start.astimezone(UTC) + timedelta(hours=1))
                    with services.uow() as uow:
                        return bool(uow.busy.for_techs([tech.id], window))

                await _until(blocked, "the notice through the kept channel read the dentist")
            finally:
                stop.set()
                await running
    finally:
        phone.close()
        database.dispose()
