"""The sandbox's providers push to the receiver: a watch and a subscription made through the
provider APIs, then edits to events, end in reads of the right calendars. Google's `sync` notice
of a new channel, which may come before the watch answer and so before the channel is stored, is
accepted however its check and the channel's storing interleave."""

from __future__ import annotations

import asyncio
import datetime as dt
import ssl
import threading
from collections.abc import AsyncIterator

import httpx
import pytest
from google.oauth2.credentials import Credentials

from app.domain.model import Calendar, CalendarAccount, Provider
from app.domain.time import FixedClock
from app.services.container import Services
from app.services.ports import RemoteCalendar
from app.web.server import serve_routes
from storage.repositories.calendars import SqlCalendarRepository
from sync.engine.providers import ProviderPool
from sync.providers.endpoints import read_endpoints
from sync.providers.fake import InMemoryCalendarProvider
from sync.providers.google_provider import GoogleCalendarProvider
from sync.providers.protocol import CalendarProvider
from sync.push_receiver import CalendarChannels, PushReceiver, push_address
from sync.sandbox.server import Sandbox
from sync.wiring import PushSide
from tests.health.conftest import Business
from tests.health.push_helpers import Reads, running, set_channel
from tests.sandbox.conftest import sandbox

__all__ = ["sandbox"]

GOOGLE_EMAIL = "maria@example.com"
GRAPH_EMAIL = "sam@example.com"


def _access_token(sandbox: Sandbox, provider: str, email: str) -> str:
    with httpx.Client(base_url=sandbox.urls.control, trust_env=False, timeout=10) as control:
        created = control.post(
            "/accounts", json={"provider": provider, "email": email, "timezone": "America/Chicago"}
        )
        assert created.status_code == 201, created.text
        token = control.post(f"/accounts/{email}/token")
        assert token.status_code == 200, token.text
        return str(token.json()["access_token"])


async def _add_dentist(google: httpx.AsyncClient, api: str) -> httpx.Response:
    """The tech adds a dentist appointment on the phone, through Google's own API."""
    return await google.post(
        f"{api}/calendars/primary/events",
        json={
            "summary": "Dentist",
            "start": {"dateTime": "2026-11-03T09:00:00-06:00"},
            "end": {"dateTime": "2026-11-03T10:00:00-06:00"},
        },
    )


@pytest.fixture
async def receiver(
    services: Services, business: Business
) -> AsyncIterator[tuple[PushReceiver, CalendarChannels, Reads]]:
    channels = CalendarChannels(services.uow)
    reads = Reads()
    async with running(channels, reads) as push:
        yield push, channels, reads


async def test_google_watch_delivers_to_the_receiver(
    sandbox: Sandbox,
    services: Services,
    business: Business,
    receiver: tuple[PushReceiver, CalendarChannels, Reads],
) -> None:
    push, channels, reads = receiver
    calendar = business.maria_calendar
    token = _access_token(sandbox, "google", GOOGLE_EMAIL)
    api = f"{sandbox.urls.google}/calendar/v3"
    async with (
        httpx.AsyncClient(
            headers={"Authorization": f"Bearer {token}"}, trust_env=False, timeout=10
        ) as google,
        httpx.AsyncClient(base_url=sandbox.urls.control, trust_env=False, timeout=10) as control,
    ):
        with channels.creating(calendar.id):  # as a channel keeper does around events.watch
            watched = await google.post(
                f"{api}/calendars/primary/events/watch",
                json={
                    "id": "crewboard-chan-1",
                    "type": "web_hook",
                    "address": push_address(push.url, "google"),
                    "token": channels.token_for(calendar.id),
                    "params": {"ttl": "3600"},
                },
            )
            assert watched.status_code == 200, watched.text
            set_channel(services, calendar, "crewboard-chan-1", watched.json()["resourceId"])
        assert await asyncio.to_thread(sandbox.push.wait_idle)  # the handshake's delivery is over
        [handshake] = (await control.get("/push")).json()["deliveries"]
        assert handshake["headers"]["X-Goog-Resource-State"] == "sync" and handshake["status"] == 200
        assert reads.calendars == []  # the sync handshake reads nothing

        event = await _add_dentist(google, api)
        assert event.status_code == 200, event.text
        assert await reads.count(1) == [calendar.id]

        assert (await control.post("/push/pause")).status_code == 200
        moved = await google.patch(
            f"{api}/calendars/primary/events/{event.json()['id']}",
            json={
                "start": {"dateTime": "2026-11-03T11:00:00-06:00"},
                "end": {"dateTime": "2026-11-03T12:00:00-06:00"},
            },
        )
        assert moved.status_code == 200, moved.text
        assert (await control.get("/push")).json()["held"] == 1  # held back by the sandbox
        assert reads.calendars == [calendar.id]
        assert (await control.post("/push/resume")).status_code == 200
        assert await reads.count(2) == [calendar.id, calendar.id]
        assert await asyncio.to_thread(sandbox.push.wait_idle)  # filed once the sandbox read our answer
        statuses = [d["status"] for d in (await control.get("/push")).json()["deliveries"]]
        assert statuses == [200, 200, 200]


