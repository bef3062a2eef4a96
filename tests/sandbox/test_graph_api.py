"""Graph v1.0 on the sandbox over real HTTPS with httpx: events, errors, zones, series, throttling."""

from __future__ import annotations

import threading
import uuid

import httpx
import pytest

from sync.sandbox.microsoft import MicrosoftSandbox
from sync.sandbox.server import Sandbox
from tests.sandbox.ms_helpers import EMAIL, graph_client

PROP = "String {66f5a359-4659-4830-9070-00047ec6ac6e} Name BookingId"


def event_body(**extra: object) -> dict[str, object]:
    body: dict[str, object] = {
        "subject": "Boiler service",
        "start": {"dateTime": "2026-03-02T09:00:00", "timeZone": "Central Standard Time"},
        "end": {"dateTime": "2026-03-02T10:30:00", "timeZone": "Central Standard Time"},
    }
    body.update(extra)
    return body


def test_create_with_transaction_id_twice_makes_one_event(graph: httpx.Client) -> None:
    body = event_body(
        transactionId=str(uuid.uuid4()), singleValueExtendedProperties=[{"id": PROP, "value": "B-1"}]
    )
    first = graph.post("/me/events", json=body)
    second = graph.post("/me/events", json=body)
    assert first.status_code == second.status_code == 201
    assert first.json()["id"] == second.json()["id"]
    listed = graph.get("/me/events").json()["value"]
    assert [e["id"] for e in listed] == [first.json()["id"]]
    fetched = graph.get(
        f"/me/events/{first.json()['id']}",
        params={"$expand": f"singleValueExtendedProperties($filter=id eq '{PROP}')"},
    ).json()
    assert fetched["singleValueExtendedProperties"] == [{"id": PROP, "value": "B-1"}]
    assert "singleValueExtendedProperties" not in graph.get(f"/me/events/{first.json()['id']}").json()
    found = graph.get(
        "/me/events",
        params={"$filter": f"singleValueExtendedProperties/Any(ep: ep/id eq '{PROP}' and ep/value eq 'B-1')"},
    ).json()
    assert [e["id"] for e in found["value"]] == [first.json()["id"]]


def test_if_match_mismatch_is_412_and_delete_twice_is_404(graph: httpx.Client) -> None:
    created = graph.post("/me/events", json=event_body()).json()
    moved = graph.patch(
        f"/me/events/{created['id']}", json={"subject": "Moved"}, headers={"If-Match": created["@odata.etag"]}
    )
    assert moved.status_code == 200 and moved.json()["changeKey"] != created["changeKey"]
    stale = graph.patch(
        f"/me/events/{created['id']}", json={"subject": "Again"}, headers={"If-Match": created["@odata.etag"]}
    )
    assert stale.status_code == 412 and stale.json()["error"]["code"] == "ErrorIrresolvableConflict"
    assert graph.delete(f"/me/events/{created['id']}").status_code == 204
    gone = graph.delete(f"/me/events/{created['id']}")
    assert gone.status_code == 404 and gone.json()["error"]["code"] == "ErrorItemNotFound"


def test_prefer_timezone_converts_output_and_windows_zones_map(graph: httpx.Client) -> None:
    created = graph.post("/me/events", json=event_body()).json()
    assert created["start"] == {"dateTime": "2026-03-02T15:00:00.0000000", "timeZone": "UTC"}
    assert created["originalStartTimeZone"] == "Central Standard Time"
    paris = graph.get(
        f"/me/events/{created['id']}", headers={"Prefer": 'outlook.timezone="Romance Standard Time"'}
    )
    assert paris.json()["start"] == {
        "dateTime": "2026-03-02T16:00:00.0000000",
        "timeZone": "Romance Standard Time",
    }
    assert 'outlook.timezone="Romance Standard Time"' in paris.headers["Preference-Applied"]
    iana = graph.get(
        f"/me/events/{created['id']}", headers={"Prefer": 'outlook.timezone="America/Los_Angeles"'}
    )
    assert iana.json()["end"]["dateTime"] == "2026-03-02T08:30:00.0000000"
    all_day = graph.post(
        "/me/events",
        json=event_body(
            isAllDay=True,
            start={"dateTime": "2026-03-05T00:00:00", "timeZone": "Pacific Standard Time"},
            end={"dateTime": "2026-03-06T00:00:00", "timeZone": "Pacific Standard Time"},
        ),
    ).json()
    tokyo = graph.get(
        f"/me/events/{all_day['id']}", headers={"Prefer": 'outlook.timezone="Tokyo Standard Time"'}
    )
    assert tokyo.json()["start"]["dateTime"] == "2026-03-05T00:00:00.0000000"  # all-day stays midnight


