"""Hostile events from providers, through the engine: one bad event never stops the sync of the others.

The in-memory provider (sync.providers.fake) hands the engine shapes a real provider would refuse
to store (broken or endless RRULEs, unknown zones, a ten-year event, a megabyte title, ids with odd
characters); the sandbox carries what Google and Graph do accept (Windows zone names, thousands of
attendees, a megabyte description, odd characters) through the real adapters. After one round the
good events block their time, and each hostile one is either stored sanely or skipped with a reason
in the log.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest

from app.domain.model import CalendarAccount, EventTime, Provider
from app.domain.time import Interval
from app.services.container import Services
from app.services.ports import Grant, RemoteCalendar
from tests.sync.conftest import NOW, PRIMARY, World, timed, world

__all__ = ["world"]

MAX_OCCURRENCES = 5000  # app.domain.recurrence.expand's bound on one series
ODD_IDS = (
    "../../etc/passwd",
    "id with spaces/and?query=1&x#frag",
    "é☃\u202e'; DROP TABLE busy_blocks;--",
    "a" * 900,
)


def _blocks(world: World) -> list[object]:
    with world.uow() as uow:
        return uow.busy.for_techs(
            [world.tech.tech.id], Interval(NOW - timedelta(days=2), NOW + timedelta(days=200))
        )


async def test_hostile_shapes_from_the_provider_never_stop_the_good_events(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    phone = world.phone
    day = NOW + timedelta(days=3)
    phone.add_event(PRIMARY, timed(day.replace(hour=15)), title="Good dentist", remote_id="good-1")
    hostile = {
        "broken-rrule": dict(recurrence=("RRULE:FREQ=SOMETIMES;BYDAY=XX",)),
        "garbage-rrule": dict(recurrence=("this is not a rule at all",)),
        "endless-minutely": dict(recurrence=("RRULE:FREQ=MINUTELY",)),
        "endless-secondly": dict(recurrence=("RRULE:FREQ=SECONDLY;INTERVAL=1",)),
        "exdate-garbage": dict(recurrence=("RRULE:FREQ=DAILY;COUNT=3", "EXDATE:not-a-date")),
    }
    for remote_id, extra in hostile.items():
        phone.add_event(
            PRIMARY, timed(day.replace(hour=16)), title=f"Hostile {remote_id}", remote_id=remote_id, **extra
        )
    phone.add_event(
        PRIMARY,
        EventTime(start=day.replace(hour=17), end=day.replace(hour=18), timezone="Mars/Olympus_Mons"),
        title="Unknown zone",
        remote_id="unknown-zone",
        recurrence=("RRULE:FREQ=WEEKLY;COUNT=2",),
    )
    phone.add_event(
        PRIMARY,
        EventTime(start=day.replace(hour=17), end=day.replace(hour=18), timezone="Pacific Standard Time"),
        title="Windows zone",
        remote_id="windows-zone",
        recurrence=("RRULE:FREQ=WEEKLY;COUNT=2",),
    )
    phone.add_event(
        PRIMARY,
        timed(day - timedelta(days=365 * 5), minutes=60 * 24 * 365 * 10),
        title="Ten years",
        remote_id="decade",
    )
    phone.add_event(PRIMARY, timed(day.replace(hour=19)), title="M" * 1_000_000, remote_id="megabyte-title")
    for odd in ODD_IDS:
        phone.add_event(PRIMARY, timed(day.replace(hour=20)), title="Odd id", remote_id=odd)
    phone.add_event(
        PRIMARY, timed(day.replace(hour=21) + timedelta(days=1)), title="Good gym", remote_id="good-2"
    )

    caplog.set_level(logging.INFO)
    report = await world.engine().run_once()

    titles = {getattr(b, "title", None) for b in _blocks(world)}
    assert {"Good dentist", "Good gym"} <= titles, report.errors  # the good events block their time
    assert not report.errors, report.errors  # nothing hostile failed the account's round
    blocks = _blocks(world)
    by_id: dict[str, list[object]] = {}
    for block in blocks:
        by_id.setdefault(str(getattr(block, "remote_id", "")), []).append(block)
    logged = caplog.text
    for remote_id in [*hostile, "unknown-zone", "windows-zone", "decade", "megabyte-title", *ODD_IDS]:
        stored = by_id.get(remote_id, [])
        # Handled (stored with a bounded number of occurrences) or skipped with its id in the log.
        assert stored or remote_id[:40] in logged, (
            f"{remote_id[:40]!r} was neither stored nor logged as skipped"
        )
        assert len(stored) <= MAX_OCCURRENCES, f"{remote_id[:40]!r} exploded into {len(stored)} busy blocks"
    [decade] = by_id["decade"]
    span = decade.interval  # type: ignore[attr-defined]
    assert span.end - span.start >= timedelta(days=365 * 9)
    for block in blocks:
        assert len(getattr(block, "title", None) or "") <= 1_000_000

    # The next round (nothing changed) is quiet: the bad events do not fail it either.
    world.clock.advance(timedelta(minutes=1))
    again = await world.engine().run_once()
    assert not again.errors
    assert {"Good dentist", "Good gym"} <= {getattr(b, "title", None) for b in _blocks(world)}
    assert datetime.now(UTC)  # the round ended in bounded time (pytest's timeout would say otherwise)


class _OneGrant:
    """A sign-in that lists a calendar whose name carries a line break and a header."""

    provider = Provider.GOOGLE
    endpoint = None

    def __init__(self, name: str) -> None:
        self.name = name

    def authorize(self) -> Grant:
        return Grant(
            "maria@example.com", "google:maria@example.com", (RemoteCalendar("primary", self.name, True),)
        )

    def list_calendars(self, account: CalendarAccount) -> list[RemoteCalendar]:
        return [RemoteCalendar("primary", self.name, True)]


def test_a_calendar_name_from_the_provider_is_stored_on_one_line(services: Services) -> None:
    """Remote names are collapsed, not refused: nobody is there to fix them, and the calendar must still sync."""
    services.techs.add("Maria Lopez", "maria@example.com", "America/Chicago")
    view = services.accounts.connect(
        "Maria Lopez", Provider.GOOGLE, _OneGrant("Work\r\nBcc: x@example.com\u2028")
    )
    with services.uow() as uow:
        names = [c.name for c in uow.calendars.for_account(view.account.id)]
    assert names == ["Work Bcc: x@example.com"]
