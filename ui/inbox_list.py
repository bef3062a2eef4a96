"""The inbox's list: which alerts this session has read, the alerts as a list model, and the card
each alert is drawn as (title, audience, age and a few lines of body)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta, tzinfo
from typing import Any

from PySide6.QtCore import (
    QAbstractListModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QPointF,
    QRect,
    QSize,
    Qt,
)
from PySide6.QtGui import (
    QFont,
    QFontMetrics,
    QPainter,
    QPen,
)
from PySide6.QtWidgets import (
    QListView,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QWidget,
)

from app.domain.ids import NotificationId
from app.domain.model import Audience, Notification
from ui.format import ago
from ui.plain import plain_tip
from ui.resources import palette

UNREAD_WINDOW = timedelta(hours=24)
ModelIndex = QModelIndex | QPersistentModelIndex
AUDIENCE_LABELS = {Audience.DISPATCHER: "Dispatcher", Audience.OWNER: "Owner", Audience.TECH: "Technician"}


class ReadState:
    """Which alerts this session has seen. In memory: a restart forgets it (see the module note)."""

    def __init__(self, session_start: datetime, unread_window: timedelta = UNREAD_WINDOW) -> None:
        self._cutoff = session_start - unread_window
        self._read: set[NotificationId] = set()

    def is_read(self, notification: Notification) -> bool:
        return notification.created < self._cutoff or notification.id in self._read

    def mark(self, ids: Sequence[NotificationId]) -> None:
        self._read.update(ids)


class NotificationListModel(QAbstractListModel):
    """Alerts, newest first. NotificationRole gives the Notification, UnreadRole whether it is new."""

    NotificationRole = Qt.ItemDataRole.UserRole + 1
    UnreadRole = Qt.ItemDataRole.UserRole + 2

    def __init__(self, read: ReadState, tz: tzinfo, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._read = read
        self._tz = tz
        self._items: tuple[Notification, ...] = ()
        self._now: datetime | None = None

    def set_items(self, items: Sequence[Notification], now: datetime) -> None:
        self.beginResetModel()
        self._items = tuple(items)
        self._now = now
        self.endResetModel()

    @property
    def items(self) -> tuple[Notification, ...]:
        return self._items

    def unread_count(self) -> int:
        return sum(1 for n in self._items if not self._read.is_read(n))

    def notification_at(self, row: int) -> Notification | None:
        return self._items[row] if 0 <= row < len(self._items) else None

    def mark_read(self, rows: Sequence[int]) -> None:
        ids = [n.id for r in rows if (n := self.notification_at(r)) is not None]
        self._read.mark(ids)
        for row in rows:
            index = self.index(row, 0)
            self.dataChanged.emit(index, index, [self.UnreadRole, Qt.ItemDataRole.FontRole])

    def mark_all_read(self) -> None:
        self.mark_read(range(len(self._items)))

    def when_text(self, notification: Notification) -> str:
        local = notification.created.astimezone(self._tz)
        now = self._now or notification.created
        day = "" if local.date() == now.astimezone(self._tz).date() else f"{local:%a %d %b} "
        return f"{day}{local:%H:%M} · {ago(notification.created, now)}"

    def rowCount(self, parent: ModelIndex = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(self._items)

    def data(self, index: ModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        item = self.notification_at(index.row()) if index.isValid() else None
        if item is None:
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return item.subject
        if role == Qt.ItemDataRole.ToolTipRole:
            return plain_tip(f"{item.subject}\n\n{item.body}")
        if role == Qt.ItemDataRole.FontRole:
            font = QFont()
            font.setWeight(QFont.Weight.DemiBold if not self._read.is_read(item) else QFont.Weight.Normal)
            return font
        if role == self.NotificationRole:
            return item
        if role == self.UnreadRole:
            return not self._read.is_read(item)
        return None


class NotificationDelegate(QStyledItemDelegate):
    """An alert: unread dot, subject, audience and time, then up to three lines of its body."""

    PAD = 12
    BODY_LINES = 3

    def _fonts(self) -> tuple[QFont, QFont, QFont]:
        view = self.parent()
        base = QFont(view.font()) if isinstance(view, QWidget) else QFont()
        bold = QFont(base)
        bold.setWeight(QFont.Weight.DemiBold)
        small = QFont(base)
        small.setPointSizeF(max(7.0, base.pointSizeF() - 1))
        return base, bold, small

    def sizeHint(self, option: QStyleOptionViewItem, index: ModelIndex) -> QSize:
        base, bold, small = self._fonts()
        lines = self._body_lines(index, base, self._text_width(option))
        height = QFontMetrics(bold).height() + 4 + QFontMetrics(small).height() + 6
        height += len(lines) * QFontMetrics(base).lineSpacing()
        return QSize(320, height + 2 * self.PAD)

    def _text_width(self, option: QStyleOptionViewItem) -> int:
        view = self.parent()
        width = view.viewport().width() if isinstance(view, QListView) else option.rect.width()
        return max(120, width - 2 * self.PAD - 18)

    def _body_lines(self, index: ModelIndex, font: QFont, width: int) -> list[str]:
        item = index.data(NotificationListModel.NotificationRole)
        if not isinstance(item, Notification):
            return []
        metrics = QFontMetrics(font)
        words = " ".join(item.body.split()).split(" ")
        lines: list[str] = []
        current = ""
        for word in words:
            candidate = f"{current} {word}".strip()
            if metrics.horizontalAdvance(candidate) <= width or not current:
                current = candidate
                continue
            lines.append(current)
            current = word
            if len(lines) == self.BODY_LINES:
                break
        if current and len(lines) < self.BODY_LINES:
            lines.append(current)
        elif len(lines) == self.BODY_LINES:
            rest = " ".join(words)
            shown = " ".join(lines)
            if len(shown) < len(rest):
                lines[-1] = metrics.elidedText(lines[-1] + " …", Qt.TextElideMode.ElideRight, width)
        return [line for line in lines if line]

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: ModelIndex) -> None:
        item = index.data(NotificationListModel.NotificationRole)
        model = index.model()
        if not isinstance(item, Notification) or not isinstance(model, NotificationListModel):
            return
        unread = bool(index.data(NotificationListModel.UnreadRole))
        base, bold, small = self._fonts()
        rect: QRect = option.rect
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.fillRect(
            rect, palette.color("accent_soft" if selected else ("unread" if unread else "surface"))
        )
        painter.setPen(QPen(palette.color("grid_line"), 1))
        painter.drawLine(rect.bottomLeft(), rect.bottomRight())
        left = rect.left() + self.PAD + 14
        width = rect.width() - 2 * self.PAD - 14
        y = rect.top() + self.PAD
        if unread:
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(palette.color("accent"))
            painter.drawEllipse(
                QPointF(rect.left() + self.PAD + 3, y + QFontMetrics(bold).height() / 2), 4, 4
            )
        title_font = bold if unread else base
        metrics = QFontMetrics(title_font)
        painter.setFont(title_font)
        painter.setPen(palette.color("text"))
        painter.drawText(
            QRect(left, y, width, metrics.height()),
            Qt.AlignmentFlag.AlignVCenter,
            metrics.elidedText(item.subject, Qt.TextElideMode.ElideRight, width),
        )
        y += QFontMetrics(bold).height() + 4
        small_metrics = QFontMetrics(small)
        painter.setFont(small)
        painter.setPen(palette.color("danger" if item.audience is Audience.OWNER else "accent"))
        audience = f"To the {AUDIENCE_LABELS[item.audience].lower()}"
        painter.drawText(
            QRect(left, y, width, small_metrics.height()), Qt.AlignmentFlag.AlignVCenter, audience
        )
        painter.setPen(palette.color("text_muted"))
        offset = small_metrics.horizontalAdvance(audience + "   ")
        painter.drawText(
            QRect(left + offset, y, max(0, width - offset), small_metrics.height()),
            Qt.AlignmentFlag.AlignVCenter,
            model.when_text(item),
        )
        y += small_metrics.height() + 6
        painter.setFont(base)
        painter.setPen(palette.color("text" if unread else "busy_text"))
        base_metrics = QFontMetrics(base)
        for line in self._body_lines(index, base, self._text_width(option)):
            painter.drawText(
                QRect(left, y, width, base_metrics.height()), Qt.AlignmentFlag.AlignVCenter, line
            )
            y += base_metrics.lineSpacing()
        painter.restore()
