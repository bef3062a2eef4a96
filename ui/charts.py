"""A small QPainter chart of sync latency over the last day: one dot per change, a line of hourly medians.

No chart library: the picture is simple enough that a hundred lines of painting keep it exact,
legible at any size, and free of another dependency. Geometry is computed by `latency_geometry`
(pure, testable); `LatencyChartWidget` only paints what it returns.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo

from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QPainter, QPainterPath, QPaintEvent, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from app.services.sync_outcomes import LatencyDirection, LatencyReport, LatencySample
from ui.resources import palette

EMPTY_TEXT = "No calendar writes in the last 24 hours"
LOADING_TEXT = "Loading…"
WRITE_COLOR = palette.hex("chart_write")
READ_COLOR = palette.hex("chart_read")
MEDIAN_COLOR = palette.hex("chart_median")

# Candidate tops of the delay axis, in seconds: the first one above the slowest sample is used.
# Each divides into four steps that read well on the axis (30 s, 1 min, 2.5 min, 15 min, 1 h...).
_NICE_TOPS = (4, 10, 20, 40, 60, 120, 240, 480, 600, 1200, 2400, 3600, 7200, 4 * 3600, 8 * 3600, 86400)
MEDIAN_GAP_HOURS = 2
_MARGIN_LEFT = 52.0
_MARGIN_RIGHT = 16.0
_MARGIN_TOP = 30.0
_MARGIN_BOTTOM = 28.0


def axis_text(delay: timedelta) -> str:
    """Compact labels for the delay axis: '0', '30 s', '90 s', '2.5 min', '1 h'."""
    seconds = delay.total_seconds()
    if seconds == 0:
        return "0"
    if seconds < 120:
        return f"{seconds:g} s"
    if seconds < 3600:
        return f"{seconds / 60:g} min"
    return f"{seconds / 3600:g} h"


def delay_text(delay: timedelta) -> str:
    """'0.8 s', '12 s', '4 min', '1 h 20 min': short enough for an axis label."""
    seconds = delay.total_seconds()
    if seconds < 10 and seconds % 1:
        return f"{seconds:.1f} s"
    if seconds < 60:
        return f"{seconds:.0f} s"
    if seconds < 3600:
        minutes, rest = divmod(round(seconds), 60)
        return f"{minutes} min" if not rest or minutes >= 10 else f"{minutes} min {rest} s"
    hours, rest = divmod(round(seconds / 60), 60)
    return f"{hours} h" if not rest else f"{hours} h {rest} min"


@dataclass(frozen=True, slots=True)
class PlottedSample:
    sample: LatencySample
    point: QPointF


@dataclass(frozen=True, slots=True)
class LatencyGeometry:
    plot: QRectF
    top: timedelta  # the delay at the top of the plot
    y_ticks: tuple[tuple[float, str], ...]  # y, label
    x_ticks: tuple[tuple[float, str], ...]  # x, label
    points: tuple[PlottedSample, ...]
    medians: tuple[tuple[QPointF, ...], ...]  # hourly medians of the writes: one line per run of hours


def nice_top(slowest: timedelta) -> int:
    seconds = slowest.total_seconds()
    return next((top for top in _NICE_TOPS if seconds <= top), _NICE_TOPS[-1])


def latency_geometry(bounds: QRectF, report: LatencyReport, tz: tzinfo) -> LatencyGeometry:
    """Where everything goes inside `bounds` (widget coordinates)."""
    plot = bounds.adjusted(_MARGIN_LEFT, _MARGIN_TOP, -_MARGIN_RIGHT, -_MARGIN_BOTTOM)
    start, end = report.window_start, report.window_end
    span = max(1.0, (end - start).total_seconds())
    top_seconds = nice_top(max((s.delay for s in report.samples), default=timedelta(seconds=5)))
    clamp = timedelta(seconds=top_seconds)

    def x_for(at: datetime) -> float:
        return plot.left() + plot.width() * (at - start).total_seconds() / span

    def y_for(delay: timedelta) -> float:
        share = min(delay, clamp).total_seconds() / top_seconds
        return plot.bottom() - plot.height() * share

    y_ticks = tuple((y_for(clamp * (i / 4)), axis_text(clamp * (i / 4))) for i in range(5))
    first_tick = start.astimezone(tz).replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    step = 3 if plot.width() >= 360 else 6
    x_ticks = []
    tick = first_tick
    while tick <= end:
        if tick.hour % step == 0:
            x_ticks.append((x_for(tick), f"{tick:%H:%M}"))
        tick += timedelta(hours=1)
    points = tuple(PlottedSample(s, QPointF(x_for(s.at), y_for(s.delay))) for s in report.samples)
    buckets: dict[int, list[LatencySample]] = {}
    for sample in report.of(LatencyDirection.WRITE):
        buckets.setdefault(int((sample.at - start).total_seconds() // 3600), []).append(sample)
    runs: list[list[QPointF]] = []
    previous: int | None = None
    for hour, bucket in sorted(buckets.items()):
        point = QPointF(
            x_for(start + timedelta(hours=hour, minutes=30)),
            y_for(timedelta(seconds=statistics.median(s.delay.total_seconds() for s in bucket))),
        )
        if previous is None or hour - previous > MEDIAN_GAP_HOURS:
            runs.append([])  # hours without writes: the line stops rather than inventing values
        runs[-1].append(point)
        previous = hour
    medians = tuple(tuple(run) for run in runs)
    return LatencyGeometry(plot, clamp, y_ticks, tuple(x_ticks), points, medians)


class LatencyChartWidget(QWidget):
    """Sync latency over the report's window; an honest sentence when there is nothing to plot."""

    def __init__(self, tz: tzinfo, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("latencyChart")
        self._tz = tz
        self._report: LatencyReport | None = None
        self.setMinimumHeight(160)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent, False)

    @property
    def report(self) -> LatencyReport | None:
        return self._report

    @property
    def empty_text(self) -> str | None:
        """The sentence shown instead of data, or None when samples are plotted."""
        if self._report is None:
            return LOADING_TEXT
        return EMPTY_TEXT if not self._report.samples else None

    def set_report(self, report: LatencyReport | None) -> None:
        self._report = report
        self.update()

    def geometry_now(self) -> LatencyGeometry | None:
        if self._report is None:
            return None
        return latency_geometry(QRectF(self.rect()), self._report, self._tz)

    def sizeHint(self) -> QSize:
        return QSize(720, 220)

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        try:
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            painter.fillRect(self.rect(), palette.color("surface"))
            report = self._report
            if report is None:
                self._paint_message(painter, QRectF(self.rect()), LOADING_TEXT)
                return
            geometry = latency_geometry(QRectF(self.rect()), report, self._tz)
            self._paint_axes(painter, geometry, faint=not report.samples)
            if not report.samples:
                self._paint_message(painter, geometry.plot, EMPTY_TEXT)
                return
            self._paint_samples(painter, geometry)
            self._paint_legend(painter, geometry, report)
        finally:
            painter.end()

    def _paint_message(self, painter: QPainter, rect: QRectF, text: str) -> None:
        painter.setPen(palette.color("text_muted"))
        painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, text)

    def _paint_axes(self, painter: QPainter, g: LatencyGeometry, faint: bool) -> None:
        small = QFont(self.font())
        small.setPointSizeF(max(7.0, self.font().pointSizeF() - 1.5))
        painter.setFont(small)
        metrics = QFontMetricsF(small)
        grid = QPen(palette.color("grid_line"), 1)
        painter.setPen(grid)
        for y, _label in g.y_ticks:
            painter.drawLine(QPointF(g.plot.left(), y), QPointF(g.plot.right(), y))
        painter.setPen(QPen(palette.color("grid_line_strong"), 1))
        painter.drawLine(g.plot.bottomLeft(), g.plot.bottomRight())
        painter.setPen(palette.color("grid_line_strong" if faint else "text_muted"))
        for y, label in g.y_ticks:
            box = QRectF(0, y - metrics.height() / 2, g.plot.left() - 8, metrics.height())
            painter.drawText(box, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, label)
        for x, label in g.x_ticks:
            painter.setPen(QPen(palette.color("grid_line_strong"), 1))
            painter.drawLine(QPointF(x, g.plot.bottom()), QPointF(x, g.plot.bottom() + 4))
            painter.setPen(palette.color("grid_line_strong" if faint else "text_muted"))
            width = metrics.horizontalAdvance(label) + 4
            box = QRectF(x - width / 2, g.plot.bottom() + 6, width, metrics.height())
            painter.drawText(box, Qt.AlignmentFlag.AlignCenter, label)
        painter.setFont(self.font())

    def _paint_samples(self, painter: QPainter, g: LatencyGeometry) -> None:
        painter.save()
        painter.setClipRect(g.plot.adjusted(-5, -5, 5, 1))
        for plotted in g.points:
            color = QColor(WRITE_COLOR if plotted.sample.direction is LatencyDirection.WRITE else READ_COLOR)
            fill = QColor(color)
            fill.setAlpha(150)
            painter.setPen(QPen(color, 1))
            painter.setBrush(fill)
            painter.drawEllipse(plotted.point, 3.5, 3.5)
        path = QPainterPath()
        for run in g.medians:
            path.moveTo(run[0])
            for point in run[1:]:
                path.lineTo(point)
        if not path.isEmpty():
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.setPen(
                QPen(
                    QColor(MEDIAN_COLOR),
                    2,
                    Qt.PenStyle.SolidLine,
                    Qt.PenCapStyle.RoundCap,
                    Qt.PenJoinStyle.RoundJoin,
                )
            )
            painter.drawPath(path)
        painter.restore()

    def _paint_legend(self, painter: QPainter, g: LatencyGeometry, report: LatencyReport) -> None:
        entries: list[tuple[str, str, bool]] = []
        if report.of(LatencyDirection.WRITE):
            entries.append(("Booking → calendar write", WRITE_COLOR, False))
        if report.of(LatencyDirection.READ):
            entries.append(("Calendar change → board", READ_COLOR, False))
        if any(len(run) > 1 for run in g.medians):
            entries.append(("Hourly median of writes", MEDIAN_COLOR, True))
        metrics = QFontMetricsF(self.font())
        x = g.plot.left()
        y = 8 + metrics.height() / 2
        for label, color, line in entries:
            painter.setPen(QPen(QColor(color), 2))
            painter.setBrush(QColor(color))
            if line:
                painter.drawLine(QPointF(x, y), QPointF(x + 14, y))
            else:
                painter.drawEllipse(QPointF(x + 7, y), 3.5, 3.5)
            painter.setPen(palette.color("text_muted"))
            width = metrics.horizontalAdvance(label)
            painter.drawText(
                QRectF(x + 20, y - metrics.height() / 2, width + 4, metrics.height()),
                Qt.AlignmentFlag.AlignVCenter,
                label,
            )
            x += 20 + width + 22
