"""The accounts table of the sync-health window: its model, the level badges and the cell delegates.

One row per calendar account: its level as a coloured badge, the calendar and tech on two lines,
and a status sentence ("Failing for 12 min: token revoked").
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
)
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter, QPen
from PySide6.QtWidgets import (
    QApplication,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QWidget,
)

from app.domain.model import AccountStatus, HealthLevel
from app.services.accounts import provider_label
from app.services.sync_outcomes import AccountHealth, HealthReport
from ui.format import ago, duration_text
from ui.plain import plain_tip
from ui.resources import palette

ROW_HEIGHT = 46
ModelIndex = QModelIndex | QPersistentModelIndex


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
