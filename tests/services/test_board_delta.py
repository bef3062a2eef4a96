"""The board's deltas: the rows of a few techs read afresh and patched into a snapshot."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.domain.ids import BookingId, TechId
from app.domain.time import FixedClock, Interval, zone
from app.services.board import BoardSnapshot
from app.services.container import Services
from tests.ui.business import DEMO_NOW, MONDAY, Business, add_busy, add_tech, at, build_business
from ui.board.layout import BoardMode, board_window

WED = MONDAY + timedelta(days=2)
WEEK = board_window(BoardMode.WEEK, MONDAY, zone("America/Chicago"))


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(DEMO_NOW)


@pytest.fixture
def business(services: Services) -> Business:
    return build_business(services)


def rows_of(snapshot: BoardSnapshot) -> dict[TechId, object]:
    return {row.tech.id: row for row in snapshot.rows}


def shows(snapshot: BoardSnapshot, booking_id: BookingId) -> list[str]:
    return [row.tech.name for row in snapshot.rows if any(b.id == booking_id for b in row.bookings)]


def test_a_busy_change_reads_only_that_techs_row(services: Services, business: Business) -> None:
    before = services.board.snapshot(WEEK)
    dana = business.techs["Dana Ortiz"]
    dentist = Interval(at(WED, 12), at(WED, 13))
    add_busy(services, dana, business.calendars["Dana Ortiz"], dentist, "Dentist")

    delta = services.board.rows(WEEK, [dana.id])

    assert [row.tech.id for row in delta.rows] == [dana.id]
    assert delta.unassigned is None  # no job named: the tray is not read
    after = before.patched(delta)
    assert any(b.title == "Dentist" and b.interval == dentist for b in after.row_for(dana.id).busy)  # type: ignore[union-attr]
    assert after == services.board.snapshot(WEEK)
    unchanged = {t: r for t, r in rows_of(before).items() if t != dana.id}
    assert all(rows_of(after)[t] is row for t, row in unchanged.items())  # the very same rows: kept layouts


def test_a_job_moved_to_another_tech_leaves_its_old_row(services: Services, business: Business) -> None:
    before = services.board.snapshot(WEEK)
    garcia = business.bookings["garcia"]
    (old_name,) = shows(before, garcia.id)
    marcus = business.techs["Marcus Lee"]
    assert old_name != marcus.name
    services.bookings.move(garcia.id, at(WED, 14), tech=marcus.id, force=True)
    old_tech = business.techs[old_name].id

    delta = services.board.rows(WEEK, [old_tech], [garcia.id])  # the board names the row showing it

    assert delta.tech_ids == {old_tech, marcus.id}  # the new tech is found from the job itself
    after = before.patched(delta)
    assert shows(after, garcia.id) == [marcus.name]
    assert after == services.board.snapshot(WEEK)


def test_a_job_taken_off_its_tech_goes_to_the_tray(services: Services, business: Business) -> None:
    before = services.board.snapshot(WEEK)
    garcia = business.bookings["garcia"]
    (old_name,) = shows(before, garcia.id)
    services.bookings.reassign(garcia.id, "")

    delta = services.board.rows(WEEK, [business.techs[old_name].id], [garcia.id])

    after = before.patched(delta)
    assert shows(after, garcia.id) == []
    assert garcia.id in {b.id for b in after.unassigned}
    assert after == services.board.snapshot(WEEK)


def test_a_delta_patches_only_the_snapshot_of_its_own_window(services: Services, business: Business) -> None:
    next_week = board_window(BoardMode.WEEK, MONDAY + timedelta(days=7), zone("America/Chicago"))
    delta = services.board.rows(next_week, [business.techs["Dana Ortiz"].id])
    with pytest.raises(ValueError, match="its own window"):
        services.board.snapshot(WEEK).patched(delta)


def test_a_tech_added_or_renamed_takes_their_place_in_name_order(
    services: Services, business: Business
) -> None:
    before = services.board.snapshot(WEEK)
    newcomer = add_tech(services, "Kim Park")
    sam = services.techs.edit(business.techs["Sam Whitaker"].id, name="Aaron Whitaker")

    after = before.patched(services.board.rows(WEEK, [newcomer.id, sam.id]))

    names = [row.tech.name for row in after.rows]
    assert names[0] == "Aaron Whitaker" and "Kim Park" in names
    assert names == sorted(names, key=str.lower)
    assert after == services.board.snapshot(WEEK)
