"""The owner's sync-health window: every calendar account, how its sync is doing, and latency.

It reads one `HealthReport` on the database worker and shows it; HealthChanged, NotificationAdded
and booking changes ask for a fresh one (coalesced), and a slow tick keeps "2 min ago" honest.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QRect,
    QRectF,
    QSize,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter, QPen
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QDialog,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QPushButton,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from app.domain.escalation import Thresholds
from app.domain.model import AccountStatus, HealthLevel
from app.services.accounts import provider_label
from app.services.container import Services
from app.services.sync_outcomes import AccountHealth, HealthReport, LatencyDirection, SyncOutcomeQueries
from ui.bridge import BusBridge
from ui.charts import LatencyChartWidget, delay_text
from ui.format import duration_text
from ui.loading import LatestLoader
from ui.plain import PlainLabel, plain_tip
from ui.resources import palette, stylesheet
from ui.sync_owner_line import SyncOwnerLineWidget
from ui.worker import DatabaseWorker

REFRESH_DELAY_MS = 150
TICK_MS = 30_000
ROW_HEIGHT = 46
ModelIndex = QModelIndex | QPersistentModelIndex


def ago(then: datetime, now: datetime) -> str:
    """'just now', '2 min ago', '3 h ago', '2 days ago'."""
    seconds = max(0, int((now - then).total_seconds()))
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{seconds // 60} min ago"
    if seconds < 86400:
        hours, rest = divmod(seconds // 60, 60)
        return f"{hours} h ago" if hours >= 3 or not rest else f"{hours} h {rest} min ago"
    days = seconds // 86400
    return f"{days} day{'s' if days != 1 else ''} ago"


@dataclass(frozen=True, slots=True)
class LevelBadge:
    text: str
    color: str
    soft: str


LEVEL_BADGES = {
    HealthLevel.OK: LevelBadge("OK", palette.hex("success"), palette.hex("success_soft")),
    HealthLevel.WARNING: LevelBadge("Warning", palette.hex("caution"), palette.hex("caution_soft")),
    HealthLevel.DISPATCHER: LevelBadge("Dispatcher alerted", palette.hex("alert"), palette.hex("alert_soft")),
    HealthLevel.OWNER: LevelBadge("Owner alerted", palette.hex("danger"), palette.hex("danger_soft")),
}
STOPPED_BADGE = LevelBadge("Stopped", palette.hex("neutral"), palette.hex("neutral_soft"))


def badge_for(row: AccountHealth) -> LevelBadge:
    if row.account.status is not AccountStatus.CONNECTED:
        return STOPPED_BADGE
    return LEVEL_BADGES[row.health.level if row.health else HealthLevel.OK]


def status_text(row: AccountHealth, now: datetime) -> str:
    """The account's state in plain words, as an owner would say it."""
    account, health = row.account, row.health
    if account.status is AccountStatus.NEEDS_RECONNECT:
        return "Sign-in expired; needs reconnecting"
    if account.status is AccountStatus.REVOKED:
        return "Access withdrawn; needs reconnecting"
    if account.status is AccountStatus.DISCONNECTED:
        return "Disconnected: bookings are not sent to this calendar"
    if health is not None and health.failing_since is not None:
        return f"Not syncing for {duration_text(now - health.failing_since)}; retrying"
    if health is None or health.last_success is None:
        return "Connected; waiting for the first sync"
    if row.failed_writes:
        return "Syncing; some writes are being retried"
    return "Syncing normally"


