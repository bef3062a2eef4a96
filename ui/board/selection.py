"""Moving the board's selection with the arrow keys: which job is the neighbour in each direction."""

from __future__ import annotations

from app.domain.ids import BookingId
from ui.board.layout import BoardLayout


def neighbour(layout: BoardLayout, selected: BookingId | None, drow: int, dcol: int) -> BookingId | None:
    """The job an arrow key moves to from `selected`: the next one along its row (`dcol`), or the
    nearest in time on the next row that has any (`drow`). With nothing selected, the first job."""
    current = layout.by_booking.get(selected) if selected else None
    if current is None:
        first = next((t for r in layout.rows for t in layout.booking_tiles(r)), None)
        return first.booking.id if first is not None and first.booking is not None else None
    if dcol:
        tiles = layout.booking_tiles(layout.rows[current.row])
        tiles.sort(key=lambda t: (t.rect.left(), t.rect.top()))
        position = tiles.index(current) + dcol
        if 0 <= position < len(tiles):
            target = tiles[position]
            assert target.booking is not None
            return target.booking.id
        return None
    index = current.row + drow
    center = current.rect.center().x()
    while 0 <= index < len(layout.rows):
        tiles = layout.booking_tiles(layout.rows[index])
        if tiles:
            target = min(tiles, key=lambda t: abs(t.rect.center().x() - center))
            assert target.booking is not None
            return target.booking.id
        index += drow
    return None