def test_immutable_ids_on_request(graph: httpx.Client) -> None:
    created = graph.post("/me/events", json=event_body()).json()
    immutable = graph.get(f"/me/events/{created['id']}", headers={"Prefer": 'IdType="ImmutableId"'}).json()
    assert immutable["id"] != created["id"]
    assert graph.get(f"/me/events/{immutable['id']}").json()["id"] == created["id"]


def test_series_with_exception_and_cancellation_in_calendar_view(graph: httpx.Client) -> None:
    master = graph.post(
        "/me/events",
        json=event_body(
            recurrence={
                "pattern": {"type": "weekly", "interval": 1, "daysOfWeek": ["monday"]},
                "range": {"type": "numbered", "startDate": "2026-03-02", "numberOfOccurrences": 4},
            }
        ),
    ).json()
    assert master["type"] == "seriesMaster"
    window = {"startDateTime": "2026-03-01T00:00:00Z", "endDateTime": "2026-04-01T00:00:00Z"}
    rows = graph.get("/me/calendarView", params=window).json()["value"]
    assert [r["type"] for r in rows] == ["occurrence"] * 4
    # DST starts in Chicago on 8 March: 9:00 local stays 9:00, so UTC moves from 15:00 to 14:00.
    assert [r["start"]["dateTime"][11:16] for r in rows] == ["15:00", "14:00", "14:00", "14:00"]
    moved = graph.patch(
        f"/me/events/{rows[1]['id']}",
        json={
            "start": {"dateTime": "2026-03-10T13:00:00", "timeZone": "Central Standard Time"},
            "end": {"dateTime": "2026-03-10T14:00:00", "timeZone": "Central Standard Time"},
        },
    )
    assert moved.status_code == 200 and moved.json()["type"] == "exception"
    assert graph.delete(f"/me/events/{rows[2]['id']}").status_code == 204
    again = graph.get("/me/calendarView", params=window).json()["value"]
    assert [r["type"] for r in again] == ["occurrence", "exception", "occurrence"]
    assert all(r["seriesMasterId"] == master["id"] for r in again)
    assert again[1]["originalStart"] == "2026-03-09T14:00:00.0000000Z"
    assert again[1]["start"]["dateTime"] == "2026-03-10T18:00:00.0000000"
    assert graph.get(f"/me/events/{rows[2]['id']}").status_code == 404


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status", "code"),
    [
        ("GET", "/me/calendars/AAMkNOPE/events", {}, 404, "ErrorItemNotFound"),
        ("GET", "/me/events/AAMkAGnope", {}, 404, "ErrorItemNotFound"),
        (
            "POST",
            "/me/events",
            {"content": b"{not json", "headers": {"Content-Type": "application/json"}},
            400,
            "BadRequest",
        ),
        (
            "POST",
            "/me/events",
            {"json": event_body(start={"dateTime": "2026-13-45T99:00", "timeZone": "UTC"})},
            400,
            "UnableToDeserializePostBody",
        ),
        (
            "POST",
            "/me/events",
            {"json": event_body(start={"dateTime": "2026-03-02T09:00:00", "timeZone": "Mars"})},
            400,
            "TimeZoneNotSupportedException",
        ),
        (
            "GET",
            "/me/calendarView",
            {"params": {"startDateTime": "yesterday", "endDateTime": "2026-01-01"}},
            400,
            "ErrorInvalidParameter",
        ),
        ("GET", "/me/calendarView", {}, 400, "ErrorInvalidParameter"),
        ("POST", "/me/events", {"json": event_body(showAs="sleepy")}, 400, "RequestBodyRead"),
    ],
)
def test_bad_requests_get_graph_errors(
    graph: httpx.Client, method: str, path: str, kwargs: dict[str, object], status: int, code: str
) -> None:
    answer = graph.request(method, path, **kwargs)  # type: ignore[arg-type]
    assert answer.status_code == status, answer.text
    error = answer.json()["error"]
    assert error["code"] == code and error["message"]
    assert set(error["innerError"]) >= {"date", "request-id", "client-request-id"}


