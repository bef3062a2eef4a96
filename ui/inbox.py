"""The notifications inbox: a bell with the unread count, a list of alerts, and tray messages.

Alerts for the dispatcher and the owner (sync outages, conflicts, recoveries) are read through
SyncOutcomeQueries on the database worker, again whenever NotificationAdded arrives. Read state
lives in memory for this session only: no service stores it yet. So that a restart does not flood
the dispatcher, alerts older than `UNREAD_WINDOW` at start count as read.

Where the desktop has a system tray, each alert that arrives while the window is open is also
shown as a tray message; the offscreen platform (and some desktops) have none, and then nothing
is created at all.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import tzinfo

from PySide6.QtCore import (
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QPoint,
    QPointF,
    QRectF,
    QSize,
    Qt,
    Signal,
)
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontMetrics,
    QIcon,
    QPainter,
    QPainterPath,
    QPaintEvent,
    QPen,
    QPixmap,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFrame,
    QHBoxLayout,
    QListView,
    QPushButton,
    QStackedWidget,
    QSystemTrayIcon,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.domain.ids import NotificationId
from app.domain.model import Audience, Notification
from app.services.container import Services
from app.services.sync_outcomes import SyncOutcomeQueries
from ui.bridge import BusBridge
from ui.inbox_list import NotificationDelegate, NotificationListModel, ReadState
from ui.loading import LatestLoader
from ui.plain import PlainLabel
from ui.resources import palette, stylesheet
from ui.worker import DatabaseWorker

REFRESH_DELAY_MS = 60
TRAY_MESSAGE_MS = 10_000
ModelIndex = QModelIndex | QPersistentModelIndex


def bell_icon(color: str = palette.hex("text"), size: int = 20) -> QIcon:
    """A bell drawn with paths, so it needs no icon theme and looks the same everywhere."""
    pixmap = QPixmap(size * 2, size * 2)
    pixmap.setDevicePixelRatio(2.0)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    paint_bell(painter, QRectF(0, 0, size, size), QColor(color))
    painter.end()
    return QIcon(pixmap)


def paint_bell(painter: QPainter, box: QRectF, color: QColor) -> None:
    painter.save()
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    w, h = box.width(), box.height()
    x, y = box.left(), box.top()
    path = QPainterPath()
    path.moveTo(x + w * 0.5, y + h * 0.12)
    path.cubicTo(x + w * 0.26, y + h * 0.12, x + w * 0.24, y + h * 0.34, x + w * 0.24, y + h * 0.5)
    path.lineTo(x + w * 0.24, y + h * 0.64)
    path.lineTo(x + w * 0.14, y + h * 0.76)
    path.lineTo(x + w * 0.86, y + h * 0.76)
    path.lineTo(x + w * 0.76, y + h * 0.64)
    path.lineTo(x + w * 0.76, y + h * 0.5)
    path.cubicTo(x + w * 0.76, y + h * 0.34, x + w * 0.74, y + h * 0.12, x + w * 0.5, y + h * 0.12)
    painter.setPen(
        QPen(
            color, max(1.2, w / 12), Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap, Qt.PenJoinStyle.RoundJoin
        )
    )
    painter.setBrush(Qt.BrushStyle.NoBrush)
    painter.drawPath(path)
    painter.setBrush(color)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.drawEllipse(QPointF(x + w * 0.5, y + h * 0.86), w * 0.09, w * 0.09)
    painter.restore()


# --- the tray ----------------------------------------------------------------------------------


TrayFactory = Callable[[QObject], QSystemTrayIcon]


class TrayNotifier(QObject):
    """Shows alerts as tray messages where the desktop has a tray; does nothing where it has none."""

    def __init__(self, parent: QObject | None = None, factory: TrayFactory | None = None) -> None:
        super().__init__(parent)
        self.tray: QSystemTrayIcon | None = None
        if not QSystemTrayIcon.isSystemTrayAvailable():
            return
        make = factory or (lambda owner: QSystemTrayIcon(bell_icon(palette.hex("accent"), 32), owner))
        self.tray = make(self)
        self.tray.setToolTip("Crewboard")
        self.tray.show()

    @property
    def available(self) -> bool:
        return self.tray is not None

    def notify(self, notification: Notification) -> bool:
        """Show one alert; False when there is no tray to show it in."""
        if self.tray is None:
            return False
        icon = (
            QSystemTrayIcon.MessageIcon.Warning
            if notification.audience is Audience.OWNER
            else QSystemTrayIcon.MessageIcon.Information
        )
        self.tray.showMessage(notification.subject, notification.body, icon, TRAY_MESSAGE_MS)
        return True

    def close(self) -> None:
        if self.tray is not None:
            self.tray.hide()


# --- the inbox ---------------------------------------------------------------------------------


class NotificationCenter(QObject):
    """Keeps the alert list fresh. `unread_changed(count)` after each change of the unread count,
    `alerts_loaded` after every refresh, `alert_arrived(notification)` for each alert that was not
    there at the previous refresh (never for what was already there at start)."""

    unread_changed = Signal(int)
    alerts_loaded = Signal()
    alert_arrived = Signal(Notification)

    def __init__(
        self,
        services: Services,
        worker: DatabaseWorker,
        bridge: BusBridge,
        tz: tzinfo,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._services = services
        self._queries = SyncOutcomeQueries(services.uow, services.clock)
        self.read = ReadState(services.clock.now())
        self.model = NotificationListModel(self.read, tz, self)
        self._seen: set[NotificationId] | None = None
        self._unread = 0
        self._loader = LatestLoader(
            worker, self._queries.inbox, self._on_inbox_loaded, REFRESH_DELAY_MS, self
        )
        bridge.notification_added.connect(self._on_bridge_notification_added)
        self.model.dataChanged.connect(self._on_model_data_changed)
        self.refresh()

    @property
    def unread(self) -> int:
        return self._unread

    def stop(self) -> None:
        """No more loading: the window is closing and its worker is gone."""
        self._loader.stop()

    def refresh(self) -> None:
        self._loader.load()

    def mark_read(self, rows: Sequence[int]) -> None:
        self.model.mark_read(rows)

    def mark_all_read(self) -> None:
        self.model.mark_all_read()

    def _on_bridge_notification_added(self, _event: object) -> None:
        self._loader.schedule()

    def _on_inbox_loaded(self, items: list[Notification]) -> None:
        first = self._seen is None
        fresh = [] if first else [n for n in items if n.id not in (self._seen or set())]
        self._seen = {n.id for n in items}
        self.model.set_items(items, self._services.clock.now())
        self._announce_unread()
        for notification in reversed(fresh):  # oldest first, as they happened
            self.alert_arrived.emit(notification)
        self.alerts_loaded.emit()

    def _on_model_data_changed(self, *_args: object) -> None:
        self._announce_unread()

    def _announce_unread(self) -> None:
        count = self.model.unread_count()
        if count != self._unread:
            self._unread = count
            self.unread_changed.emit(count)


class NotificationBellButton(QToolButton):
    """The toolbar bell; a red badge carries the unread count."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("notificationBell")
        self.setIcon(bell_icon())
        self.setIconSize(QSize(18, 18))
        self.setText("Alerts")
        self.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self._count = 0
        self.set_count(0)

    @property
    def count(self) -> int:
        return self._count

    def badge_text(self) -> str:
        return "" if not self._count else ("99+" if self._count > 99 else str(self._count))

    def set_count(self, count: int) -> None:
        self._count = count
        self.setToolTip(
            f"{count} unread alert{'s' if count != 1 else ''}" if count else "Alerts: nothing unread"
        )
        self.setAccessibleName(f"Alerts, {count} unread")
        # Room for the badge right after the text, inside the button's own padding.
        self.setStyleSheet(f"QToolButton {{ padding-right: {self._badge_room()}px; }}" if count else "")
        self.updateGeometry()
        self.update()

    def _badge_font(self) -> QFont:
        font = QFont(self.font())
        font.setPointSizeF(max(7.0, font.pointSizeF() - 2))
        font.setWeight(QFont.Weight.Bold)
        return font

    def _badge_size(self) -> tuple[float, float]:
        metrics = QFontMetrics(self._badge_font())
        height = metrics.height() + 2
        return max(height, metrics.horizontalAdvance(self.badge_text()) + 10), height

    def _badge_room(self) -> int:
        return int(self._badge_size()[0]) + 16

    def paintEvent(self, event: QPaintEvent) -> None:
        super().paintEvent(event)
        text = self.badge_text()
        if not text:
            return
        painter = QPainter(self)
        try:
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            font = self._badge_font()
            width, height = self._badge_size()
            badge = QRectF(self.width() - self._badge_room() + 4, (self.height() - height) / 2, width, height)
            painter.setPen(QPen(palette.color("surface"), 1.5))
            painter.setBrush(palette.color("danger"))
            painter.drawRoundedRect(badge, height / 2, height / 2)
            painter.setFont(font)
            painter.setPen(palette.color("on_accent"))
            painter.drawText(badge, Qt.AlignmentFlag.AlignCenter, text)
        finally:
            painter.end()


