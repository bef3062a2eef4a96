"""Where calendar settings open from: Technicians ▸ Calendar settings…, and the tech's name on the board.

Double-clicking a technician's name in the board's left column, or right-clicking it, opens that
tech's settings. The composition root calls `attach_calendar_settings` once with its
`ConnectionSetup` (how to build sign-ins, the sandbox, the sync engine); the window offers the
seams (`add_technician_action`, the board's `tech_activated` and `tech_menu_requested`).
"""

from __future__ import annotations

from PySide6.QtCore import QObject, QPoint, Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMenu
from shiboken6 import isValid

from app.domain.ids import TechId
from ui.main_window import MainWindow
from ui.settings.dialog import CalendarSettingsDialog
from ui.settings.office_dialog import OfficeSettingsDialog
from ui.signin import ConnectionSetup


class CalendarSettingsEntry(QObject):
    """The ways into a tech's calendar settings from `window`, and the settings dialog open now."""

    def __init__(self, window: MainWindow, setup: ConnectionSetup) -> None:
        super().__init__(window)
        self._window = window
        self._setup = setup
        self._dialog: CalendarSettingsDialog | None = None
        self._office: OfficeSettingsDialog | None = None
        self.action = QAction("&Calendar settings…", window)
        self.action.setObjectName("calendarSettingsAction")
        self.action.setToolTip(
            "Connect a technician's Google or Outlook calendar and choose what blocks their time"
        )
        self.action.triggered.connect(self._on_action_triggered)
        self.office_action = QAction("&Office settings…", window)
        self.office_action.setObjectName("officeSettingsAction")
        self.office_action.setToolTip("The office's number for techs, and colour on Outlook")
        self.office_action.triggered.connect(self._on_office_action_triggered)
        window.board.tech_activated.connect(self._on_board_tech_activated)
        window.board.tech_menu_requested.connect(self._on_board_tech_menu_requested)

    @property
    def dialog(self) -> CalendarSettingsDialog | None:
        """The settings dialog open now, if any."""
        return self._dialog if self._dialog is not None and isValid(self._dialog) else None

    def open(self, tech_id: TechId | None = None) -> CalendarSettingsDialog | None:
        """Open (or bring forward) the calendar settings for `tech_id`, or the selected job's tech."""
        window = self._window
        techs = window.techs()
        if not techs:
            window.show_info("Add a technician first: Technicians ▸ Add technician.")
            return None
        if tech_id is None:
            selected = window.board.selected_booking
            rows = window.snapshot.rows if window.snapshot else []
            booking = next((b for row in rows for b in row.bookings if b.id == selected), None)
            tech_id = booking.tech_id if booking is not None else None
        current = self.dialog
        if current is not None:
            current.close()
        dialog = CalendarSettingsDialog(window.services, window.worker, self._setup, techs, tech_id, window)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.saved.connect(lambda text: window.statusBar().showMessage(text, 6000))
        self._dialog = dialog
        dialog.show()
        return dialog

    @property
    def office_dialog(self) -> OfficeSettingsDialog | None:
        """The office settings open now, if any."""
        return self._office if self._office is not None and isValid(self._office) else None

    def open_office(self) -> OfficeSettingsDialog:
        """Open (or bring forward) Technicians ▸ Office settings…."""
        current = self.office_dialog
        if current is not None:
            current.raise_()
            current.activateWindow()
            return current
        window = self._window
        dialog = OfficeSettingsDialog(window.services, window.worker, window)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.saved.connect(lambda text: window.statusBar().showMessage(text, 6000))
        self._office = dialog
        dialog.show()
        return dialog

    def _on_office_action_triggered(self) -> None:
        self.open_office()

    def tech_menu(self, tech_id: TechId) -> QMenu:
        """The right-click menu on a tech's name: their name, then Calendar settings…."""
        menu = QMenu(self._window)
        menu.setObjectName("techContextMenu")
        menu.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        tech = next((t for t in self._window.techs() if t.id == tech_id), None)
        title = menu.addAction(tech.name if tech else "Technician")
        title.setEnabled(False)
        menu.addSeparator()
        settings = menu.addAction("Calendar settings…")
        settings.triggered.connect(lambda: self.open(tech_id))
        return menu

    def _on_action_triggered(self) -> None:
        self.open()

    def _on_board_tech_activated(self, tech_id: str) -> None:
        self.open(TechId(tech_id))

    def _on_board_tech_menu_requested(self, tech_id: str, at: QPoint) -> None:
        self.tech_menu(TechId(tech_id)).popup(at)


def attach_calendar_settings(window: MainWindow, setup: ConnectionSetup) -> CalendarSettingsEntry:
    """Add Technicians ▸ Calendar settings…, Office settings… and the board's tech-name shortcuts to `window`."""
    entry = CalendarSettingsEntry(window, setup)
    window.add_technician_action(entry.action)
    window.add_technician_action(entry.office_action)
    return entry


def open_calendar_settings(
    window: MainWindow, setup: ConnectionSetup, tech_id: TechId | None = None
) -> CalendarSettingsDialog | None:
    """Open the calendar settings for `tech_id` (or the selected job's tech) through the window's
    entry, attaching one first if the window has none."""
    entry = window.findChild(CalendarSettingsEntry) or attach_calendar_settings(window, setup)
    return entry.open(tech_id)
