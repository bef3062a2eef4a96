"""Where calendar settings open from: Technicians ▸ Calendar settings…, and the tech's name on the board.

Double-clicking a technician's name in the board's left column, or right-clicking it, opens that
tech's settings. The composition root calls `attach_calendar_settings` once with its
`ConnectionSetup` (how to build sign-ins, the sandbox, the sync engine).
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QPoint, Qt
from PySide6.QtGui import QAction, QContextMenuEvent, QMouseEvent
from PySide6.QtWidgets import QMenu
from shiboken6 import isValid

from app.domain.ids import TechId
from ui.board.scene import GUTTER
from ui.main_window import MainWindow
from ui.settings.dialog import CalendarSettingsDialog
from ui.signin import ConnectionSetup

SETTINGS_PROPERTY = "calendarSettings"


def open_calendar_settings(
    window: MainWindow, setup: ConnectionSetup, tech_id: TechId | None = None
) -> CalendarSettingsDialog | None:
    """Open (or bring forward) the calendar settings for `tech_id`, or the selected job's tech."""
    techs = window.techs()
    if not techs:
        window.show_info("Add a technician first: Technicians ▸ Add technician.")
        return None
    if tech_id is None:
        selected = window.board.selected_booking
        booking = next(
            (
                b
                for row in (window.snapshot.rows if window.snapshot else [])
                for b in row.bookings
                if b.id == selected
            ),
            None,
        )
        tech_id = booking.tech_id if booking is not None else None
    current = getattr(window, "_calendar_settings", None)
    if isinstance(current, CalendarSettingsDialog) and isValid(current):
        current.close()
    dialog = CalendarSettingsDialog(window.services, window.worker, setup, techs, tech_id, window)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.saved.connect(lambda text: window.statusBar().showMessage(text, 6000))
    window._calendar_settings = dialog  # type: ignore[attr-defined]
    dialog.show()
    return dialog


def tech_at(window: MainWindow, pos: QPoint) -> TechId | None:
    """The tech whose name is at `pos` in the board's viewport (the left column), if any."""
    board = window.board
    layout = board.board_layout
    if layout is None or pos.x() >= GUTTER or pos.y() < board.header_height:
        return None
    row = layout.row_at(board.to_content(pos).y())
    return row.tech_id if row is not None else None


class _GutterWatcher(QObject):
    """Turns a double-click or right-click on a tech's name into their calendar settings."""

    def __init__(self, window: MainWindow, setup: ConnectionSetup) -> None:
        super().__init__(window)
        self._window = window
        self._setup = setup

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        kind = event.type()
        if kind == QEvent.Type.MouseButtonDblClick and isinstance(event, QMouseEvent):
            if event.button() == Qt.MouseButton.LeftButton:
                tech_id = tech_at(self._window, event.position().toPoint())
                if tech_id is not None:
                    open_calendar_settings(self._window, self._setup, tech_id)
                    return True
        elif kind == QEvent.Type.ContextMenu and isinstance(event, QContextMenuEvent):
            tech_id = tech_at(self._window, event.pos())
            if tech_id is not None:
                self.tech_menu(tech_id).popup(event.globalPos())
                return True
        return False

    def tech_menu(self, tech_id: TechId) -> QMenu:
        menu = QMenu(self._window)
        menu.setObjectName("techContextMenu")
        menu.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        tech = next((t for t in self._window.techs() if t.id == tech_id), None)
        title = menu.addAction(tech.name if tech else "Technician")
        title.setEnabled(False)
        menu.addSeparator()
        settings = menu.addAction("Calendar settings…")
        settings.triggered.connect(lambda: open_calendar_settings(self._window, self._setup, tech_id))
        return menu


def _technicians_menu(window: MainWindow) -> QMenu | None:
    for action in window.menuBar().actions():
        menu = action.menu()
        if isinstance(menu, QMenu) and menu.title().replace("&", "") == "Technicians":
            return menu
    return None


def attach_calendar_settings(window: MainWindow, setup: ConnectionSetup) -> QAction:
    """Add Technicians ▸ Calendar settings… and the board's tech-name shortcuts to `window`."""
    action = QAction("&Calendar settings…", window)
    action.setObjectName("calendarSettingsAction")
    action.setToolTip("Connect a technician's Google or Outlook calendar and choose what blocks their time")
    action.triggered.connect(lambda: open_calendar_settings(window, setup))
    menu = _technicians_menu(window)
    if menu is None:
        menu = window.menuBar().addMenu("&Technicians")
    menu.addSeparator()
    menu.addAction(action)
    watcher = _GutterWatcher(window, setup)
    window.board.viewport().installEventFilter(watcher)
    window._gutter_watcher = watcher  # type: ignore[attr-defined]
    window.calendar_settings_action = action  # type: ignore[attr-defined]
    return action
