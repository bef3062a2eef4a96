"""Painting the board's fixed margins: the time header, the techs' names column with their health
badges, and the corner that counts the techs."""

from __future__ import annotations

from datetime import datetime, timedelta

from PySide6.QtCore import QPointF, QRect, QRectF, Qt
from PySide6.QtGui import QColor, QFontMetricsF, QPainter, QPen

from ui.board.health_badge import Badge, health_badge
from ui.board.layout import BoardLayout, BoardMode, RowLayout
from ui.board.scene import GUTTER, BoardScene
from ui.format import duration_text, zone_label
from ui.resources import palette

BADGE_COLORS = {
    Badge.OK: palette.hex("success"),
    Badge.STALE: palette.hex("text_disabled"),
    Badge.WARNING: palette.hex("warning"),
    Badge.FAILING: palette.hex("danger"),
}


def paint_margins(scene: BoardScene, painter: QPainter, exposed: QRect) -> None:
    """Paint the header, the names column and their corner over the grid."""
    layout = scene.layout
    _paint_header(scene, painter, layout, exposed)
    _paint_gutter(scene, painter, layout, exposed)
    _paint_corner(scene, painter, layout)


def _paint_header(scene: BoardScene, painter: QPainter, layout: BoardLayout, exposed: QRect) -> None:
    header = scene.header
    width = scene.viewport.width()
    rect = QRect(GUTTER, 0, width - GUTTER, header)
    if not rect.intersects(exposed):
        return
    painter.save()
    painter.setClipRect(rect)
    painter.fillRect(rect, palette.color("surface"))
    hx = scene.scroll_x
    painter.translate(GUTTER - hx, 0)
    axis = layout.axis
    step = scene.hour_step()
    first_hour = -(-axis.first_minute // 60)
    today = scene.now.astimezone(scene.office).date() if scene.now else None
    metrics = QFontMetricsF(scene.fonts.small)
    hour_top = (
        header - metrics.height() - 8 if scene.mode is BoardMode.WEEK else (header - metrics.height()) / 2
    )
    for day in range(axis.days):
        x_day = day * axis.day_width
        if x_day > hx + width or x_day + axis.day_width < hx - GUTTER:
            continue
        the_day = axis.day(day)
        if scene.mode is BoardMode.WEEK:
            is_today = the_day == today
            label = f"{the_day:%a} {the_day.day} {the_day:%b}"
            painter.setFont(scene.fonts.bold)
            day_rect = QRectF(x_day, 4, axis.day_width, 24)
            if is_today:
                pill_w = QFontMetricsF(scene.fonts.bold).horizontalAdvance(label) + 18
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
        painter.setFont(scene.fonts.small)
        painter.setPen(palette.color("text_muted"))
        hour = first_hour
        while hour * 60 < axis.last_minute:
            x = x_day + (hour * 60 - axis.first_minute) * axis.minute_width
            text = f"{hour:02d}:00" if scene.mode is BoardMode.DAY else f"{hour:02d}"
            room = x_day + axis.day_width - x
            if hour % step == 0 and room >= metrics.horizontalAdvance(text) + 8:
                painter.drawText(
                    QRectF(x + 4, hour_top, 60, metrics.height()), Qt.AlignmentFlag.AlignLeft, text
                )
                painter.setPen(QPen(palette.color("grid_line"), 1))
                painter.drawLine(QPointF(x + 0.5, header - 6), QPointF(x + 0.5, header))
                painter.setPen(palette.color("text_muted"))
            hour += 1
    if scene.now is not None and axis.window.start <= scene.now < axis.window.end:
        x = axis.x_for(scene.now)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(palette.color("now_line"))
        painter.drawEllipse(QPointF(x, header - 4), 4, 4)
    painter.restore()
    painter.setPen(QPen(palette.color("border"), 1))
    painter.drawLine(QPointF(GUTTER, header - 0.5), QPointF(width, header - 0.5))


def _paint_gutter(scene: BoardScene, painter: QPainter, layout: BoardLayout, exposed: QRect) -> None:
    header = scene.header
    height = scene.viewport.height()
    rect = QRect(0, header, GUTTER, height - header)
    if not rect.intersects(exposed):
        return
    vy = scene.scroll_y
    now = scene.now
    painter.save()
    painter.setClipRect(rect)
    painter.fillRect(rect, palette.color("surface"))
    painter.translate(0, header - vy)
    name_metrics = QFontMetricsF(scene.fonts.bold)
    small_metrics = QFontMetricsF(scene.fonts.small)
    for index in layout.visible_rows(vy, vy + height - header):
        row = layout.rows[index]
        top = row.top
        tech = row.row.tech
        block_h = name_metrics.height() + 2 * small_metrics.height() + 2
        y = top + (layout.row_height - block_h) / 2
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(tech.color))
        painter.drawRoundedRect(QRectF(14, y + 3, 12, 12), 3, 3)
        painter.setFont(scene.fonts.bold)
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
        painter.setFont(scene.fonts.small)
        painter.setPen(palette.color("text_muted"))
        y += name_metrics.height() + 1
        painter.drawText(
            QRectF(34, y, GUTTER - 48, small_metrics.height()),
            Qt.AlignmentFlag.AlignLeft,
            small_metrics.elidedText(
                zone_label(tech.timezone, now or layout.axis.window.start, scene.office),
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
            _paint_badge(scene, painter, row, badge_center, now)
        painter.setPen(QPen(palette.color("grid_line"), 1))
        painter.drawLine(
            QPointF(0, top + layout.row_height - 0.5), QPointF(GUTTER, top + layout.row_height - 0.5)
        )
    painter.restore()
    painter.setPen(QPen(palette.color("border"), 1))
    painter.drawLine(QPointF(GUTTER - 0.5, header), QPointF(GUTTER - 0.5, height))


def _paint_badge(
    scene: BoardScene, painter: QPainter, row: RowLayout, center: QPointF, now: datetime
) -> None:
    badge = health_badge(row.row, now).badge
    if badge is Badge.NONE:
        painter.setPen(QPen(palette.color("badge_ring"), 1.5))
        painter.setBrush(Qt.BrushStyle.NoBrush)
    else:
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(BADGE_COLORS[badge]))
    painter.drawEllipse(center, 5, 5)


def _paint_corner(scene: BoardScene, painter: QPainter, layout: BoardLayout) -> None:
    header = scene.header
    rect = QRect(0, 0, GUTTER, header)
    painter.fillRect(rect, palette.color("surface"))
    painter.setFont(scene.fonts.small_bold)
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
