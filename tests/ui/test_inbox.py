"""The alerts bell, the inbox list and tray messages."""

from __future__ import annotations

from datetime import timedelta

import pytest
from PySide6.QtCore import QObject
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QApplication, QSystemTrayIcon

from app.bus import NotificationAdded
from app.domain.ids import NotificationId, new_id
from app.domain.model import Audience, Notification
from app.domain.time import zone
from app.services.container import Services
from tests.ui.business import DEMO_NOW, Business
from tests.ui.conftest import OFFICE
from ui.inbox import NotificationBellButton, NotificationInboxWidget, TrayNotifier, bell_icon
from ui.inbox_list import NotificationListModel, ReadState
from ui.main_window import MainWindow


def add_alert(
    services: Services,
    audience: Audience,
    subject: str,
    minutes_ago: float = 0,
    body: str = "",
    publish: bool = True,
) -> Notification:
    notification = Notification(
        NotificationId(new_id()),
        audience,
        "dispatcher" if audience is Audience.DISPATCHER else "owner@example.com",
        subject,
        body or f"{subject}. Bookings keep working; calendar writes wait in the queue until it recovers.",
        DEMO_NOW - timedelta(minutes=minutes_ago),
    )
    with services.uow() as uow:
        uow.notifications.add(notification)
        uow.commit()
    if publish:
        services.bus.publish(NotificationAdded(notification.id))
    return notification


def test_unread_count_follows_notification_added(qtbot, window: MainWindow) -> None:  # type: ignore[no-untyped-def]
    center, bell = window.alerts, window.bell
    assert bell.count == 0 and bell.badge_text() == ""
    with qtbot.waitSignal(center.unread_changed, timeout=10_000) as signal:
        add_alert(window.services, Audience.DISPATCHER, "Priya Shah's Google calendar is not syncing")
    assert signal.args == [1]
    assert bell.count == 1 and bell.badge_text() == "1"
    with qtbot.waitSignal(center.unread_changed, timeout=10_000) as signal:
        add_alert(window.services, Audience.OWNER, "Sam Whitaker's Outlook calendar still not syncing")
    assert signal.args == [2] and bell.toolTip() == "2 unread alerts"
    # A tech's own message is theirs, not the office's: it does not count here.
    with qtbot.waitSignal(center.alerts_loaded, timeout=10_000):
        add_alert(window.services, Audience.TECH, "Your calendar is back")
    assert bell.count == 2 and center.model.rowCount() == 2


def test_inbox_lists_newest_first_and_marks_read(qtbot, window: MainWindow) -> None:  # type: ignore[no-untyped-def]
    services = window.services
    with qtbot.waitSignal(window.alerts.alerts_loaded, timeout=10_000):
        add_alert(services, Audience.DISPATCHER, "Older alert", minutes_ago=30)
        add_alert(services, Audience.OWNER, "Newer alert", minutes_ago=2)
    qtbot.waitUntil(lambda: window.alerts.model.rowCount() == 2, timeout=10_000)
    inbox = window.open_inbox()
    assert isinstance(inbox, NotificationInboxWidget) and inbox.isVisible()
    model = window.alerts.model
    assert [model.index(r, 0).data() for r in range(2)] == ["Newer alert", "Older alert"]
    assert model.when_text(model.items[1]) == "10:10 · 30 min ago"
    assert inbox.summary.text() == "2 unread"
    with qtbot.waitSignal(window.alerts.unread_changed, timeout=5000) as signal:
        inbox.list.clicked.emit(model.index(0, 0))
    assert signal.args == [1] and window.bell.count == 1
    assert model.index(0, 0).data(NotificationListModel.UnreadRole) is False
    assert model.index(1, 0).data(NotificationListModel.UnreadRole) is True
    with qtbot.waitSignal(window.alerts.unread_changed, timeout=5000) as signal:
        inbox.mark_all_button.click()
    assert signal.args == [0] and window.bell.badge_text() == ""
    assert not inbox.mark_all_button.isEnabled()


def test_alerts_from_before_the_last_day_start_read(qtbot, services: Services, business: Business) -> None:  # type: ignore[no-untyped-def]
    old = add_alert(services, Audience.DISPATCHER, "Last week", minutes_ago=7 * 24 * 60, publish=False)
    recent = add_alert(services, Audience.DISPATCHER, "This morning", minutes_ago=90, publish=False)
    state = ReadState(DEMO_NOW)
    assert state.is_read(old) and not state.is_read(recent)
    state.mark([recent.id])
    assert state.is_read(recent)


def test_empty_inbox_says_so(qtbot, window: MainWindow) -> None:  # type: ignore[no-untyped-def]
    qtbot.waitUntil(lambda: window.worker.pending == 0, timeout=10_000)
    inbox = window.open_inbox()
    assert inbox.stack.currentWidget() is inbox.empty
    assert "No alerts" in inbox.empty.text()
    inbox.close()