@pytest.mark.parametrize("authorization", [None, "Bearer not-a-token", "Basic abc"])
def test_missing_or_wrong_token_is_401(
    sandbox: Sandbox, ms: MicrosoftSandbox, authorization: str | None
) -> None:
    with graph_client(sandbox, "x") as client:
        headers = {"Authorization": authorization} if authorization else {}
        if authorization is None:
            del client.headers["Authorization"]
        answer = client.get("/me/calendars", headers=headers)
    assert answer.status_code == 401
    assert answer.json()["error"]["code"] == "InvalidAuthenticationToken"


def test_expired_access_token_is_401(ms: MicrosoftSandbox, graph: httpx.Client) -> None:
    assert graph.get("/me").status_code == 200
    ms.expire_access(EMAIL)
    answer = graph.get("/me")
    assert answer.status_code == 401 and "expired" in answer.json()["error"]["message"]


def test_calendars_and_per_calendar_events(ms: MicrosoftSandbox, graph: httpx.Client) -> None:
    added = ms.add_calendar(EMAIL, "Jobs")
    calendars = graph.get("/me/calendars").json()["value"]
    assert {c["name"]: c["isDefaultCalendar"] for c in calendars} == {"Calendar": True, "Jobs": False}
    created = graph.post(f"/me/calendars/{added['id']}/events", json=event_body())
    assert created.status_code == 201
    assert graph.get(f"/me/calendars/{added['id']}/events").json()["value"][0]["id"] == created.json()["id"]
    assert graph.get("/me/events").json()["value"] == []


def test_fifth_concurrent_request_gets_mailbox_concurrency_429(
    ms: MicrosoftSandbox, graph: httpx.Client
) -> None:
    statuses: list[int] = []
    with ms.hold(EMAIL):
        workers = [
            threading.Thread(target=lambda: statuses.append(graph.get("/me").status_code)) for _ in range(4)
        ]
        for worker in workers:
            worker.start()
        for _ in range(200):
            if ms.in_flight(EMAIL) == 4:
                break
            threading.Event().wait(0.02)
        assert ms.in_flight(EMAIL) == 4
        fifth = graph.get("/me")
    for worker in workers:
        worker.join(10)
    assert fifth.status_code == 429
    assert fifth.json()["error"]["code"] == "ApplicationThrottled"
    assert "MailboxConcurrency" in fifth.json()["error"]["message"]
    assert int(fifth.headers["Retry-After"]) >= 1
    assert statuses == [200, 200, 200, 200]
    assert graph.get("/me").status_code == 200


def test_seeded_series_and_saved_state_survive_a_reload(sandbox: Sandbox, ms: MicrosoftSandbox) -> None:
    import datetime as dt
    import json

    ms.seed_event(
        EMAIL,
        None,
        {
            "summary": "Standup",
            "start": dt.datetime(2026, 3, 2, 15, tzinfo=dt.UTC),
            "end": dt.datetime(2026, 3, 2, 16, tzinfo=dt.UTC),
            "response": "declined",
            "rrule": ["RRULE:FREQ=WEEKLY;BYDAY=MO;COUNT=3", "EXDATE;TZID=America/Chicago:20260309T090000"],
        },
    )
    saved = json.loads(json.dumps(ms.to_state()))
    reloaded = MicrosoftSandbox(ms.clock, sandbox.push)
    reloaded.load_state(saved)
    box = reloaded.state.mailbox(EMAIL)
    rows = box.instances(
        box.default_calendar.id,
        dt.datetime(2026, 3, 1, tzinfo=dt.UTC),
        dt.datetime(2026, 4, 1, tzinfo=dt.UTC),
    )
    assert [r.start_utc.day for r in rows] == [2, 16]
    assert rows[0].source.fields["responseStatus"]["response"] == "declined"
