"""Where the first run shows: over the empty board of a store with no technicians.

The composition root calls `attach_first_run` once with what only it can do (start the demo as its
own program, save the office store's address, open a tech's calendar settings). The welcome panel
covers the board while the board has no technicians and steps aside when the first one arrives,
whoever added them (this window, the CLI, another desk).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMenu, QWidget

from app.domain.ids import TechId
from app.domain.model import Technician
from ui.first_run.office_dialog import OfficeStoreDialog, SaveStore
from ui.first_run.panel import FirstRunPanel
from ui.first_run.techs_dialog import AddTechniciansDialog
from ui.main_window import MainWindow


@dataclass(frozen=True, slots=True)
class FirstRunActions:
    start_demo: Callable[[], None]  # raises OSError when the demo program cannot be started
    save_store: SaveStore
    open_calendar: Callable[[TechId], object]


class FirstRun(QObject):
    """Keeps the welcome panel over the board exactly while the board has no technicians."""

    def __init__(self, window: MainWindow, actions: FirstRunActions) -> None:
        super().__init__(window)
        self._window = window
        self._actions = actions
        self.panel = FirstRunPanel(window.board)
        self.panel.hide()
        self.panel.demo_requested.connect(self._on_panel_demo_requested)
        self.panel.add_techs_requested.connect(self.open_add_technicians)
        self.panel.office_requested.connect(self.open_office_store)
        window.board.installEventFilter(self)
        window.snapshot_applied.connect(self._on_window_snapshot_applied)
        self.dialog: QWidget | None = None
        # The same dialog stays at hand after the first run: a new crew joins several at a time.
        self.add_several_action = QAction("Add &several technicians…", window)
        self.add_several_action.setObjectName("addSeveralTechniciansAction")
        self.add_several_action.triggered.connect(self.open_add_technicians)
        menu = _technicians_menu(window)
        if menu is not None:
            menu.addAction(self.add_several_action)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self._window.board and event.type() == QEvent.Type.Resize:
            self.panel.setGeometry(self._window.board.rect())
        return False

    def _on_window_snapshot_applied(self) -> None:
        empty = self._window.snapshot is not None and not self._window.techs()
        if empty and not self.panel.isVisible():
            self.panel.setGeometry(self._window.board.rect())
            self.panel.show()
            self.panel.raise_()
        elif not empty and self.panel.isVisible():
            self.panel.hide()

    def _on_panel_demo_requested(self) -> None:
        try:
            self._actions.start_demo()
        except OSError as error:
            self._window.show_error(f"The demo could not be started ({error.strerror or error}).")
            return
        self._window.show_info("The demo opens in a window of its own in a few seconds.")

    def open_add_technicians(self) -> AddTechniciansDialog:
        window = self._window
        dialog = AddTechniciansDialog(
            window.services, window.worker, window.office_zone_name, window.techs(), window
        )
        dialog.added.connect(self._on_dialog_added)
        dialog.connect_requested.connect(lambda tech_id: self._actions.open_calendar(TechId(tech_id)))
        self._open(dialog)
        return dialog

    def open_office_store(self) -> OfficeStoreDialog:
        dialog = OfficeStoreDialog(self._actions.save_store, self._window)
        dialog.saved.connect(self._window.show_info)
        self._open(dialog)
        return dialog

    def _on_dialog_added(self, techs: list[Technician]) -> None:
        names = ", ".join(t.name for t in techs)
        self._window.statusBar().showMessage(f"Added {names}.", 6000)  # the bus refreshes the board

    def _open(self, dialog: QWidget) -> None:
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.destroyed.connect(lambda: setattr(self, "dialog", None))
        self.dialog = dialog
        dialog.show()


def _technicians_menu(window: MainWindow) -> QMenu | None:
    for action in window.menuBar().actions():
        menu = action.menu()
        if isinstance(menu, QMenu) and menu.title().replace("&", "") == "Technicians":
            return menu
    return None


def attach_first_run(window: MainWindow, actions: FirstRunActions) -> FirstRun:
    first_run = FirstRun(window, actions)
    window.first_run = first_run  # type: ignore[attr-defined]
    return first_run
