"""MainWindow: the dispatch board with its date navigator, the unassigned tray and the menus.

The window owns the database worker and the bus bridge. It asks BoardService for a snapshot of
the shown period on the worker; change events are loaded as deltas of the techs they concern, or
in full at most once a second (`ui.board_refresh`).
"""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta, tzinfo

from PySide6.QtCore import QModelIndex, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QActionGroup, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QMainWindow,
    QVBoxLayout,
    QWidget,
)

from app.domain.ids import BookingId, TechId
from app.domain.model import Booking, Technician
from app.domain.time import zone
from app.services.board import BoardSnapshot
from app.services.container import Services
from ui.board.layout import BoardMode, board_window, period_start
from ui.board.undo_notice import UndoNoticeWidget
from ui.board.view import BoardView
from ui.board_edits import BoardEdits, find_booking
from ui.board_refresh import BoardRefresher, Shown
from ui.board_status import calendars_text, summary_text
from ui.booking_editor import BookingEditorDialog, describe_booking
from ui.bridge import BusBridge
from ui.conflicts.revealer import BoardRevealer
from ui.dialogs import FindSlotDialog, TechnicianDialog, TimeOffDialog
from ui.health_panel import SyncHealthDialog
from ui.inbox import NotificationInboxWidget
from ui.models import TechRowsModel, UnassignedJobsModel
from ui.navigation_bar import NavigationBar
from ui.plain import PlainLabel
from ui.service_types_dialog import ServiceTypesDialog
from ui.sync_panels import SyncPanels
from ui.unassigned_tray import UnassignedTrayDock
from ui.widgets import MessageBanner
from ui.window_dialogs import WindowDialogs
from ui.worker import DatabaseWorker

log = logging.getLogger(__name__)

NOW_TICK_MS = 30_000


