"""Painting the board's time area: shaded hours, time lines, busy bands, job tiles, the proposed
slot, a drag in flight and the now line. Walks only the rows and tiles inside the exposed rectangle."""

from __future__ import annotations

import functools
from dataclasses import dataclass

from PySide6.QtCore import QPointF, QRect, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QFontMetricsF, QPainter, QPen

from app.domain.time import Interval
from ui import style
from ui.board.layout import BoardLayout, BoardMode, Tile, TileKind
from ui.board.scene import GUTTER, BoardScene
from ui.board.tooltips import band_label
from ui.format import clock_range
from ui.resources import palette


def paint_grid(scene: BoardScene, painter: QPainter, exposed: QRect) -> None:
    """Paint the scrolling grid (right of the names, below the time header) where it is exposed."""
    layout = scene.layout
    header = scene.header
    vp = scene.viewport
    clip = QRect(GUTTER, header, vp.width() - GUTTER, vp.height() - header).intersected(exposed)
    if clip.isEmpty():
        return
    hx, vy = scene.scroll_x, scene.scroll_y
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
        painter.fillRect(QRectF(left, row.top, right - left, layout.row_height), palette.color("off_hours"))
        for x0, x1 in row.open_spans:
            if x1 < left or x0 > right:
                continue
            painter.fillRect(QRectF(x0, row.top, x1 - x0, layout.row_height), palette.color("surface"))
    _paint_time_lines(scene, painter, layout, left, right, view.top(), bottom)
    painter.setPen(QPen(palette.color("grid_line"), 1))
    for index in rows:
        y = layout.rows[index].top + layout.row_height - 0.5
        painter.drawLine(QPointF(left, y), QPointF(right, y))
    for index in rows:
        row = layout.rows[index]
        for band in row.bands:
            if band.rect.right() >= left and band.rect.left() <= right:
                _paint_band(scene, painter, band)
        for tile in row.tiles:
            if tile.rect.right() >= left and tile.rect.left() <= right:
                _paint_tile(scene, painter, tile)
    _paint_slot(scene, painter, layout)
    _paint_drag(scene, painter, layout)
    _paint_now(scene, painter, layout, view.top(), bottom)
    painter.restore()


def _paint_time_lines(
    scene: BoardScene,
    painter: QPainter,
    layout: BoardLayout,
    left: float,
    right: float,
    top: float,
    bottom: float,
) -> None:
    axis = layout.axis
    hour_width = axis.minute_width * 60
    step = scene.hour_step()
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
            if hour % step == 0 or scene.mode is BoardMode.DAY:
                painter.setPen(minor)
                painter.drawLine(QPointF(x + 0.5, top), QPointF(x + 0.5, bottom))
            if scene.mode is BoardMode.DAY and hour_width >= 80:
                painter.setPen(half)
                xh = x + hour_width / 2
                painter.drawLine(QPointF(xh + 0.5, top), QPointF(xh + 0.5, bottom))
            hour += 1
        if day > 0:
            painter.setPen(strong)
            painter.drawLine(QPointF(x_day + 0.5, top), QPointF(x_day + 0.5, bottom))


def _paint_band(scene: BoardScene, painter: QPainter, band: Tile) -> None:
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
    label = band_label(band)
    if block is not None and rect.width() > 40:
        painter.setFont(scene.fonts.small_bold)
        metrics = QFontMetricsF(scene.fonts.small_bold)
        text = metrics.elidedText(label, Qt.TextElideMode.ElideRight, rect.width() - 16)
        pill = QRectF(
            rect.left() + 6, rect.top() + 4, metrics.horizontalAdvance(text) + 10, metrics.height() + 4
        )
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(palette.color("busy_label_back"))
        painter.drawRoundedRect(pill, 4, 4)
        painter.setPen(palette.color("busy_text"))
        painter.drawText(pill, Qt.AlignmentFlag.AlignCenter, text)


def _paint_tile(scene: BoardScene, painter: QPainter, tile: Tile) -> None:
    rect = tile.rect.adjusted(1, 0, -1, 0)
    if rect.width() < 2:
        rect.setWidth(2)
    # One drawRoundedRect fills and outlines at once (a path filled, then stroked, is two passes):
    # a week of 200 techs puts some 500 tiles on screen at every scroll frame.
    if tile.kind is TileKind.BUSY:
        tentative = tile.block is not None and tile.block.tentative
        busy = _busy_look(tentative)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(busy.fill)
        painter.drawRoundedRect(rect, 5, 5)
        painter.setBrush(busy.hatch)
        painter.setPen(busy.outline)
        painter.drawRoundedRect(rect, 5, 5)
        _paint_tile_text(scene, painter, tile, rect, busy.text, busy=True)
        return
    look = _tile_look(tile.row_color)
    painter.setBrush(look.fill)
    if tile.flagged:
        painter.setPen(Qt.PenStyle.NoPen)
        painter.drawRoundedRect(rect, 5, 5)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.setPen(QPen(palette.color("danger"), 2.5))
        painter.drawRoundedRect(rect.adjusted(1, 1, -1, -1), 4, 4)
        if rect.width() >= 56 and rect.height() >= 30:
            _paint_flag(scene, painter, QPointF(rect.right() - 10, rect.top() + 10))
    else:
        painter.setPen(look.outline)
        painter.drawRoundedRect(rect, 5, 5)
    if tile.booking is not None and tile.booking.id == scene.selected:
        painter.setBrush(Qt.BrushStyle.NoBrush)  # an outline only: the tile keeps its colour
        painter.setPen(QPen(palette.color("selection"), 2))
        painter.drawRoundedRect(rect.adjusted(-2.5, -2.5, 2.5, 2.5), 7, 7)
    _paint_tile_text(scene, painter, tile, rect, look.text, busy=False)


