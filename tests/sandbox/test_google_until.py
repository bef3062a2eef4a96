"""UNTIL forms Google takes and refuses (reference google-calendar.md §1.5), through
google-api-python-client against the sandbox.

- An all-day series (`start.date`) bounded by a UTC date-time, as Outlook exports write it, is
  accepted; it ends with the last day that begins (at midnight in the calendar's zone) on or
  before that instant.
- A timed series bounded by a floating date-time (no `Z`) is refused: `400 Invalid recurrence
  rule.` with reason `invalid`, on insert and on a patch alike (RFC 5545: UNTIL must be UTC when
  DTSTART has a zone). A DATE UNTIL on a timed series stays accepted.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from googleapiclient.errors import HttpError

from sync.sandbox.server import Sandbox
from tests.sandbox.google_client import calendar_service, create_account, credentials, error_body, timed

LONDON_TECH = "london@example.com"
CHICAGO_TECH = "chicago@example.com"


@pytest.fixture
def box(sandbox: Sandbox) -> Sandbox:
    create_account(sandbox, LONDON_TECH, "Europe/London")
    create_account(sandbox, CHICAGO_TECH, "America/Chicago")
    return sandbox


@pytest.fixture
def london(box: Sandbox) -> Iterator[Any]:
    with calendar_service(box, credentials(box, LONDON_TECH)) as service:
        yield service


@pytest.fixture
def chicago(box: Sandbox) -> Iterator[Any]:
    with calendar_service(box, credentials(box, CHICAGO_TECH)) as service:
        yield service


def all_day_thursdays(until: str) -> dict[str, Any]:
    return {
        "summary": "On call",
        "start": {"date": "2027-03-04"},
        "end": {"date": "2027-03-05"},
        "recurrence": [f"RRULE:FREQ=WEEKLY;UNTIL={until};BYDAY=TH"],
    }


def days(cal: Any, event_id: str) -> list[str]:
    items = cal.events().instances(calendarId="primary", eventId=event_id).execute()["items"]
    return [i["start"]["date"] for i in items]


def assert_invalid_rule(info: pytest.ExceptionInfo[HttpError]) -> None:
    assert info.value.resp.status == 400
    error = error_body(info.value)["error"]
    assert error["code"] == 400 and error["message"] == "Invalid recurrence rule."
    assert error["errors"][0]["reason"] == "invalid"
    assert error["errors"][0]["message"] == "Invalid recurrence rule."


def test_all_day_series_accepts_a_utc_until_as_outlook_writes_it(london: Any) -> None:
    # 2027-03-31T23:00Z is the start of Thursday 1 April in London (BST): the last day.
    created = (
        london.events().insert(calendarId="primary", body=all_day_thursdays("20270331T230000Z")).execute()
    )
    assert created["recurrence"] == ["RRULE:FREQ=WEEKLY;UNTIL=20270331T230000Z;BYDAY=TH"]
    assert days(london, created["id"]) == [
        "2027-03-04",
        "2027-03-11",
        "2027-03-18",
        "2027-03-25",
        "2027-04-01",
    ]
    listed = london.events().list(calendarId="primary", singleEvents=True, orderBy="startTime").execute()
    assert [i["start"]["date"] for i in listed["items"]][-1] == "2027-04-01"


def test_utc_until_of_an_all_day_series_is_read_in_the_calendars_zone(chicago: Any) -> None:
    # The same instant is 18:00 on Wednesday 31 March in Chicago: 1 April has not begun.
    created = (
        chicago.events().insert(calendarId="primary", body=all_day_thursdays("20270331T230000Z")).execute()
    )
    assert days(chicago, created["id"]) == ["2027-03-04", "2027-03-11", "2027-03-18", "2027-03-25"]
    # Google's own export form: the last day's local midnight (05:00Z in CDT) includes that day.
    second = (
        chicago.events().insert(calendarId="primary", body=all_day_thursdays("20270401T050000Z")).execute()
    )
    assert days(chicago, second["id"])[-1] == "2027-04-01"


def test_timed_series_with_a_floating_until_is_refused(chicago: Any) -> None:
    body = timed(
        "Standup",
        "2027-03-01T08:00:00",
        "2027-03-01T08:15:00",
        tz="America/Chicago",
        recurrence=["RRULE:FREQ=DAILY;UNTIL=20270303T080000"],
    )
    with pytest.raises(HttpError) as info:
        chicago.events().insert(calendarId="primary", body=body).execute()
    assert_invalid_rule(info)
    assert chicago.events().list(calendarId="primary").execute()["items"] == []


def test_a_patch_to_a_floating_until_is_refused_and_changes_nothing(chicago: Any) -> None:
    body = timed(
        "Standup",
        "2027-03-01T08:00:00",
        "2027-03-01T08:15:00",
        tz="America/Chicago",
        recurrence=["RRULE:FREQ=DAILY;UNTIL=20270303T140000Z"],
    )
    created = chicago.events().insert(calendarId="primary", body=body).execute()
    with pytest.raises(HttpError) as info:
        chicago.events().patch(
            calendarId="primary",
            eventId=created["id"],
            body={"recurrence": ["RRULE:FREQ=DAILY;UNTIL=20270310T080000"]},
        ).execute()
    assert_invalid_rule(info)
    again = chicago.events().get(calendarId="primary", eventId=created["id"]).execute()
    assert again["recurrence"] == ["RRULE:FREQ=DAILY;UNTIL=20270303T140000Z"]
    assert (
        len(chicago.events().instances(calendarId="primary", eventId=created["id"]).execute()["items"]) == 3
    )


@pytest.mark.parametrize(
    ("until", "count"),
    [("20270303T140000Z", 3), ("20270303", 3), ("20270303T135959Z", 2)],
)
def test_timed_series_takes_utc_and_date_untils(chicago: Any, until: str, count: int) -> None:
    body = timed(
        "Standup",
        "2027-03-01T08:00:00",
        "2027-03-01T08:15:00",
        tz="America/Chicago",
        recurrence=[f"RRULE:FREQ=DAILY;UNTIL={until}"],
    )
    created = chicago.events().insert(calendarId="primary", body=body).execute()
    assert (
        len(chicago.events().instances(calendarId="primary", eventId=created["id"]).execute()["items"])
        == count
    )
