"""Recurrence details and clock-driven expiry (tokens, codes, channels) with an injected clock."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from googleapiclient.errors import HttpError

from sync.sandbox.server import Sandbox
from tests.sandbox.google_client import CLIENT_ID, calendar_service, create_account, credentials, timed
from tests.sandbox.receiver import receiver

EMAIL = "tech@example.com"


class Clock:
    def __init__(self) -> None:
        self.now = dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.UTC)

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += dt.timedelta(**delta)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def box(clock: Clock) -> Iterator[Sandbox]:
    sandbox = Sandbox(clock=clock, timeout_hold=1)
    sandbox.start()
    try:
        create_account(sandbox, EMAIL)
        yield sandbox
    finally:
        sandbox.stop()


@pytest.fixture
def cal(box: Sandbox) -> Iterator[Any]:
    with calendar_service(box, credentials(box, EMAIL)) as service:
        yield service


def _starts(cal: Any, **params: Any) -> list[str]:
    items = (
        cal.events().list(calendarId="primary", singleEvents=True, orderBy="startTime", **params).execute()
    )
    return [i["start"].get("dateTime") or i["start"]["date"] for i in items["items"]]


def test_all_day_series_with_exdate_and_rdate(cal: Any) -> None:
    cal.events().insert(
        calendarId="primary",
        body={
            "summary": "On call",
            "start": {"date": "2026-12-01"},
            "end": {"date": "2026-12-02"},
            "recurrence": [
                "RRULE:FREQ=WEEKLY;COUNT=3",
                "EXDATE;VALUE=DATE:20261208",
                "RDATE;VALUE=DATE:20261210",
            ],
        },
    ).execute()
    assert _starts(cal) == ["2026-12-01", "2026-12-10", "2026-12-15"]


def test_until_as_a_date_and_in_utc(cal: Any) -> None:
    # A floating UNTIL on a timed series is refused (tests/sandbox/test_google_until.py); a DATE
    # UNTIL includes that local day.
    cal.events().insert(
        calendarId="primary",
        body=timed(
            "Standup",
            "2026-12-01T08:00:00",
            "2026-12-01T08:15:00",
            tz="America/Los_Angeles",
            recurrence=["RRULE:FREQ=DAILY;UNTIL=20261203"],
        ),
    ).execute()
    cal.events().insert(
        calendarId="primary",
        body=timed(
            "Sync",
            "2026-12-01T10:00:00",
            "2026-12-01T10:15:00",
            tz="America/Los_Angeles",
            recurrence=["RRULE:FREQ=DAILY;UNTIL=20261202T235959Z"],
        ),
    ).execute()
    starts = _starts(cal, timeZone="America/Los_Angeles")
    assert starts == [
        "2026-12-01T08:00:00-08:00",
        "2026-12-01T10:00:00-08:00",
        "2026-12-02T08:00:00-08:00",
        "2026-12-02T10:00:00-08:00",
        "2026-12-03T08:00:00-08:00",
    ]


def test_bad_recurrence_is_400(cal: Any) -> None:
    for lines in (
        ["RRULE:FREQ=SOMETIMES"],
        ["DTSTART:20261201T080000Z", "RRULE:FREQ=DAILY"],
        ["EXDATE:2026"],
    ):
        with pytest.raises(HttpError) as info:
            cal.events().insert(
                calendarId="primary",
                body=timed("x", "2026-12-01T08:00:00", "2026-12-01T09:00:00", tz="UTC", recurrence=lines),
            ).execute()
        assert info.value.resp.status == 400, lines


def test_incremental_sync_with_single_events_reports_instances(cal: Any) -> None:
    master = (
        cal.events()
        .insert(
            calendarId="primary",
            body=timed(
                "Weekly",
                "2026-12-01T09:00:00",
                "2026-12-01T10:00:00",
                tz="America/Chicago",
                recurrence=["RRULE:FREQ=WEEKLY;COUNT=3"],
            ),
        )
        .execute()
    )
    full = cal.events().list(calendarId="primary", singleEvents=True, showDeleted=True).execute()
    assert len(full["items"]) == 3
    second = full["items"][1]
    cal.events().patch(calendarId="primary", eventId=second["id"], body={"summary": "Moved one"}).execute()
    delta = (
        cal.events()
        .list(calendarId="primary", singleEvents=True, showDeleted=True, syncToken=full["nextSyncToken"])
        .execute()
    )
    assert [(i["id"], i["summary"]) for i in delta["items"]] == [(second["id"], "Moved one")]
    cal.events().delete(calendarId="primary", eventId=master["id"]).execute()
    gone = (
        cal.events()
        .list(calendarId="primary", singleEvents=True, showDeleted=True, syncToken=delta["nextSyncToken"])
        .execute()
    )
    assert sorted(i["id"] for i in gone["items"]) == sorted(i["id"] for i in full["items"])
    assert {i["status"] for i in gone["items"]} == {"cancelled"}
    assert all(i["recurringEventId"] == master["id"] for i in gone["items"])


def test_access_tokens_expire_after_an_hour(box: Sandbox, clock: Clock, cal: Any) -> None:
    cal.colors().get().execute()
    token = cal._http.credentials.token
    clock.advance(seconds=3601)
    with httpx.Client(trust_env=False) as raw:
        expired = raw.get(
            f"{box.urls.google}/calendar/v3/colors", headers={"Authorization": f"Bearer {token}"}
        )
    assert expired.status_code == 401
    cal.colors().get().execute()
    assert cal._http.credentials.token != token


def test_authorization_codes_expire(box: Sandbox, clock: Clock) -> None:
    url = (
        f"{box.urls.google}/o/oauth2/auth?client_id={CLIENT_ID}&response_type=code&state=s"
        "&scope=https://www.googleapis.com/auth/calendar&redirect_uri=http://127.0.0.1:9/"
    )
    with httpx.Client(trust_env=False) as browser:
        page = browser.get(url)
        request_id = page.text.split('name="request_id" value="')[1].split('"')[0]
        answer = browser.post(
            f"{box.urls.google}/o/oauth2/approve",
            data={"request_id": request_id, "account": EMAIL, "decision": "allow"},
        )
        code = httpx.URL(answer.headers["location"]).params["code"]
        clock.advance(minutes=11)
        late = browser.post(
            f"{box.urls.google}/token",
            data={
                "grant_type": "authorization_code",
                "code": code,
                "client_id": CLIENT_ID,
                "redirect_uri": "http://127.0.0.1:9/",
            },
        )
    assert late.status_code == 400 and late.json()["error"] == "invalid_grant"


def test_expired_channels_stop_notifying(box: Sandbox, clock: Clock, cal: Any) -> None:
    with receiver() as hook:
        cal.events().watch(
            calendarId="primary",
            body={"id": "short", "type": "web_hook", "address": hook.url, "params": {"ttl": "60"}},
        ).execute()
        assert hook.next()["x-goog-resource-state"] == "sync"
        clock.advance(seconds=61)
        cal.events().insert(
            calendarId="primary", body=timed("Late", "2026-12-01T09:00:00Z", "2026-12-01T10:00:00Z")
        ).execute()
        assert hook.empty_for(0.4)