class AccountHealthModel(QAbstractTableModel):
    """One row per calendar account; the Escalation column carries its HealthLevel in UserRole."""

    COLUMNS = (
        "Technician",
        "Calendar",
        "Status and last error",
        "Last sync",
        "Failing since",
        "Escalation",
        "Queued",
        "Alerts sent",
    )
    TECH, CALENDAR, STATUS, LAST_SYNC, FAILING, LEVEL, QUEUED, ALERTS = range(len(COLUMNS))
    BadgeRole = Qt.ItemDataRole.UserRole + 1
    DetailRole = Qt.ItemDataRole.UserRole + 2  # a second, smaller line under the cell's text
    ErrorRole = Qt.ItemDataRole.UserRole + 3  # the account's last error, token-free, or None

    def __init__(self, tz: tzinfo, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._tz = tz
        self._rows: tuple[AccountHealth, ...] = ()
        self._now: datetime | None = None

    def set_report(self, report: HealthReport) -> None:
        self.beginResetModel()
        self._rows = report.accounts
        self._now = report.now
        self.endResetModel()

    def set_now(self, now: datetime) -> None:
        """Move the clock the "ago" texts count from, without reloading anything."""
        self._now = now
        if self._rows:
            self.dataChanged.emit(self.index(0, 0), self.index(len(self._rows) - 1, len(self.COLUMNS) - 1))

    def row_at(self, row: int) -> AccountHealth | None:
        return self._rows[row] if 0 <= row < len(self._rows) else None

    def rowCount(self, parent: ModelIndex = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: ModelIndex = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(self.COLUMNS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        horizontal = orientation is Qt.Orientation.Horizontal
        if horizontal and role == Qt.ItemDataRole.DisplayRole and 0 <= section < len(self.COLUMNS):
            return self.COLUMNS[section]
        if orientation is Qt.Orientation.Horizontal and role == Qt.ItemDataRole.TextAlignmentRole:
            if section in (self.QUEUED, self.ALERTS):
                return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            return int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        return None

    def flags(self, index: ModelIndex) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable

    def data(self, index: ModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or self._now is None:
            return None
        row = self.row_at(index.row())
        if row is None:
            return None
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return self._text(row, column, self._now)
        if role == Qt.ItemDataRole.ToolTipRole:
            tip = self._tooltip(row, column, self._now)
            return None if tip is None else plain_tip(tip)
        if role == self.BadgeRole and column == self.LEVEL:
            return badge_for(row).text
        if role == self.DetailRole:
            if column == self.CALENDAR:
                return f"{provider_label(row.account.provider)} calendar"
            if column == self.STATUS:
                return self._error(row) or None
            return None
        if role == self.ErrorRole:
            return self._error(row) or None
        if role == Qt.ItemDataRole.TextAlignmentRole:
            if column in (self.QUEUED, self.ALERTS):
                return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            return int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ForegroundRole:
            muted = (column == self.FAILING and not self._failing(row)) or (
                column in (self.QUEUED, self.ALERTS) and self._text(row, column, self._now) == "0"
            )
            if column == self.STATUS and (
                self._failing(row) or row.account.status is not AccountStatus.CONNECTED
            ):
                return palette.color("danger")
            return palette.color("text_muted") if muted else None
        if role == Qt.ItemDataRole.FontRole and column == self.TECH:
            font = QFont()
            font.setWeight(QFont.Weight.DemiBold)
            return font
        return None

    @staticmethod
    def _failing(row: AccountHealth) -> bool:
        return row.health is not None and row.health.failing_since is not None

    @staticmethod
    def _error(row: AccountHealth) -> str:
        if row.health is not None and row.health.last_error:
            return row.health.last_error
        return row.last_write_error or ""

    def _text(self, row: AccountHealth, column: int, now: datetime) -> str:
        health = row.health
        if column == self.TECH:
            return row.tech.name
        if column == self.CALENDAR:
            return row.account.email
        if column == self.STATUS:
            return status_text(row, now)
        if column == self.LAST_SYNC:
            return ago(health.last_success, now) if health and health.last_success else "Never"
        if column == self.FAILING:
            if health and health.failing_since:
                local = health.failing_since.astimezone(self._tz)
                day = "" if local.date() == now.astimezone(self._tz).date() else f"{local:%a} "
                return f"{day}{local:%H:%M}"
            return "—"
        if column == self.LEVEL:
            return badge_for(row).text
        if column == self.QUEUED:
            return str(row.queued_writes)
        if column == self.ALERTS:
            return str(row.alerts_sent) + (f" (+{row.alerts_pending} pending)" if row.alerts_pending else "")
        return ""

    def _tooltip(self, row: AccountHealth, column: int, now: datetime) -> str | None:
        health = row.health
        if column == self.LAST_SYNC and health is not None:
            parts = []
            if health.last_read:
                parts.append(f"Last read {health.last_read.astimezone(self._tz):%a %d %b %H:%M:%S}")
            if health.last_write:
                parts.append(f"Last write {health.last_write.astimezone(self._tz):%a %d %b %H:%M:%S}")
            return "\n".join(parts) or None
        if column == self.QUEUED and row.oldest_queued is not None:
            return (
                f"{row.queued_writes} booking change(s) waiting for {row.tech.name}'s calendar; "
                f"the oldest since {ago(row.oldest_queued, now)}."
            )
        if column == self.STATUS:
            error = self._error(row)
            return status_text(row, now) + (f"\nLast error: {error}" if error else "")
        if column == self.FAILING and health is not None and health.failing_since is not None:
            return f"Failing since {ago(health.failing_since, now)}"
        return None


def paint_cell_background(
    delegate: QStyledItemDelegate, painter: QPainter, option: QStyleOptionViewItem, index: ModelIndex
) -> None:
    """The item's background and row line as the stylesheet draws them, without its text."""
    opt = QStyleOptionViewItem(option)
    delegate.initStyleOption(opt, index)
    opt.text = ""
    widget = opt.widget
    widget_style = widget.style() if isinstance(widget, QWidget) else QApplication.style()
    widget_style.drawControl(QStyle.ControlElement.CE_ItemViewItem, opt, painter, widget)


class TwoLineDelegate(QStyledItemDelegate):
    """The cell's text with a smaller second line (DetailRole): red when it is the account's error."""

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: ModelIndex) -> None:
        detail = index.data(AccountHealthModel.DetailRole)
        if not detail:
            super().paint(painter, option, index)
            return
        paint_cell_background(self, painter, option, index)
        painter.save()
        rect: QRect = option.rect
        font = QFont(option.font)
        small = QFont(font)
        small.setPointSizeF(max(7.0, font.pointSizeF() - 1))
        metrics, small_metrics = QFontMetrics(font), QFontMetrics(small)
        inner = rect.adjusted(8, 0, -8, 0)
        top = rect.center().y() - (metrics.height() + small_metrics.height()) // 2
        foreground = index.data(Qt.ItemDataRole.ForegroundRole)
        painter.setPen(foreground if isinstance(foreground, QColor) else palette.color("text"))
        painter.setFont(font)
        text = metrics.elidedText(str(index.data() or ""), Qt.TextElideMode.ElideRight, inner.width())
        painter.drawText(
            QRect(inner.left(), top, inner.width(), metrics.height()), Qt.AlignmentFlag.AlignVCenter, text
        )
        is_error = index.column() == AccountHealthModel.STATUS
        painter.setPen(palette.color("error_text" if is_error else "text_muted"))
        painter.setFont(small)
        line = small_metrics.elidedText(str(detail), Qt.TextElideMode.ElideRight, inner.width())
        painter.drawText(
            QRect(inner.left(), top + metrics.height(), inner.width(), small_metrics.height()),
            Qt.AlignmentFlag.AlignVCenter,
            line,
        )
        painter.restore()


class LevelBadgeDelegate(QStyledItemDelegate):
    """Paints the escalation level as a coloured pill."""

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: ModelIndex) -> None:
        model = index.model()
        row = model.row_at(index.row()) if isinstance(model, AccountHealthModel) else None
        if row is None:
            super().paint(painter, option, index)
            return
        badge = badge_for(row)
        paint_cell_background(self, painter, option, index)
        painter.save()
        font = QFont(option.font)
        font.setWeight(QFont.Weight.DemiBold)
        metrics = QFontMetrics(font)
        rect: QRect = option.rect
        width = metrics.horizontalAdvance(badge.text) + 30
        height = metrics.height() + 6
        pill = QRectF(rect.left() + 8, rect.center().y() - height / 2 + 1, width, height)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(QPen(QColor(badge.color), 1))
        painter.setBrush(QColor(badge.soft))
        painter.drawRoundedRect(pill, height / 2, height / 2)
        painter.setBrush(QColor(badge.color))
        painter.setPen(Qt.PenStyle.NoPen)
        painter.drawEllipse(QRectF(pill.left() + 9, pill.center().y() - 3, 6, 6))
        painter.setPen(QColor(badge.color))
        painter.setFont(font)
        painter.drawText(pill.adjusted(20, 0, -8, 0), Qt.AlignmentFlag.AlignCenter, badge.text)
        painter.restore()

    def sizeHint(self, option: QStyleOptionViewItem, index: ModelIndex) -> QSize:
        hint = super().sizeHint(option, index)
        text = index.data(AccountHealthModel.BadgeRole) or ""
        view = self.parent()
        font = QFont(view.font()) if isinstance(view, QWidget) else QFont()
        font.setWeight(QFont.Weight.DemiBold)
        metrics = QFontMetrics(font)
        return QSize(metrics.horizontalAdvance(str(text)) + 44, max(hint.height(), metrics.height() + 16))


class StatCardWidget(QFrame):
    """A number the owner reads first, with its caption."""

    def __init__(self, caption: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("statCard")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(14, 10, 14, 10)
        layout.setSpacing(2)
        self.caption = PlainLabel(caption, self)
        self.caption.setObjectName("statCaption")
        self.value = PlainLabel("—", self)
        self.value.setObjectName("statValue")
        self.note = PlainLabel("", self)
        self.note.setObjectName("statNote")
        layout.addWidget(self.caption)
        layout.addWidget(self.value)
        layout.addWidget(self.note)

    def show_value(self, value: str, note: str = "", alarm: bool = False) -> None:
        self.value.setText(value)
        self.note.setText(note)
        self.value.setProperty("alarm", alarm)
        self.value.style().unpolish(self.value)
        self.value.style().polish(self.value)


class SyncHealthDialog(QDialog):
    """Non-modal window for owners. `report_applied` fires each time fresh data is on screen."""

    report_applied = Signal()

    def __init__(
        self,
        services: Services,
        worker: DatabaseWorker,
        bridge: BusBridge,
        tz: tzinfo,
        parent: QWidget | None = None,
        thresholds: Thresholds | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("syncHealthDialog")
        self.setWindowTitle("Sync health")
        self.setStyleSheet(stylesheet("health"))
        self._services = services
        self._queries = SyncOutcomeQueries(services.uow, services.clock)
        self._tz = tz
        self._thresholds = thresholds or Thresholds()
        self._report: HealthReport | None = None

        self.model = AccountHealthModel(tz, self)
        self.table = QTableView(self)
        self.table.setObjectName("healthTable")
        self.table.setModel(self.model)
        self.table.setItemDelegateForColumn(AccountHealthModel.LEVEL, LevelBadgeDelegate(self.table))
        two_lines = TwoLineDelegate(self.table)
        self.table.setItemDelegateForColumn(AccountHealthModel.CALENDAR, two_lines)
        self.table.setItemDelegateForColumn(AccountHealthModel.STATUS, two_lines)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setShowGrid(False)
        self.table.setWordWrap(False)
        self.table.setAlternatingRowColors(False)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(ROW_HEIGHT)
        self.table.setHorizontalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.table.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        header = self.table.horizontalHeader()
        header.setHighlightSections(False)
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(AccountHealthModel.STATUS, QHeaderView.ResizeMode.Stretch)
        header.setMinimumSectionSize(60)

        self.title = PlainLabel("Sync health", self)
        self.title.setObjectName("pageTitle")
        self.updated_label = PlainLabel("Loading…", self)
        self.updated_label.setObjectName("hint")
        self.refresh_button = QPushButton("Refresh", self)
        self.refresh_button.clicked.connect(self.refresh)
        top = QHBoxLayout()
        top.addWidget(self.title)
        top.addStretch(1)
        top.addWidget(self.updated_label)
        top.addWidget(self.refresh_button)
        self.owner_line = SyncOwnerLineWidget(services, worker, tz, self)

        self.calendars_card = StatCardWidget("Calendars syncing", self)
        self.attention_card = StatCardWidget("Need attention", self)
        self.queued_card = StatCardWidget("Queued calendar writes", self)
        self.latency_card = StatCardWidget("Write delay, last 24 h", self)
        cards = QHBoxLayout()
        cards.setSpacing(12)
        for card in (self.calendars_card, self.attention_card, self.queued_card, self.latency_card):
            cards.addWidget(card, 1)

        self.legend = PlainLabel(self._legend_text(), self)
        self.legend.setObjectName("hint")
        self.legend.setWordWrap(True)

        self.chart = LatencyChartWidget(tz, self)
        self.chart_title = PlainLabel("Sync delay over the last 24 hours", self)
        self.chart_title.setObjectName("sectionTitle")
        self.chart_summary = PlainLabel("", self)
        self.chart_summary.setObjectName("hint")
        self.chart_summary.setWordWrap(True)
        chart_card = QFrame(self)
        chart_card.setObjectName("chartCard")
        chart_column = QVBoxLayout(chart_card)
        chart_column.setContentsMargins(14, 12, 14, 10)
        chart_column.setSpacing(4)
        chart_column.addWidget(self.chart_title)
        chart_column.addWidget(self.chart_summary)
        chart_column.addWidget(self.chart, 1)

        self.close_button = QPushButton("Close", self)
        self.close_button.clicked.connect(self.close)
        bottom = QHBoxLayout()
        bottom.addWidget(self.legend, 1)
        bottom.addWidget(self.close_button)

        column = QVBoxLayout(self)
        column.setContentsMargins(20, 16, 20, 16)
        column.setSpacing(12)
        column.addLayout(top)
        column.addWidget(self.owner_line)
        column.addLayout(cards)
        column.addWidget(self.table)
        column.addWidget(chart_card, 1)
        column.addLayout(bottom)
        self.resize(1240, 800)

        self._loader = LatestLoader(
            worker, self._queries.report, self._on_report_loaded, REFRESH_DELAY_MS, self
        )
        self._tick = QTimer(self)
        self._tick.setInterval(TICK_MS)
        self._tick.timeout.connect(self._on_tick_timeout)
        self._tick.start()
        bridge.health_changed.connect(self._on_bridge_changed)
        bridge.notification_added.connect(self._on_bridge_changed)
        bridge.accounts_changed.connect(self._on_bridge_changed)
        bridge.booking_changed.connect(self._on_bridge_changed)
        self.refresh()

    @property
    def report(self) -> HealthReport | None:
        return self._report

    def stop(self) -> None:
        """No more loading: the window is closing and its worker is gone."""
        self._loader.stop()
        self.owner_line.stop()
        self._tick.stop()

    def refresh(self) -> None:
        self._loader.load()
        self.owner_line.refresh()

    def _legend_text(self) -> str:
        t = self._thresholds
        return (
            f"Escalation while an account keeps failing: warning after {duration_text(t.warn)}, "
            f"the dispatcher is alerted after {duration_text(t.dispatcher)}, "
            f"the owner after {duration_text(t.owner)}. Each alert is sent once per outage."
        )

    def _on_bridge_changed(self, _event: object) -> None:
        self._loader.schedule()

    def _on_tick_timeout(self) -> None:
        self.owner_line.refresh()  # a takeover writes no feed of its own; the tick catches it
        now = self._services.clock.now()
        self.model.set_now(now)
        self._show_updated(now)

    def _show_updated(self, now: datetime) -> None:
        if self._report is not None:
            when = self._report.now.astimezone(self._tz)
            self.updated_label.setText(f"Updated {when:%H:%M}")

    def _on_report_loaded(self, report: HealthReport) -> None:
        self._report = report
        self.model.set_report(report)
        self._fit_table()
        self.chart.set_report(report.latency)
        self._show_updated(report.now)
        self._show_cards(report)
        self._show_chart_summary(report)
        self.report_applied.emit()

    def _fit_table(self) -> None:
        """Tall enough for every account (up to a dozen) so the owner sees them all without scrolling."""
        rows = min(max(self.model.rowCount(), 2), 12)
        height = self.table.horizontalHeader().sizeHint().height() + rows * ROW_HEIGHT + 4
        self.table.setMinimumHeight(height)

    def _show_cards(self, report: HealthReport) -> None:
        rows = report.accounts
        live = [r for r in rows if r.account.status is AccountStatus.CONNECTED]
        healthy = [r for r in live if not (r.health and r.health.failing_since)]
        self.calendars_card.show_value(
            f"{len(healthy)} of {len(rows)}",
            "all calendars in sync" if rows and len(healthy) == len(rows) else "connected and syncing",
            alarm=len(healthy) < len(rows),
        )
        attention = [r for r in rows if r not in healthy]
        names = ", ".join(dict.fromkeys(r.tech.name for r in attention))
        self.attention_card.show_value(str(len(attention)), names or "nothing to do", alarm=bool(attention))
        queued = sum(q.count for q in report.queued)
        oldest = min((q.oldest for q in report.queued if q.oldest), default=None)
        self.queued_card.show_value(
            str(queued),
            f"oldest waiting {ago(oldest, report.now).removesuffix(' ago')}" if oldest else "nothing waiting",
            alarm=False,
        )
        median = report.latency.percentile(0.5, LatencyDirection.WRITE)
        writes = len(report.latency.of(LatencyDirection.WRITE))
        self.latency_card.show_value(
            delay_text(median) if median is not None else "—",
            f"median of {writes} write{'s' if writes != 1 else ''}" if writes else "no writes yet",
        )

    def _show_chart_summary(self, report: HealthReport) -> None:
        latency = report.latency
        parts = []
        for direction, noun in (
            (LatencyDirection.WRITE, "calendar write"),
            (LatencyDirection.READ, "change read"),
        ):
            count = len(latency.of(direction))
            if not count:
                continue
            median = latency.percentile(0.5, direction)
            slowest = latency.percentile(0.95, direction)
            assert median is not None and slowest is not None
            parts.append(
                f"{count} {noun}{'s' if count != 1 else ''}: half within {delay_text(median)}, "
                f"95% within {delay_text(slowest)}"
            )
        text = "; ".join(parts)
        meaning = "Delay is the time from a booking change to its confirmed calendar write"
        if latency.of(LatencyDirection.READ):
            meaning += ", and from a change in a technician's calendar to the board"
        self.chart_summary.setText((text + ". " if text else "") + meaning + ".")

    def closeEvent(self, event: Any) -> None:
        self._tick.stop()
        self._loader.cancel()
        self.owner_line.stop()
        super().closeEvent(event)
