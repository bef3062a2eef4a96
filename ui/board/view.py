"""BoardView: the custom-painted dispatch grid (techs as rows, office-local time as columns).

Geometry comes precomputed from `layout.build_layout` for each snapshot; painting walks only the
rows and tiles inside the exposed rectangle. The view knows nothing about services: it emits
what the dispatcher did (`booking_dropped`, `booking_activated`, ...) and the window acts on it.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo

from PySide6.QtCore import QEvent, QPoint, QPointF, QRect, QRectF, QSize, Qt, Signal
from PySide6.QtGui import (
    QBrush,
    QColor,
    QDragEnterEvent,
    QDragLeaveEvent,
    QDragMoveEvent,
    QDropEvent,
    QFont,
    QFontMetricsF,
    QHelpEvent,
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QPainterPath,
    QPaintEvent,
    QPen,
    QResizeEvent,
)
from PySide6.QtWidgets import QAbstractScrollArea, QApplication, QToolTip, QWidget

from app.domain.ids import BookingId, TechId
from app.domain.model import Booking
from app.domain.time import Interval
from app.services.board import BoardSnapshot
from ui import style
from ui.board.autoscroll import DragAutoScroller
from ui.board.health_badge import Badge, health_badge
from ui.board.layout import BoardLayout, BoardMode, RowLayout, Tile, TileKind, build_layout, snap
from ui.format import clock_range, duration_text, zone_label
from ui.models import BOOKING_MIME
from ui.resources import palette

GUTTER = 236
HEADER = {BoardMode.DAY: 44, BoardMode.WEEK: 56}
ROW_HEIGHT = {BoardMode.DAY: 76, BoardMode.WEEK: 64}  # at least; rows grow to fill a tall window
MAX_ROW_HEIGHT = {BoardMode.DAY: 108, BoardMode.WEEK: 92}
MIN_DAY_WIDTH = {BoardMode.DAY: 600.0, BoardMode.WEEK: 140.0}
HOUR_PAD = {BoardMode.DAY: 60, BoardMode.WEEK: 0}  # the week shows working hours only
TILE_PAD = 5.0
EMPTY_TEXT = "No technicians yet — add one from Technicians ▸ Add technician."
LOADING_TEXT = "Loading the board…"
BADGE_COLORS = {
    Badge.OK: palette.hex("success"),
    Badge.STALE: palette.hex("text_disabled"),
    Badge.WARNING: palette.hex("warning"),
    Badge.FAILING: palette.hex("danger"),
}


@dataclass(slots=True)
class _Press:
    pos: QPoint
    tile: Tile
    grab_dx: float  # where inside the tile the pointer took hold, so the tile does not jump


@dataclass(slots=True)
class _Drag:
    tile: Tile
    grab_dx: float
    row: RowLayout
    start: datetime
    rect: QRectF
    blocked: bool  # the target overlaps busy time or another job (as far as the board knows)


class BoardView(QAbstractScrollArea):
    """The grid. Signals carry ids and UTC instants; the window turns them into service calls."""

    booking_activated = Signal(str)  # booking id: edit it
    booking_dropped = Signal(str, str, object)  # booking id, target tech id, new start (UTC)
    empty_slot_activated = Signal(str, object)  # tech id, start (UTC): new booking there
    cancel_requested = Signal(str)  # booking id
    selection_changed = Signal(object)  # booking id or None

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
        self._press: _Press | None = None
        self._drag: _Drag | None = None
        self._slot: tuple[TechId, Interval] | None = None
        # Where the pointer of a drag last was, and the tray job it carries (None for a tile drag):
        # auto-scroll re-aims the drag there as the content slides under a pointer held still.
        self._pointer: QPoint | None = None
        self._carried: Booking | None = None
        self._autoscroll = DragAutoScroller(self, self._grid_rect)
        self._autoscroll.scrolled.connect(self._on_autoscroll_scrolled)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setMouseTracking(False)
        self.setAcceptDrops(True)
        self.viewport().setAcceptDrops(True)
        self.setFrameShape(QAbstractScrollArea.Shape.NoFrame)
        self.viewport().setAutoFillBackground(False)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self.verticalScrollBar().setSingleStep(24)
        self.horizontalScrollBar().setSingleStep(24)
        base = QFont(self.font())
        self._font = base
        self._bold = QFont(base)
        self._bold.setWeight(QFont.Weight.DemiBold)
        self._small = QFont(base)
        self._small.setPointSizeF(max(7.5, base.pointSizeF() - 1.5))
        self._small_bold = QFont(self._small)
        self._small_bold.setWeight(QFont.Weight.DemiBold)

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
        return (self._drag.row.tech_id, self._drag.start) if self._drag is not None else None

    @property
    def drag_blocked(self) -> bool | None:
        """Whether the drag target overlaps busy time (shown as a red outline); None when not dragging."""
        return self._drag.blocked if self._drag is not None else None

    @property
    def autoscrolling(self) -> bool:
        """Whether a drag is scrolling the board because its pointer is near an edge."""
        return self._autoscroll.active

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
        self._snapshot = snapshot
        self._mode = mode
        self._first_day = first_day
        self._relayout()
        self._resume_drag(snapshot)
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

    def _relayout(self) -> None:
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
            )
        self._update_scrollbars()
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
        self.viewport().update()

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
                self._paint_empty(painter, LOADING_TEXT if self._snapshot is None else EMPTY_TEXT)
                return
            self._paint_grid(painter, layout, exposed)
            self._paint_header(painter, layout, exposed)
            self._paint_gutter(painter, layout, exposed)
            self._paint_corner(painter, layout)
        finally:
            painter.end()

    def _paint_empty(self, painter: QPainter, text: str) -> None:
        painter.setPen(palette.color("text_muted"))
        painter.setFont(self._font)
        painter.drawText(self.viewport().rect(), Qt.AlignmentFlag.AlignCenter, text)

    def _paint_grid(self, painter: QPainter, layout: BoardLayout, exposed: QRect) -> None:
        header = self.header_height
        vp = self.viewport().rect()
        clip = QRect(GUTTER, header, vp.width() - GUTTER, vp.height() - header).intersected(exposed)
        if clip.isEmpty():
            return
        hx, vy = self.horizontalScrollBar().value(), self.verticalScrollBar().value()
        painter.save()
        painter.setClipRect(clip)
        painter.translate(GUTTER - hx, header - vy)
        view = QRectF(clip).translated(-(GUTTER - hx), -(header - vy))
        rows = layout.visible_rows(view.top(), view.bottom())
        axis = layout.axis
        left, right = max(0.0, view.left()), min(axis.width, view.right())
        bottom = min(layout.height, view.bottom())
        # Rows: closed hours shaded, each tech's own business hours left white.
        for index in rows:
            row = layout.rows[index]
            painter.fillRect(
                QRectF(left, row.top, right - left, layout.row_height), palette.color("off_hours")
            )
            for x0, x1 in row.open_spans:
                if x1 < left or x0 > right:
                    continue
                painter.fillRect(QRectF(x0, row.top, x1 - x0, layout.row_height), palette.color("surface"))
        self._paint_time_lines(painter, layout, left, right, view.top(), bottom)
        painter.setPen(QPen(palette.color("grid_line"), 1))
        for index in rows:
            y = layout.rows[index].top + layout.row_height - 0.5
            painter.drawLine(QPointF(left, y), QPointF(right, y))
        for index in rows:
            row = layout.rows[index]
            for band in row.bands:
                if band.rect.right() >= left and band.rect.left() <= right:
                    self._paint_band(painter, band)
            for tile in row.tiles:
                if tile.rect.right() >= left and tile.rect.left() <= right:
                    self._paint_tile(painter, tile)
        self._paint_slot(painter, layout)
        self._paint_drag(painter, layout)
        self._paint_now(painter, layout, view.top(), bottom)
        painter.restore()

    def _hour_step(self, layout: BoardLayout) -> int:
        hour_width = layout.axis.minute_width * 60
        for step in (1, 2, 3, 4, 6):
            if hour_width * step >= 46:
                return step
        return 12

    def _paint_time_lines(
        self, painter: QPainter, layout: BoardLayout, left: float, right: float, top: float, bottom: float
    ) -> None:
        axis = layout.axis
        hour_width = axis.minute_width * 60
        step = self._hour_step(layout)
        minor = QPen(palette.color("grid_line"), 1)
        half = QPen(palette.color("grid_line"), 1, Qt.PenStyle.DotLine)
        strong = QPen(palette.color("grid_line_strong"), 1)
        first_hour = -(-axis.first_minute // 60)
        for day in range(axis.days):
            x_day = day * axis.day_width
            if x_day > right or x_day + axis.day_width < left:
                continue
            hour = first_hour
            while hour * 60 < axis.last_minute:
                x = x_day + (hour * 60 - axis.first_minute) * axis.minute_width
                if hour % step == 0 or self._mode is BoardMode.DAY:
                    painter.setPen(minor)
                    painter.drawLine(QPointF(x + 0.5, top), QPointF(x + 0.5, bottom))
                if self._mode is BoardMode.DAY and hour_width >= 80:
                    painter.setPen(half)
                    xh = x + hour_width / 2
                    painter.drawLine(QPointF(xh + 0.5, top), QPointF(xh + 0.5, bottom))
                hour += 1
            if day > 0:
                painter.setPen(strong)
                painter.drawLine(QPointF(x_day + 0.5, top), QPointF(x_day + 0.5, bottom))

    def _paint_band(self, painter: QPainter, band: Tile) -> None:
        rect = band.rect
        time_off = band.kind is TileKind.TIME_OFF
        fill = palette.color("time_off_fill" if time_off else "busy_fill")
        hatch = palette.color("time_off_hatch" if time_off else "busy_hatch")
        fill.setAlpha(235)
        painter.fillRect(rect, fill)
        hatch.setAlpha(150)
        painter.fillRect(rect, QBrush(hatch, Qt.BrushStyle.BDiagPattern))
        painter.setPen(QPen(hatch, 1))
        painter.drawLine(rect.topLeft(), rect.bottomLeft())
        painter.drawLine(rect.topRight(), rect.bottomRight())
        block = band.block
        label = _band_label(band)
        if block is not None and rect.width() > 40:
            painter.setFont(self._small_bold)
            metrics = QFontMetricsF(self._small_bold)
            text = metrics.elidedText(label, Qt.TextElideMode.ElideRight, rect.width() - 16)
            pill = QRectF(
                rect.left() + 6, rect.top() + 4, metrics.horizontalAdvance(text) + 10, metrics.height() + 4
            )
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(palette.color("busy_label_back"))
            painter.drawRoundedRect(pill, 4, 4)
            painter.setPen(palette.color("busy_text"))
            painter.drawText(pill, Qt.AlignmentFlag.AlignCenter, text)

    def _paint_tile(self, painter: QPainter, tile: Tile) -> None:
        rect = tile.rect.adjusted(1, 0, -1, 0)
        if rect.width() < 2:
            rect.setWidth(2)
        path = QPainterPath()
        path.addRoundedRect(rect, 5, 5)
        if tile.kind is TileKind.BUSY:
            painter.fillPath(path, palette.color("busy_fill"))
            painter.fillPath(path, QBrush(palette.color("busy_hatch"), Qt.BrushStyle.BDiagPattern))
            pen = QPen(palette.color("busy_hatch"), 1)
            if tile.block is not None and tile.block.tentative:
                pen.setStyle(Qt.PenStyle.DashLine)
            painter.setPen(pen)
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawPath(path)
            self._paint_tile_text(painter, tile, rect, palette.color("busy_text"), busy=True)
            return
        fill = style.tile_fill(tile.row_color)
        painter.fillPath(path, fill)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        if tile.flagged:
            painter.setPen(QPen(palette.color("danger"), 2.5))
            painter.drawRoundedRect(rect.adjusted(1, 1, -1, -1), 4, 4)
            if rect.width() >= 56 and rect.height() >= 30:
                self._paint_flag(painter, QPointF(rect.right() - 10, rect.top() + 10))
        else:
            painter.setPen(QPen(fill.darker(125), 1))
            painter.drawPath(path)
        if tile.booking is not None and tile.booking.id == self._selected:
            painter.setBrush(Qt.BrushStyle.NoBrush)  # an outline only: the tile keeps its colour
            painter.setPen(QPen(palette.color("selection"), 2))
            painter.drawRoundedRect(rect.adjusted(-2.5, -2.5, 2.5, 2.5), 7, 7)
        self._paint_tile_text(painter, tile, rect, style.text_color_for(fill), busy=False)

    def _paint_flag(self, painter: QPainter, center: QPointF) -> None:
        """A small red "!" disc: this job needs the dispatcher's attention."""
        painter.save()
        painter.setPen(QPen(palette.color("on_accent"), 1.5))
        painter.setBrush(palette.color("danger"))
        painter.drawEllipse(center, 7, 7)
        painter.setFont(self._small_bold)
        painter.setPen(palette.color("on_accent"))
        painter.drawText(QRectF(center.x() - 7, center.y() - 7, 14, 14), Qt.AlignmentFlag.AlignCenter, "!")
        painter.restore()

    def _paint_tile_text(
        self, painter: QPainter, tile: Tile, rect: QRectF, color: QColor, busy: bool
    ) -> None:
        if rect.width() < 34:  # too narrow to say anything legible; the tooltip says it all
            return
        lines_limit = 1 if rect.width() < 56 else 3
        inner = rect.adjusted(6, 3, -5, -3)
        if tile.flagged and rect.width() >= 56 and rect.height() >= 30:
            inner.setRight(inner.right() - 16)  # room for the "!" disc
        lines: list[tuple[str, QFont]] = []
        if busy:
            block = tile.block
            title = block.title if (block is not None and block.title) else "Busy"
            if block is not None and block.tentative:
                title = f"{title} (tentative)"
            lines.append((title, self._small_bold))
            lines.append((clock_range(tile.interval, self._office), self._small))
        else:
            booking = tile.booking
            assert booking is not None
            customer = tile.customer.name if tile.customer is not None else "Customer"
            lines.append((customer, self._bold if self._mode is BoardMode.DAY else self._small_bold))
            lines.append((booking.service, self._small))
            lines.append((clock_range(tile.interval, self._office), self._small))
        painter.setPen(color)
        y = inner.top()
        for text, font in lines[:lines_limit]:
            metrics = QFontMetricsF(font)
            if y + metrics.height() > inner.bottom() + 2:
                break
            painter.setFont(font)
            elided = metrics.elidedText(text, Qt.TextElideMode.ElideRight, inner.width())
            if not elided or elided == "…":
                break
            painter.drawText(
                QRectF(inner.left(), y, inner.width(), metrics.height()), Qt.AlignmentFlag.AlignLeft, elided
            )
            y += metrics.height()

    def _paint_slot(self, painter: QPainter, layout: BoardLayout) -> None:
        if self._slot is None:
            return
        tech_id, span = self._slot
        index = layout.row_index(tech_id)
        if index is None:
            return
        x0, x1 = layout.axis.x_for(span.start), layout.axis.x_for(span.end)
        top = index * layout.row_height
        rect = QRectF(x0, top + 3, max(8.0, x1 - x0), layout.row_height - 6)
        color = palette.color("slot_highlight")
        fill = QColor(color)
        fill.setAlpha(40)
        painter.setBrush(fill)
        painter.setPen(QPen(color, 2, Qt.PenStyle.DashLine))
        painter.drawRoundedRect(rect, 6, 6)
        painter.setFont(self._small_bold)
        painter.setPen(color.darker(130))
        painter.drawText(rect.adjusted(6, 4, -4, -4), Qt.AlignmentFlag.AlignLeft, "Free slot")

    def _paint_drag(self, painter: QPainter, layout: BoardLayout) -> None:
        drag = self._drag
        if drag is None:
            return
        fill = style.tile_fill(drag.row.row.tech.color)
        fill.setAlpha(170)
        painter.setBrush(fill)
        color = palette.color("danger") if drag.blocked else palette.color("selection")
        painter.setPen(QPen(color, 2.5, Qt.PenStyle.SolidLine if drag.blocked else Qt.PenStyle.DashLine))
        painter.drawRoundedRect(drag.rect, 5, 5)
        label = clock_range(Interval(drag.start, drag.start + drag.tile.interval.duration), self._office)
        if drag.blocked:
            label = f"{label} · busy"
        painter.setFont(self._small_bold)
        metrics = QFontMetricsF(self._small_bold)
        box = QRectF(
            drag.rect.left(),
            drag.rect.top() - metrics.height() - 6,
            metrics.horizontalAdvance(label) + 12,
            metrics.height() + 4,
        )
        if box.top() < drag.row.top - layout.row_height:
            box.moveTop(drag.rect.bottom() + 2)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(color)
        painter.drawRoundedRect(box, 4, 4)
        painter.setPen(palette.color("on_accent"))
        painter.drawText(box, Qt.AlignmentFlag.AlignCenter, label)

    def _paint_now(self, painter: QPainter, layout: BoardLayout, top: float, bottom: float) -> None:
        if self._now is None or not layout.axis.window.start <= self._now < layout.axis.window.end:
            return
        local = self._now.astimezone(self._office)
        minute = local.hour * 60 + local.minute
        if not layout.axis.first_minute <= minute <= layout.axis.last_minute:
            return
        x = layout.axis.x_for(self._now)
        painter.setPen(QPen(palette.color("now_line"), 2))
        painter.drawLine(QPointF(x, top), QPointF(x, bottom))

    def _paint_header(self, painter: QPainter, layout: BoardLayout, exposed: QRect) -> None:
        header = self.header_height
        width = self.viewport().width()
        rect = QRect(GUTTER, 0, width - GUTTER, header)
        if not rect.intersects(exposed):
            return
        painter.save()
        painter.setClipRect(rect)
        painter.fillRect(rect, palette.color("surface"))
        hx = self.horizontalScrollBar().value()
        painter.translate(GUTTER - hx, 0)
        axis = layout.axis
        step = self._hour_step(layout)
        first_hour = -(-axis.first_minute // 60)
        today = self._now.astimezone(self._office).date() if self._now else None
        metrics = QFontMetricsF(self._small)
        hour_top = (
            header - metrics.height() - 8 if self._mode is BoardMode.WEEK else (header - metrics.height()) / 2
        )
        for day in range(axis.days):
            x_day = day * axis.day_width
            if x_day > hx + width or x_day + axis.day_width < hx - GUTTER:
                continue
            the_day = axis.day(day)
            if self._mode is BoardMode.WEEK:
                is_today = the_day == today
                label = f"{the_day:%a} {the_day.day} {the_day:%b}"
                painter.setFont(self._bold)
                day_rect = QRectF(x_day, 4, axis.day_width, 24)
                if is_today:
                    pill_w = QFontMetricsF(self._bold).horizontalAdvance(label) + 18
                    pill = QRectF(x_day + (axis.day_width - pill_w) / 2, 5, pill_w, 22)
                    painter.setPen(Qt.PenStyle.NoPen)
                    painter.setBrush(palette.color("accent"))
                    painter.drawRoundedRect(pill, 11, 11)
                    painter.setPen(palette.color("on_accent"))
                else:
                    painter.setPen(palette.color("text"))
                painter.drawText(day_rect, Qt.AlignmentFlag.AlignCenter, label)
                if day > 0:
                    painter.setPen(QPen(palette.color("grid_line_strong"), 1))
                    painter.drawLine(QPointF(x_day + 0.5, 0), QPointF(x_day + 0.5, header))
            painter.setFont(self._small)
            painter.setPen(palette.color("text_muted"))
            hour = first_hour
            while hour * 60 < axis.last_minute:
                x = x_day + (hour * 60 - axis.first_minute) * axis.minute_width
                text = f"{hour:02d}:00" if self._mode is BoardMode.DAY else f"{hour:02d}"
                room = x_day + axis.day_width - x
                if hour % step == 0 and room >= metrics.horizontalAdvance(text) + 8:
                    painter.drawText(
                        QRectF(x + 4, hour_top, 60, metrics.height()), Qt.AlignmentFlag.AlignLeft, text
                    )
                    painter.setPen(QPen(palette.color("grid_line"), 1))
                    painter.drawLine(QPointF(x + 0.5, header - 6), QPointF(x + 0.5, header))
                    painter.setPen(palette.color("text_muted"))
                hour += 1
        if self._now is not None and axis.window.start <= self._now < axis.window.end:
            x = axis.x_for(self._now)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(palette.color("now_line"))
            painter.drawEllipse(QPointF(x, header - 4), 4, 4)
        painter.restore()
        painter.setPen(QPen(palette.color("border"), 1))
        painter.drawLine(QPointF(GUTTER, header - 0.5), QPointF(width, header - 0.5))

    def _paint_gutter(self, painter: QPainter, layout: BoardLayout, exposed: QRect) -> None:
        header = self.header_height
        height = self.viewport().height()
        rect = QRect(0, header, GUTTER, height - header)
        if not rect.intersects(exposed):
            return
        vy = self.verticalScrollBar().value()
        now = self._now
        painter.save()
        painter.setClipRect(rect)
        painter.fillRect(rect, palette.color("surface"))
        painter.translate(0, header - vy)
        name_metrics = QFontMetricsF(self._bold)
        small_metrics = QFontMetricsF(self._small)
        for index in layout.visible_rows(vy, vy + height - header):
            row = layout.rows[index]
            top = row.top
            tech = row.row.tech
            block_h = name_metrics.height() + 2 * small_metrics.height() + 2
            y = top + (layout.row_height - block_h) / 2
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(QColor(tech.color))
            painter.drawRoundedRect(QRectF(14, y + 3, 12, 12), 3, 3)
            painter.setFont(self._bold)
            painter.setPen(palette.color("text"))
            text_w = GUTTER - 40 - 34
            painter.drawText(
                QRectF(34, y, text_w, name_metrics.height()),
                Qt.AlignmentFlag.AlignLeft,
                name_metrics.elidedText(tech.name, Qt.TextElideMode.ElideRight, text_w),
            )
            # The health badge sits on the name line, whose text leaves room for it; the lines
            # below may then use the full width (a long zone label never runs under the badge).
            badge_center = QPointF(GUTTER - 22, y + name_metrics.height() / 2)
            painter.setFont(self._small)
            painter.setPen(palette.color("text_muted"))
            y += name_metrics.height() + 1
            painter.drawText(
                QRectF(34, y, GUTTER - 48, small_metrics.height()),
                Qt.AlignmentFlag.AlignLeft,
                small_metrics.elidedText(
                    zone_label(tech.timezone, now or layout.axis.window.start, self._office),
                    Qt.TextElideMode.ElideRight,
                    GUTTER - 48,
                ),
            )
            y += small_metrics.height() + 1
            jobs = [b for b in row.row.bookings if b.is_live]
            hours = sum((b.duration for b in jobs), timedelta())
            summary = f"{len(jobs)} job{'s' if len(jobs) != 1 else ''}" + (
                f" · {duration_text(hours)}" if jobs else ""
            )
            painter.drawText(
                QRectF(34, y, GUTTER - 48, small_metrics.height()), Qt.AlignmentFlag.AlignLeft, summary
            )
            if now is not None:
                self._paint_badge(painter, row, badge_center, now)
            painter.setPen(QPen(palette.color("grid_line"), 1))
            painter.drawLine(
                QPointF(0, top + layout.row_height - 0.5), QPointF(GUTTER, top + layout.row_height - 0.5)
            )
        painter.restore()
        painter.setPen(QPen(palette.color("border"), 1))
        painter.drawLine(QPointF(GUTTER - 0.5, header), QPointF(GUTTER - 0.5, height))

    def _paint_badge(self, painter: QPainter, row: RowLayout, center: QPointF, now: datetime) -> None:
        badge = health_badge(row.row, now).badge
        if badge is Badge.NONE:
            painter.setPen(QPen(palette.color("badge_ring"), 1.5))
            painter.setBrush(Qt.BrushStyle.NoBrush)
        else:
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(QColor(BADGE_COLORS[badge]))
        painter.drawEllipse(center, 5, 5)

    def _paint_corner(self, painter: QPainter, layout: BoardLayout) -> None:
        header = self.header_height
        rect = QRect(0, 0, GUTTER, header)
        painter.fillRect(rect, palette.color("surface"))
        painter.setFont(self._small_bold)
        painter.setPen(palette.color("text_muted"))
        count = len(layout.rows)
        label = f"{count} TECHNICIAN{'S' if count != 1 else ''}"
        painter.drawText(
            rect.adjusted(14, 0, -8, -6), Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignBottom, label
        )
        painter.setPen(QPen(palette.color("border"), 1))
        painter.drawLine(QPointF(0, header - 0.5), QPointF(GUTTER, header - 0.5))
        painter.drawLine(QPointF(GUTTER - 0.5, 0), QPointF(GUTTER - 0.5, header))

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
            if row is None:
                return ""
            tech = row.row.tech
            lines = [
                f"<b>{html.escape(tech.name)}</b>",
                html.escape(tech.timezone),
                f"Hours: {html.escape(tech.hours.to_text())}",
            ]
            if self._now is not None:
                lines.append(html.escape(health_badge(row.row, self._now).text))
            return "<br>".join(lines)
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
            grab = self.to_content(pos).x() - tile.rect.left()
            self._press = _Press(pos, tile, grab)
        else:
            self._select(None)
            self._press = None
        event.accept()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        press = self._press
        layout = self._layout
        if press is None or layout is None:
            super().mouseMoveEvent(event)
            return
        pos = event.position().toPoint()
        if self._drag is None and (pos - press.pos).manhattanLength() < QApplication.startDragDistance():
            return
        self._pointer = pos
        self._aim_tile(press, layout, pos)
        self._autoscroll.hover(pos)
        event.accept()

    def _aim_tile(self, press: _Press, layout: BoardLayout, pos: QPoint) -> None:
        content = self.to_content(pos)
        row = layout.row_at(min(max(content.y(), 0.0), layout.height - 1))
        if row is None:
            return
        start = snap(layout.axis.instant_at(content.x() - press.grab_dx))
        self._drag = self._drag_to(layout, press.tile, press.grab_dx, row, start)
        self.viewport().update()

    def _on_autoscroll_scrolled(self) -> None:
        layout, pos = self._layout, self._pointer
        if layout is None or pos is None:
            self._autoscroll.stop()
        elif self._press is not None and self._drag is not None:
            self._aim_tile(self._press, layout, pos)
        elif self._carried is not None:
            self._aim_job(self._carried, layout, pos)

    def _resume_drag(self, snapshot: BoardSnapshot) -> None:
        """Keep a drag going across a fresh snapshot (sync brings them every few seconds), re-aimed
        on the new layout; it ends only if the job being dragged is no longer on the board."""
        layout, press, pos = self._layout, self._press, self._pointer
        if press is not None and press.tile.booking_id is not None and layout is not None:
            tile = layout.by_booking.get(press.tile.booking_id)
            if tile is not None:
                self._press = _Press(press.pos, tile, press.grab_dx)
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
        self._end_drag()

    def _end_drag(self) -> None:
        self._drag = None
        self._press = None
        self._pointer = None
        self._carried = None
        self._autoscroll.stop()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        drag = self._drag
        self._end_drag()
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

    def _dropped_job(self, event: QDropEvent) -> Booking | None:
        data = event.mimeData()
        if self._snapshot is None or data is None or not data.hasFormat(BOOKING_MIME):
            return None
        booking_id = bytes(data.data(BOOKING_MIME).data()).decode()
        return next((b for b in self._snapshot.unassigned if b.id == booking_id), None)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if self._dropped_job(event) is not None:
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:
        job = self._dropped_job(event)
        layout = self._layout
        pos = event.position().toPoint()
        if job is None or layout is None:
            self._end_drag()
            self.viewport().update()
            event.ignore()
            return
        self._pointer, self._carried = pos, job
        # Over the time header or the names the job cannot land, but the board still scrolls.
        self._autoscroll.hover(pos)
        if self._aim_job(job, layout, pos):
            event.acceptProposedAction()
        else:
            event.ignore()

    def _aim_job(self, job: Booking, layout: BoardLayout, pos: QPoint) -> bool:
        """Aim a job carried from the tray at `pos`; False when it could not land there."""
        content = self.to_content(pos)
        row = layout.row_at(content.y()) if self.in_grid(pos) else None
        if row is None:
            self._drag = None
            self.viewport().update()
            return False
        start = snap(layout.axis.instant_at(content.x()))
        span = Interval(start, start + job.duration)
        tile = Tile(TileKind.BOOKING, row.index, QRectF(), span, booking=job, row_color=row.row.tech.color)
        self._drag = self._drag_to(layout, tile, 0.0, row, start)
        self.viewport().update()
        return True

    def dragLeaveEvent(self, event: QDragLeaveEvent) -> None:
        self._end_drag()
        self.viewport().update()

    def dropEvent(self, event: QDropEvent) -> None:
        drag = self._drag
        self._end_drag()
        self.viewport().update()
        if drag is None or drag.tile.booking is None or self._dropped_job(event) is None:
            event.ignore()
            return
        event.acceptProposedAction()
        self.booking_dropped.emit(drag.tile.booking.id, drag.row.tech_id, drag.start)

    def _drag_to(
        self, layout: BoardLayout, tile: Tile, grab_dx: float, row: RowLayout, start: datetime
    ) -> _Drag:
        span = Interval(start, start + tile.interval.duration)
        x0, x1 = layout.axis.x_for(span.start), layout.axis.x_for(span.end)
        rect = QRectF(x0, row.top + TILE_PAD, max(6.0, x1 - x0), layout.row_height - 2 * TILE_PAD)
        blocked = bool(layout.clashes(row.tech_id, span, exclude=tile.booking_id))
        return _Drag(tile, grab_dx, row, start, rect, blocked)

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        layout = self._layout
        pos = event.position().toPoint()
        if layout is None or event.button() != Qt.MouseButton.LeftButton or not self.in_grid(pos):
            super().mouseDoubleClickEvent(event)
            return
        self._end_drag()
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
        if key == Qt.Key.Key_Escape and self._drag is not None:
            self._end_drag()
            self.viewport().update()
            return
        arrows = {
            Qt.Key.Key_Left: (0, -1),
            Qt.Key.Key_Right: (0, 1),
            Qt.Key.Key_Up: (-1, 0),
            Qt.Key.Key_Down: (1, 0),
        }
        if key in arrows and self._layout is not None:
            self._move_selection(*arrows[Qt.Key(key)])
            return
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self._selected is not None:
            self.booking_activated.emit(self._selected)
            return
        if key in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace) and self._selected is not None:
            self.cancel_requested.emit(self._selected)
            return
        super().keyPressEvent(event)

    def _move_selection(self, drow: int, dcol: int) -> None:
        layout = self._layout
        assert layout is not None
        current = layout.by_booking.get(self._selected) if self._selected else None
        if current is None:
            first = next((t for r in layout.rows for t in layout.booking_tiles(r)), None)
            if first is not None and first.booking is not None:
                self.select_booking(first.booking.id)
            return
        if dcol:
            tiles = layout.booking_tiles(layout.rows[current.row])
            tiles.sort(key=lambda t: (t.rect.left(), t.rect.top()))
            position = tiles.index(current) + dcol
            if 0 <= position < len(tiles):
                target = tiles[position]
                assert target.booking is not None
                self.select_booking(target.booking.id)
            return
        index = current.row + drow
        center = current.rect.center().x()
        while 0 <= index < len(layout.rows):
            tiles = layout.booking_tiles(layout.rows[index])
            if tiles:
                target = min(tiles, key=lambda t: abs(t.rect.center().x() - center))
                assert target.booking is not None
                self.select_booking(target.booking.id)
                return
            index += drow

    def _select(self, booking_id: BookingId | None) -> None:
        if booking_id == self._selected:
            return
        self._selected = booking_id
        self.viewport().update()
        self.selection_changed.emit(booking_id)