def _note_table_reads(monkeypatch: pytest.MonkeyPatch) -> asyncio.Event:
    """An event set when a thread other than the loop's reads the calendars table: the receiver
    looking up a channel id it does not know yet (the test itself reads on the loop)."""
    loop = asyncio.get_running_loop()
    loop_thread = threading.get_ident()
    read = asyncio.Event()
    listed = SqlCalendarRepository.list

    def listing(self: SqlCalendarRepository) -> list[Calendar]:
        found = listed(self)
        if threading.get_ident() != loop_thread:
            loop.call_soon_threadsafe(read.set)
        return found

    monkeypatch.setattr(SqlCalendarRepository, "list", listing)
    return read


async def test_a_sync_notice_checked_while_its_channel_is_being_stored_is_accepted(
    sandbox: Sandbox,
    services: Services,
    business: Business,
    receiver: tuple[PushReceiver, CalendarChannels, Reads],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """What failed under load: the receiver read the table before the channel was stored (unknown
    id), the channel was then stored and stopped being "in creation", and only then did the
    receiver ask for a channel being made with that token: none, so the `sync` notice was refused
    404. Here the channel is stored and `creating` ends exactly after the receiver's table read;
    a change made before the channel was stored must still read the calendar."""
    push, channels, reads = receiver
    calendar = business.maria_calendar
    table_read = _note_table_reads(monkeypatch)
    token = _access_token(sandbox, "google", GOOGLE_EMAIL)
    api = f"{sandbox.urls.google}/calendar/v3"
    async with (
        httpx.AsyncClient(
            headers={"Authorization": f"Bearer {token}"}, trust_env=False, timeout=10
        ) as google,
        httpx.AsyncClient(base_url=sandbox.urls.control, trust_env=False, timeout=10) as control,
    ):
        assert (await control.post("/push/pause")).status_code == 200  # hold what the window sends
        with channels.creating(calendar.id):
            watched = await google.post(
                f"{api}/calendars/primary/events/watch",
                json={
                    "id": "crewboard-chan-2",
                    "type": "web_hook",
                    "address": push_address(push.url, "google"),
                    "token": channels.token_for(calendar.id),
                },
            )
            assert watched.status_code == 200, watched.text
            made = await _add_dentist(google, api)  # a change while the channel is not stored yet
            assert made.status_code == 200, made.text
            assert (await control.post("/push/resume")).status_code == 200  # sync, then exists
            async with asyncio.timeout(10):
                await table_read.wait()  # the receiver is checking the sync notice
            # No await from here to the end of `creating`: the receiver goes on only after it.
            set_channel(services, calendar, "crewboard-chan-2", watched.json()["resourceId"])
        assert await asyncio.to_thread(sandbox.push.wait_idle)
        deliveries = (await control.get("/push")).json()["deliveries"]
        assert [(d["headers"]["X-Goog-Resource-State"], d["status"]) for d in deliveries] == [
            ("sync", 200),
            ("exists", 200),
        ]
        assert await reads.count(1) == [calendar.id]  # the change, read; the handshake reads nothing


async def test_the_keepers_channel_knows_a_sync_notice_that_beats_the_watch_answer(
    sandbox: Sandbox, services: Services, clock: FixedClock, business: Business
) -> None:
    """`crewboard sync --listen` against a Google that delivers the `sync` notice before events.watch
    answers (real Google may): the keeper marks the channel as being made before its request goes
    out, so the receiver takes the notice; the stored channel's changes then read the calendar."""
    sandbox.google.api.sync_before_answer = True
    token = _access_token(sandbox, "google", GOOGLE_EMAIL)
    settings = read_endpoints(sandbox.urls.control).google_settings()

    def provider_for(account: CalendarAccount) -> CalendarProvider:
        if account.provider is Provider.GOOGLE:
            return GoogleCalendarProvider(settings, Credentials(token))
        return InMemoryCalendarProvider([RemoteCalendar("AAMk2", "Calendar", True)], clock=clock.now)

    reads = Reads()
    pool = ProviderPool(provider_for)
    side = PushSide(services.uow, provider_for, clock, reads, serve_routes, pool)
    keeper = await side.start("127.0.0.1", 0)
    try:
        assert await keeper.keep() == 2
        [handshake] = list(sandbox.push.deliveries)  # filed before the watch answered
        with services.uow() as uow:
            maria = uow.calendars.get(business.maria_calendar.id)
        assert maria is not None and maria.channel_id is not None
        assert handshake.headers["X-Goog-Resource-State"] == "sync"
        assert handshake.headers["X-Goog-Channel-ID"] == maria.channel_id and handshake.status == 200
        assert reads.calendars == []

        async with httpx.AsyncClient(
            headers={"Authorization": f"Bearer {token}"}, trust_env=False, timeout=10
        ) as google:
            made = await _add_dentist(google, f"{sandbox.urls.google}/calendar/v3")
        assert made.status_code == 200, made.text
        assert await reads.count(1) == [maria.id]
    finally:
        await keeper.stop_all()
        await pool.aclose()
        await side.aclose()


async def test_graph_subscription_handshake_and_notifications_reach_the_receiver(
    sandbox: Sandbox,
    services: Services,
    business: Business,
    receiver: tuple[PushReceiver, CalendarChannels, Reads],
) -> None:
    push, channels, reads = receiver
    calendar = business.sam_calendar
    token = _access_token(sandbox, "microsoft", GRAPH_EMAIL)
    assert sandbox.urls.graph is not None
    verify = ssl.create_default_context(cafile=sandbox.urls.ca)
    async with httpx.AsyncClient(
        base_url=sandbox.urls.graph,
        headers={"Authorization": f"Bearer {token}"},
        verify=verify,
        trust_env=False,
        timeout=15,
    ) as graph:
        expires = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=24)).strftime("%Y-%m-%dT%H:%M:%SZ")
        created = await graph.post(
            "/subscriptions",
            json={
                "changeType": "created,updated,deleted",
                "notificationUrl": push_address(push.url, "microsoft"),
                "resource": "me/events",
                "expirationDateTime": expires,
                "clientState": channels.token_for(calendar.id),
            },
        )
        assert created.status_code == 201, created.text  # the sandbox checked our validation answer
        set_channel(services, calendar, created.json()["id"], None)
        channels.refresh()

        event = await graph.post(
            "/me/events",
            json={
                "subject": "Kid's recital",
                "start": {"dateTime": "2026-11-03T09:00:00", "timeZone": "Pacific Standard Time"},
                "end": {"dateTime": "2026-11-03T10:00:00", "timeZone": "Pacific Standard Time"},
            },
        )
        assert event.status_code == 201, event.text
        assert await reads.count(1) == [calendar.id]
        assert (await graph.delete(f"/me/events/{event.json()['id']}")).status_code == 204
        assert await reads.count(2) == [calendar.id, calendar.id]
