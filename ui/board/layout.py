"""Board geometry, computed once per snapshot: the time axis and every tile's rectangle.

Painting and hit testing then only look things up, which keeps the board smooth with many techs
and thousands of items. Coordinates here are "content" coordinates: x = 0 is the start of the
time area, y = 0 the top of the first row; the view adds its header, gutter and scroll offsets.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo
from enum import Enum

from PySide6.QtCore import QRectF

from app.domain.ids import BookingId, TechId
from app.domain.model import Booking, BusyBlock, BusySource, Customer
from app.domain.time import Interval, local_midnight, zone
from app.services.board import BoardSnapshot, TechRow

SNAP = timedelta(minutes=15)
DEFAULT_FIRST_MINUTE = 7 * 60
DEFAULT_LAST_MINUTE = 19 * 60


class BoardMode(Enum):
    DAY = "day"
    WEEK = "week"

    @property
    def days(self) -> int:
        return 1 if self is BoardMode.DAY else 7


def period_start(mode: BoardMode, anchor: date) -> date:
    """The first day shown: the anchor itself, or the Monday of its week."""
    return anchor if mode is BoardMode.DAY else anchor - timedelta(days=anchor.weekday())


def board_window(mode: BoardMode, anchor: date, office: tzinfo) -> Interval:
    first = period_start(mode, anchor)
    return Interval(local_midnight(first, office), local_midnight(first + timedelta(days=mode.days), office))


@dataclass(frozen=True, slots=True)
class TimeAxis:
    """Maps instants to x positions: `days` columns of office-local time, each from first to last minute."""

    first_day: date
    days: int
    office: tzinfo
    first_minute: int
    last_minute: int
    day_width: float

    @property
    def width(self) -> float:
        return self.days * self.day_width

    @property
    def minute_width(self) -> float:
        return self.day_width / (self.last_minute - self.first_minute)

    @property
    def window(self) -> Interval:
        return Interval(
            local_midnight(self.first_day, self.office),
            local_midnight(self.first_day + timedelta(days=self.days), self.office),
        )

    def day(self, index: int) -> date:
        return self.first_day + timedelta(days=index)

    def x_for(self, instant: datetime) -> float:
        local = instant.astimezone(self.office)
        index = (local.date() - self.first_day).days
        if index < 0:
            return 0.0
        if index >= self.days:
            return self.width
        minute = local.hour * 60 + local.minute + local.second / 60
        frac = (minute - self.first_minute) / (self.last_minute - self.first_minute)
        return index * self.day_width + min(1.0, max(0.0, frac)) * self.day_width

    def instant_at(self, x: float) -> datetime:
        """The UTC instant under x (clamped to the shown days and hours)."""
        x = min(max(x, 0.0), self.width - 0.001)
        index = int(x // self.day_width)
        frac = (x - index * self.day_width) / self.day_width
        minutes = self.first_minute + frac * (self.last_minute - self.first_minute)
        # Same-zone aware arithmetic is wall-clock arithmetic, so DST days land on the right offset.
        midnight = datetime.combine(self.day(index), datetime.min.time()).replace(tzinfo=self.office)
        return (midnight + timedelta(minutes=minutes)).astimezone(UTC)

    def snapped_at(self, x: float) -> datetime:
        return snap(self.instant_at(x))


def snap(instant: datetime, step: timedelta = SNAP) -> datetime:
    """Round to the nearest step (every zone offset in use is a multiple of 15 minutes)."""
    seconds = step.total_seconds()
    stamp = instant.timestamp()
    return datetime.fromtimestamp(round(stamp / seconds) * seconds, UTC)


class TileKind(Enum):
    BOOKING = "booking"
    BUSY = "busy"  # a timed calendar event
    ALL_DAY = "all_day"  # an all-day calendar event: a full-height band
    TIME_OFF = "time_off"  # a full-height band


@dataclass(slots=True)
class Tile:
    kind: TileKind
    row: int
    rect: QRectF
    interval: Interval
    booking: Booking | None = None
    block: BusyBlock | None = None
    customer: Customer | None = None
    flagged: bool = False  # forced, or an open conflict: outlined in red
    flag_reason: str = ""
    row_color: str = ""  # the tech's colour (busy bands have none; a tile without one is drawn in the accent)
    online: bool = False  # booked by the customer on the booking page
    assigned_because: str = ""  # why the assignment rule chose this tech, when it did

    @property
    def booking_id(self) -> BookingId | None:
        return self.booking.id if self.booking is not None else None


@dataclass(slots=True)
class RowLayout:
    index: int
    row: TechRow
    top: float
    open_spans: list[tuple[float, float]] = field(default_factory=list)  # business hours, x ranges
    bands: list[Tile] = field(default_factory=list)
    tiles: list[Tile] = field(default_factory=list)  # busy and bookings, bookings painted last

    @property
    def tech_id(self) -> TechId:
        return self.row.tech.id


@dataclass(slots=True)
class BoardLayout:
    axis: TimeAxis
    row_height: float
    rows: list[RowLayout]
    by_booking: dict[BookingId, Tile]

    @property
    def height(self) -> float:
        return len(self.rows) * self.row_height

    def row_at(self, y: float) -> RowLayout | None:
        if y < 0:
            return None
        index = int(y // self.row_height)
        return self.rows[index] if index < len(self.rows) else None

    def row_index(self, tech_id: TechId) -> int | None:
        return next((r.index for r in self.rows if r.tech_id == tech_id), None)

    def visible_rows(self, top: float, bottom: float) -> range:
        first = max(0, int(top // self.row_height))
        last = min(len(self.rows), math.ceil(bottom / self.row_height) + 1)
        return range(first, max(first, last))

    def tile_at(self, x: float, y: float) -> Tile | None:
        """The topmost tile at a point: a booking over busy time over a band."""
        row = self.row_at(y)
        if row is None:
            return None
        for tile in reversed(row.tiles):
            if tile.rect.contains(x, y):
                return tile
        for band in reversed(row.bands):
            if band.rect.contains(x, y):
                return band
        return None

    def booking_tiles(self, row: RowLayout) -> list[Tile]:
        return [t for t in row.tiles if t.kind is TileKind.BOOKING]

    def clashes(self, tech_id: TechId, span: Interval, exclude: BookingId | None) -> list[Tile]:
        """What already occupies `tech_id` during `span`, as far as this snapshot knows."""
        index = self.row_index(tech_id)
        if index is None:
            return []
        row = self.rows[index]
        found = [t for t in row.bands + row.tiles if t.interval.overlaps(span)]
        return [t for t in found if t.booking is None or t.booking.id != exclude]


# --- building ------------------------------------------------------------------------------------


def visible_minutes(
    snapshot: BoardSnapshot, first_day: date, days: int, office: tzinfo, pad: int = 60
) -> tuple[int, int]:
    """The office-local hours worth showing: every tech's business hours and every job, padded."""
    lo, hi = DEFAULT_FIRST_MINUTE + 60, DEFAULT_LAST_MINUTE - 60
    seen = False

    def note(start: datetime, end: datetime) -> None:
        nonlocal lo, hi, seen
        a, b = start.astimezone(office), end.astimezone(office)
        if a.date() != b.date() and not (b.hour == 0 and b.minute == 0 and (b.date() - a.date()).days == 1):
            lo, hi, seen = 0, 24 * 60, True
            return
        end_minute = 24 * 60 if b.date() != a.date() else b.hour * 60 + b.minute
        lo = min(lo, a.hour * 60 + a.minute) if seen else a.hour * 60 + a.minute
        hi = max(hi, end_minute) if seen else end_minute
        seen = True

    for row in snapshot.rows:
        tz = zone(row.tech.timezone)
        for offset in range(-1, days + 1):
            day = first_day + timedelta(days=offset)
            for span in row.tech.hours.intervals_on(day, tz):
                if span.overlaps(snapshot.window):
                    note(span.start, span.end)
        for booking in row.bookings:
            if booking.interval is not None:
                note(booking.interval.start, booking.interval.end)
    if not seen:
        return DEFAULT_FIRST_MINUTE, DEFAULT_LAST_MINUTE
    first = max(0, (lo // 60) * 60 - pad)
    last = min(24 * 60, -(-hi // 60) * 60 + pad)
    if last - first < 6 * 60:  # never zoom in so far that a short job fills the screen
        last = min(24 * 60, first + 6 * 60)
        first = max(0, last - 6 * 60)
    return first, last


def build_layout(
    snapshot: BoardSnapshot,
    first_day: date,
    days: int,
    office: tzinfo,
    day_width: float,
    row_height: float,
    minutes: tuple[int, int] | None = None,
    pad: int = 60,
) -> BoardLayout:
    first_minute, last_minute = minutes or visible_minutes(snapshot, first_day, days, office, pad)
    axis = TimeAxis(first_day, days, office, first_minute, last_minute, day_width)
    conflicted = {c.booking_id: c for c in snapshot.open_conflicts}
    rows: list[RowLayout] = []
    by_booking: dict[BookingId, Tile] = {}
    for index, tech_row in enumerate(snapshot.rows):
        top = index * row_height
        row = RowLayout(index, tech_row, top)
        tz = zone(tech_row.tech.timezone)
        for offset in range(-1, days + 1):
            day = first_day + timedelta(days=offset)
            for span in tech_row.tech.hours.intervals_on(day, tz):
                x0, x1 = _x_range(axis, span)
                if x1 - x0 >= 1:
                    row.open_spans.append((x0, x1))
        row.open_spans.sort()
        tile_pad = 5.0
        timed: list[Tile] = []
        for block in tech_row.busy:
            x0, x1 = _x_range(axis, block.interval)
            if x1 - x0 < 1:
                continue
            if block.all_day or block.source is BusySource.TIME_OFF:
                kind = TileKind.TIME_OFF if block.source is BusySource.TIME_OFF else TileKind.ALL_DAY
                band = Tile(kind, index, QRectF(x0, top + 1, x1 - x0, row_height - 2), block.interval)
                band.block = block
                row.bands.append(band)
            else:
                tile = Tile(TileKind.BUSY, index, QRectF(x0, top, x1 - x0, 0), block.interval, block=block)
                timed.append(tile)
        for booking in tech_row.bookings:
            booked = booking.interval
            if booked is None:
                continue
            x0, x1 = _x_range(axis, booked)
            if x1 <= 0 or x0 >= axis.width:
                continue
            x1 = max(x1, x0 + 6)
            tile = Tile(
                TileKind.BOOKING,
                index,
                QRectF(x0, top, x1 - x0, 0),
                booked,
                booking=booking,
                customer=snapshot.customers.get(booking.customer_id),
                row_color=tech_row.tech.color,
                online=booking.id in snapshot.online,
                assigned_because=snapshot.assigned_because.get(booking.id, ""),
            )
            conflict = conflicted.get(booking.id)
            if conflict is not None:
                tile.flagged = True
                tile.flag_reason = conflict.detail or "Open conflict with the technician's calendar"
            elif booking.forced:
                tile.flagged = True
                tile.flag_reason = "Booked over busy time"
            timed.append(tile)
            by_booking[booking.id] = tile
        _stack(timed, top + tile_pad, row_height - 2 * tile_pad)
        # Busy under bookings: paint (and hit-test in reverse) in this order.
        row.tiles = sorted(timed, key=lambda t: (t.kind is TileKind.BOOKING, t.rect.left()))
        rows.append(row)
    return BoardLayout(axis, row_height, rows, by_booking)


def _x_range(axis: TimeAxis, span: Interval) -> tuple[float, float]:
    return axis.x_for(span.start), axis.x_for(span.end)


def _stack(tiles: list[Tile], top: float, height: float) -> None:
    """Give overlapping tiles side-by-side lanes (stacked vertically) inside their cluster."""
    tiles.sort(key=lambda t: (t.rect.left(), -t.rect.width()))
    cluster: list[Tile] = []
    lanes_end: list[float] = []
    lane_of: dict[int, int] = {}
    cluster_end = -1.0

    def close_cluster() -> None:
        count = max(1, len(lanes_end))
        lane_height = (height - (count - 1) * 2) / count
        for item in cluster:
            lane = lane_of[id(item)]
            item.rect.setTop(top + lane * (lane_height + 2))
            item.rect.setHeight(lane_height)

    for tile in tiles:
        left, right = tile.rect.left(), tile.rect.right()
        if cluster and left >= cluster_end:
            close_cluster()
            cluster, lanes_end, lane_of = [], [], {}
        lane = next((i for i, end in enumerate(lanes_end) if end <= left), None)
        if lane is None:
            lanes_end.append(right)
            lane = len(lanes_end) - 1
        else:
            lanes_end[lane] = right
        lane_of[id(tile)] = lane
        cluster.append(tile)
        cluster_end = max(cluster_end, right) if len(cluster) > 1 else right
    if cluster:
        close_cluster()
