"""The sandbox's providers push to the receiver: a watch and a subscription made through the
provider APIs, then edits to events, end in reads of the right calendars."""

from __future__ import annotations

import asyncio
import datetime as dt
import ssl
from collections.abc import AsyncIterator

import httpx
import pytest

from app.services.container import Services
from sync.push_receiver import CalendarChannels, PushReceiver, push_address
from sync.sandbox.server import Sandbox
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
        assert await reads.none_for(0.3)  # the sync handshake reads nothing
        [handshake] = (await control.get("/push")).json()["deliveries"]
        assert handshake["headers"]["X-Goog-Resource-State"] == "sync" and handshake["status"] == 200

        event = await google.post(
            f"{api}/calendars/primary/events",
            json={
                "summary": "Dentist",
                "start": {"dateTime": "2026-11-03T09:00:00-06:00"},
                "end": {"dateTime": "2026-11-03T10:00:00-06:00"},
            },
        )
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
        assert await reads.none_for(0.3)  # held back by the sandbox
        assert (await control.post("/push/resume")).status_code == 200
        assert await reads.count(2) == [calendar.id, calendar.id]
        async with asyncio.timeout(5):  # the sandbox files a delivery after reading our answer
            while (
                len(statuses := [d["status"] for d in (await control.get("/push")).json()["deliveries"]]) < 3
            ):
                await asyncio.sleep(0.02)
        assert statuses == [200, 200, 200]


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
