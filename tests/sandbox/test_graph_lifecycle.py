"""Graph lifecycle notices from the sandbox: the lifecycle URL's handshake, each event in the
documented shape, the challenges before expiry, and `missed` for notices that did not get through."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from sync.sandbox.graph_subscriptions import CHALLENGE_EVERY, REAUTHORIZE_BEFORE
from sync.sandbox.microsoft import MicrosoftSandbox
from sync.sandbox.server import Sandbox
from tests.sandbox.ms_helpers import EMAIL, Receiver
from tests.sandbox.test_graph_api import event_body

START = dt.datetime(2026, 11, 2, 12, 0, tzinfo=dt.UTC)


class Clock:
    """The sandbox's clock, moved by hand."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> dt.datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def sandbox(clock: Clock) -> Iterator[Sandbox]:
    box = Sandbox(clock=clock)
    box.start()
    try:
        yield box
    finally:
        box.stop()


@pytest.fixture
def control(sandbox: Sandbox) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sandbox.urls.control, timeout=10, trust_env=False) as client:
        yield client


def subscribe(
    graph: httpx.Client, clock: Clock, hook: str, lifecycle: str | None, minutes: int = 3000
) -> str:
    body: dict[str, Any] = {
        "changeType": "created,updated,deleted",
        "notificationUrl": hook,
        "resource": "me/events",
        "expirationDateTime": (clock.now + dt.timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "clientState": "s3cret",
    }
    if lifecycle is not None:
        body["lifecycleNotificationUrl"] = lifecycle
    created = graph.post("/subscriptions", json=body)
    assert created.status_code == 201, created.text
    assert created.json()["lifecycleNotificationUrl"] == lifecycle
    return str(created.json()["id"])


def until(check: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "the condition did not come true in time"
        time.sleep(0.02)


def events(receiver: Receiver) -> list[str]:
    return [item["lifecycleEvent"] for body in receiver.notifications for item in body["value"]]


def settled(sandbox: Sandbox) -> None:
    assert sandbox.push.wait_idle(10)


def advance(clock: Clock, graph: httpx.Client, ms: MicrosoftSandbox, delta: dt.timedelta) -> None:
    """Move the sandbox's time; the client gets a token that is valid then (they last an hour)."""
    clock.now += delta
    graph.headers["Authorization"] = f"Bearer {ms.issue_token(EMAIL)['access_token']}"


def test_each_event_reaches_the_lifecycle_url_in_the_documented_shape(
    sandbox: Sandbox, ms: MicrosoftSandbox, graph: httpx.Client, clock: Clock, control: httpx.Client
) -> None:
    with Receiver() as changes, Receiver() as lifecycle:
        sub = subscribe(graph, clock, changes.url, lifecycle.url)
        assert len(lifecycle.validations) == 1 and " " in lifecycle.validations[0]  # its own handshake
        [listed] = control.get("/push").json()["channels"]
        assert listed["lifecycle_url"] == lifecycle.url

        for event in ("reauthorizationRequired", "missed"):
            answer = control.post(f"/accounts/{EMAIL}/lifecycle", json={"event": event})
            assert answer.json() == {"event": event, "subscriptions": [sub], "notified": [sub]}
        settled(sandbox)
        assert events(lifecycle) == ["reauthorizationRequired", "missed"] and changes.notifications == []
        item = lifecycle.notifications[0]["value"][0]
        assert set(item) == {
            "subscriptionId",
            "subscriptionExpirationDateTime",
            "tenantId",
            "clientState",
            "lifecycleEvent",
        }
        assert item["subscriptionId"] == sub and item["clientState"] == "s3cret" and item["tenantId"]
        assert graph.get(f"/subscriptions/{sub}").status_code == 200  # neither of those removes it

        removed = control.post(
            f"/accounts/{EMAIL}/lifecycle",
            json={"event": "subscriptionRemoved", "calendar": ms.state.mailbox(EMAIL).default_calendar.id},
        )
        assert removed.json()["notified"] == [sub]
        settled(sandbox)
        assert events(lifecycle)[-1] == "subscriptionRemoved"
        assert graph.get(f"/subscriptions/{sub}").status_code == 404
        assert control.get("/push").json()["channels"] == []
        graph.post("/me/events", json=event_body())
        settled(sandbox)
        assert changes.notifications == []  # a removed subscription notifies nothing


def test_the_lifecycle_route_checks_its_input(
    ms: MicrosoftSandbox, graph: httpx.Client, clock: Clock, control: httpx.Client
) -> None:
    assert control.post(f"/accounts/{EMAIL}/lifecycle", json={"event": "expired"}).status_code == 400
    assert control.post(f"/accounts/{EMAIL}/lifecycle", json={}).status_code == 400
    wrong_calendar = control.post(f"/accounts/{EMAIL}/lifecycle", json={"event": "missed", "calendar": "x"})
    assert wrong_calendar.status_code == 400
    assert control.post("/accounts/nobody@example.com/lifecycle", json={"event": "missed"}).status_code == 404
    control.post("/accounts", json={"provider": "google", "email": "g@example.com", "timezone": "UTC"})
    assert control.post("/accounts/g@example.com/lifecycle", json={"event": "missed"}).status_code == 400
    with Receiver() as changes:
        sub = subscribe(graph, clock, changes.url, None)  # no lifecycle URL: nobody to tell
        answer = control.post(f"/accounts/{EMAIL}/lifecycle", json={"event": "subscriptionRemoved"})
    assert answer.json() == {"event": "subscriptionRemoved", "subscriptions": [sub], "notified": []}
    assert graph.get(f"/subscriptions/{sub}").status_code == 404


def test_reauthorization_is_asked_for_before_expiry_until_renewed(
    sandbox: Sandbox, ms: MicrosoftSandbox, graph: httpx.Client, clock: Clock
) -> None:
    with Receiver() as changes, Receiver() as lifecycle:
        sub = subscribe(graph, clock, changes.url, lifecycle.url, minutes=180)
        ms.tick()
        settled(sandbox)
        assert events(lifecycle) == []  # not yet near its expiry

        advance(clock, graph, ms, dt.timedelta(minutes=180) - REAUTHORIZE_BEFORE + dt.timedelta(minutes=1))
        until(lambda: events(lifecycle) == ["reauthorizationRequired"])  # the server's own clock tick
        assert lifecycle.notifications[0]["value"][0]["subscriptionId"] == sub

        assert graph.post(f"/subscriptions/{sub}/reauthorize").status_code == 204
        assert graph.get(f"/subscriptions/{sub}/reauthorize").status_code == 405
        advance(clock, graph, ms, CHALLENGE_EVERY - dt.timedelta(minutes=1))
        ms.tick()
        settled(sandbox)
        assert len(events(lifecycle)) == 1  # answered: quiet for a while
        advance(clock, graph, ms, dt.timedelta(minutes=1))
        ms.tick()
        settled(sandbox)
        assert events(lifecycle) == ["reauthorizationRequired"] * 2  # reauthorizing does not renew

        later = (clock.now + dt.timedelta(minutes=3000)).strftime("%Y-%m-%dT%H:%M:%SZ")
        assert graph.patch(f"/subscriptions/{sub}", json={"expirationDateTime": later}).status_code == 200
        advance(clock, graph, ms, CHALLENGE_EVERY * 2)
        ms.tick()
        settled(sandbox)
        assert len(events(lifecycle)) == 2  # renewed: far from its expiry again

        advance(clock, graph, ms, dt.timedelta(minutes=3001))
        ms.tick()
        settled(sandbox)
        assert graph.get(f"/subscriptions/{sub}").status_code == 404  # expired
        assert "subscriptionRemoved" not in events(lifecycle)  # plain expiry sends no notice


def test_notices_that_do_not_get_through_are_reported_as_missed(
    sandbox: Sandbox, ms: MicrosoftSandbox, graph: httpx.Client, clock: Clock, control: httpx.Client
) -> None:
    with Receiver() as lifecycle:
        with Receiver() as gone:
            sub = subscribe(graph, clock, gone.url, lifecycle.url)
        graph.post("/me/events", json=event_body(subject="Unreachable"))  # the hook is closed now
        until(lambda: events(lifecycle) == ["missed"])
        assert lifecycle.notifications[0]["value"][0]["subscriptionId"] == sub
        assert graph.delete(f"/subscriptions/{sub}").status_code == 204

    with Receiver() as changes, Receiver() as lifecycle:
        sub = subscribe(graph, clock, changes.url, lifecycle.url)
        assert control.post("/push/pause").status_code == 200
        graph.post("/me/events", json=event_body(subject="Held 1"))
        graph.post("/me/events", json=event_body(subject="Held 2"))
        assert control.get("/push").json()["held"] == 2
        assert control.post("/push/drop").json() == {"dropped": 2}
        status = control.get("/push").json()
        assert status["held"] == 1 and status["dropped"] == 2  # one `missed` for both, held as well
        assert control.post("/push/resume").status_code == 200
        settled(sandbox)
        assert changes.notifications == [] and events(lifecycle) == ["missed"]
        assert lifecycle.notifications[0]["value"][0]["subscriptionId"] == sub
