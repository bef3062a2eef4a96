"""calendarView/delta rounds, and subscriptions with their handshake and notifications."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

import httpx

from sync.sandbox.microsoft import MicrosoftSandbox
from sync.sandbox.server import Sandbox
from tests.sandbox.ms_helpers import EMAIL, Receiver
from tests.sandbox.test_graph_api import event_body

WINDOW = {"startDateTime": "2026-03-01T00:00:00Z", "endDateTime": "2026-04-01T00:00:00Z"}
SCHEMA = json.loads((Path(__file__).parent / "data" / "graph-schema.json").read_text())


def run_round(graph: httpx.Client, first: str, page: int = 2) -> tuple[list[dict[str, Any]], str, int]:
    """Follow nextLinks to the deltaLink: (items, deltaLink, pages)."""
    items: list[dict[str, Any]] = []
    url, pages = first, 0
    while True:
        answer = graph.get(url, headers={"Prefer": f"odata.maxpagesize={page}"})
        assert answer.status_code == 200, answer.text
        body = answer.json()
        pages += 1
        items.extend(body["value"])
        assert len(body["value"]) <= page
        if "@odata.deltaLink" in body:
            assert "$deltatoken=" in body["@odata.deltaLink"] and "@odata.nextLink" not in body
            return items, body["@odata.deltaLink"], pages
        assert "$skiptoken=" in body["@odata.nextLink"]
        url = body["@odata.nextLink"]


def first_url(graph: httpx.Client) -> str:
    return str(graph.build_request("GET", "/me/calendarView/delta", params=WINDOW).url)


def test_delta_pages_changes_removals_and_replay(graph: httpx.Client) -> None:
    ids = [graph.post("/me/events", json=event_body(subject=f"Job {n}")).json()["id"] for n in range(5)]
    outside = graph.post(
        "/me/events",
        json=event_body(
            start={"dateTime": "2026-06-01T09:00:00", "timeZone": "UTC"},
            end={"dateTime": "2026-06-01T10:00:00", "timeZone": "UTC"},
        ),
    ).json()["id"]
    items, link1, pages = run_round(graph, first_url(graph))
    assert pages == 3 and sorted(i["id"] for i in items) == sorted(ids)
    quiet, link2, _ = run_round(graph, link1)
    assert quiet == []
    graph.patch(f"/me/events/{ids[0]}", json={"subject": "Renamed"})
    graph.delete(f"/me/events/{ids[1]}")
    graph.patch(f"/me/events/{outside}", json={"subject": "Far away"})
    changes, _, _ = run_round(graph, link2)
    by_id = {i["id"]: i for i in changes}
    assert by_id[ids[0]]["subject"] == "Renamed"
    assert by_id[ids[1]]["@removed"] == {"reason": "deleted"}
    assert by_id[outside]["@removed"] == {"reason": "deleted"}  # outside the window: reported as removed
    assert len(changes) == 3
    replay, _, _ = run_round(graph, link1)  # an old deltaLink still works and replays the same changes
    assert {i["id"] for i in replay} == set(by_id)


def test_delta_expands_series_and_reports_cancelled_occurrences(graph: httpx.Client) -> None:
    graph.post(
        "/me/events",
        json=event_body(
            recurrence={
                "pattern": {"type": "daily", "interval": 7},
                "range": {"type": "endDate", "startDate": "2026-03-02", "endDate": "2026-03-23"},
            }
        ),
    )
    items, link, _ = run_round(graph, first_url(graph), page=10)
    assert [i["type"] for i in items] == ["occurrence"] * 4
    graph.delete(f"/me/events/{items[0]['id']}")
    changes, _, _ = run_round(graph, link, page=10)
    removed = [c["id"] for c in changes if "@removed" in c]
    assert removed == [items[0]["id"]]


def test_invalidated_cursors_answer_sync_state_not_found(ms: MicrosoftSandbox, graph: httpx.Client) -> None:
    graph.post("/me/events", json=event_body())
    first = graph.get(first_url(graph), headers={"Prefer": "odata.maxpagesize=1"})
    graph.post("/me/events", json=event_body())
    _, link, _ = run_round(graph, first_url(graph))
    ms.invalidate_cursors(EMAIL)
    for url in (link, first.json().get("@odata.nextLink") or link):
        answer = graph.get(url)
        assert answer.status_code == 410
        assert answer.json()["error"]["code"] == "syncStateNotFound"
    restart = graph.get(link).headers["Location"]
    items, _, _ = run_round(graph, restart, page=10)
    assert len(items) == 2


def test_delta_rejects_unsupported_query_options(graph: httpx.Client) -> None:
    answer = graph.get("/me/calendarView/delta", params={**WINDOW, "$select": "subject"})
    assert answer.status_code == 400 and answer.json()["error"]["code"] == "ErrorInvalidUrlQuery"


def test_subscription_handshake_and_notification(ms: MicrosoftSandbox, graph: httpx.Client) -> None:
    with Receiver() as receiver:
        created = graph.post(
            "/subscriptions",
            json={
                "changeType": "created,updated,deleted",
                "notificationUrl": receiver.url,
                "resource": "me/events",
                "expirationDateTime": "2099-01-01T00:00:00Z",
                "clientState": "s3cret",
            },
        )
        assert created.status_code == 400  # more than 4230 minutes ahead
        expires = (ms.clock() + dt.timedelta(hours=48)).strftime("%Y-%m-%dT%H:%M:%SZ")
        created = graph.post(
            "/subscriptions",
            json={
                "changeType": "created,updated,deleted",
                "notificationUrl": receiver.url,
                "resource": "me/events",
                "expirationDateTime": expires,
                "clientState": "s3cret",
            },
        )
        assert created.status_code == 201, created.text
        sub = created.json()
        assert receiver.validations and " " in receiver.validations[0]  # decoded, not URL-encoded
        event = graph.post("/me/events", json=event_body()).json()
        assert receiver.arrived.wait(5)
        [item] = receiver.notifications[0]["value"]
        assert item["subscriptionId"] == sub["id"] and item["clientState"] == "s3cret"
        assert item["changeType"] == "created" and item["resourceData"]["id"] == event["id"]
        assert item["resource"].endswith(f"/Events/{event['id']}") and item["tenantId"]
        renewed = graph.patch(f"/subscriptions/{sub['id']}", json={"expirationDateTime": expires})
        assert renewed.status_code == 200
        [listed] = ms.push_channels()
        assert listed["provider"] == "microsoft" and listed["id"] == sub["id"] and listed["account"] == EMAIL
        assert listed["url"] == receiver.url
        assert graph.delete(f"/subscriptions/{sub['id']}").status_code == 204
        assert ms.push_channels() == []
        assert graph.delete(f"/subscriptions/{sub['id']}").status_code == 404
        schema_check("subscription", sub)


def test_subscription_fails_when_the_endpoint_does_not_echo(
    graph: httpx.Client, ms: MicrosoftSandbox
) -> None:
    expires = (ms.clock() + dt.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    with Receiver(echo=False) as receiver:
        answer = graph.post(
            "/subscriptions",
            json={
                "changeType": "created",
                "notificationUrl": receiver.url,
                "resource": "me/events",
                "expirationDateTime": expires,
            },
        )
    assert answer.status_code == 400 and "validation" in answer.json()["error"]["message"].lower()
    plain = graph.post(
        "/subscriptions",
        json={
            "changeType": "created",
            "notificationUrl": "http://example.com/hook",
            "resource": "me/events",
            "expirationDateTime": expires,
        },
    )
    assert plain.status_code == 400 and "https" in plain.json()["error"]["message"]


# -- schema ---------------------------------------------------------------------------------------


def _props(type_name: str) -> dict[str, Any]:
    props: dict[str, Any] = {}
    while type_name:
        spec = SCHEMA["types"][type_name]
        props.update(spec["properties"])
        type_name = spec["base"]
    return props


def _check_value(kind: Any, value: Any, where: str) -> None:
    if value is None:
        return
    if isinstance(kind, str):
        expected = {
            "str": str,
            "bool": bool,
            "int": int,
            "float": (int, float),
            "datetime": str,
            "date": str,
            "time": str,
        }[kind]
        assert isinstance(value, expected), f"{where}: {value!r} is not {kind}"
        if kind == "datetime":
            assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,7})?Z", value), where
        if kind == "date":
            assert re.fullmatch(r"\d{4}-\d\d-\d\d", value), where
    elif "enum" in kind:
        assert value in SCHEMA["enums"][kind["enum"]], f"{where}: {value!r} not in {kind['enum']}"
    elif "object" in kind:
        schema_check(kind["object"], value, where)
    else:
        assert isinstance(value, list), where
        for index, item in enumerate(value):
            _check_value(kind["array"], item, f"{where}[{index}]")


def schema_check(type_name: str, value: dict[str, Any], where: str = "") -> None:
    props = _props(type_name)
    assert isinstance(value, dict), where
    for name, item in value.items():
        if name.startswith("@odata.") or name == "@removed":
            continue
        assert name in props, f"{where}.{name} is not a property of {type_name}"
        _check_value(props[name], item, f"{where}.{name}")


def test_responses_validate_against_the_graph_schema(sandbox: Sandbox, graph: httpx.Client) -> None:
    series = graph.post(
        "/me/events",
        json=event_body(
            recurrence={
                "pattern": {
                    "type": "relativeMonthly",
                    "interval": 1,
                    "daysOfWeek": ["monday"],
                    "index": "first",
                },
                "range": {"type": "noEnd", "startDate": "2026-03-02"},
            },
            location={"displayName": "12 Elm St"},
            body={"contentType": "html", "content": "<b>Hi</b>"},
            categories=["Jobs"],
        ),
    ).json()
    schema_check("event", series, "event")
    for calendar in graph.get("/me/calendars").json()["value"]:
        schema_check("calendar", calendar, "calendar")
    items, link, _ = run_round(graph, first_url(graph), page=10)
    graph.delete(f"/me/events/{series['id']}")
    removed, _, _ = run_round(graph, link, page=10)
    assert items and removed
    for item in items + removed:
        schema_check("event", item, "delta")
    for row in graph.get("/me/calendarView", params=WINDOW).json()["value"]:
        schema_check("event", row, "calendarView")
    error = graph.get("/me/events/nope").json()
    assert set(error) == {"error"} and set(error["error"]) == {"code", "message", "innerError"}