@dataclass(frozen=True, slots=True)
class _Look:
    """The brushes, pens and text colour of one kind of tile: made once, not at every frame."""

    fill: QBrush
    hatch: QBrush
    outline: QPen
    text: QColor


@functools.cache
def _tile_look(color: str) -> _Look:
    fill = style.tile_fill(color)
    return _Look(QBrush(fill), QBrush(), QPen(fill.darker(125), 1), style.text_color_for(fill))


@functools.cache
def _busy_look(tentative: bool) -> _Look:
    hatch = palette.color("busy_hatch")
    outline = QPen(hatch, 1)
    if tentative:
        outline.setStyle(Qt.PenStyle.DashLine)
    return _Look(
        QBrush(palette.color("busy_fill")),
        QBrush(hatch, Qt.BrushStyle.BDiagPattern),
        outline,
        palette.color("busy_text"),
    )


def _paint_flag(scene: BoardScene, painter: QPainter, center: QPointF) -> None:
    """A small red "!" disc: this job needs the dispatcher's attention."""
    painter.save()
    painter.setPen(QPen(palette.color("on_accent"), 1.5))
    painter.setBrush(palette.color("danger"))
    painter.drawEllipse(center, 7, 7)
    painter.setFont(scene.fonts.small_bold)
    painter.setPen(palette.color("on_accent"))
    painter.drawText(QRectF(center.x() - 7, center.y() - 7, 14, 14), Qt.AlignmentFlag.AlignCenter, "!")
    painter.restore()


def _paint_tile_text(
    scene: BoardScene, painter: QPainter, tile: Tile, rect: QRectF, color: QColor, busy: bool
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
        lines.append((title, scene.fonts.small_bold))
        lines.append((clock_range(tile.interval, scene.office), scene.fonts.small))
    else:
        booking = tile.booking
        assert booking is not None
        customer = tile.customer.name if tile.customer is not None else "Customer"
        lines.append((customer, scene.fonts.bold if scene.mode is BoardMode.DAY else scene.fonts.small_bold))
        lines.append((booking.service, scene.fonts.small))
        lines.append((clock_range(tile.interval, scene.office), scene.fonts.small))
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


def _paint_slot(scene: BoardScene, painter: QPainter, layout: BoardLayout) -> None:
    if scene.slot is None:
        return
    tech_id, span = scene.slot
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
    painter.setFont(scene.fonts.small_bold)
    painter.setPen(color.darker(130))
    painter.drawText(rect.adjusted(6, 4, -4, -4), Qt.AlignmentFlag.AlignLeft, "Free slot")


def _paint_drag(scene: BoardScene, painter: QPainter, layout: BoardLayout) -> None:
    drag = scene.drag
    if drag is None:
        return
    fill = style.tile_fill(drag.row.row.tech.color)
    fill.setAlpha(170)
    painter.setBrush(fill)
    color = palette.color("danger") if drag.blocked else palette.color("selection")
    painter.setPen(QPen(color, 2.5, Qt.PenStyle.SolidLine if drag.blocked else Qt.PenStyle.DashLine))
    painter.drawRoundedRect(drag.rect, 5, 5)
    label = clock_range(Interval(drag.start, drag.start + drag.tile.interval.duration), scene.office)
    if drag.blocked:
        label = f"{label} · busy"
    painter.setFont(scene.fonts.small_bold)
    metrics = QFontMetricsF(scene.fonts.small_bold)
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


def _paint_now(scene: BoardScene, painter: QPainter, layout: BoardLayout, top: float, bottom: float) -> None:
    if scene.now is None or not layout.axis.window.start <= scene.now < layout.axis.window.end:
        return
    local = scene.now.astimezone(scene.office)
    minute = local.hour * 60 + local.minute
    if not layout.axis.first_minute <= minute <= layout.axis.last_minute:
        return
    x = layout.axis.x_for(scene.now)
    painter.setPen(QPen(palette.color("now_line"), 2))
    painter.drawLine(QPointF(x, top), QPointF(x, bottom))
