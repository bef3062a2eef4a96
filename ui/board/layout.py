"""Board geometry per snapshot: the time axis and every tile's rectangle, rows laid out lazily.

Painting and hit testing then only look things up, which keeps the board smooth with many techs
and thousands of items. Coordinates here are "content" coordinates: x = 0 is the start of the
time area, y = 0 the top of the first row; the view adds its header, gutter and scroll offsets.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta, tzinfo
from enum import Enum
from typing import overload

from PySide6.QtCore import QRectF

from app.domain.ids import BookingId, TechId
from app.domain.model import Booking, BusyBlock, BusySource, Conflict, Customer
from app.domain.time import Interval, local_midnight, zone
from app.services.board import BoardSnapshot, TechRow
from ui.board.axis import TimeAxis
from ui.board.shown_hours import Extent, visible_minutes


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


class RowLayouts(Sequence[RowLayout]):
    """Every tech's row, each laid out the first time it is asked for (painting asks for the few on
    screen): a first paint of a week of 200 techs then lays out a dozen rows, not 8,000 tiles."""

    def __init__(self, count: int, build: Callable[[int], RowLayout], reused: dict[int, RowLayout]) -> None:
        self._built: list[RowLayout | None] = [None] * count
        for index, row in reused.items():
            self._built[index] = row
        self._build = build

    @property
    def built(self) -> int:
        """How many rows have been laid out so far."""
        return sum(row is not None for row in self._built)

    def built_row(self, index: int) -> RowLayout | None:
        return self._built[index]

    def __len__(self) -> int:
        return len(self._built)

    @overload
    def __getitem__(self, index: int) -> RowLayout: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[RowLayout]: ...
    def __getitem__(self, index: int | slice) -> RowLayout | Sequence[RowLayout]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        if index < 0:
            index += len(self._built)
        row = self._built[index]
        if row is None:
            row = self._build(index)
            self._built[index] = row
        return row


class BookingTiles(Mapping[BookingId, Tile]):
    """Each job's tile by booking id, laying out only the row the job is on."""

    def __init__(self, rows: RowLayouts, row_of: dict[BookingId, int]) -> None:
        self._rows = rows
        self._row_of = row_of

    def __getitem__(self, booking_id: BookingId) -> Tile:
        index = self._row_of.get(booking_id)
        if index is None:
            raise KeyError(booking_id)
        for tile in self._rows[index].tiles:
            if tile.booking is not None and tile.booking.id == booking_id:
                return tile
        raise KeyError(booking_id)  # on the row, but outside the shown hours

    def __iter__(self) -> Iterator[BookingId]:
        return (booking_id for booking_id in self._row_of if booking_id in self)

    def __len__(self) -> int:
        return sum(1 for _ in self)


class BoardLayout:
    """The geometry of one snapshot: its axis, its rows (laid out lazily) and its jobs' tiles."""

    __slots__ = ("_index_of", "axis", "by_booking", "extents", "row_height", "rows")

    def __init__(
        self,
        axis: TimeAxis,
        row_height: float,
        rows: RowLayouts,
        row_of: dict[BookingId, int],
        index_of: dict[TechId, int],
        extents: dict[int, tuple[TechRow, Extent]] | None = None,
    ) -> None:
        self.axis = axis
        self.row_height = row_height
        self.rows = rows
        self.by_booking = BookingTiles(rows, row_of)
        self._index_of = index_of
        self.extents = extents or {}  # each row's hours, by the row's identity (visible_minutes)

    @property
    def height(self) -> float:
        return len(self.rows) * self.row_height

    def row_at(self, y: float) -> RowLayout | None:
        if y < 0:
            return None
        index = int(y // self.row_height)
        return self.rows[index] if index < len(self.rows) else None

    def row_index(self, tech_id: TechId) -> int | None:
        return self._index_of.get(tech_id)

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


def build_layout(
    snapshot: BoardSnapshot,
    first_day: date,
    days: int,
    office: tzinfo,
    day_width: float,
    row_height: float,
    minutes: tuple[int, int] | None = None,
    pad: int = 60,
    previous: BoardLayout | None = None,
) -> BoardLayout:
    """The layout of `snapshot`; rows are laid out when first asked for. Rows of `previous` that
    show the very same TechRow at the same place on the same axis are kept as they are (a delta
    that changed two techs re-lays out those two rows only)."""
    same_days = previous is not None and (previous.axis.first_day, previous.axis.days) == (first_day, days)
    extents = (
        previous.extents if previous is not None and same_days and previous.axis.office == office else {}
    )
    first_minute, last_minute = minutes or visible_minutes(snapshot, first_day, days, office, pad, extents)
    extents = {id(row): extents[id(row)] for row in snapshot.rows if id(row) in extents}  # no dead rows
    axis = TimeAxis(first_day, days, office, first_minute, last_minute, day_width)
    conflicted = {c.booking_id: c for c in snapshot.open_conflicts}
    reused: dict[int, RowLayout] = {}
    if previous is not None and previous.axis == axis and previous.row_height == row_height:
        for index, tech_row in enumerate(snapshot.rows):
            if index < len(previous.rows):
                old = previous.rows.built_row(index)
                if old is not None and old.row is tech_row and _same_flags(old, conflicted):
                    reused[index] = old
    rows = RowLayouts(
        len(snapshot.rows),
        lambda index: _build_row(snapshot, conflicted, axis, index, row_height),
        reused,
    )
    row_of = {b.id: index for index, r in enumerate(snapshot.rows) for b in r.bookings}
    index_of = {r.tech.id: index for index, r in enumerate(snapshot.rows)}
    return BoardLayout(axis, row_height, rows, row_of, index_of, extents)


def _same_flags(row: RowLayout, conflicted: dict[BookingId, Conflict]) -> bool:
    """Whether a kept row's red outlines still say what the open conflicts say."""
    return all(
        (tile.flagged, tile.flag_reason) == _flag(tile.booking, conflicted)
        for tile in row.tiles
        if tile.booking is not None
    )


def _flag(booking: Booking, conflicted: dict[BookingId, Conflict]) -> tuple[bool, str]:
    conflict = conflicted.get(booking.id)
    if conflict is not None:
        return True, conflict.detail or OPEN_CONFLICT
    if booking.forced:
        return True, FORCED
    return False, ""


OPEN_CONFLICT = "Open conflict with the technician's calendar"
FORCED = "Booked over busy time"


def _build_row(
    snapshot: BoardSnapshot,
    conflicted: dict[BookingId, Conflict],
    axis: TimeAxis,
    index: int,
    row_height: float,
) -> RowLayout:
    tech_row = snapshot.rows[index]
    days, first_day = axis.days, axis.first_day
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
        tile.flagged, tile.flag_reason = _flag(booking, conflicted)
        timed.append(tile)
    _stack(timed, top + tile_pad, row_height - 2 * tile_pad)
    # Busy under bookings: paint (and hit-test in reverse) in this order.
    row.tiles = sorted(timed, key=lambda t: (t.kind is TileKind.BOOKING, t.rect.left()))
    return row


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
