"""Dragging jobs on the board: a tile moved by the mouse, or a job carried in from the unassigned tray.

BoardDragger follows the pointer, snaps the target to the quarter hour, says whether it would land
on busy time, keeps aiming while the board auto-scrolls under a still pointer, and survives fresh
snapshots (sync brings them every few seconds). It decides nothing: the view emits the drop.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from PySide6.QtCore import QObject, QPoint, QPointF, QRectF
from PySide6.QtGui import QDragMoveEvent, QDropEvent
from PySide6.QtWidgets import QApplication, QWidget

from app.domain.model import Booking
from app.domain.time import Interval
from app.services.board import BoardSnapshot
from ui.board.autoscroll import DragAutoScroller
from ui.board.axis import snap
from ui.board.layout import BoardLayout, RowLayout, Tile, TileKind
from ui.models import BOOKING_MIME

TILE_PAD = 5.0  # a dragged tile's gap to its row's top and bottom, as laid-out tiles have


@dataclass(slots=True)
class Press:
    pos: QPoint
    tile: Tile
    grab_dx: float  # where inside the tile the pointer took hold, so the tile does not jump


@dataclass(slots=True)
class DragTarget:
    """Where the job being dragged would land now, in content coordinates."""

    tile: Tile
    grab_dx: float
    row: RowLayout
    start: datetime
    rect: QRectF
    blocked: bool  # the target overlaps busy time or another job (as far as the board knows)


class DragHost(Protocol):
    """What the dragger needs of the board view."""

    @property
    def board_layout(self) -> BoardLayout | None: ...

    @property
    def snapshot(self) -> BoardSnapshot | None: ...

    def to_content(self, pos: QPoint | QPointF) -> QPointF: ...

    def in_grid(self, pos: QPoint | QPointF) -> bool: ...

    def viewport(self) -> QWidget: ...


class BoardDragger(QObject):
    """The drag in flight, if any; the view forwards its mouse and drag-and-drop events here."""

    def __init__(self, host: DragHost, autoscroll: DragAutoScroller, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._host = host
        self._press: Press | None = None
        self._drag: DragTarget | None = None
        # Where the pointer of a drag last was, and the tray job it carries (None for a tile drag):
        # auto-scroll re-aims the drag there as the content slides under a pointer held still.
        self._pointer: QPoint | None = None
        self._carried: Booking | None = None
        self._autoscroll = autoscroll
        self._autoscroll.scrolled.connect(self._on_autoscroll_scrolled)

    @property
    def target(self) -> DragTarget | None:
        return self._drag

    @property
    def autoscrolling(self) -> bool:
        return self._autoscroll.active

    # --- a tile dragged with the mouse ------------------------------------------------------------

    def press(self, pos: QPoint, tile: Tile | None) -> None:
        """The button went down at `pos` on `tile` (a job's) or elsewhere (None)."""
        if tile is None:
            self._press = None
            return
        grab = self._host.to_content(pos).x() - tile.rect.left()
        self._press = Press(pos, tile, grab)

    def move(self, pos: QPoint) -> bool:
        """Follow the pointer; False when no press is under way (the event is not ours)."""
        press, layout = self._press, self._host.board_layout
        if press is None or layout is None:
            return False
        if self._drag is None and (pos - press.pos).manhattanLength() < QApplication.startDragDistance():
            return True
        self._pointer = pos
        self._aim_tile(press, layout, pos)
        self._autoscroll.hover(pos)
        return True

    def release(self) -> DragTarget | None:
        """The button went up: where the job lands, if it was being dragged."""
        drag = self._drag
        self.end()
        return drag

    def _aim_tile(self, press: Press, layout: BoardLayout, pos: QPoint) -> None:
        content = self._host.to_content(pos)
        row = layout.row_at(min(max(content.y(), 0.0), layout.height - 1))
        if row is None:
            return
        start = snap(layout.axis.instant_at(content.x() - press.grab_dx))
        self._drag = self._drag_to(layout, press.tile, press.grab_dx, row, start)
        self._host.viewport().update()

    # --- a job carried in from the tray -----------------------------------------------------------

    def carried_job(self, event: QDropEvent) -> Booking | None:
        """The unassigned job a drag-and-drop event carries, if it is one the board knows."""
        data, snapshot = event.mimeData(), self._host.snapshot
        if snapshot is None or data is None or not data.hasFormat(BOOKING_MIME):
            return None
        booking_id = bytes(data.data(BOOKING_MIME).data()).decode()
        return next((b for b in snapshot.unassigned if b.id == booking_id), None)

    def carry(self, event: QDragMoveEvent) -> bool:
        """Follow a tray job over the board; False when it could not land where the pointer is."""
        job = self.carried_job(event)
        layout = self._host.board_layout
        pos = event.position().toPoint()
        if job is None or layout is None:
            self.end()
            self._host.viewport().update()
            return False
        self._pointer, self._carried = pos, job
        # Over the time header or the names the job cannot land, but the board still scrolls.
        self._autoscroll.hover(pos)
        return self._aim_job(job, layout, pos)

    def _aim_job(self, job: Booking, layout: BoardLayout, pos: QPoint) -> bool:
        """Aim a job carried from the tray at `pos`; False when it could not land there."""
        content = self._host.to_content(pos)
        row = layout.row_at(content.y()) if self._host.in_grid(pos) else None
        if row is None:
            self._drag = None
            self._host.viewport().update()
            return False
        start = snap(layout.axis.instant_at(content.x()))
        span = Interval(start, start + job.duration)
        tile = Tile(TileKind.BOOKING, row.index, QRectF(), span, booking=job, row_color=row.row.tech.color)
        self._drag = self._drag_to(layout, tile, 0.0, row, start)
        self._host.viewport().update()
        return True

    # --- both -------------------------------------------------------------------------------------

    def end(self) -> None:
        self._drag = None
        self._press = None
        self._pointer = None
        self._carried = None
        self._autoscroll.stop()

    def resume(self, snapshot: BoardSnapshot) -> None:
        """Keep a drag going across a fresh snapshot, re-aimed on the new layout; it ends only if
        the job being dragged is no longer on the board."""
        layout, press, pos = self._host.board_layout, self._press, self._pointer
        if press is not None and press.tile.booking_id is not None and layout is not None:
            tile = layout.by_booking.get(press.tile.booking_id)
            if tile is not None:
                self._press = Press(press.pos, tile, press.grab_dx)
                if self._drag is not None and pos is not None:
                    self._aim_tile(self._press, layout, pos)
                return
        carried = self._carried
        if carried is not None and layout is not None and pos is not None:
            job = next((b for b in snapshot.unassigned if b.id == carried.id), None)
            if job is not None:
                self._carried = job
                self._aim_job(job, layout, pos)
                return
        self.end()

    def _on_autoscroll_scrolled(self) -> None:
        layout, pos = self._host.board_layout, self._pointer
        if layout is None or pos is None:
            self._autoscroll.stop()
        elif self._press is not None and self._drag is not None:
            self._aim_tile(self._press, layout, pos)
        elif self._carried is not None:
            self._aim_job(self._carried, layout, pos)

    def _drag_to(
        self, layout: BoardLayout, tile: Tile, grab_dx: float, row: RowLayout, start: datetime
    ) -> DragTarget:
        span = Interval(start, start + tile.interval.duration)
        x0, x1 = layout.axis.x_for(span.start), layout.axis.x_for(span.end)
        rect = QRectF(x0, row.top + TILE_PAD, max(6.0, x1 - x0), layout.row_height - 2 * TILE_PAD)
        blocked = bool(layout.clashes(row.tech_id, span, exclude=tile.booking_id))
        return DragTarget(tile, grab_dx, row, start, rect, blocked)