def _band_label(band: Tile) -> str:
    block = band.block
    if block is None:
        return ""
    if band.kind is TileKind.TIME_OFF:
        return f"Time off · {block.title}" if block.title and block.title != "Time off" else "Time off"
    return f"All day · {block.title}" if block.title else "All day · Busy"


def tile_tooltip(tile: Tile, office: tzinfo) -> str:
    """Rich text describing a tile: what, when (office time and the tech's own), and where from."""
    when = clock_range(tile.interval, office, with_day=True)
    if tile.kind is TileKind.BOOKING and tile.booking is not None:
        booking = tile.booking
        customer = tile.customer
        lines = [f"<b>{html.escape(customer.name if customer else 'Customer')}</b>"]
        lines.append(f"{html.escape(booking.service)} · {duration_text(booking.duration)}")
        lines.append(html.escape(when))
        if customer is not None and customer.address:
            lines.append(html.escape(customer.address))
        if customer is not None and customer.phone:
            lines.append(html.escape(customer.phone))
        if booking.notes:
            lines.append(f"<i>{html.escape(booking.notes)}</i>")
        if tile.flagged:
            lines.append(
                f"<span style='color:{palette.hex('danger')}'>⚠ {html.escape(tile.flag_reason)}</span>"
            )
        return "<br>".join(lines)
    block = tile.block
    if block is None:
        return ""
    if tile.kind is TileKind.TIME_OFF:
        head = "Time off" + (f": {block.title}" if block.title and block.title != "Time off" else "")
    else:
        head = "Busy" + (f": {block.title}" if block.title else " (private event)")
    lines = [f"<b>{html.escape(head)}</b>", html.escape(when)]
    if block.tentative:
        lines.append("Tentative")
    if block.calendar_name:
        lines.append(f"From calendar: {html.escape(block.calendar_name)}")
    return "<br>".join(lines)
