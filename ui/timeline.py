"""DayTimelineWidget: one technician's day as a small vertical timeline (free, busy, the proposal)."""

from __future__ import annotations

from datetime import datetime, timedelta, tzinfo

from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QFontMetricsF, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QWidget

from app.domain.model import BusyBlock, BusySource
from app.domain.time import Interval
from app.services.schedule import DayAvailability
from ui import style
from ui.format import clock_range
from ui.resources import palette


class DayTimelineWidget(QWidget):
    """Paints business hours, free time, busy blocks and the proposed job for one day, in office time."""

    def __init__(self, office: tzinfo, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._office = office
        self._day: DayAvailability | None = None
        self._busy: list[BusyBlock] = []
        self._proposal: Interval | None = None
        self._color = palette.hex("accent")
        self._message = "Pick a technician to see their day."
        self.setMinimumSize(240, 360)

    def sizeHint(self) -> QSize:
        return QSize(260, 440)

    @property
    def day(self) -> DayAvailability | None:
        return self._day

    @property
    def busy(self) -> list[BusyBlock]:
        return list(self._busy)

    def set_message(self, message: str) -> None:
        self._day = None
        self._busy = []
        self._message = message
        self.update()

    def set_day(self, day: DayAvailability, busy: list[BusyBlock], color: str) -> None:
        self._day = day
        self._busy = busy
        self._color = color
        self.update()

    def set_proposal(self, proposal: Interval | None) -> None:
        self._proposal = proposal
        self.update()

    def clashes(self) -> list[BusyBlock]:
        if self._proposal is None:
            return []
        return [b for b in self._busy if b.interval.overlaps(self._proposal)]

    def _range(self) -> tuple[datetime, datetime]:
        day = self._day
        assert day is not None
        spans = list(day.hours) + ([self._proposal] if self._proposal is not None else [])
        if not spans:
            spans = [Interval(day.window.start + timedelta(hours=8), day.window.start + timedelta(hours=17))]
        first = min(s.start for s in spans).astimezone(self._office)
        last = max(s.end for s in spans).astimezone(self._office)
        top = first.replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
        bottom = last.replace(minute=0, second=0, microsecond=0) + timedelta(hours=2 if last.minute else 1)
        return max(top, day.window.start.astimezone(self._office)), min(
            bottom, day.window.end.astimezone(self._office)
        )

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        try:
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            rect = QRectF(self.rect())
            painter.fillRect(rect, palette.color("surface"))
            if self._day is None:
                painter.setPen(palette.color("text_muted"))
                painter.drawText(
                    rect.adjusted(12, 12, -12, -12),
                    Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap,
                    self._message,
                )
                return
            self._paint_day(painter, rect)
        finally:
            painter.end()

    def _paint_day(self, painter: QPainter, rect: QRectF) -> None:
        day = self._day
        assert day is not None
        top, bottom = self._range()
        span = (bottom - top).total_seconds()
        label_w = 46.0
        area = QRectF(rect.left() + label_w, rect.top() + 8, rect.width() - label_w - 8, rect.height() - 16)

        def y_for(instant: datetime) -> float:
            offset = (instant - top).total_seconds()
            return area.top() + max(0.0, min(1.0, offset / span)) * area.height()

        def band(interval: Interval) -> QRectF:
            return QRectF(
                area.left(), y_for(interval.start), area.width(), y_for(interval.end) - y_for(interval.start)
            )

        painter.fillRect(area, palette.color("off_hours"))
        for hours in day.hours:
            painter.fillRect(band(hours), palette.color("surface"))
        free = palette.color("success")
        free.setAlpha(28)
        for item in day.free:
            painter.fillRect(band(item).adjusted(0, 1, 0, -1), free)
        small = QFont(self.font())
        small.setPointSizeF(max(7.5, small.pointSizeF() - 1.5))
        painter.setFont(small)
        metrics = QFontMetricsF(small)
        hour = top
        while hour <= bottom:
            y = y_for(hour)
            painter.setPen(QPen(palette.color("grid_line"), 1))
            painter.drawLine(QPointF(area.left(), y), QPointF(area.right(), y))
            painter.setPen(palette.color("text_muted"))
            painter.drawText(
                QRectF(rect.left() + 4, y - metrics.height() / 2, label_w - 8, metrics.height()),
                Qt.AlignmentFlag.AlignRight,
                f"{hour:%H:%M}",
            )
            hour += timedelta(hours=1)
        lanes = _lanes(self._busy)
        for block, (lane, count) in zip(self._busy, lanes, strict=True):
            full = band(block.interval)
            width = (full.width() - 8) / count
            r = QRectF(
                full.left() + 4 + lane * width,
                full.top() + 1,
                width - (2 if count > 1 else 0),
                full.height() - 2,
            )
            if r.height() < 1:
                continue
            own = block.source is BusySource.BOOKING
            fill = palette.color("accent_soft" if own else "busy_fill")
            painter.setPen(QPen(palette.color("busy_hatch"), 1))
            painter.setBrush(fill)
            painter.drawRoundedRect(r, 4, 4)
            if not own:
                painter.fillRect(
                    r.adjusted(1, 1, -1, -1), QBrush(palette.color("busy_hatch"), Qt.BrushStyle.BDiagPattern)
                )
            title = _busy_title(block)
            if r.height() >= metrics.height():
                painter.setPen(palette.color("busy_text"))
                text = f"{title} · {clock_range(block.interval, self._office)}"
                painter.drawText(
                    r.adjusted(6, 1, -4, 0),
                    Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop,
                    metrics.elidedText(text, Qt.TextElideMode.ElideRight, r.width() - 10),
                )
        if self._proposal is not None:
            r = band(self._proposal).adjusted(12, 1, -12, -1)
            color = QColor(self._color)
            fill = QColor(color)
            fill.setAlpha(200)
            clash = bool(self.clashes())
            painter.setBrush(fill)
            painter.setPen(
                QPen(palette.color("danger") if clash else color.darker(130), 2.5 if clash else 1.5)
            )
            painter.drawRoundedRect(r, 5, 5)
            painter.setPen(style.text_color_for(color))
            bold = QFont(small)
            bold.setWeight(QFont.Weight.DemiBold)
            painter.setFont(bold)
            painter.drawText(
                r.adjusted(6, 1, -4, 0),
                Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop,
                f"This job · {clock_range(self._proposal, self._office)}",
            )


def _busy_title(block: BusyBlock) -> str:
    if block.source is BusySource.BOOKING:
        return block.title or "Job"
    if block.source is BusySource.TIME_OFF:
        return block.title or "Time off"
    return block.title or "Busy"


def _lanes(blocks: list[BusyBlock]) -> list[tuple[int, int]]:
    """(lane, lanes in its cluster) for each block, so overlapping items sit side by side."""
    order = sorted(range(len(blocks)), key=lambda i: (blocks[i].interval.start, -blocks[i].interval.duration))
    result: list[tuple[int, int]] = [(0, 1)] * len(blocks)
    cluster: list[int] = []
    ends: list[datetime] = []
    lane_of: dict[int, int] = {}
    cluster_end: datetime | None = None

    def close() -> None:
        for i in cluster:
            result[i] = (lane_of[i], max(1, len(ends)))

    for i in order:
        span = blocks[i].interval
        if cluster and cluster_end is not None and span.start >= cluster_end:
            close()
            cluster, ends, lane_of = [], [], {}
            cluster_end = None
        lane = next((n for n, end in enumerate(ends) if end <= span.start), None)
        if lane is None:
            ends.append(span.end)
            lane = len(ends) - 1
        else:
            ends[lane] = span.end
        lane_of[i] = lane
        cluster.append(i)
        cluster_end = span.end if cluster_end is None else max(cluster_end, span.end)
    if cluster:
        close()
    return result