class MainWindow(QMainWindow):
    """The dispatcher's window. `snapshot_applied` fires each time the board shows fresh data."""

    snapshot_applied = Signal()
    closed = Signal()

    def __init__(
        self,
        services: Services,
        office_zone: str,
        title_suffix: str = "",
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.services = services
        self.office_zone_name = office_zone
        self.office: tzinfo = zone(self.office_zone_name)
        self.setWindowTitle("Crewboard" + (f" — {title_suffix}" if title_suffix else ""))
        self.setObjectName("mainWindow")
        self.worker = DatabaseWorker(self)
        self.bridge = BusBridge(services.bus, self)
        self._mode = BoardMode.DAY
        self._anchor: date = services.clock.now().astimezone(self.office).date()
        self._closing = False

        self.tech_model = TechRowsModel(parent=self)
        self.unassigned_model = UnassignedJobsModel(self.office, self)

        self.board = BoardView(self.office, self)
        self.banner = MessageBanner(self)
        central = QWidget(self)
        column = QVBoxLayout(central)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(0)
        banner_box = QWidget(central)
        banner_layout = QVBoxLayout(banner_box)
        banner_layout.setContentsMargins(10, 8, 10, 0)
        banner_layout.addWidget(self.banner)
        banner_box.setVisible(False)
        self.banner.dismissed.connect(lambda: banner_box.setVisible(False))
        self._banner_box = banner_box
        column.addWidget(banner_box)
        column.addWidget(self.board, 1)
        self.setCentralWidget(central)

        self.tray_dock = UnassignedTrayDock(self.unassigned_model, self)
        self.tray = self.tray_dock.tray
        self.tray_empty = self.tray_dock.tray_empty
        self.tray.doubleClicked.connect(self._on_tray_double_clicked)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.tray_dock)
        self.edits = BoardEdits(services, self.worker, self.office, lambda: self._snapshot, self)
        self.edits.change_recorded.connect(self._on_edits_change_recorded)
        self.undo_stack = self.edits.undo_stack
        self.dialogs = WindowDialogs(self, self)
        self._build_actions()
        self._build_toolbar()
        self._build_menus()
        self._build_status_bar()
        self._build_sync_panels()

        self.worker.error_reported.connect(self._on_worker_error_reported)
        self.worker.failure_reported.connect(self._on_worker_error_reported)
        self.bridge.board_changed.connect(self._on_bridge_board_changed)
        self.board.booking_dropped.connect(self._on_board_booking_dropped)
        self.board.booking_activated.connect(self._on_board_booking_activated)
        self.board.empty_slot_activated.connect(self._on_board_empty_slot_activated)
        self.board.cancel_requested.connect(self._on_board_cancel_requested)
        self.board.selection_changed.connect(self._on_board_selection_changed)

        self.refresher = BoardRefresher(
            self.worker, services.board, self._shown, self._on_snapshot_loaded, parent=self
        )
        self._now_timer = QTimer(self)
        self._now_timer.setInterval(NOW_TICK_MS)
        self._now_timer.timeout.connect(self._on_now_timer_timeout)
        self._now_timer.start()
        self.board.set_now(services.clock.now())
        self._sync_navigator()
        self.refresh()

    # --- construction ------------------------------------------------------------------------------

    def _build_actions(self) -> None:
        self.quit_action = QAction("&Quit", self)
        self.quit_action.setShortcut(QKeySequence.StandardKey.Quit)
        self.quit_action.triggered.connect(self.close)
        self.day_action = QAction("&Day", self)
        self.day_action.setCheckable(True)
        self.day_action.setShortcut(QKeySequence("Ctrl+1"))
        self.week_action = QAction("&Week", self)
        self.week_action.setCheckable(True)
        self.week_action.setShortcut(QKeySequence("Ctrl+2"))
        group = QActionGroup(self)
        group.addAction(self.day_action)
        group.addAction(self.week_action)
        self.day_action.setChecked(True)
        self.day_action.triggered.connect(lambda: self.set_mode(BoardMode.DAY))
        self.week_action.triggered.connect(lambda: self.set_mode(BoardMode.WEEK))
        self.today_action = QAction("&Today", self)
        self.today_action.setShortcut(QKeySequence("Ctrl+T"))
        self.today_action.triggered.connect(self.go_today)
        self.prev_action = QAction("‹  Previous", self)
        self.prev_action.setShortcut(QKeySequence("Alt+Left"))
        self.prev_action.setToolTip("Previous day or week (Alt+Left)")
        self.prev_action.triggered.connect(lambda: self.step(-1))
        self.next_action = QAction("Next  ›", self)
        self.next_action.setShortcut(QKeySequence("Alt+Right"))
        self.next_action.setToolTip("Next day or week (Alt+Right)")
        self.next_action.triggered.connect(lambda: self.step(1))
        self.new_booking_action = QAction("&New booking…", self)
        self.new_booking_action.setShortcut(QKeySequence.StandardKey.New)
        self.new_booking_action.triggered.connect(lambda: self.open_editor())
        self.find_slot_action = QAction("&Find first free slot…", self)
        self.find_slot_action.setShortcut(QKeySequence("Ctrl+F"))
        self.find_slot_action.triggered.connect(self.open_find_slot)
        self.services_action = QAction("&Services…", self)
        self.services_action.triggered.connect(self.open_service_types)
        self.add_tech_action = QAction("&Add technician…", self)
        self.add_tech_action.triggered.connect(self.open_add_technician)
        self.time_off_action = QAction("&Time off…", self)
        self.time_off_action.triggered.connect(self.open_time_off)
        self.undo_action = QAction("&Undo", self)
        self.undo_action.setShortcut(QKeySequence.StandardKey.Undo)
        self.undo_action.setEnabled(False)
        self.undo_action.triggered.connect(lambda: self.undo_stack.undo())
        self.undo_stack.changed.connect(self._on_undo_stack_changed)
        self.undo_stack.undone.connect(self._on_undo_stack_undone)
        self.undo_stack.refused.connect(self._on_undo_stack_refused)

    def _build_toolbar(self) -> None:
        self.toolbar = NavigationBar(
            moves=(self.today_action, self.prev_action, self.next_action),
            modes=(self.day_action, self.week_action),
            commands=(self.find_slot_action, self.new_booking_action),
            parent=self,
        )
        self.date_edit = self.toolbar.date_edit
        self.period_label = self.toolbar.period_label
        self.toolbar.date_chosen.connect(self.go_to)
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, self.toolbar)

    def _build_menus(self) -> None:
        menu = self.menuBar()
        file_menu = menu.addMenu("&File")
        file_menu.addAction(self.quit_action)
        edit_menu = menu.addMenu("&Edit")
        edit_menu.addAction(self.undo_action)
        view_menu = menu.addMenu("&View")
        view_menu.addAction(self.day_action)
        view_menu.addAction(self.week_action)
        view_menu.addSeparator()
        view_menu.addAction(self.today_action)
        view_menu.addAction(self.prev_action)
        view_menu.addAction(self.next_action)
        booking_menu = menu.addMenu("&Booking")
        booking_menu.addAction(self.new_booking_action)
        booking_menu.addAction(self.find_slot_action)
        booking_menu.addSeparator()
        booking_menu.addAction(self.services_action)
        tech_menu = menu.addMenu("&Technicians")
        tech_menu.addAction(self.add_tech_action)
        tech_menu.addAction(self.time_off_action)
        self._view_menu = view_menu
        self._technicians_menu = tech_menu
        self._technicians_extended = False  # a separator parts the window's own entries from others'

    def add_technician_action(self, action: QAction) -> None:
        """Offer another screen's way in at the end of the Technicians menu (calendar settings use it)."""
        if not self._technicians_extended:
            self._technicians_menu.addSeparator()
            self._technicians_extended = True
        self._technicians_menu.addAction(action)

    def _build_status_bar(self) -> None:
        bar = self.statusBar()
        self.summary_label = PlainLabel(self)
        self.sync_label = PlainLabel(self)
        self.zone_label = PlainLabel(f"Office time: {self.office_zone_name}", self)
        self.undo_notice = UndoNoticeWidget(self)
        self.undo_notice.undo_clicked.connect(lambda: self.undo_stack.undo())
        self.undo_notice.offered_changed.connect(self._fit_status_bar)
        bar.messageChanged.connect(self._fit_status_bar)
        bar.addWidget(self.undo_notice)
        bar.addWidget(self.summary_label, 1)
        bar.addPermanentWidget(self.sync_label)
        bar.addPermanentWidget(self.zone_label)

    def _fit_status_bar(self, *_args: object) -> None:
        """The day's totals step aside while Undo is offered: both do not fit a narrow window."""
        if self.statusBar().currentMessage():
            return  # a passing message covers both; the status bar restores them after it
        self.summary_label.setVisible(not self.undo_notice.offered)

    # --- navigation --------------------------------------------------------------------------------

    @property
    def mode(self) -> BoardMode:
        return self._mode

    @property
    def anchor(self) -> date:
        return self._anchor

    @property
    def snapshot(self) -> BoardSnapshot | None:
        return self.refresher.snapshot

    @property
    def _snapshot(self) -> BoardSnapshot | None:
        return self.refresher.snapshot

    @property
    def editor(self) -> BookingEditorDialog | None:
        return self.dialogs.editor

    @property
    def dialog(self) -> QWidget | None:
        """The small dialog currently open (technician, time off, find slot), if any."""
        return self.dialogs.dialog

    def set_mode(self, mode: BoardMode) -> None:
        if mode is self._mode:
            return
        self._mode = mode
        (self.day_action if mode is BoardMode.DAY else self.week_action).setChecked(True)
        self._sync_navigator()
        self.refresh()

    def go_to(self, day: date) -> None:
        if day == self._anchor:
            return
        self._anchor = day
        self._sync_navigator()
        self.refresh()

    def go_today(self) -> None:
        self.go_to(self.services.clock.now().astimezone(self.office).date())

    def step(self, direction: int) -> None:
        self.go_to(self._anchor + timedelta(days=direction * self._mode.days))

    def _sync_navigator(self) -> None:
        self.toolbar.show_period(self._mode, self._anchor)

    # --- data --------------------------------------------------------------------------------------

    def refresh(self) -> None:
        """Read the shown period afresh; older answers still in flight are dropped."""
        if not self._closing:
            self.refresher.reload()

    def _shown(self) -> Shown:
        window = board_window(self._mode, self._anchor, self.office)
        return Shown(self._mode, period_start(self._mode, self._anchor), window)

    def _on_snapshot_loaded(self, snapshot: BoardSnapshot, shown: Shown, changed: object) -> None:
        if changed is None:  # a full load; a delta repaints only its rows (the clock ticks anyway)
            self.board.set_now(self.services.clock.now())
        self.board.set_snapshot(snapshot, shown.mode, shown.first)
        self.tech_model.set_techs([row.tech for row in snapshot.rows])
        self.unassigned_model.set_jobs(snapshot.unassigned, snapshot.customers)
        self.tray_dock.show_count(len(snapshot.unassigned))
        today = self.services.clock.now().astimezone(self.office).date()
        self.summary_label.setText(summary_text(snapshot, shown.mode, showing_today=self._anchor == today))
        self.sync_label.setText(calendars_text(snapshot))
        self.snapshot_applied.emit()

    def _on_bridge_board_changed(self, event: object) -> None:
        self.refresher.changed(event)

    def _on_now_timer_timeout(self) -> None:
        self.board.set_now(self.services.clock.now())

    def _on_worker_error_reported(self, message: str) -> None:
        self.show_error(message)

    def show_error(self, message: str) -> None:
        self._banner_box.setVisible(True)
        self.banner.show_error(message)

    def show_info(self, message: str) -> None:
        self._banner_box.setVisible(True)
        self.banner.show_info(message)

    def techs(self) -> list[Technician]:
        return [row.tech for row in self._snapshot.rows] if self._snapshot else []

    def _find_booking(self, booking_id: str) -> Booking | None:
        return find_booking(self._snapshot, booking_id)

    # --- board interactions ------------------------------------------------------------------------

    def _on_board_booking_dropped(self, booking_id: str, tech_id: str, start: datetime) -> None:
        self.move_booking(BookingId(booking_id), TechId(tech_id), start)

    def move_booking(
        self, booking_id: BookingId, tech_id: TechId, start: datetime, force: bool = False
    ) -> None:
        """Move (or assign) a booking; busy time asks "Book anyway?"."""
        self.edits.move(booking_id, tech_id, start, force)

    # --- undo --------------------------------------------------------------------------------------

    def _on_edits_change_recorded(self, label: str) -> None:
        self.statusBar().clearMessage()
        self.undo_notice.show_change(label)

    def _on_undo_stack_changed(self) -> None:
        top = self.undo_stack.top
        self.undo_action.setEnabled(self.undo_stack.can_undo)
        self.undo_action.setText(f"&{top.action_text}" if top is not None else "&Undo")
        if top is None:
            self.undo_notice.dismiss()

    def _on_undo_stack_undone(self, text: str) -> None:
        self.undo_notice.dismiss()
        self.statusBar().showMessage(text, 8000)

    def _on_undo_stack_refused(self, text: str) -> None:
        self.undo_notice.dismiss()
        self.show_error(text)

    def _on_board_booking_activated(self, booking_id: str) -> None:
        booking = self._find_booking(booking_id)
        if booking is not None:
            self.open_editor(booking=booking)

    def _on_board_empty_slot_activated(self, tech_id: str, start: datetime) -> None:
        self.open_editor(tech_id=tech_id, start=start)

    def _on_board_selection_changed(self, booking_id: object) -> None:
        if booking_id is None:
            self.statusBar().clearMessage()
            return
        booking = self._find_booking(str(booking_id))
        if booking is not None and self._snapshot is not None:
            customer = self._snapshot.customers.get(booking.customer_id)
            self.statusBar().showMessage(describe_booking(booking, customer, self.office))

    def _on_board_cancel_requested(self, booking_id: str) -> None:
        self.edits.cancel(booking_id)

    def _on_tray_double_clicked(self, index: QModelIndex) -> None:
        booking = self.unassigned_model.job_at(index.row())
        if booking is not None:
            self.open_editor(booking=booking)

    # --- dialogs -----------------------------------------------------------------------------------

    def open_editor(
        self,
        booking: Booking | None = None,
        tech_id: str | None = None,
        start: datetime | None = None,
        duration: timedelta | None = None,
    ) -> BookingEditorDialog:
        return self.dialogs.open_editor(booking, tech_id, start, duration)

    def open_add_technician(self) -> TechnicianDialog:
        return self.dialogs.open_add_technician()

    def open_time_off(self) -> TimeOffDialog | None:
        return self.dialogs.open_time_off()

    def open_find_slot(self) -> FindSlotDialog | None:
        return self.dialogs.open_find_slot()

    def open_service_types(self) -> ServiceTypesDialog:
        """Booking ▸ Services…: what customers can book, and who is qualified for it."""
        dialog = ServiceTypesDialog(self.services, self.worker, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()
        return dialog

    def find_slot(self, duration: timedelta, tech_ids: list[str]) -> None:
        """Search the earliest free slot; show it on the board and offer to book it."""
        self.dialogs.find_slot(duration, tech_ids)

    # --- conflicts, sync health and alerts ----------------------------------------------------------

    def _build_sync_panels(self) -> None:
        """The conflicts dock beside the tray, the alerts bell, and View ▸ Sync health."""
        self.sync_panels = SyncPanels(
            self,
            self.services,
            self.worker,
            self.bridge,
            self.office,
            beside=self.tray_dock,
            toolbar=self.toolbar,
            view_menu=self._view_menu,
        )
        self.conflicts_panel = self.sync_panels.conflicts_panel
        self.conflicts_dock = self.sync_panels.conflicts_dock
        self.alerts = self.sync_panels.alerts
        self.tray_notifier = self.sync_panels.tray_notifier
        self.bell = self.sync_panels.bell
        self._revealer = BoardRevealer(self, self)
        self.conflicts_panel.booking_selected.connect(self._revealer.reveal)

    def show_conflicts(self) -> None:
        self.sync_panels.show_conflicts()

    def open_sync_health(self) -> SyncHealthDialog:
        return self.sync_panels.open_sync_health()

    def open_inbox(self) -> NotificationInboxWidget:
        return self.sync_panels.open_inbox()

    # --- closing -----------------------------------------------------------------------------------

    def closeEvent(self, event: QCloseEvent) -> None:
        self._closing = True
        self._now_timer.stop()
        self.refresher.stop()
        # Panels and the editor stop asking before the worker goes: shutting it down delivers finished jobs,
        # whose callbacks must not queue new ones.
        self.sync_panels.stop()
        self.dialogs.close_editor()
        self.bridge.close()
        self.worker.shutdown()
        super().closeEvent(event)
        self.closed.emit()
