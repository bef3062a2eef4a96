"""An all-day Google series bounded by a UTC UNTIL (`RRULE:FREQ=WEEKLY;UNTIL=20270331T230000Z;BYDAY=TH`
with `start.date`, as Outlook exports write it): Crewboard's own expansion (normalize_google →
app/domain/recurrence.py) ends it where Google (the sandbox) does, with the last day that begins,
at midnight in the calendar's zone, on or before that instant.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

import pytest

from app.domain.ids import CalendarId
from app.domain.recurrence import expand
from app.domain.time import Interval
from sync.providers.normalize_google import google_event_to_remote
from sync.sandbox.server import Sandbox
from tests.sandbox.google_client import calendar_service, create_account, credentials

WINDOW = Interval(datetime(2027, 2, 1, tzinfo=UTC), datetime(2027, 6, 1, tzinfo=UTC))
THURSDAYS = ["2027-03-04", "2027-03-11", "2027-03-18", "2027-03-25", "2027-04-01", "2027-04-08"]

CASES = [
    # London is on BST from 28 March: Thursday 1 April begins at 2027-03-31T23:00Z.
    pytest.param("Europe/London", "20270331T230000Z", "2027-04-01", id="london-exactly-the-last-midnight"),
    pytest.param("Europe/London", "20270331T225959Z", "2027-03-25", id="london-a-second-before"),
    pytest.param("Europe/Berlin", "20270331T220000Z", "2027-04-01", id="berlin-the-last-midnight"),
    pytest.param("Asia/Tokyo", "20270331T150000Z", "2027-04-01", id="tokyo-the-last-midnight"),
    # The same instant is still Wednesday evening west of UTC.
    pytest.param("America/Chicago", "20270331T230000Z", "2027-03-25", id="chicago-wednesday-evening"),
    # Google's own export form: the last day's local midnight in UTC (05:00Z in CDT).
    pytest.param("America/Chicago", "20270401T050000Z", "2027-04-01", id="chicago-google-export"),
    pytest.param("America/Chicago", "20270401T030000Z", "2027-03-25", id="chicago-before-thursday-began"),
    pytest.param("America/Los_Angeles", "20270401T070000Z", "2027-04-01", id="la-the-last-midnight"),
]


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    box = Sandbox(timeout_hold=2.0)
    box.start()
    try:
        yield box
    finally:
        box.stop()


def in_the_sandbox(sandbox: Sandbox, zone: str, until: str) -> tuple[dict[str, Any], list[str]]:
    """The series as Google stores it and the days Google lists for it."""
    email = "tech@example.com"
    create_account(sandbox, email, zone)
    with calendar_service(sandbox, credentials(sandbox, email)) as cal:
        body = {
            "summary": "On call",
            "start": {"date": "2027-03-04"},
            "end": {"date": "2027-03-05"},
            "recurrence": [f"RRULE:FREQ=WEEKLY;UNTIL={until};BYDAY=TH"],
        }
        master = cal.events().insert(calendarId="primary", body=body).execute()
        items = cal.events().instances(calendarId="primary", eventId=master["id"]).execute()["items"]
    return master, [i["start"]["date"] for i in items]


@pytest.mark.parametrize(("zone", "until", "last"), CASES)
def test_crewboard_ends_an_all_day_series_where_google_does(
    sandbox: Sandbox, zone: str, until: str, last: str
) -> None:
    master, google_days = in_the_sandbox(sandbox, zone, until)
    expected = [d for d in THURSDAYS if d <= last]
    assert google_days == expected
    event = google_event_to_remote(master, CalendarId("cal-1"), calendar_zone=zone)
    days = [o.when.start_date for o in expand(event, [], WINDOW)]
    assert days == [date.fromisoformat(d) for d in expected]