class NotificationInboxWidget(QFrame):
    """The list of alerts that drops down from the bell. Clicking an alert marks it read."""

    def __init__(self, center: NotificationCenter, parent: QWidget | None = None) -> None:
        super().__init__(parent, Qt.WindowType.Popup)
        self.setObjectName("notificationInbox")
        self.setStyleSheet(stylesheet("inbox"))
        self._center = center
        title = PlainLabel("Alerts", self)
        title.setObjectName("sectionTitle")
        self.summary = PlainLabel("", self)
        self.summary.setObjectName("hint")
        self.mark_all_button = QPushButton("Mark all read", self)
        self.mark_all_button.clicked.connect(center.mark_all_read)
        header = QHBoxLayout()
        header.setContentsMargins(14, 10, 10, 8)
        header.setSpacing(10)
        header.addWidget(title)
        header.addWidget(self.summary)
        header.addStretch(1)
        header.addWidget(self.mark_all_button)
        self.list = QListView(self)
        self.list.setObjectName("notificationList")
        self.list.setModel(center.model)
        self.list.setItemDelegate(NotificationDelegate(self.list))
        self.list.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.list.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.list.clicked.connect(self._on_list_clicked)
        self.empty = PlainLabel(
            "No alerts.\nSync trouble and conflicts that need you are reported here.", self
        )
        self.empty.setObjectName("emptyState")
        self.empty.setWordWrap(True)
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.stack = QStackedWidget(self)
        self.stack.addWidget(self.list)
        self.stack.addWidget(self.empty)
        note = PlainLabel("Read marks are kept until Crewboard closes.", self)
        note.setObjectName("hint")
        note.setContentsMargins(14, 6, 14, 8)
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(0)
        column.addLayout(header)
        column.addWidget(self.stack, 1)
        column.addWidget(note)
        self.resize(440, 520)
        center.alerts_loaded.connect(self._update)
        center.unread_changed.connect(self._update)
        self._update()

    def _update(self, *_args: object) -> None:
        model = self._center.model
        self.stack.setCurrentWidget(self.list if model.rowCount() else self.empty)
        unread = model.unread_count()
        self.summary.setText(f"{unread} unread" if unread else "")
        self.mark_all_button.setEnabled(unread > 0)

    def _on_list_clicked(self, index: QModelIndex) -> None:
        if index.isValid():
            self._center.mark_read([index.row()])

    def show_below(self, anchor: QWidget) -> None:
        """Open under `anchor`, right-aligned with it, kept on its screen."""
        corner = anchor.mapToGlobal(QPoint(anchor.width(), anchor.height() + 4))
        x = corner.x() - self.width()
        screen = anchor.screen().availableGeometry()
        x = max(screen.left(), min(x, screen.right() - self.width()))
        self.move(x, corner.y())
        self.show()
        self.list.setFocus()
