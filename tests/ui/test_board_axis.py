"""The time axis maps instants with one UTC offset when the office's clock holds all week; the
zone's own answer must agree to the pixel, and a week with a clock change asks the zone."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from app.domain.time import zone
from ui.board.axis import TimeAxis

CHICAGO = zone("America/Chicago")


def by_the_zone(axis: TimeAxis, instant: datetime) -> float:
    local = instant.astimezone(axis.office)
    index = (local.date() - axis.first_day).days
    if index < 0:
        return 0.0
    if index >= axis.days:
        return axis.width
    minute = local.hour * 60 + local.minute + local.second / 60
    frac = (minute - axis.first_minute) / (axis.last_minute - axis.first_minute)
    return index * axis.day_width + min(1.0, max(0.0, frac)) * axis.day_width


@pytest.mark.parametrize(
    ("monday", "fixed"),
    [
        (date(2026, 11, 2), True),
        (date(2026, 10, 26), False),
        (date(2027, 3, 8), False),
        (date(2027, 3, 15), True),
    ],
)
def test_instants_land_where_the_zone_puts_them(monday: date, fixed: bool) -> None:
    axis = TimeAxis(monday, 7, CHICAGO, 6 * 60, 20 * 60, 140.0)
    assert (axis.fixed_offset is not None) is fixed  # clocks change in Chicago on 1 Nov 2026 and 14 Mar 2027
    start = datetime.combine(monday - timedelta(days=1), datetime.min.time(), UTC)
    for step in range(0, 9 * 24 * 60, 37):
        instant = start + timedelta(minutes=step)
        assert axis.x_for(instant) == pytest.approx(by_the_zone(axis, instant), abs=1e-6)
