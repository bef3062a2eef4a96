"""Graph lifecycle notices at the push receiver: the lifecycle URL's handshake, the clientState check,
the 202 before anything is done, and what each event asks for."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from app.domain.ids import CalendarId
from app.services.container import Services
from app.web.server import serve_routes
from sync.providers.protocol import lifecycle_url
from sync.push_receiver import CalendarChannels, LifecycleEvent, PushReceiver, push_address
from tests.health.conftest import Business
from tests.health.push_helpers import Reads, set_channel


class Heard:
    """The receiver's lifecycle handler: records what it was asked, and wakes waiters."""

    def __init__(self) -> None:
        self.notices: list[tuple[CalendarId, str, LifecycleEvent]] = []
        self._arrived = asyncio.Event()

    def __call__(self, calendar_id: CalendarId, subscription_id: str, event: LifecycleEvent) -> None:
        self.notices.append((calendar_id, subscription_id, event))
        self._arrived.set()

    async def count(
        self, expected: int, timeout: float = 10.0
    ) -> list[tuple[CalendarId, str, LifecycleEvent]]:
        async with asyncio.timeout(timeout):
            while len(self.notices) < expected:
                self._arrived.clear()
                await self._arrived.wait()
        return list(self.notices)


@dataclass
class Setup:
    receiver: PushReceiver
    reads: Reads
    heard: Heard
    token: str
    calendar_id: CalendarId
    client: httpx.AsyncClient

    @property
    def url(self) -> str:
        return lifecycle_url(push_address(self.receiver.url, "microsoft"))

    async def post(self, *items: dict[str, Any], url: str | None = None) -> httpx.Response:
        return await self.client.post(url or self.url, json={"value": list(items)})

    def item(self, event: str, **changes: Any) -> dict[str, Any]:
        item = {
            "subscriptionId": "sub-sam",
            "subscriptionExpirationDateTime": "2026-11-04T16:05:00Z",
            "tenantId": "tenant",
            "clientState": self.token,
            "lifecycleEvent": event,
        }
        item.update(changes)
        return item


async def _setup(services: Services, business: Business, handler: bool) -> AsyncIterator[Setup]:
    set_channel(services, business.sam_calendar, "sub-sam", None)
    channels = CalendarChannels(services.uow)
    reads, heard = Reads(), Heard()
    receiver = PushReceiver(channels, reads, serve_routes, on_lifecycle=heard if handler else None)
    await receiver.start("127.0.0.1", 0)
    try:
        async with httpx.AsyncClient(timeout=5, trust_env=False) as client:
            yield Setup(
                receiver,
                reads,
                heard,
                channels.token_for(business.sam_calendar.id),
                business.sam_calendar.id,
                client,
            )
    finally:
        await receiver.aclose()


@pytest.fixture
async def setup(services: Services, business: Business) -> AsyncIterator[Setup]:
    async for made in _setup(services, business, handler=True):
        yield made


@pytest.fixture
async def bare(services: Services, business: Business) -> AsyncIterator[Setup]:
    """A receiver without a lifecycle handler (a channel keeper that does not answer them)."""
    async for made in _setup(services, business, handler=False):
        yield made


async def test_the_lifecycle_url_answers_the_validation_handshake(setup: Setup) -> None:
    assert setup.url.endswith("/microsoft/lifecycle")
    answer = await setup.client.post(setup.url, params={"validationToken": "Validation: lifecycle 1"})
    assert answer.status_code == 200 and answer.text == "Validation: lifecycle 1"
    assert answer.headers["content-type"].startswith("text/plain")
    assert await setup.reads.none_for(0.1) and setup.heard.notices == []


async def test_each_lifecycle_event_goes_to_the_handler_after_a_202(setup: Setup) -> None:
    answer = await setup.post(
        setup.item("reauthorizationRequired"), setup.item("subscriptionRemoved"), setup.item("missed")
    )
    assert answer.status_code == 202
    assert await setup.heard.count(3) == [
        (setup.calendar_id, "sub-sam", LifecycleEvent.REAUTHORIZATION_REQUIRED),
        (setup.calendar_id, "sub-sam", LifecycleEvent.SUBSCRIPTION_REMOVED),
        (setup.calendar_id, "sub-sam", LifecycleEvent.MISSED),
    ]
    assert setup.reads.calendars == []  # the handler decides what to read, and when


async def test_a_lifecycle_notice_on_the_change_url_is_a_lifecycle_notice(setup: Setup) -> None:
    """Graph allows one URL for both kinds; the item, not the path, says which it is."""
    answer = await setup.post(setup.item("missed"), url=push_address(setup.receiver.url, "microsoft"))
    assert answer.status_code == 202
    assert await setup.heard.count(1) == [(setup.calendar_id, "sub-sam", LifecycleEvent.MISSED)]


async def test_forged_lifecycle_notices_are_refused(setup: Setup, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    forged = "forged-client-state-0123456789"
    answer = await setup.post(setup.item("subscriptionRemoved", clientState=forged))
    assert answer.status_code == 403
    assert (await setup.post(setup.item("subscriptionRemoved", clientState=None))).status_code == 403
    assert (await setup.post(setup.item("missed", subscriptionId="sub-other"))).status_code == 404
    assert await setup.reads.none_for(0.2) and setup.heard.notices == []
    assert "wrong clientState on subscription sub-sam" in caplog.text
    assert forged not in caplog.text and setup.token not in caplog.text


async def test_an_unknown_lifecycle_event_reads_the_calendar(setup: Setup) -> None:
    assert (await setup.post(setup.item("somethingNew"))).status_code == 202
    assert await setup.reads.count(1) == [setup.calendar_id]
    assert setup.heard.notices == []


async def test_without_a_handler_missed_and_removed_still_read(bare: Setup) -> None:
    assert (await bare.post(bare.item("reauthorizationRequired"))).status_code == 202
    assert (await bare.post(bare.item("missed"))).status_code == 202
    assert (await bare.post(bare.item("subscriptionRemoved"))).status_code == 202
    assert await bare.reads.count(2) == [bare.calendar_id] * 2
    assert await bare.reads.none_for(0.1)
