"""DragAutoScroller: scrolls the board while a drag hovers near an edge of its grid.

With dozens of technicians the row a job should go to is often off-screen. Holding the pointer
near an edge scrolls towards it, faster the closer the pointer gets, on a timer (never a loop that
blocks the event queue); moving away from the edge or ending the drag stops it.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, QPoint, QRect, QTimer, Signal
from PySide6.QtWidgets import QAbstractScrollArea

EDGE = 40  # px: how near an edge of the grid the pointer must come to start scrolling
TICK_MS = 16
MIN_STEP = 2  # px per tick at the inner border of the edge zone...
MAX_STEP = 30  # ...and at the edge itself or beyond it


def edge_step(depth: float, zone: float) -> int:
    """Pixels to scroll per tick for a pointer `depth` px into an edge zone `zone` px wide."""
    if depth <= 0 or zone <= 0:
        return 0
    ratio = min(1.0, depth / zone)
    # Quadratic: fine control at the zone's inner border, quick travel right at the edge.
    return round(MIN_STEP + (MAX_STEP - MIN_STEP) * ratio * ratio)


def scroll_velocity(pos: QPoint, grid: QRect) -> tuple[int, int]:
    """(dx, dy) per tick for a pointer at `pos` over a grid shown in `grid` (viewport coordinates)."""
    if grid.isEmpty():
        return 0, 0
    zone_x = min(EDGE, grid.width() / 4)
    zone_y = min(EDGE, grid.height() / 4)
    left, right = grid.left(), grid.left() + grid.width()
    top, bottom = grid.top(), grid.top() + grid.height()
    dx = edge_step(pos.x() - (right - zone_x), zone_x) - edge_step(left + zone_x - pos.x(), zone_x)
    dy = edge_step(pos.y() - (bottom - zone_y), zone_y) - edge_step(top + zone_y - pos.y(), zone_y)
    return dx, dy


class DragAutoScroller(QObject):
    """Drives an area's scroll bars while `hover()` reports a pointer in an edge zone.

    `scrolled` fires after each step that moved something, so the owner can re-aim the drag at the
    (unmoved) pointer over the content that slid under it.
    """

    scrolled = Signal()

    def __init__(self, area: QAbstractScrollArea, grid: Callable[[], QRect]) -> None:
        super().__init__(area)
        self._area = area
        self._grid = grid
        self._velocity = (0, 0)
        self._timer = QTimer(self)
        self._timer.setInterval(TICK_MS)
        self._timer.timeout.connect(self._on_timer_timeout)

    @property
    def active(self) -> bool:
        return self._timer.isActive()

    @property
    def velocity(self) -> tuple[int, int]:
        return self._velocity

    def hover(self, pos: QPoint) -> None:
        """The drag's pointer is at `pos` (viewport coordinates): scroll, or stop scrolling."""
        self._velocity = scroll_velocity(pos, self._grid())
        if self._velocity != (0, 0) and self._can_move():
            if not self._timer.isActive():
                self._timer.start()
        else:
            self._timer.stop()

    def stop(self) -> None:
        self._velocity = (0, 0)
        self._timer.stop()

    def _can_move(self) -> bool:
        dx, dy = self._velocity
        h, v = self._area.horizontalScrollBar(), self._area.verticalScrollBar()
        return bool(
            (dx < 0 and h.value() > h.minimum())
            or (dx > 0 and h.value() < h.maximum())
            or (dy < 0 and v.value() > v.minimum())
            or (dy > 0 and v.value() < v.maximum())
        )

    def _on_timer_timeout(self) -> None:
        if not self._can_move():
            self._timer.stop()  # reached the end: nothing left to scroll towards
            return
        dx, dy = self._velocity
        h, v = self._area.horizontalScrollBar(), self._area.verticalScrollBar()
        h.setValue(h.value() + dx)
        v.setValue(v.value() + dy)
        self.scrolled.emit()
