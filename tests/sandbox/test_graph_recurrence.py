"""Graph recurrence patterns expand as Outlook expands them (Microsoft's recurrencePattern semantics).

Checked against the documented behaviour (reference microsoft-graph.md §1 "Recurring events"):
- absoluteMonthly / absoluteYearly on a day the month lacks: the occurrence is on the month's last
  day (day 31 on Feb 28/29 and Apr 30; Feb 29 yearly on Feb 28 in common years), never skipped;
- relativeMonthly `index: last`: the last such weekday of the month;
- weekly with interval > 1: weeks start on `firstDayOfWeek` and are counted from the week that
  contains the range's start date.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
import pytest

from sync.sandbox import graph_recurrence
from tests.sandbox.test_graph_api import event_body


def _dates(pattern: dict[str, Any], rng: dict[str, Any], start: dt.datetime) -> list[str]:
    recurrence = graph_recurrence.normalize({"pattern": pattern, "range": rng}, start, "UTC")
    before = start.replace(year=start.year + 6, month=1, day=1)
    return [d.date().isoformat() for d in graph_recurrence.occurrences(recurrence, start, start, before)]


CASES = [
    pytest.param(
        {"type": "absoluteMonthly", "interval": 1, "dayOfMonth": 31},
        {"type": "numbered", "startDate": "2027-01-31", "numberOfOccurrences": 7},
        dt.datetime(2027, 1, 31, 9),
        ["2027-01-31", "2027-02-28", "2027-03-31", "2027-04-30", "2027-05-31", "2027-06-30", "2027-07-31"],
        id="absoluteMonthly-31-falls-on-last-day",
    ),
    pytest.param(
        {"type": "absoluteMonthly", "interval": 1, "dayOfMonth": 30},
        {"type": "endDate", "startDate": "2028-01-30", "endDate": "2028-03-31"},
        dt.datetime(2028, 1, 30, 9),
        ["2028-01-30", "2028-02-29", "2028-03-30"],
        id="absoluteMonthly-30-leap-february",
    ),
    pytest.param(
        {"type": "absoluteMonthly", "interval": 3, "dayOfMonth": 31},
        {"type": "numbered", "startDate": "2027-01-31", "numberOfOccurrences": 4},
        dt.datetime(2027, 1, 31, 9),
        ["2027-01-31", "2027-04-30", "2027-07-31", "2027-10-31"],
        id="absoluteMonthly-31-every-third-month",
    ),
    pytest.param(
        {"type": "absoluteMonthly", "interval": 1, "dayOfMonth": 15},
        {"type": "numbered", "startDate": "2027-01-20", "numberOfOccurrences": 2},
        dt.datetime(2027, 2, 15, 9),
        ["2027-02-15", "2027-03-15"],
        id="absoluteMonthly-first-occurrence-on-or-after-start-date",
    ),
    pytest.param(
        {"type": "absoluteYearly", "interval": 1, "dayOfMonth": 29, "month": 2},
        {"type": "numbered", "startDate": "2028-02-29", "numberOfOccurrences": 5},
        dt.datetime(2028, 2, 29, 9),
        ["2028-02-29", "2029-02-28", "2030-02-28", "2031-02-28", "2032-02-29"],
        id="absoluteYearly-feb-29-on-feb-28-in-common-years",
    ),
    pytest.param(
        {"type": "absoluteYearly", "interval": 1, "dayOfMonth": 31, "month": 4},
        {"type": "numbered", "startDate": "2027-04-01", "numberOfOccurrences": 2},
        dt.datetime(2027, 4, 30, 9),
        ["2027-04-30", "2028-04-30"],
        id="absoluteYearly-april-31-on-april-30",
    ),
    pytest.param(
        {"type": "relativeMonthly", "interval": 1, "daysOfWeek": ["friday"], "index": "last"},
        {"type": "numbered", "startDate": "2027-01-01", "numberOfOccurrences": 4},
        dt.datetime(2027, 1, 29, 9),
        ["2027-01-29", "2027-02-26", "2027-03-26", "2027-04-30"],
        id="relativeMonthly-last-friday",
    ),
    pytest.param(
        {"type": "relativeMonthly", "interval": 1, "daysOfWeek": ["saturday", "sunday"], "index": "first"},
        {"type": "numbered", "startDate": "2027-05-01", "numberOfOccurrences": 3},
        dt.datetime(2027, 5, 1, 9),
        ["2027-05-01", "2027-06-05", "2027-07-03"],
        id="relativeMonthly-first-weekend-day",
    ),
    pytest.param(
        {"type": "relativeYearly", "interval": 1, "daysOfWeek": ["monday"], "index": "last", "month": 5},
        {"type": "numbered", "startDate": "2027-01-01", "numberOfOccurrences": 2},
        dt.datetime(2027, 5, 31, 9),
        ["2027-05-31", "2028-05-29"],
        id="relativeYearly-last-monday-of-may",
    ),
    pytest.param(
        # 2027-03-03 is a Wednesday; weeks run Monday..Sunday: Mar 1-7 counts, Mar 8-14 not, Mar 15-21...
        {"type": "weekly", "interval": 2, "daysOfWeek": ["sunday", "wednesday"], "firstDayOfWeek": "monday"},
        {"type": "numbered", "startDate": "2027-03-03", "numberOfOccurrences": 6},
        dt.datetime(2027, 3, 3, 9),
        ["2027-03-03", "2027-03-07", "2027-03-17", "2027-03-21", "2027-03-31", "2027-04-04"],
        id="weekly-2-first-day-monday",
    ),
    pytest.param(
        # Weeks run Sunday..Saturday: Feb 28-Mar 6 counts (only Wed 3 is on or after the start),
        # Mar 7-13 not, Mar 14-20 does.
        {"type": "weekly", "interval": 2, "daysOfWeek": ["sunday", "wednesday"], "firstDayOfWeek": "sunday"},
        {"type": "numbered", "startDate": "2027-03-03", "numberOfOccurrences": 5},
        dt.datetime(2027, 3, 3, 9),
        ["2027-03-03", "2027-03-14", "2027-03-17", "2027-03-28", "2027-03-31"],
        id="weekly-2-first-day-sunday",
    ),
]


@pytest.mark.parametrize(("pattern", "rng", "start", "expected"), CASES)
def test_patterns_expand_as_outlook_does(
    pattern: dict[str, Any], rng: dict[str, Any], start: dt.datetime, expected: list[str]
) -> None:
    assert _dates(pattern, rng, start) == expected


def test_day_31_series_is_busy_on_february_28_over_http(graph: httpx.Client) -> None:
    """The case a dispatcher hit: a monthly visit on the 31st left the tech looking free on Feb 28."""
    created = graph.post(
        "/me/events",
        json=event_body(
            start={"dateTime": "2027-01-31T09:00:00", "timeZone": "Central Standard Time"},
            end={"dateTime": "2027-01-31T10:00:00", "timeZone": "Central Standard Time"},
            recurrence={
                "pattern": {"type": "absoluteMonthly", "interval": 1, "dayOfMonth": 31},
                "range": {"type": "noEnd", "startDate": "2027-01-31"},
            },
        ),
    )
    assert created.status_code == 201, created.text
    window = {"startDateTime": "2027-01-01T00:00:00Z", "endDateTime": "2027-07-01T00:00:00Z"}
    view = graph.get("/me/calendarView", params={**window, "$top": "50"})
    assert view.status_code == 200, view.text
    starts = [row["start"]["dateTime"][:16] for row in view.json()["value"]]
    # 09:00 Chicago is 15:00Z in winter and 14:00Z in summer time.
    assert starts == [
        "2027-01-31T15:00",
        "2027-02-28T15:00",
        "2027-03-31T14:00",
        "2027-04-30T14:00",
        "2027-05-31T14:00",
        "2027-06-30T14:00",
    ]
    instances = graph.get(f"/me/events/{created.json()['id']}/instances", params={**window, "$top": "50"})
    assert instances.status_code == 200, instances.text
    assert [row["originalStart"][:10] for row in instances.json()["value"]] == [s[:10] for s in starts]
