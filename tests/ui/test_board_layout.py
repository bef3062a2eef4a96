"""Board geometry: the time axis, tile rectangles and hit testing, from a real snapshot."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from app.domain.time import zone
from app.services.container import Services
from tests.ui.business import CHICAGO, DENVER, MONDAY, Business, at
from ui.board.axis import TimeAxis, snap
from ui.board.layout import BoardMode, TileKind, board_window, build_layout

OFFICE = zone(CHICAGO)
WED = MONDAY + timedelta(days=2)
THU = MONDAY + timedelta(days=3)
FRI = MONDAY + timedelta(days=4)
ROW = 80.0


def day_layout(services: Services, day: date = WED, width: float = 1300.0):  # type: ignore[no-untyped-def]
    snapshot = services.board.snapshot(board_window(BoardMode.DAY, day, OFFICE))
    return build_layout(snapshot, day, 1, OFFICE, width, ROW)


def week_layout(services: Services):  # type: ignore[no-untyped-def]
    snapshot = services.board.snapshot(board_window(BoardMode.WEEK, WED, OFFICE))
    return build_layout(snapshot, MONDAY, 7, OFFICE, 180.0, ROW, pad=0)


def row_of(layout, business: Business, name: str):  # type: ignore[no-untyped-def]
    index = layout.row_index(business.techs[name].id)
    assert index is not None
    return layout.rows[index]


def test_axis_maps_office_time_to_x_and_back() -> None:
    axis = TimeAxis(WED, 1, OFFICE, 6 * 60, 18 * 60, 1200.0)
    assert axis.x_for(at(WED, 6)) == 0
    assert axis.x_for(at(WED, 12)) == pytest.approx(600)
    assert axis.x_for(at(WED, 9, 0, DENVER)) == pytest.approx(axis.x_for(at(WED, 10)))
    assert axis.instant_at(600) == at(WED, 12)
    assert axis.snapped_at(axis.x_for(at(WED, 12, 7))) == at(WED, 12, 0)
    assert axis.snapped_at(axis.x_for(at(WED, 12, 8))) == at(WED, 12, 15)
    assert snap(datetime(2026, 11, 4, 16, 52, 29, tzinfo=UTC)) == datetime(2026, 11, 4, 16, 45, tzinfo=UTC)


def test_hit_testing_a_point_returns_the_booking_under_it(services: Services, business: Business) -> None:
    layout = day_layout(services)
    dana = row_of(layout, business, "Dana Ortiz")
    hill = business.bookings["hill"]
    y = dana.top + ROW / 2
    tile = layout.tile_at(layout.axis.x_for(at(WED, 8, 45)), y)
    assert tile is not None and tile.booking is not None
    assert tile.booking.id == hill.id
    assert tile.customer is not None and tile.customer.name == "Hill family"
    rect = layout.by_booking[hill.id].rect
    assert rect.left() == pytest.approx(layout.axis.x_for(at(WED, 8)))
    assert rect.right() == pytest.approx(layout.axis.x_for(at(WED, 9, 30)))
    assert dana.top < rect.top() and rect.bottom() < dana.top + ROW
    # Between two jobs there is nothing; in another row the same x is someone else's.
    assert layout.tile_at(layout.axis.x_for(at(WED, 9, 45)), y) is None
    marcus = row_of(layout, business, "Marcus Lee")
    other = layout.tile_at(layout.axis.x_for(at(WED, 8, 45)), marcus.top + ROW / 2)
    assert other is not None and other.booking is not None
    assert other.booking.id == business.bookings["kim"].id


def test_calendar_busy_time_is_a_busy_tile_and_private_events_have_no_title(
    services: Services, business: Business
) -> None:
    layout = day_layout(services)
    dana = row_of(layout, business, "Dana Ortiz")
    lunch = layout.tile_at(layout.axis.x_for(at(WED, 12, 30)), dana.top + ROW / 2)
    assert lunch is not None and lunch.kind is TileKind.BUSY and lunch.block is not None
    assert lunch.block.title == "Lunch with supplier"
    assert lunch.block.calendar_name == "Personal"
    elena = row_of(layout, business, "Elena Novak")
    private = [t for t in elena.tiles if t.kind is TileKind.BUSY]
    assert len(private) == 1 and private[0].block is not None and private[0].block.title is None


def test_overlapping_items_share_the_row_in_lanes(services: Services, business: Business) -> None:
    layout = day_layout(services)
    elena = row_of(layout, business, "Elena Novak")
    quinn = layout.by_booking[business.bookings["quinn"].id]
    busy = next(t for t in elena.tiles if t.kind is TileKind.BUSY)
    assert quinn.rect.intersects(busy.rect) is False
    assert quinn.rect.height() < ROW / 2
    assert quinn.flagged and "busy" in quinn.flag_reason.lower()


def test_open_conflicts_and_forced_jobs_are_flagged(services: Services, business: Business) -> None:
    layout = day_layout(services)
    nguyen = layout.by_booking[business.bookings["nguyen"].id]
    assert nguyen.flagged and "Parent-teacher" in nguyen.flag_reason
    assert not layout.by_booking[business.bookings["hill"].id].flagged


def test_all_day_events_and_time_off_are_full_height_bands(services: Services, business: Business) -> None:
    layout = week_layout(services)
    marcus = row_of(layout, business, "Marcus Lee")
    (show,) = [b for b in marcus.bands if b.kind is TileKind.ALL_DAY]
    assert show.rect.height() == pytest.approx(ROW - 2)
    assert show.rect.left() == pytest.approx(3 * 180.0)
    assert show.rect.right() == pytest.approx(4 * 180.0)
    sam = row_of(layout, business, "Sam Whitaker")
    (vacation,) = [b for b in sam.bands if b.kind is TileKind.TIME_OFF]
    assert vacation.block is not None and vacation.block.title == "Vacation"
    assert vacation.rect.left() == pytest.approx(4 * 180.0)
    hit = layout.tile_at(4 * 180.0 + 90, sam.top + 5)
    assert hit is vacation
    jordan = row_of(layout, business, "Jordan Brooks")
    (training,) = [b for b in jordan.bands if b.kind is TileKind.TIME_OFF]
    assert training.rect.left() == pytest.approx(layout.axis.x_for(at(WED, 9)))


def test_business_hours_are_shaded_in_each_techs_own_zone(services: Services, business: Business) -> None:
    layout = day_layout(services)
    dana = row_of(layout, business, "Dana Ortiz")  # Chicago, 07:00-16:00
    elena = row_of(layout, business, "Elena Novak")  # Denver, 08:00-17:00 = 09:00-18:00 in Chicago
    x = layout.axis.x_for
    assert dana.open_spans == [pytest.approx((x(at(WED, 7)), x(at(WED, 16))))]
    assert elena.open_spans == [pytest.approx((x(at(WED, 9)), x(at(WED, 18))))]
    jordan = row_of(layout, business, "Jordan Brooks")  # a lunch break: two spans
    assert len(jordan.open_spans) == 2


def test_the_day_shows_every_techs_hours_with_an_hour_either_side(
    services: Services, business: Business
) -> None:
    layout = day_layout(services)
    assert (layout.axis.first_minute, layout.axis.last_minute) == (6 * 60, 19 * 60)
