"""The push receiver over loopback HTTP: what it accepts, what it refuses, and what it reads."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from app.services.container import Services
from app.web.server import serve_routes
from sync.push_receiver import MAX_BODY, CalendarChannels, PushReceiver, push_address
from tests.health.conftest import Business
from tests.health.push_helpers import Reads, running, set_channel


@dataclass
class Setup:
    receiver: PushReceiver
    reads: Reads
    channels: CalendarChannels
    business: Business
    client: httpx.AsyncClient
    google_token: str
    graph_token: str

    @property
    def google(self) -> str:
        return push_address(self.receiver.url, "google")

    @property
    def graph(self) -> str:
        return push_address(self.receiver.url, "microsoft")

    async def goog(self, number: int, state: str = "exists", **changes: str) -> httpx.Response:
        headers = {
            "X-Goog-Channel-ID": "chan-maria",
            "X-Goog-Channel-Token": self.google_token,
            "X-Goog-Channel-Expiration": "Tue, 10 Nov 2026 16:05:00 GMT",
            "X-Goog-Resource-ID": "res-maria",
            "X-Goog-Resource-URI": "https://www.googleapis.com/calendar/v3/calendars/primary/events?alt=json",
            "X-Goog-Resource-State": state,
            "X-Goog-Message-Number": str(number),
        }
        headers.update(changes)
        return await self.client.post(self.google, headers=headers, content=b"")

    def item(self, **changes: Any) -> dict[str, Any]:
        item = {
            "subscriptionId": "sub-sam",
            "subscriptionExpirationDateTime": "2026-11-04T16:05:00Z",
            "clientState": self.graph_token,
            "changeType": "updated",
            "resource": "Users/1/Events/AAMkAD1",
            "resourceData": {"@odata.type": "#Microsoft.Graph.Event", "id": "AAMkAD1"},
            "tenantId": "tenant",
        }
        item.update(changes)
        return item


@pytest.fixture
async def setup(services: Services, business: Business) -> AsyncIterator[Setup]:
    set_channel(services, business.maria_calendar, "chan-maria", "res-maria")
    set_channel(services, business.sam_calendar, "sub-sam", None)
    channels = CalendarChannels(services.uow)
    reads = Reads()
    async with (
        running(channels, reads) as receiver,
        httpx.AsyncClient(timeout=5, trust_env=False) as client,
    ):
        yield Setup(
            receiver,
            reads,
            channels,
            business,
            client,
            channels.token_for(business.maria_calendar.id),
            channels.token_for(business.sam_calendar.id),
        )


# --- Google --------------------------------------------------------------------------------------


async def test_google_sync_is_the_handshake_and_exists_reads(setup: Setup) -> None:
    sync = await setup.goog(1, "sync")
    assert sync.status_code == 200
    assert await setup.reads.none_for(0.1)
    assert (await setup.goog(2, "exists")).status_code == 200
    assert (await setup.goog(3, "not_exists")).status_code == 200
    assert await setup.reads.count(2) == [setup.business.maria_calendar.id] * 2


async def test_google_replayed_messages_are_ignored(setup: Setup) -> None:
    assert (await setup.goog(5)).status_code == 200
    assert await setup.reads.count(1)
    for _ in range(3):
        assert (await setup.goog(5)).status_code == 200  # acknowledged, so not resent
    assert await setup.reads.none_for(0.1)
    assert (await setup.goog(9)).status_code == 200
    assert (await setup.goog(4)).status_code == 200  # an older one never seen: a read is always safe
    assert (await setup.goog(9)).status_code == 200
    maria = setup.business.maria_calendar.id
    assert await setup.reads.count(3) == [maria] * 3
    assert await setup.reads.none_for(0.1)


async def test_google_a_forged_huge_message_number_silences_nothing(setup: Setup) -> None:
    """Someone holding a captured notice (its channel id and token) sends 10**18, or 10**30: the
    genuine numbers after it still read, and numbers past 64 bits are refused."""
    assert (await setup.goog(10**30)).status_code == 400
    assert (await setup.goog(2**64)).status_code == 400
    assert (await setup.goog(10**18)).status_code == 200  # within 64 bits: a read, nothing more
    assert await setup.reads.count(1)
    for number in (3, 4):
        assert (await setup.goog(number)).status_code == 200
    assert await setup.reads.count(3) == [setup.business.maria_calendar.id] * 3


async def test_google_wrong_token_is_refused_without_a_trace_of_either_token(
    setup: Setup, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    forged = "forged-token-value-0123456789"
    answer = await setup.goog(2, **{"X-Goog-Channel-Token": forged})
    assert answer.status_code == 403
    missing = await setup.goog(3, **{"X-Goog-Channel-Token": ""})
    assert missing.status_code == 403
    assert await setup.reads.none_for(0.1)
    assert "wrong channel token on channel chan-maria" in caplog.text
    assert forged not in caplog.text and setup.google_token not in caplog.text
    assert forged not in answer.text and setup.google_token not in answer.text
    assert (await setup.goog(2)).status_code == 200  # a refused number does not burn the real one


async def test_google_unknown_channel_and_foreign_resource_are_refused(setup: Setup) -> None:
    assert (await setup.goog(2, **{"X-Goog-Channel-ID": "chan-other"})).status_code == 404
    assert (await setup.goog(2, **{"X-Goog-Resource-ID": "res-other"})).status_code == 403
    assert (await setup.goog(2, **{"X-Goog-Resource-State": "deleted"})).status_code == 400
    assert (await setup.goog(2, **{"X-Goog-Message-Number": "two"})).status_code == 400
    assert await setup.reads.none_for(0.1)


async def test_a_channel_being_created_is_known_by_its_token_handshake_and_changes(
    services: Services, setup: Setup
) -> None:
    """Google posts as soon as its watch answered, before the keeper stored the channel: the sync
    handshake, and changes made meanwhile (Crewboard's own writes to that calendar, say)."""
    calendar = setup.business.maria_calendar
    headers = {
        "X-Goog-Channel-ID": "chan-new",
        "X-Goog-Channel-Token": setup.google_token,
        "X-Goog-Resource-State": "sync",
        "X-Goog-Message-Number": "1",
    }
    change = {**headers, "X-Goog-Resource-State": "exists", "X-Goog-Message-Number": "2"}
    assert (await setup.client.post(setup.google, headers=headers)).status_code == 404  # nothing pending
    with setup.channels.creating(calendar.id):
        forged = {**change, "X-Goog-Channel-Token": setup.graph_token}  # another calendar's token
        assert (await setup.client.post(setup.google, headers=forged)).status_code == 404
        assert (await setup.client.post(setup.google, headers=headers)).status_code == 200
        assert await setup.reads.none_for(0.05)  # a handshake reads nothing
        assert (await setup.client.post(setup.google, headers=change)).status_code == 200
        assert await setup.reads.count(1) == [calendar.id]
        assert (await setup.client.post(setup.google, headers=change)).status_code == 200  # replayed
        assert await setup.reads.none_for(0.05)
    set_channel(services, calendar, "chan-new", None)
    setup.channels.refresh()
    later = {**change, "X-Goog-Message-Number": "3"}
    assert (await setup.client.post(setup.google, headers=later)).status_code == 200
    assert await setup.reads.count(2) == [calendar.id, calendar.id]  # reads asked for in all
    setup.channels.forget("chan-new")
    assert (
        await setup.client.post(setup.google, headers={**later, "X-Goog-Message-Number": "4"})
    ).status_code == 404


# --- Microsoft Graph -----------------------------------------------------------------------------


async def test_graph_validation_handshake_echoes_the_decoded_token(setup: Setup) -> None:
    token = "Validation: Testing client application reachability for subscription Request-Id: 4f1c"
    started = time.monotonic()
    answer = await setup.client.post(
        f"{setup.graph}?validationToken={quote(token)}", headers={"Content-Type": "text/plain; charset=utf-8"}
    )
    assert time.monotonic() - started < 1.0  # Graph gives up after 10 s
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")
    assert answer.text == token
    assert await setup.reads.none_for(0.05)


async def test_graph_notification_reads_the_subscribed_calendar(setup: Setup) -> None:
    body = {"value": [setup.item(), setup.item(changeType="created")]}
    answer = await setup.client.post(setup.graph, json=body)
    assert answer.status_code == 202
    assert await setup.reads.count(1) == [setup.business.sam_calendar.id]  # one read for the batch
    assert await setup.reads.none_for(0.1)


async def test_graph_wrong_client_state_or_unknown_subscription_is_refused(
    setup: Setup, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    wrong = await setup.client.post(setup.graph, json={"value": [setup.item(clientState="guessed-state")]})
    assert wrong.status_code == 403
    absent = await setup.client.post(setup.graph, json={"value": [setup.item(clientState=None)]})
    assert absent.status_code == 403
    unknown = await setup.client.post(setup.graph, json={"value": [setup.item(subscriptionId="sub-else")]})
    assert unknown.status_code == 404
    assert await setup.reads.none_for(0.1)
    assert "guessed-state" not in caplog.text and setup.graph_token not in caplog.text


async def test_graph_batch_reads_only_for_the_items_that_are_ours(setup: Setup) -> None:
    body = {"value": [setup.item(subscriptionId="sub-stale"), setup.item()]}
    assert (await setup.client.post(setup.graph, json=body)).status_code == 202
    assert await setup.reads.count(1) == [setup.business.sam_calendar.id]


async def test_graph_a_subscription_being_created_is_known_by_its_client_state(setup: Setup) -> None:
    """Graph may post changes before the keeper stored the new subscription's id."""
    sam = setup.business.sam_calendar
    fresh = {"value": [setup.item(subscriptionId="sub-new")]}
    assert (await setup.client.post(setup.graph, json=fresh)).status_code == 404  # nothing pending
    with setup.channels.creating(sam.id):
        assert (await setup.client.post(setup.graph, json=fresh)).status_code == 202
        assert await setup.reads.count(1) == [sam.id]
        lifecycle = {"value": [setup.item(subscriptionId="sub-new", lifecycleEvent="missed")]}
        assert (await setup.client.post(setup.graph, json=lifecycle)).status_code == 404
        guessed = {"value": [setup.item(subscriptionId="sub-new", clientState="guessed-state")]}
        assert (await setup.client.post(setup.graph, json=guessed)).status_code == 404
    assert await setup.reads.none_for(0.05)


# --- not notices at all --------------------------------------------------------------------------


async def test_malformed_json_is_refused(setup: Setup) -> None:
    for body in (b"{not json", b"[]", b'{"value": []}', b'{"value": "x"}', b'{"value": [17]}', b"\xff\xfe"):
        answer = await setup.client.post(
            setup.graph, content=body, headers={"Content-Type": "application/json"}
        )
        assert answer.status_code == 400, body
    assert await setup.reads.none_for(0.05)


async def test_an_oversized_body_is_refused_unread(setup: Setup) -> None:
    huge = b'{"value": [' + b" " * MAX_BODY + b"]}"
    answer = await setup.client.post(setup.graph, content=huge, headers={"Content-Type": "application/json"})
    assert answer.status_code == 413
    assert await setup.reads.none_for(0.05)
    assert (await setup.client.post(setup.graph, json={"value": [setup.item()]})).status_code == 202


async def test_other_methods_paths_and_chunked_bodies_are_refused(setup: Setup) -> None:
    assert (await setup.client.get(setup.google)).status_code == 405
    assert (await setup.client.post(push_address(setup.receiver.url, "google") + "x")).status_code == 404

    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"value": []}'

    chunked = await setup.client.post(setup.graph, content=chunks())
    assert chunked.status_code == 411
    assert await setup.reads.none_for(0.05)


async def test_huge_headers_and_stalled_requests_are_cut_off(services: Services, business: Business) -> None:
    channels = CalendarChannels(services.uow)
    async with running(channels, Reads(), read_timeout=0.3) as receiver:
        reader, writer = await asyncio.open_connection(receiver.host, receiver.port)
        writer.write(b"POST /google HTTP/1.1\r\nHost: x\r\n")  # and then nothing
        answer = await asyncio.wait_for(reader.read(), 5)
        assert answer.startswith(b"HTTP/1.1 408 ")
        writer.close()
        await writer.wait_closed()

        reader, writer = await asyncio.open_connection(receiver.host, receiver.port)
        writer.write(b"POST /google HTTP/1.1\r\nX-Filler: " + b"a" * 20000 + b"\r\n\r\n")
        answer = await asyncio.wait_for(reader.read(), 5)
        assert answer.startswith(b"HTTP/1.1 431 ")
        writer.close()
        await writer.wait_closed()

        reader, writer = await asyncio.open_connection(receiver.host, receiver.port)
        writer.write(b"NONSENSE\r\n\r\n")
        assert (await asyncio.wait_for(reader.read(), 5)).startswith(b"HTTP/1.1 400 ")
        writer.close()
        await writer.wait_closed()


async def test_shutting_down_with_a_request_half_sent_ends_quietly(
    services: Services, caplog: pytest.LogCaptureFixture
) -> None:
    channels = CalendarChannels(services.uow)
    receiver = PushReceiver(channels, Reads(), serve_routes)
    await receiver.start("127.0.0.1", 0)
    _reader, writer = await asyncio.open_connection(receiver.host, receiver.port)
    writer.write(b"POST /google HTTP/1.1\r\nContent-Length: 10\r\n\r\n")  # the body never comes
    await writer.drain()
    await asyncio.sleep(0.1)
    with caplog.at_level(logging.ERROR):
        await receiver.aclose()
        await asyncio.sleep(0.05)  # the server's own callbacks for the closed connection run
    writer.close()
    await writer.wait_closed()
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []


async def test_tokens_are_stable_per_database_and_differ_per_calendar(
    services: Services, business: Business
) -> None:
    first = CalendarChannels(services.uow)
    again = CalendarChannels(services.uow)
    maria = first.token_for(business.maria_calendar.id)
    assert maria == again.token_for(business.maria_calendar.id)  # the key is kept, so restarts agree
    assert maria != first.token_for(business.sam_calendar.id)
    assert len(maria) == 43 and maria.replace("-", "").replace("_", "").isalnum()


async def test_a_batch_is_resolved_in_one_step_stored_pending_and_unknown(
    services: Services, business: Business
) -> None:
    """resolve_many keeps resolve's promise for every pair of a batch: one state of the registry."""
    set_channel(services, business.maria_calendar, "chan-maria", "res-maria")
    channels = CalendarChannels(services.uow)
    sam_token = channels.token_for(business.sam_calendar.id)
    with channels.creating(business.sam_calendar.id):
        found = channels.resolve_many([("chan-maria", "x"), ("sub-new", sam_token), ("sub-else", "x")])
        assert found[0] is not None and found[0].calendar_id == business.maria_calendar.id
        assert found[1] is not None and found[1].pending and found[1].calendar_id == business.sam_calendar.id
        assert found[2] is None
        set_channel(services, business.sam_calendar, "sub-new", None)
    stored = channels.resolve_many([("sub-new", "anything")])[0]
    assert stored is not None and not stored.pending and stored.calendar_id == business.sam_calendar.id
