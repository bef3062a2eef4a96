"""events.watch push channels: sync then exists messages to a local receiver, stop, pause/resume."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from googleapiclient.errors import HttpError

from sync.sandbox.server import Sandbox
from tests.sandbox.google_client import calendar_service, create_account, credentials, timed
from tests.sandbox.receiver import receiver

EMAIL = "tech@example.com"


@pytest.fixture
def cal(sandbox: Sandbox) -> Iterator[Any]:
    create_account(sandbox, EMAIL)
    with calendar_service(sandbox, credentials(sandbox, EMAIL)) as service:
        yield service


def _event(cal: Any, summary: str = "Job") -> dict[str, Any]:
    result: dict[str, Any] = (
        cal.events()
        .insert(calendarId="primary", body=timed(summary, "2026-12-01T09:00:00Z", "2026-12-01T10:00:00Z"))
        .execute()
    )
    return result


def test_watch_sends_sync_then_exists_and_stop_ends_it(cal: Any) -> None:
    with receiver() as hook:
        channel = (
            cal.events()
            .watch(
                calendarId="primary",
                body={
                    "id": "channel-1",
                    "type": "web_hook",
                    "address": hook.url,
                    "token": "secret-token",
                    "params": {"ttl": "3600"},
                },
            )
            .execute()
        )
        assert channel["kind"] == "api#channel" and channel["id"] == "channel-1"
        assert channel["resourceId"] and int(channel["expiration"]) > 0

        sync = hook.next()
        assert sync["x-goog-resource-state"] == "sync"
        assert sync["x-goog-message-number"] == "1"
        assert sync["x-goog-channel-id"] == "channel-1"
        assert sync["x-goog-channel-token"] == "secret-token"
        assert sync["x-goog-resource-id"] == channel["resourceId"]
        assert sync["x-goog-resource-uri"] == channel["resourceUri"]
        assert sync["path"] == "/hook"

        _event(cal)
        exists = hook.next()
        assert exists["x-goog-resource-state"] == "exists"
        assert int(exists["x-goog-message-number"]) > 1

        cal.channels().stop(body={"id": "channel-1", "resourceId": channel["resourceId"]}).execute()
        _event(cal, "After stop")
        assert hook.empty_for(0.5)
        with pytest.raises(HttpError) as info:
            cal.channels().stop(body={"id": "channel-1", "resourceId": channel["resourceId"]}).execute()
        assert info.value.resp.status == 404


def test_sync_before_answer_delivers_the_sync_notice_before_watch_answers(sandbox: Sandbox, cal: Any) -> None:
    """Real Google may deliver a channel's `sync` notice before its watch answer reaches the caller;
    the sandbox makes that order certain on request (not while push is paused: it would never end)."""
    sandbox.google.api.sync_before_answer = True
    with receiver() as hook, httpx.Client(base_url=sandbox.urls.control, trust_env=False) as control:
        cal.events().watch(
            calendarId="primary", body={"id": "first", "type": "web_hook", "address": hook.url}
        ).execute()
        assert hook.received.qsize() == 1  # already received and answered
        assert hook.next()["x-goog-resource-state"] == "sync"
        assert control.post("/push/pause").json() == {"paused": True}
        cal.events().watch(
            calendarId="primary", body={"id": "held", "type": "web_hook", "address": hook.url}
        ).execute()
        assert control.get("/push").json()["held"] == 1
        assert control.post("/push/resume").json() == {"paused": False}
        assert hook.next()["x-goog-channel-id"] == "held"


def test_watch_validates_the_channel(cal: Any) -> None:
    with pytest.raises(HttpError) as remote:
        cal.events().watch(
            calendarId="primary",
            body={"id": "c1", "type": "web_hook", "address": "http://relay.example.com/hook"},
        ).execute()
    assert remote.value.resp.status == 400
    with pytest.raises(HttpError) as ttl:
        cal.events().watch(
            calendarId="primary",
            body={
                "id": "c2",
                "type": "web_hook",
                "address": "https://relay.example.com/hook",
                "params": {"ttl": "soon"},
            },
        ).execute()
    assert ttl.value.resp.status == 400
    cal.events().watch(
        calendarId="primary",
        body={"id": "c3", "type": "web_hook", "address": "https://relay.example.com/hook"},
    ).execute()
    with pytest.raises(HttpError) as duplicate:
        cal.events().watch(
            calendarId="primary",
            body={"id": "c3", "type": "web_hook", "address": "https://relay.example.com/hook"},
        ).execute()
    assert duplicate.value.resp.status == 400


def test_push_pause_holds_and_resume_flushes(sandbox: Sandbox, cal: Any) -> None:
    with receiver() as hook, httpx.Client(base_url=sandbox.urls.control, trust_env=False) as control:
        cal.events().watch(
            calendarId="primary", body={"id": "channel-2", "type": "webhook", "address": hook.url}
        ).execute()
        assert hook.next()["x-goog-resource-state"] == "sync"
        assert control.post("/push/pause").json() == {"paused": True}
        _event(cal, "One")
        _event(cal, "Two")
        assert hook.empty_for(0.4)
        assert control.get("/push").json()["held"] == 2
        assert control.post("/push/resume").json() == {"paused": False}
        messages = [hook.next() for _ in range(2)]
        numbers = [int(m["x-goog-message-number"]) for m in messages]
        assert numbers == sorted(numbers) and numbers[0] > 1
        assert all("x-goog-channel-token" not in m for m in messages)  # no token was set
        sandbox.push.wait_idle()
        deliveries = control.get("/push").json()["deliveries"]
        assert [d["status"] for d in deliveries] == [200, 200, 200]


def test_push_retries_a_failing_receiver(sandbox: Sandbox, cal: Any) -> None:
    with receiver(status=503) as hook:
        cal.events().watch(
            calendarId="primary", body={"id": "channel-3", "type": "web_hook", "address": hook.url}
        ).execute()
        states = [hook.next()["x-goog-resource-state"] for _ in range(3)]
        assert states == ["sync", "sync", "sync"]
        assert sandbox.push.wait_idle()
        (delivery,) = sandbox.push.deliveries
        assert delivery.status == 503 and delivery.attempts == 3


def test_deleting_a_watched_calendar_sends_not_exists(sandbox: Sandbox, cal: Any) -> None:
    with httpx.Client(base_url=sandbox.urls.control, trust_env=False) as control:
        second = control.post(f"/accounts/{EMAIL}/calendars", json={"name": "Side jobs"}).json()
    with receiver() as hook:
        cal.events().watch(
            calendarId=second["id"], body={"id": "channel-4", "type": "web_hook", "address": hook.url}
        ).execute()
        assert hook.next()["x-goog-resource-state"] == "sync"
        with pytest.raises(HttpError) as primary:
            cal.calendars().delete(calendarId="primary").execute()
        assert primary.value.resp.status == 400
        cal.calendars().delete(calendarId=second["id"]).execute()
        gone = hook.next()
        assert gone["x-goog-resource-state"] == "not_exists" and gone["x-goog-message-number"] == "2"
    with pytest.raises(HttpError) as info:
        cal.events().list(calendarId=second["id"]).execute()
    assert info.value.resp.status == 404


def test_push_status_counts_outcomes_and_lists_live_channels(sandbox: Sandbox, cal: Any) -> None:
    with socket.socket() as probe:  # a loopback port nothing listens on
        probe.bind(("127.0.0.1", 0))
        nobody = f"http://127.0.0.1:{probe.getsockname()[1]}/hook"
    with (
        httpx.Client(base_url=sandbox.urls.control, trust_env=False) as control,
        receiver() as hook,
        receiver(status=404) as refusing,
    ):
        channel = (
            cal.events()
            .watch(calendarId="primary", body={"id": "counted", "type": "web_hook", "address": hook.url})
            .execute()
        )
        cal.events().watch(
            calendarId="primary", body={"id": "refused", "type": "web_hook", "address": refusing.url}
        ).execute()
        cal.events().watch(
            calendarId="primary", body={"id": "nobody", "type": "web_hook", "address": nobody}
        ).execute()
        _event(cal)
        assert sandbox.push.wait_idle()
        status = control.get("/push").json()
        # Each channel got its sync message and one for the new event.
        assert status["totals"] == {"delivered": 2, "refused": 2, "unreachable": 2}
        listed = {c["id"]: c for c in status["channels"]}
        assert set(listed) == {"counted", "refused", "nobody"}
        assert listed["counted"]["provider"] == "google" and listed["counted"]["account"] == EMAIL
        assert listed["counted"]["url"] == hook.url and listed["counted"]["expires"]
        cal.channels().stop(body={"id": "counted", "resourceId": channel["resourceId"]}).execute()
        assert {c["id"] for c in control.get("/push").json()["channels"]} == {"refused", "nobody"}
