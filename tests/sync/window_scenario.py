"""One scenario for every real provider adapter: the read window moving past what is known.

Jobs and a personal event on one day; the clock then crosses Chicago's midnight twice, so the
window (all of the tech's yesterday onwards) first still covers that day, then leaves it. The full
read at the roll returns nothing that was known, which must neither trip the mass-delete guard
nor take the day's events off the board; jobs booked in the future afterwards go out as usual.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from app.domain.time import FixedClock, Interval
from storage.database import Database
from sync.engine import SyncEngine

CHICAGO = ZoneInfo("America/Chicago")


def _at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=CHICAGO)


def _state(database: Database) -> tuple[set[str], list[tuple[datetime, str | None]]]:
    """(booking ids with a link, calendar busy blocks) as stored."""
    with database.unit_of_work() as uow:
        linked = {b.id for b in uow.bookings.list(live_only=True) if uow.links.for_booking(b.id) is not None}
        techs = [t.id for t in uow.techs.list()]
        far = Interval(datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC))
        blocks = sorted((b.interval.start, b.title) for b in uow.busy.for_techs(techs, far))
    return linked, blocks


async def window_roll_scenario(
    clock: FixedClock,
    database: Database,
    engine: SyncEngine,
    book: Callable[[datetime, str], Any],
    add_personal: Callable[[str, datetime], Any],
) -> None:
    day = clock.now().astimezone(CHICAGO).date() + timedelta(days=1)
    clock.current = _at(day, 7).astimezone(UTC)
    jobs = {str(book(_at(day, 9 + n).astimezone(UTC), f"Customer {n}")) for n in range(6)}
    add_personal("Dentist", _at(day, 16))
    report = await engine.run_once()
    assert report.ok, report.errors
    linked, blocks = _state(database)
    assert jobs <= linked
    assert [title for _, title in blocks] == ["Dentist"]

    clock.current = _at(day + timedelta(days=1), 23, 50).astimezone(UTC)  # the window still has `day`
    report = await engine.run_once()
    assert report.ok, report.errors

    clock.current = _at(day + timedelta(days=2), 0, 10).astimezone(UTC)  # now it has left it
    report = await engine.run_once()
    assert report.ok, report.errors
    assert not report.refused
    assert _state(database) == (linked, blocks)

    later = {str(book(_at(day + timedelta(days=5), 9 + n).astimezone(UTC), f"Later {n}")) for n in range(3)}
    report = await engine.run_once()
    assert report.ok, report.errors
    linked_after, blocks_after = _state(database)
    assert linked_after == linked | later
    assert blocks_after == blocks
