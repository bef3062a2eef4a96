"""Which parts of the board's viewport need painting again after a scroll or a delta.

Painting a week of 200 techs in full is some 500 tiles; a scroll moves the pixels already painted
and paints the strip scrolled into view, and a delta that replaced two techs' rows repaints those
two bands only.
"""

from __future__ import annotations

import math

from PySide6.QtCore import QRect

from app.services.board import BoardSnapshot
from ui.board.layout import BoardLayout


def scroll_regions(
    viewport: QRect, header: int, gutter: int, dx: int, dy: int
) -> list[tuple[QRect, tuple[int, int]]] | None:
    """The viewport rectangles to move and by how much; None when nothing painted stays in view.

    Rows and the names beside them move up and down below the time header; days and the time
    header move sideways right of the names; the corner above the names never moves."""
    if abs(dx) >= viewport.width() or abs(dy) >= viewport.height():
        return None
    regions = []
    if dy:
        regions.append((QRect(0, header, viewport.width(), viewport.height() - header), (0, dy)))
    if dx:
        regions.append((QRect(gutter, 0, viewport.width() - gutter, viewport.height()), (dx, 0)))
    return regions


def changed_row_bands(
    old_layout: BoardLayout | None,
    layout: BoardLayout | None,
    old: BoardSnapshot | None,
    new: BoardSnapshot | None,
    grid: QRect,
    scroll_y: int,
) -> list[QRect] | None:
    """The viewport bands of the rows `new` replaced (rows kept are the very same objects), clipped
    to `grid` (below the time header); None when the frame itself changed and all must be painted."""
    if layout is None or old_layout is None or old is None or new is None:
        return None
    if (layout.axis, layout.row_height, len(new.rows)) != (
        old_layout.axis,
        old_layout.row_height,
        len(old.rows),
    ):
        return None
    bands = []
    for index, (before, after) in enumerate(zip(old.rows, new.rows, strict=True)):
        if before is not after:
            y = round(grid.top() + index * layout.row_height - scroll_y)
            band = QRect(0, y, grid.width(), math.ceil(layout.row_height) + 1).intersected(grid)
            if not band.isEmpty():
                bands.append(band)
    return bands
