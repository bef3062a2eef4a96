"""The window's sync side: the conflicts dock beside the tray, the alerts bell and its inbox, the
tray notifier, and View ▸ Conflicts / Sync health."""

from __future__ import annotations

from datetime import tzinfo

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QDockWidget, QMainWindow, QMenu, QToolBar

from app.services.container import Services
from ui.bridge import BusBridge
from ui.conflicts.panel import ConflictsPanelWidget
from ui.health_panel import SyncHealthDialog
from ui.inbox import NotificationBellButton, NotificationCenter, NotificationInboxWidget, TrayNotifier
from ui.worker import DatabaseWorker


class SyncPanels(QObject):
    """Builds the sync panels into `window` and opens them on demand; `stop` before the worker goes."""

    def __init__(
        self,
        window: QMainWindow,
        services: Services,
        worker: DatabaseWorker,
        bridge: BusBridge,
        office: tzinfo,
        beside: QDockWidget,
        toolbar: QToolBar,
        view_menu: QMenu,
    ) -> None:
        super().__init__(window)
        self._window = window
        self._services = services
        self._worker = worker
        self._bridge = bridge
        self._office = office
        self.conflicts_panel = ConflictsPanelWidget(services, worker, bridge, office, window)
        dock = QDockWidget("Conflicts", window)
        dock.setObjectName("conflictsDock")
        dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable)
        dock.setWidget(self.conflicts_panel)
        window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
        window.tabifyDockWidget(beside, dock)
        beside.raise_()
        self.conflicts_dock = dock
        self.conflicts_panel.message_shown.connect(lambda text: window.statusBar().showMessage(text, 6000))
        self.conflicts_panel.count_changed.connect(
            lambda count: dock.setWindowTitle(f"Conflicts ({count})" if count else "Conflicts")
        )
        self.conflicts_action = QAction("&Conflicts", window)
        self.conflicts_action.setShortcut(QKeySequence("Ctrl+Shift+C"))
        self.conflicts_action.triggered.connect(self.show_conflicts)
        self.health_action = QAction("Sync &health…", window)
        self.health_action.triggered.connect(self.open_sync_health)
        self.alerts = NotificationCenter(services, worker, bridge, office, window)
        self.tray_notifier = TrayNotifier(window)
        self.alerts.alert_arrived.connect(self.tray_notifier.notify)
        self.bell = NotificationBellButton(window)
        self.bell.clicked.connect(self.open_inbox)
        self.alerts.unread_changed.connect(self.bell.set_count)
        toolbar.addSeparator()
        toolbar.addWidget(self.bell)
        view_menu.addSeparator()
        view_menu.addAction(self.conflicts_action)
        view_menu.addAction(self.health_action)
        self._health_dialog: SyncHealthDialog | None = None
        self._inbox: NotificationInboxWidget | None = None

    def stop(self) -> None:
        """No more loading: the window is closing and its worker is about to go."""
        self.conflicts_panel.stop()
        self.alerts.stop()
        self.tray_notifier.close()
        if self._health_dialog is not None:
            self._health_dialog.stop()

    def show_conflicts(self) -> None:
        self.conflicts_dock.show()
        self.conflicts_dock.raise_()
        self.conflicts_panel.show_resolved(False)

    def open_sync_health(self) -> SyncHealthDialog:
        if self._health_dialog is None:
            dialog = SyncHealthDialog(self._services, self._worker, self._bridge, self._office, self._window)
            dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
            dialog.destroyed.connect(self._on_health_dialog_destroyed)
            self._health_dialog = dialog
        self._health_dialog.show()
        self._health_dialog.raise_()
        return self._health_dialog

    def open_inbox(self) -> NotificationInboxWidget:
        if self._inbox is None:
            self._inbox = NotificationInboxWidget(self.alerts, self._window)
        self._inbox.show_below(self.bell)
        return self._inbox

    def _on_health_dialog_destroyed(self) -> None:
        self._health_dialog = None
