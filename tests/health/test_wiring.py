"""`crewboard sync`'s companions beside a real engine: an outage escalates and is e-mailed, a push
notice makes the engine read at once, and recovery comes back to OK."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import httpx

from app.domain.model import Audience, CalendarAccount, HealthLevel, SyncHealth
from app.domain.time import FixedClock
from app.services.container import Services
from app.services.ports import RemoteCalendar
from app.web.server import serve_routes
from sync.engine import SyncEngine
from sync.providers.fake import InMemoryCalendarProvider
from sync.push_receiver import CalendarChannels, push_address
from sync.wiring import SyncCompanions, build_health_monitor
from tests.health.conftest import DISPATCHER_EMAIL, Business, SmtpServer


async def until(check: Callable[[], bool], timeout: float = 10.0) -> None:
    async with asyncio.timeout(timeout):
        while not check():
            await asyncio.sleep(0.02)


def _health(services: Services, business: Business) -> SyncHealth | None:
    with services.uow() as uow:
        return uow.health.get(business.maria_google.id)


async def test_engine_and_companions_together(
    services: Services, clock: FixedClock, business: Business, smtp_server: SmtpServer, tmp_path: Path
) -> None:
    settings = tmp_path / "settings.toml"
    settings.write_text(
        f'[sync]\ndispatcher_after = "20m"\n\n[notifications]\ndispatcher_email = "{DISPATCHER_EMAIL}"\n'
        f'smtp_host = "127.0.0.1"\nsmtp_port = {smtp_server.port}\nsmtp_starttls = false\n'
    )
    providers: dict[str, list[InMemoryCalendarProvider]] = {}  # the engine's and the channel keeper's

    def provider_for(account: CalendarAccount) -> InMemoryCalendarProvider:
        remote = "primary" if account.id == business.maria_google.id else "AAMk2"
        provider = InMemoryCalendarProvider([RemoteCalendar(remote, "Calendar", True)], clock=clock.now)
        if account.id == business.maria_google.id:
            provider.fail_next("transient", count=10_000, methods=["read_changes"])
        providers.setdefault(account.id, []).append(provider)
        return provider

    monitor = build_health_monitor(services.uow, clock, services.bus, path=settings)
    assert monitor.thresholds.dispatcher == timedelta(minutes=20)
    engine = SyncEngine(services.uow, provider_for, clock, services.bus, health=monitor, poll_seconds=60)
    companions = SyncCompanions(
        monitor,
        services.uow,
        clock,
        provider_for,
        ("127.0.0.1", 0),
        "https://relay.example.com/cb",
        health_every=timedelta(milliseconds=50),
        serve=serve_routes,
    )
    stop = asyncio.Event()
    running = asyncio.gather(engine.run_forever(stop), companions.run(engine.request_read, stop))
    try:
        await until(lambda: (h := _health(services, business)) is not None and h.failing_since is not None)
        clock.advance(timedelta(minutes=21))
        await until(lambda: len(smtp_server.mailbox.messages) == 1)
        [mail] = smtp_server.mailbox.messages
        assert mail["To"] == DISPATCHER_EMAIL and "Maria Lopez's Google calendar" in mail["Subject"]
        health = _health(services, business)
        assert health is not None and health.level is HealthLevel.DISPATCHER

        await companions.listening.wait()
        assert companions.receiver is not None
        with services.uow() as uow:
            sam = uow.calendars.get(business.sam_calendar.id)
        await until(lambda: _channel_of(services, business) is not None)

        def sam_reads() -> int:
            return sum(p.calls.count("read_changes") for p in providers[business.sam_outlook.id])

        reads_before = sam_reads()
        channels = CalendarChannels(services.uow)
        assert sam is not None
        notice = {
            "value": [
                {
                    "subscriptionId": _channel_of(services, business),
                    "clientState": channels.token_for(sam.id),
                    "changeType": "created",
                    "resource": "Users/1/Events/AAMk9",
                }
            ]
        }
        async with httpx.AsyncClient(trust_env=False, timeout=5) as client:
            answer = await client.post(push_address(companions.receiver.url, "microsoft"), json=notice)
        assert answer.status_code == 202
        await until(lambda: sam_reads() > reads_before, timeout=5)  # at once, not at the 60 s poll

        for provider in providers[business.maria_google.id]:
            provider.clear_faults()
        engine.request_read(business.maria_calendar.id)
        await until(lambda: (h := _health(services, business)) is not None and h.level is HealthLevel.OK)
        await until(lambda: len(smtp_server.mailbox.messages) == 2)
        assert smtp_server.mailbox.messages[1]["Subject"].endswith("syncs again")
        with services.uow() as uow:
            assert {n.audience for n in uow.notifications.list()} == {Audience.DISPATCHER}
    finally:
        stop.set()
        await running
        await engine.aclose()
    assert _channel_of(services, business) is not None  # left for the next start to keep


def _channel_of(services: Services, business: Business) -> str | None:
    with services.uow() as uow:
        calendar = uow.calendars.get(business.sam_calendar.id)
    return None if calendar is None else calendar.channel_id