def test_the_inbox_model_passes_the_model_tester(  # type: ignore[no-untyped-def]
    qtbot, qtmodeltester, services: Services, styled_app: QApplication
) -> None:
    items = [
        add_alert(services, Audience.OWNER, "Owner alert", minutes_ago=5, publish=False),
        add_alert(services, Audience.DISPATCHER, "Dispatcher alert", minutes_ago=50, publish=False),
    ]
    model = NotificationListModel(ReadState(DEMO_NOW), zone(OFFICE))
    model.set_items(items, DEMO_NOW)
    qtmodeltester.check(model, force_py=True)
    model.mark_read([0])
    qtmodeltester.check(model, force_py=True)
    assert model.unread_count() == 1


def test_no_tray_offscreen_and_nothing_is_created(qtbot, window: MainWindow) -> None:  # type: ignore[no-untyped-def]
    assert not QSystemTrayIcon.isSystemTrayAvailable()
    notifier = window.tray_notifier
    assert notifier.tray is None and not notifier.available
    assert window.findChildren(QSystemTrayIcon) == []
    with qtbot.waitSignal(window.alerts.alert_arrived, timeout=10_000) as signal:
        add_alert(window.services, Audience.DISPATCHER, "Priya Shah's Google calendar is not syncing")
    assert notifier.notify(signal.args[0]) is False


class RecordingTrayIcon(QSystemTrayIcon):
    """A tray icon that records its messages instead of asking the desktop to show them."""

    def __init__(self, parent: QObject) -> None:
        super().__init__(bell_icon(), parent)
        self.messages: list[tuple[str, str, QSystemTrayIcon.MessageIcon]] = []
        self.shown = False

    def show(self) -> None:  # type: ignore[override]
        self.shown = True

    def showMessage(self, title: str, body: str, icon: object = None, msecs: int = 10000) -> None:  # type: ignore[override]
        assert isinstance(icon, QSystemTrayIcon.MessageIcon)
        self.messages.append((title, body, icon))


def test_tray_messages_where_a_tray_exists(  # type: ignore[no-untyped-def]
    qtbot, monkeypatch: pytest.MonkeyPatch, services: Services, styled_app: QApplication
) -> None:
    monkeypatch.setattr(QSystemTrayIcon, "isSystemTrayAvailable", staticmethod(lambda: True))
    made: list[RecordingTrayIcon] = []

    def factory(owner: QObject) -> QSystemTrayIcon:
        made.append(RecordingTrayIcon(owner))
        return made[-1]

    notifier = TrayNotifier(factory=factory)
    assert notifier.available and made[0].shown
    owner_alert = add_alert(services, Audience.OWNER, "Calendar down for 2 h", publish=False)
    dispatcher_alert = add_alert(services, Audience.DISPATCHER, "Calendar down for 30 min", publish=False)
    assert notifier.notify(owner_alert) and notifier.notify(dispatcher_alert)
    assert [(t, i) for t, _b, i in made[0].messages] == [
        ("Calendar down for 2 h", QSystemTrayIcon.MessageIcon.Warning),
        ("Calendar down for 30 min", QSystemTrayIcon.MessageIcon.Information),
    ]
    notifier.close()


def test_new_alerts_reach_the_tray_once(  # type: ignore[no-untyped-def]
    qtbot, monkeypatch: pytest.MonkeyPatch, window: MainWindow
) -> None:
    made: list[RecordingTrayIcon] = []
    monkeypatch.setattr(QSystemTrayIcon, "isSystemTrayAvailable", staticmethod(lambda: True))
    notifier = TrayNotifier(window, factory=lambda owner: made.append(RecordingTrayIcon(owner)) or made[-1])
    window.alerts.alert_arrived.connect(notifier.notify)
    with qtbot.waitSignal(window.alerts.alerts_loaded, timeout=10_000):
        add_alert(window.services, Audience.DISPATCHER, "First")
    with qtbot.waitSignal(window.alerts.alerts_loaded, timeout=10_000):
        add_alert(window.services, Audience.OWNER, "Second")
    assert [m[0] for m in made[0].messages] == ["First", "Second"]


def test_the_bell_paints_its_badge(qtbot, styled_app: QApplication) -> None:  # type: ignore[no-untyped-def]
    bell = NotificationBellButton()
    qtbot.addWidget(bell)
    bell.resize(bell.sizeHint())
    plain = bell.grab().toImage()
    bell.set_count(7)
    badged = bell.grab().toImage()
    red = QColor("#d92d20")

    def reds(image) -> int:  # type: ignore[no-untyped-def]
        return sum(
            1
            for x in range(image.width())
            for y in range(image.height())
            if abs(image.pixelColor(x, y).red() - red.red()) < 20
            and abs(image.pixelColor(x, y).green() - red.green()) < 20
        )

    assert reds(plain) == 0 and reds(badged) > 20
    bell.set_count(120)
    assert bell.badge_text() == "99+"
