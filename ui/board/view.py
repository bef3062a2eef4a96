"""Over 500 lines: one widget's state, coordinates and input routing, each thin over its helpers.

BoardView: the custom-painted dispatch grid (techs as rows, office-local time as columns).

Geometry comes from `layout.build_layout` for each snapshot (rows laid out as painting first
asks for them, unchanged rows kept from the previous layout). The view keeps the state,
maps between viewport and content coordinates and routes input; its collaborators do the rest:
`paint_grid`/`paint_margins` paint a BoardScene, BoardDragger follows drags, `tooltips` says what
is under the pointer, `selection` finds the arrow keys' next job. The view knows nothing about
services: it emits what the dispatcher did (`booking_dropped`, `booking_activated`, ...) and the
window acts on it.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, tzinfo

from PySide6.QtCore import QEvent, QPoint, QPointF, QRect, QRectF, QSize, Qt, Signal
from PySide6.QtGui import (
    QContextMenuEvent,
    QDragEnterEvent,
    QDragLeaveEvent,
    QDragMoveEvent,
    QDropEvent,
    QHelpEvent,
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QResizeEvent,
)
from PySide6.QtWidgets import QAbstractScrollArea, QToolTip, QWidget

from app.domain.ids import BookingId, TechId
from app.domain.time import Interval
from app.services.board import BoardSnapshot
from ui.board.autoscroll import DragAutoScroller
from ui.board.axis import snap
from ui.board.drag import BoardDragger
from ui.board.layout import BoardLayout, BoardMode, Tile, TileKind, build_layout
from ui.board.paint_grid import paint_grid
from ui.board.paint_margins import paint_margins
from ui.board.repaint import changed_row_bands, scroll_regions
from ui.board.scene import (
    EMPTY_TEXT,
    GUTTER,
    HEADER,
    HOUR_PAD,
    LOADING_TEXT,
    MAX_ROW_HEIGHT,
    MIN_DAY_WIDTH,
    ROW_HEIGHT,
    BoardFonts,
    BoardScene,
)
from ui.board.selection import neighbour
from ui.board.tooltips import tech_tooltip, tile_tooltip
from ui.resources import palette


class BoardView(QAbstractScrollArea):
    """The grid. Signals carry ids and UTC instants; the window turns them into service calls."""

    booking_activated = Signal(str)  # booking id: edit it
    booking_dropped = Signal(str, str, datetime)  # booking id, target tech id, new start (UTC)
    empty_slot_activated = Signal(str, datetime)  # tech id, start (UTC): new booking there
    cancel_requested = Signal(str)  # booking id
    selection_changed = Signal(object)  # booking id or None: object, as a signal cannot say "str or None"
    tech_activated = Signal(str)  # tech id: their name was double-clicked
    tech_menu_requested = Signal(str, QPoint)  # tech id, global position: their name was right-clicked

    def __init__(self, office: tzinfo, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("boardView")
        self._office = office
        self._mode = BoardMode.DAY
        self._first_day: date | None = None
        self._snapshot: BoardSnapshot | None = None
        self._layout: BoardLayout | None = None
        self._now: datetime | None = None
        self._selected: BookingId | None = None
        self._slot: tuple[TechId, Interval] | None = None
        self._dragger = BoardDragger(self, DragAutoScroller(self, self._grid_rect), self)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setMouseTracking(False)
        self.setAcceptDrops(True)
        self.viewport().setAcceptDrops(True)
        self.setFrameShape(QAbstractScrollArea.Shape.NoFrame)
        self.viewport().setAutoFillBackground(False)
        # paintEvent fills every exposed pixel, so Qt may scroll by moving pixels (scrollContentsBy).
        self.viewport().setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self.verticalScrollBar().setSingleStep(24)
        self.horizontalScrollBar().setSingleStep(24)
        self._fonts = BoardFonts.from_font(self.font())

    # --- state -----------------------------------------------------------------------------------

    @property
    def mode(self) -> BoardMode:
        return self._mode

    @property
    def first_day(self) -> date | None:
        return self._first_day

    @property
    def snapshot(self) -> BoardSnapshot | None:
        return self._snapshot

    @property
    def board_layout(self) -> BoardLayout | None:
        return self._layout

    @property
    def selected_booking(self) -> BookingId | None:
        return self._selected

    @property
    def drag_target(self) -> tuple[TechId, datetime] | None:
        """Where a tile being dragged would land (tech, snapped start), while dragging."""
        drag = self._dragger.target
        return (drag.row.tech_id, drag.start) if drag is not None else None

    @property
    def drag_blocked(self) -> bool | None:
        """Whether the drag target overlaps busy time (shown as a red outline); None when not dragging."""
        drag = self._dragger.target
        return drag.blocked if drag is not None else None

    @property
    def autoscrolling(self) -> bool:
        """Whether a drag is scrolling the board because its pointer is near an edge."""
        return self._dragger.autoscrolling

    @property
    def highlighted_slot(self) -> tuple[TechId, datetime, datetime] | None:
        return (self._slot[0], self._slot[1].start, self._slot[1].end) if self._slot is not None else None

    @property
    def placeholder_text(self) -> str | None:
        """The message shown instead of the grid (loading, no technicians), if any."""
        if self._snapshot is None:
            return LOADING_TEXT
        return EMPTY_TEXT if not self._snapshot.rows else None

    @property
    def header_height(self) -> int:
        return HEADER[self._mode]

    def set_snapshot(self, snapshot: BoardSnapshot, mode: BoardMode, first_day: date) -> None:
        """Show `snapshot` (covering `mode.days` days from `first_day`); geometry is computed here."""
        old_layout, old_snapshot = self._layout, self._snapshot
        self._snapshot = snapshot
        self._mode = mode
        self._first_day = first_day
        self._relayout(repaint=False)
        self._repaint_changed_rows(old_layout, old_snapshot)
        self._dragger.resume(snapshot)
        layout = self._layout
        if self._selected is not None and layout is not None and self._selected not in layout.by_booking:
            self._select(None)

    def set_now(self, now: datetime) -> None:
        self._now = now
        self.viewport().update()

    def show_slot(self, tech_id: TechId, span: Interval) -> None:
        """Highlight a proposed slot (from "Find first free slot") and scroll it into view."""
        self._slot = (tech_id, span)
        if self._layout is not None:
            index = self._layout.row_index(tech_id)
            if index is not None:
                x = self._layout.axis.x_for(span.start)
                self._ensure_visible(QRectF(x, index * self._layout.row_height, 40, self._layout.row_height))
        self.viewport().update()

    def clear_slot(self) -> None:
        self._slot = None
        self.viewport().update()

    def select_booking(self, booking_id: BookingId | None) -> None:
        self._select(booking_id)
        tile = self._layout.by_booking.get(booking_id) if (self._layout and booking_id) else None
        if tile is not None:
            self._ensure_visible(tile.rect)

    # --- coordinates (public so tests and the window can aim at things) ---------------------------

    def to_content(self, pos: QPoint | QPointF) -> QPointF:
        return QPointF(
            pos.x() - GUTTER + self.horizontalScrollBar().value(),
            pos.y() - self.header_height + self.verticalScrollBar().value(),
        )

    def to_viewport(self, point: QPointF) -> QPoint:
        return QPoint(
            round(point.x() + GUTTER - self.horizontalScrollBar().value()),
            round(point.y() + self.header_height - self.verticalScrollBar().value()),
        )

    def in_grid(self, pos: QPoint | QPointF) -> bool:
        return pos.x() >= GUTTER and pos.y() >= self.header_height

    def _grid_rect(self) -> QRect:
        """The scrolling part of the viewport: below the time header, right of the names."""
        vp = self.viewport().rect()
        return QRect(GUTTER, self.header_height, vp.width() - GUTTER, vp.height() - self.header_height)

    def tile_at(self, pos: QPoint) -> Tile | None:
        """The tile under a viewport position, if any."""
        if self._layout is None or not self.in_grid(pos):
            return None
        content = self.to_content(pos)
        return self._layout.tile_at(content.x(), content.y())

    def tile_center(self, booking_id: BookingId) -> QPoint:
        """Viewport position of a booking tile's centre (scrolling it into view first)."""
        assert self._layout is not None
        tile = self._layout.by_booking[booking_id]
        self._ensure_visible(tile.rect)
        return self.to_viewport(tile.rect.center())

    def point_for(self, tech_id: TechId, instant: datetime) -> QPoint:
        """Viewport position at `instant` in the middle of `tech_id`'s row."""
        assert self._layout is not None
        index = self._layout.row_index(tech_id)
        assert index is not None
        x = self._layout.axis.x_for(instant)
        y = (index + 0.5) * self._layout.row_height
        self._ensure_visible(QRectF(x - 2, y - 2, 4, 4))
        return self.to_viewport(QPointF(x, y))

    # --- geometry ---------------------------------------------------------------------------------

    def sizeHint(self) -> QSize:
        return QSize(1100, 640)

    def _repaint_changed_rows(self, old_layout: BoardLayout | None, old: BoardSnapshot | None) -> None:
        """Repaint the rows a delta replaced, or everything when more than rows changed."""
        vp, header, kept = self.viewport(), self.header_height, self._dragger.target is None
        grid = QRect(0, header, vp.width(), vp.height() - header)
        scroll_y = self.verticalScrollBar().value()
        bands = changed_row_bands(
            old_layout if kept else None, self._layout, old, self._snapshot, grid, scroll_y
        )
        for band in bands if bands is not None else [vp.rect()]:
            vp.update(band)

    def _relayout(self, repaint: bool = True) -> None:
        if self._snapshot is None or self._first_day is None:
            self._layout = None
        else:
            days = self._mode.days
            available = max(200.0, self.viewport().width() - GUTTER - 1)
            day_width = max(MIN_DAY_WIDTH[self._mode], available / days)
            rows = max(1, len(self._snapshot.rows))
            fill = (self.viewport().height() - self.header_height - 1) / rows
            row_height = float(min(MAX_ROW_HEIGHT[self._mode], max(ROW_HEIGHT[self._mode], int(fill))))
            self._layout = build_layout(
                self._snapshot,
                self._first_day,
                days,
                self._office,
                day_width,
                row_height,
                pad=HOUR_PAD[self._mode],
                previous=self._layout,
            )
        self._update_scrollbars()
        if repaint:
            self.viewport().update()

    def _update_scrollbars(self) -> None:
        layout = self._layout
        if layout is None:
            self.verticalScrollBar().setRange(0, 0)
            self.horizontalScrollBar().setRange(0, 0)
            return
        grid_h = max(0, self.viewport().height() - self.header_height)
        grid_w = max(0, self.viewport().width() - GUTTER)
        self.verticalScrollBar().setRange(0, max(0, round(layout.height - grid_h)))
        self.verticalScrollBar().setPageStep(grid_h)
        self.horizontalScrollBar().setRange(0, max(0, round(layout.axis.width - grid_w)))
        self.horizontalScrollBar().setPageStep(grid_w)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        if event.oldSize() != event.size():
            self._relayout()
        else:
            self._update_scrollbars()

    def scrollContentsBy(self, dx: int, dy: int) -> None:
        # Move what is already painted and paint only the strip scrolled into view (a full repaint
        # of a week of 200 techs is some 500 tiles); a drag's overlay follows the pointer instead.
        vp = self.viewport()
        regions = scroll_regions(vp.rect(), self.header_height, GUTTER, dx, dy)
        if regions is None or self._dragger.target is not None:
            vp.update()
            return
        for rect, (sx, sy) in regions:
            vp.scroll(sx, sy, rect)

    def _ensure_visible(self, rect: QRectF) -> None:
        grid_w = self.viewport().width() - GUTTER
        grid_h = self.viewport().height() - self.header_height
        h, v = self.horizontalScrollBar(), self.verticalScrollBar()
        if rect.left() < h.value():
            h.setValue(int(rect.left()) - 8)
        elif rect.right() > h.value() + grid_w:
            h.setValue(int(rect.right() - grid_w) + 8)
        if rect.top() < v.value():
            v.setValue(int(rect.top()))
        elif rect.bottom() > v.value() + grid_h:
            v.setValue(int(rect.bottom() - grid_h) + 1)

    # --- painting ---------------------------------------------------------------------------------

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self.viewport())
        try:
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            exposed = event.rect()
            painter.fillRect(exposed, palette.color("surface"))
            layout = self._layout
            if layout is None or not layout.rows:
                painter.setPen(palette.color("text_muted"))
                painter.setFont(self._fonts.base)
                text = LOADING_TEXT if self._snapshot is None else EMPTY_TEXT
                painter.drawText(self.viewport().rect(), Qt.AlignmentFlag.AlignCenter, text)
                return
            scene = BoardScene(
                layout=layout,
                mode=self._mode,
                office=self._office,
                now=self._now,
                selected=self._selected,
                slot=self._slot,
                drag=self._dragger.target,
                fonts=self._fonts,
                viewport=self.viewport().rect(),
                scroll_x=self.horizontalScrollBar().value(),
                scroll_y=self.verticalScrollBar().value(),
            )
            paint_grid(scene, painter, exposed)
            paint_margins(scene, painter, exposed)
        finally:
            painter.end()

    # --- tooltips ---------------------------------------------------------------------------------

    def viewportEvent(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.ToolTip and isinstance(event, QHelpEvent):
            text = self._tooltip_at(event.pos())
            if text:
                QToolTip.showText(event.globalPos(), text, self.viewport())
            else:
                QToolTip.hideText()
                event.ignore()
            return True
        return super().viewportEvent(event)

    def _tooltip_at(self, pos: QPoint) -> str:
        layout = self._layout
        if layout is None:
            return ""
        if pos.x() < GUTTER and pos.y() >= self.header_height:
            row = layout.row_at(self.to_content(pos).y())
            return tech_tooltip(row, self._now) if row is not None else ""
        tile = self.tile_at(pos)
        return tile_tooltip(tile, self._office) if tile is not None else ""

    # --- mouse and keyboard -----------------------------------------------------------------------

    def mousePressEvent(self, event: QMouseEvent) -> None:
        self.setFocus(Qt.FocusReason.MouseFocusReason)
        if event.button() != Qt.MouseButton.LeftButton:
            super().mousePressEvent(event)
            return
        pos = event.position().toPoint()
        tile = self.tile_at(pos)
        if tile is not None and tile.kind is TileKind.BOOKING and tile.booking is not None:
            self._select(tile.booking.id)
            self._dragger.press(pos, tile)
        else:
            self._select(None)
            self._dragger.press(pos, None)
        event.accept()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if not self._dragger.move(event.position().toPoint()):
            super().mouseMoveEvent(event)
            return
        event.accept()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        drag = self._dragger.release()
        if drag is None or event.button() != Qt.MouseButton.LeftButton:
            super().mouseReleaseEvent(event)
            return
        self.viewport().update()
        booking = drag.tile.booking
        assert booking is not None
        if drag.start == booking.start and drag.row.tech_id == booking.tech_id:
            return
        self.booking_dropped.emit(booking.id, drag.row.tech_id, drag.start)
        event.accept()

    # --- dropping jobs from the unassigned tray ------------------------------------------------------

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if self._dragger.carried_job(event) is not None:
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:
        if self._dragger.carry(event):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragLeaveEvent(self, event: QDragLeaveEvent) -> None:
        self._dragger.end()
        self.viewport().update()

    def dropEvent(self, event: QDropEvent) -> None:
        drag = self._dragger.release()
        self.viewport().update()
        if drag is None or drag.tile.booking is None or self._dragger.carried_job(event) is None:
            event.ignore()
            return
        event.acceptProposedAction()
        self.booking_dropped.emit(drag.tile.booking.id, drag.row.tech_id, drag.start)

    def tech_at(self, pos: QPoint) -> TechId | None:
        """The tech whose name is at viewport position `pos` (the left column), if any."""
        layout = self._layout
        if layout is None or pos.x() >= GUTTER or pos.y() < self.header_height:
            return None
        row = layout.row_at(self.to_content(pos).y())
        return row.tech_id if row is not None else None

    def contextMenuEvent(self, event: QContextMenuEvent) -> None:
        tech_id = self.tech_at(event.pos())
        if tech_id is None:
            event.ignore()
            return
        self.tech_menu_requested.emit(tech_id, event.globalPos())
        event.accept()

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        layout = self._layout
        pos = event.position().toPoint()
        left = event.button() == Qt.MouseButton.LeftButton
        if left and (tech_id := self.tech_at(pos)) is not None:
            self.tech_activated.emit(tech_id)
            return
        if layout is None or not left or not self.in_grid(pos):
            super().mouseDoubleClickEvent(event)
            return
        self._dragger.end()
        tile = self.tile_at(pos)
        if tile is not None and tile.booking is not None:
            self.booking_activated.emit(tile.booking.id)
            return
        content = self.to_content(pos)
        row = layout.row_at(content.y())
        if row is None:
            return
        instant = layout.axis.instant_at(content.x())
        start = snap(instant - timedelta(minutes=7, seconds=30))  # the quarter hour the click is in
        self.empty_slot_activated.emit(row.tech_id, start)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        key = event.key()
        if key == Qt.Key.Key_Escape and self._dragger.target is not None:
            self._dragger.end()
            self.viewport().update()
            return
        arrows = {
            Qt.Key.Key_Left: (0, -1),
            Qt.Key.Key_Right: (0, 1),
            Qt.Key.Key_Up: (-1, 0),
            Qt.Key.Key_Down: (1, 0),
        }
        if key in arrows and self._layout is not None:
            target = neighbour(self._layout, self._selected, *arrows[Qt.Key(key)])
            if target is not None:
                self.select_booking(target)
            return
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self._selected is not None:
            self.booking_activated.emit(self._selected)
            return
        if key in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace) and self._selected is not None:
            self.cancel_requested.emit(self._selected)
            return
        super().keyPressEvent(event)

    def _select(self, booking_id: BookingId | None) -> None:
        if booking_id == self._selected:
            return
        self._selected = booking_id
        self.viewport().update()
        self.selection_changed.emit(booking_id)
