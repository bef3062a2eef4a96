"""Calendar v3 events through google-api-python-client against the sandbox: paging, sync, writes."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from googleapiclient.errors import HttpError

from sync.sandbox.server import Sandbox
from tests.sandbox.google_client import calendar_service, create_account, credentials, error_body, timed

EMAIL = "tech@example.com"


@pytest.fixture
def cal(sandbox: Sandbox) -> Iterator[Any]:
    create_account(sandbox, EMAIL)
    with calendar_service(sandbox, credentials(sandbox, EMAIL)) as service:
        yield service


def _insert(cal: Any, n: int, **extra: Any) -> dict[str, Any]:
    body = timed(
        f"Job {n}", f"2026-12-0{1 + n % 8}T09:00:00-06:00", f"2026-12-0{1 + n % 8}T10:00:00-06:00", **extra
    )
    result: dict[str, Any] = cal.events().insert(calendarId="primary", body=body).execute()
    return result


def _reason(exc: HttpError) -> str:
    reason: str = error_body(exc)["error"]["errors"][0]["reason"]
    return reason


def test_paging_gives_sync_token_only_on_the_last_page(cal: Any) -> None:
    ids = {_insert(cal, n)["id"] for n in range(7)}
    seen: list[str] = []
    pages = []
    token = None
    while True:
        page = cal.events().list(calendarId="primary", maxResults=3, pageToken=token).execute()
        pages.append(page)
        seen += [item["id"] for item in page["items"]]
        token = page.get("nextPageToken")
        if token is None:
            break
    assert [len(p["items"]) for p in pages] == [3, 3, 1]
    assert all("nextSyncToken" not in p for p in pages[:-1])
    assert "nextSyncToken" in pages[-1] and "nextPageToken" not in pages[-1]
    assert sorted(seen) == sorted(ids)


def test_sync_token_returns_changes_then_410_after_invalidation(sandbox: Sandbox, cal: Any) -> None:
    keep, edit, gone = (_insert(cal, n) for n in range(3))
    full = cal.events().list(calendarId="primary").execute()
    assert len(full["items"]) == 3
    cal.events().patch(calendarId="primary", eventId=edit["id"], body={"summary": "Moved"}).execute()
    cal.events().delete(calendarId="primary", eventId=gone["id"]).execute()
    added = _insert(cal, 5)
    delta = cal.events().list(calendarId="primary", syncToken=full["nextSyncToken"]).execute()
    by_id = {item["id"]: item for item in delta["items"]}
    assert set(by_id) == {edit["id"], gone["id"], added["id"]}
    assert keep["id"] not in by_id
    assert by_id[gone["id"]]["status"] == "cancelled"
    assert by_id[edit["id"]]["summary"] == "Moved"
    again = cal.events().list(calendarId="primary", syncToken=delta["nextSyncToken"]).execute()
    assert again["items"] == []

    with httpx.Client(base_url=sandbox.urls.control, trust_env=False) as control:
        assert control.post(f"/accounts/{EMAIL}/invalidate-cursors").status_code == 200
    with pytest.raises(HttpError) as info:
        cal.events().list(calendarId="primary", syncToken=again["nextSyncToken"]).execute()
    assert info.value.resp.status == 410
    assert _reason(info.value) == "fullSyncRequired"
    # A fresh full sync works and hands out a usable token again.
    fresh = cal.events().list(calendarId="primary").execute()
    assert cal.events().list(calendarId="primary", syncToken=fresh["nextSyncToken"]).execute()["items"] == []


def test_incremental_paging_repeats_the_sync_token(cal: Any) -> None:
    full = cal.events().list(calendarId="primary").execute()
    ids = {_insert(cal, n)["id"] for n in range(5)}
    seen, token = [], None
    while True:
        page = (
            cal.events()
            .list(calendarId="primary", syncToken=full["nextSyncToken"], maxResults=2, pageToken=token)
            .execute()
        )
        seen += [i["id"] for i in page["items"]]
        token = page.get("nextPageToken")
        if not token:
            assert "nextSyncToken" in page
            break
        assert "nextSyncToken" not in page
    assert sorted(seen) == sorted(ids)


@pytest.mark.parametrize(
    "params",
    [
        {"timeMin": "2026-01-01T00:00:00Z"},
        {"timeMax": "2027-01-01T00:00:00Z"},
        {"q": "job"},
        {"orderBy": "updated"},
        {"updatedMin": "2026-01-01T00:00:00Z"},
        {"iCalUID": "x@google.com"},
        {"privateExtendedProperty": "bookingId=1"},
        {"showDeleted": False},
    ],
)
def test_forbidden_parameters_with_a_sync_token_are_400(cal: Any, params: dict[str, Any]) -> None:
    token = cal.events().list(calendarId="primary").execute()["nextSyncToken"]
    with pytest.raises(HttpError) as info:
        cal.events().list(calendarId="primary", syncToken=token, **params).execute()
    assert info.value.resp.status == 400


def test_order_by_start_time_needs_single_events(cal: Any) -> None:
    with pytest.raises(HttpError) as info:
        cal.events().list(calendarId="primary", orderBy="startTime").execute()
    assert info.value.resp.status == 400
    assert cal.events().list(calendarId="primary", orderBy="startTime", singleEvents=True).execute()


def test_show_deleted(cal: Any) -> None:
    live, gone = _insert(cal, 1), _insert(cal, 2)
    cal.events().delete(calendarId="primary", eventId=gone["id"]).execute()
    plain = cal.events().list(calendarId="primary").execute()
    assert [i["id"] for i in plain["items"]] == [live["id"]]
    shown = cal.events().list(calendarId="primary", showDeleted=True).execute()
    statuses = {i["id"]: i["status"] for i in shown["items"]}
    assert statuses == {live["id"]: "confirmed", gone["id"]: "cancelled"}
    # events.get still returns the deleted event.
    assert cal.events().get(calendarId="primary", eventId=gone["id"]).execute()["status"] == "cancelled"


def test_single_events_expands_a_weekly_series_across_dst(cal: Any) -> None:
    master = (
        cal.events()
        .insert(
            calendarId="primary",
            body=timed(
                "Team meeting",
                "2026-10-19T09:00:00",
                "2026-10-19T09:30:00",
                tz="America/Chicago",
                recurrence=[
                    "RRULE:FREQ=WEEKLY;BYDAY=MO;COUNT=5",
                    "EXDATE;TZID=America/Chicago:20261026T090000",
                ],
            ),
        )
        .execute()
    )
    listing = (
        cal.events()
        .list(
            calendarId="primary",
            singleEvents=True,
            orderBy="startTime",
            timeMin="2026-10-01T00:00:00Z",
            timeMax="2026-12-31T00:00:00Z",
        )
        .execute()
    )
    starts = [i["start"]["dateTime"] for i in listing["items"]]
    # 09:00 local on both sides of 2026-11-01 (CDT -05:00, then CST -06:00); 10-26 is excluded.
    assert starts == [
        "2026-10-19T09:00:00-05:00",
        "2026-11-02T09:00:00-06:00",
        "2026-11-09T09:00:00-06:00",
        "2026-11-16T09:00:00-06:00",
    ]
    assert all(i["recurringEventId"] == master["id"] for i in listing["items"])
    assert all("recurrence" not in i for i in listing["items"])

    # Move one instance and cancel another: exceptions with recurringEventId + originalStartTime.
    second, third = listing["items"][1], listing["items"][2]
    moved = (
        cal.events()
        .patch(
            calendarId="primary",
            eventId=second["id"],
            body={
                "start": {"dateTime": "2026-11-02T11:00:00-06:00"},
                "end": {"dateTime": "2026-11-02T11:30:00-06:00"},
            },
        )
        .execute()
    )
    assert moved["originalStartTime"]["dateTime"] == "2026-11-02T09:00:00-06:00"
    cal.events().delete(calendarId="primary", eventId=third["id"]).execute()

    expanded = (
        cal.events()
        .list(
            calendarId="primary",
            singleEvents=True,
            orderBy="startTime",
            timeMin="2026-10-01T00:00:00Z",
            timeMax="2026-12-31T00:00:00Z",
        )
        .execute()
    )
    assert [i["start"]["dateTime"] for i in expanded["items"]] == [
        "2026-10-19T09:00:00-05:00",
        "2026-11-02T11:00:00-06:00",
        "2026-11-16T09:00:00-06:00",
    ]
    with_deleted = (
        cal.events()
        .list(
            calendarId="primary",
            singleEvents=True,
            showDeleted=True,
            timeMin="2026-10-01T00:00:00Z",
            timeMax="2026-12-31T00:00:00Z",
        )
        .execute()
    )
    assert {i["id"]: i["status"] for i in with_deleted["items"]}[third["id"]] == "cancelled"

    masters = cal.events().list(calendarId="primary").execute()["items"]
    kinds = {i["id"]: i for i in masters}
    assert kinds[master["id"]]["recurrence"][0].startswith("RRULE")
    assert kinds[second["id"]]["recurringEventId"] == master["id"]
    # Without showDeleted the cancelled instance of a live series still appears, minimal.
    assert kinds[third["id"]]["status"] == "cancelled"
    assert set(kinds[third["id"]]) <= {
        "kind",
        "etag",
        "id",
        "status",
        "recurringEventId",
        "originalStartTime",
    }

    instances = cal.events().instances(calendarId="primary", eventId=master["id"]).execute()
    assert [i["start"]["dateTime"] for i in instances["items"]] == [
        "2026-10-19T09:00:00-05:00",
        "2026-11-02T11:00:00-06:00",
        "2026-11-16T09:00:00-06:00",
    ]


def test_all_day_event_with_exclusive_end_and_transparency(cal: Any) -> None:
    event = (
        cal.events()
        .insert(
            calendarId="primary",
            body={
                "summary": "PTO",
                "start": {"date": "2026-12-04"},
                "end": {"date": "2026-12-05"},
                "transparency": "transparent",
            },
        )
        .execute()
    )
    assert event["start"] == {"date": "2026-12-04"} and event["end"] == {"date": "2026-12-05"}
    # timeMin is exclusive on the end: a window starting at local midnight of the 5th misses it.
    after = cal.events().list(calendarId="primary", timeMin="2026-12-05T00:00:00-06:00").execute()
    assert after["items"] == []
    inside = cal.events().list(calendarId="primary", timeMin="2026-12-04T12:00:00-06:00").execute()
    assert [i["transparency"] for i in inside["items"]] == ["transparent"]
    with pytest.raises(HttpError) as info:
        cal.events().insert(
            calendarId="primary",
            body={"summary": "Bad", "start": {"date": "2026-12-04"}, "end": {"date": "2026-12-04"}},
        ).execute()
    assert _reason(info.value) == "timeRangeEmpty"


def test_insert_with_client_id_is_idempotent(cal: Any) -> None:
    body = timed(
        "Booking",
        "2026-12-01T09:00:00Z",
        "2026-12-01T10:00:00Z",
        id="booking0000000001",
        extendedProperties={"private": {"bookingId": "B-1"}},
    )
    first = cal.events().insert(calendarId="primary", body=body).execute()
    assert first["id"] == "booking0000000001"
    with pytest.raises(HttpError) as info:
        cal.events().insert(calendarId="primary", body=body).execute()
    assert info.value.resp.status == 409
    assert _reason(info.value) == "duplicate"
    for bad in ("abc", "UPPERCASE123", "has-dash-123", "wxyz12345"):
        with pytest.raises(HttpError) as bad_info:
            cal.events().insert(calendarId="primary", body={**body, "id": bad}).execute()
        assert bad_info.value.resp.status == 400
    found = cal.events().list(calendarId="primary", privateExtendedProperty="bookingId=B-1").execute()
    assert [i["id"] for i in found["items"]] == ["booking0000000001"]


def test_if_match_guards_updates(cal: Any) -> None:
    event = _insert(cal, 1)
    request = cal.events().patch(calendarId="primary", eventId=event["id"], body={"summary": "First"})
    request.headers["If-Match"] = event["etag"]
    updated = request.execute()
    assert updated["etag"] != event["etag"]
    assert updated["sequence"] == event["sequence"] + 1
    stale = cal.events().update(
        calendarId="primary",
        eventId=event["id"],
        body={"summary": "Second", "start": event["start"], "end": event["end"]},
    )
    stale.headers["If-Match"] = event["etag"]
    with pytest.raises(HttpError) as info:
        stale.execute()
    assert info.value.resp.status == 412
    assert _reason(info.value) == "conditionNotMet"
    assert cal.events().get(calendarId="primary", eventId=event["id"]).execute()["summary"] == "First"


def test_delete_twice_is_410(cal: Any) -> None:
    event = _insert(cal, 1)
    cal.events().delete(calendarId="primary", eventId=event["id"]).execute()
    with pytest.raises(HttpError) as info:
        cal.events().delete(calendarId="primary", eventId=event["id"]).execute()
    assert info.value.resp.status == 410
    assert _reason(info.value) == "deleted"
    with pytest.raises(HttpError) as missing:
        cal.events().delete(calendarId="primary", eventId="nosuchevent1").execute()
    assert missing.value.resp.status == 404


def test_attendee_self_and_private_event_for_a_reader(sandbox: Sandbox, cal: Any) -> None:
    create_account(sandbox, "boss@example.com")
    event = (
        cal.events()
        .insert(
            calendarId="primary",
            body=timed(
                "Doctor",
                "2026-12-01T09:00:00Z",
                "2026-12-01T10:00:00Z",
                visibility="private",
                description="private notes",
                attendees=[{"email": EMAIL}, {"email": "nurse@example.org"}],
            ),
        )
        .execute()
    )
    assert [a.get("self", False) for a in event["attendees"]] == [True, False]
    assert event["organizer"]["self"] is True
    with httpx.Client(base_url=sandbox.urls.control, trust_env=False) as control:
        shared = control.post(
            f"/accounts/{EMAIL}/calendars/{EMAIL}/share", json={"with": "boss@example.com", "role": "reader"}
        )
        assert shared.status_code == 200, shared.text
    with calendar_service(sandbox, credentials(sandbox, "boss@example.com")) as boss:
        seen = boss.events().list(calendarId=EMAIL).execute()
        assert seen["accessRole"] == "reader"
        (item,) = seen["items"]
        assert item["start"]["dateTime"] == "2026-12-01T03:00:00-06:00"
        for hidden in ("summary", "description", "attendees", "organizer"):
            assert hidden not in item
        with pytest.raises(HttpError) as info:
            boss.events().insert(
                calendarId=EMAIL, body=timed("x", "2026-12-01T09:00:00Z", "2026-12-01T10:00:00Z")
            ).execute()
        assert info.value.resp.status == 403
        entries = boss.calendarList().list().execute()["items"]
        assert {e["id"]: e["accessRole"] for e in entries} == {"boss@example.com": "owner", EMAIL: "reader"}


def test_calendar_list_and_second_calendar(sandbox: Sandbox, cal: Any) -> None:
    with httpx.Client(base_url=sandbox.urls.control, trust_env=False) as control:
        second = control.post(f"/accounts/{EMAIL}/calendars", json={"name": "Family"}).json()
    entries = cal.calendarList().list().execute()
    assert [(e["summary"], e.get("primary", False)) for e in entries["items"]] == [
        (EMAIL, True),
        ("Family", False),
    ]
    event = (
        cal.events()
        .insert(calendarId=second["id"], body=timed("Soccer", "2026-12-05T16:00:00Z", "2026-12-05T18:00:00Z"))
        .execute()
    )
    assert cal.events().list(calendarId="primary").execute()["items"] == []
    assert [i["id"] for i in cal.events().list(calendarId=second["id"]).execute()["items"]] == [event["id"]]
    colors = cal.colors().get().execute()
    assert colors["event"]["11"]["background"].startswith("#")


def test_bad_requests_answer_googles_errors(sandbox: Sandbox, cal: Any) -> None:
    with pytest.raises(HttpError) as info:
        cal.events().list(calendarId="nobody@example.com").execute()
    assert info.value.resp.status == 404
    assert _reason(info.value) == "notFound"

    with pytest.raises(HttpError) as info:
        cal.events().list(calendarId="primary", timeMin="2026-12-01T00:00:00").execute()  # no offset
    assert info.value.resp.status == 400 and _reason(info.value) == "invalid"

    with pytest.raises(HttpError) as info:
        cal.events().list(
            calendarId="primary", timeMin="2026-12-02T00:00:00Z", timeMax="2026-12-01T00:00:00Z"
        ).execute()
    assert _reason(info.value) == "timeRangeEmpty"

    with pytest.raises(HttpError) as info:
        cal.events().insert(
            calendarId="primary", body=timed("x", "2026-13-01T09:00:00Z", "2026-12-01T10:00:00Z")
        ).execute()
    assert info.value.resp.status == 400 and _reason(info.value) == "invalid"

    with pytest.raises(HttpError) as info:
        cal.events().insert(
            calendarId="primary", body=timed("x", "2026-12-01T10:00:00Z", "2026-12-01T09:00:00Z")
        ).execute()
    assert _reason(info.value) == "timeRangeEmpty"

    with pytest.raises(HttpError) as info:
        cal.events().insert(
            calendarId="primary",
            body=timed("x", "2026-12-01T09:00:00Z", "2026-12-01T10:00:00Z", recurrence=["RRULE:FREQ=WEEKLY"]),
        ).execute()
    assert info.value.resp.status == 400  # a recurring timed event needs start.timeZone

    token = cal._http.credentials.token
    with httpx.Client(base_url=f"{sandbox.urls.google}/calendar/v3", trust_env=False) as raw:
        response = raw.post(
            "/calendars/primary/events",
            content=b"{not json",
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        )
        assert response.status_code == 400
        error = response.json()["error"]
        assert error["code"] == 400 and error["errors"][0]["reason"] == "parseError"
        assert error["status"] == "INVALID_ARGUMENT"

        missing = raw.get("/users/me/calendarList")
        assert missing.status_code == 401
        assert missing.json()["error"]["errors"][0]["reason"] == "required"
        wrong = raw.get("/users/me/calendarList", headers={"Authorization": "Bearer ya29.wrong"})
        assert wrong.status_code == 401
        body = wrong.json()["error"]
        assert body["status"] == "UNAUTHENTICATED" and body["errors"][0]["reason"] == "authError"
        assert wrong.headers["www-authenticate"].startswith("Bearer")
        assert raw.get("/nothing/here", headers={"Authorization": f"Bearer {token}"}).status_code == 404
