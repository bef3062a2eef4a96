"""`--seed demo`: five technicians with a realistic week on their calendars.

Three on Google, two on Microsoft (when the Microsoft emulator is present), in Chicago and Los
Angeles. Everything goes through the provider-neutral `ProviderSandbox.seed_event`, so each
provider stores the week in its own shape. The week starts on the Monday of the current week in
each technician's zone, taken from the injected clock.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from sync.sandbox.base import ProviderSandbox

DISPATCH = "dispatch@northwind-field.example"


@dataclass(frozen=True, slots=True)
class DemoTech:
    provider: str
    email: str
    name: str
    timezone: str
    second_calendar: str


TECHS = (
    DemoTech("google", "alex.rivera@gmail.example", "Alex Rivera", "America/Chicago", "Family"),
    DemoTech("google", "jordan.lee@gmail.example", "Jordan Lee", "America/Chicago", "Side jobs"),
    DemoTech("google", "sam.patel@gmail.example", "Sam Patel", "America/Los_Angeles", "Family"),
    DemoTech("microsoft", "casey.nguyen@outlook.example", "Casey Nguyen", "America/Los_Angeles", "Family"),
    DemoTech("microsoft", "morgan.brooks@outlook.example", "Morgan Brooks", "America/Chicago", "Training"),
)


def last_dst_change(zone: ZoneInfo, before: dt.datetime) -> dt.date:
    """The local date of the most recent UTC-offset change before `before` (within a year)."""
    day = before.astimezone(zone).date()
    noon = dt.time(12)
    previous = dt.datetime.combine(day, noon, tzinfo=zone).utcoffset()
    for _ in range(370):
        day -= dt.timedelta(days=1)
        offset = dt.datetime.combine(day, noon, tzinfo=zone).utcoffset()
        if offset != previous:
            return day + dt.timedelta(days=1)
        previous = offset
    return day


def week_specs(tech: DemoTech, now: dt.datetime, index: int) -> list[tuple[str | None, dict[str, Any]]]:
    """(calendar name or None for primary, event spec) for one technician's week."""
    zone = ZoneInfo(tech.timezone)
    today = now.astimezone(zone).date()
    monday = today - dt.timedelta(days=today.weekday())
    shift = index % 3  # stagger the techs so the board does not look copy-pasted

    def at(day: int, hour: int, minute: int = 0) -> dt.datetime:
        return dt.datetime.combine(monday + dt.timedelta(days=day), dt.time(hour, minute), tzinfo=zone)

    # A weekly Monday meeting that started three weeks before the latest DST change, so its
    # expansion crosses it and 07:30 has to stay 07:30 local.
    change = last_dst_change(zone, now)
    series_monday = change - dt.timedelta(days=change.weekday()) - dt.timedelta(weeks=3)
    series_start = dt.datetime.combine(series_monday, dt.time(7, 30), tzinfo=zone)
    return [
        (
            None,
            {
                "summary": "Team meeting",
                "start": series_start,
                "end": series_start + dt.timedelta(minutes=45),
                "timezone": tech.timezone,
                "rrule": ["RRULE:FREQ=WEEKLY;BYDAY=MO"],
                "response": "accepted",
                "organizer": DISPATCH,
                "location": "Shop, 1200 W Lake St",
            },
        ),
        (
            None,
            {
                "summary": "Dentist appointment",
                "start": at(1, 10 + shift),
                "end": at(1, 11 + shift),
                "timezone": tech.timezone,
                "location": "Bright Smile Dental",
            },
        ),
        (
            None,
            {
                "summary": "PTO",
                "start_date": monday + dt.timedelta(days=4),
                "end_date": monday + dt.timedelta(days=5),
                "show_as": "oof",
            },
        ),
        (
            None,
            {
                "summary": "Supplier walkthrough (invitation)",
                "start": at(2, 14),
                "end": at(2, 15),
                "timezone": tech.timezone,
                "response": "tentative",
                "organizer": "rep@ferguson-supply.example",
            },
        ),
        (
            None,
            {
                "summary": "Parent-teacher conference",
                "start": at(2, 17, 30),
                "end": at(2, 18, 30),
                "timezone": tech.timezone,
                "private": True,
            },
        ),
        (
            None,
            {
                "summary": "Vendor webinar",
                "start": at(3, 9),
                "end": at(3, 10),
                "timezone": tech.timezone,
                "response": "declined",
                "organizer": "events@hvac-vendor.example",
            },
        ),
        (
            None,
            {
                "summary": "Paperwork focus time",
                "start": at(3, 13),
                "end": at(3, 15),
                "timezone": tech.timezone,
                "show_as": "free",
            },
        ),
        (
            None,
            {
                "summary": "Maybe: pick up parts at warehouse",
                "start": at(0, 15 + shift),
                "end": at(0, 16 + shift),
                "timezone": tech.timezone,
                "tentative": True,
            },
        ),
        (
            tech.second_calendar,
            {
                "summary": f"{tech.second_calendar}: Saturday commitment",
                "start": at(5, 10),
                "end": at(5, 12),
                "timezone": tech.timezone,
            },
        ),
    ]


def seed_demo(providers: Mapping[str, ProviderSandbox], now: dt.datetime) -> list[str]:
    """Create the demo technicians on the providers present; returns the emails created."""
    created = []
    for index, tech in enumerate(TECHS):
        provider = providers.get(tech.provider)
        if provider is None:
            continue
        provider.create_account(tech.email, tech.timezone, tech.name)
        provider.add_calendar(tech.email, tech.second_calendar)
        for calendar, spec in week_specs(tech, now, index):
            provider.seed_event(tech.email, calendar, spec)
        created.append(tech.email)
    return created
