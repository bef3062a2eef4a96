"""MainWindow: the dispatch board with its date navigator, the unassigned tray and the menus.

The window owns the database worker and the bus bridge. It asks BoardService for a snapshot of
the shown period on the worker, and asks again (coalesced) whenever a change event arrives.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta, tzinfo

from PySide6.QtCore import QDate, QModelIndex, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QActionGroup, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDateEdit,
    QDockWidget,
    QListView,
    QMainWindow,
    QMenu,
    QSizePolicy,
    QStackedWidget,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from app.domain.availability import Slot
from app.domain.ids import BookingId, TechId
from app.domain.model import Booking, Technician
from app.domain.time import Interval, zone
from app.errors import Refused
from app.services.board import BoardSnapshot
from app.services.booking_changes import BookingChange
from app.services.container import Services
from ui.board.layout import BoardMode, board_window, period_start
from ui.board.undo import BoardUndoStack
from ui.board.undo_notice import UndoNoticeWidget
from ui.board.view import BoardView
from ui.booking_editor import BookingEditorDialog, describe_booking
from ui.bridge import BusBridge
from ui.conflicts.panel import ConflictsPanelWidget
from ui.conflicts.revealer import BoardRevealer
from ui.dialogs import FindSlotDialog, TechnicianDialog, TimeOffDialog
from ui.format import clock_range, duration_text
from ui.health_panel import SyncHealthDialog
from ui.inbox import NotificationBellButton, NotificationCenter, NotificationInboxWidget, TrayNotifier
from ui.models import TechRowsModel, UnassignedJobsModel
from ui.plain import PlainLabel
from ui.widgets import MessageBanner, ask
from ui.worker import DatabaseWorker

log = logging.getLogger(__name__)

REFRESH_DELAY_MS = 60  # coalesce bursts of change events into one snapshot
NOW_TICK_MS = 30_000
SLOT_SEARCH_DAYS = 14


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
        self._generation = 0
        self._snapshot: BoardSnapshot | None = None
        self._editor: BookingEditorDialog | None = None
        self._dialog: QWidget | None = None
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

        self._build_tray()
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

        self._refresh_timer = QTimer(self)
        self._refresh_timer.setSingleShot(True)
        self._refresh_timer.setInterval(REFRESH_DELAY_MS)
        self._refresh_timer.timeout.connect(self.refresh)
        self._now_timer = QTimer(self)
        self._now_timer.setInterval(NOW_TICK_MS)
        self._now_timer.timeout.connect(self._on_now_timer_timeout)
        self._now_timer.start()
        self.board.set_now(services.clock.now())
        self._sync_navigator()
        self.refresh()

    # --- construction ------------------------------------------------------------------------------

    def _build_tray(self) -> None:
        dock = QDockWidget("Unassigned jobs", self)
        dock.setObjectName("unassignedDock")
        dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable)
        self.tray = QListView(dock)
        self.tray.setObjectName("unassignedTray")
        self.tray.setModel(self.unassigned_model)
        self.tray.setDragEnabled(True)
        self.tray.setDragDropMode(QAbstractItemView.DragDropMode.DragOnly)
        self.tray.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.tray.setWordWrap(True)
        self.tray.setSpacing(2)
        self.tray.setUniformItemSizes(False)
        self.tray.doubleClicked.connect(self._on_tray_double_clicked)
        self.tray_empty = PlainLabel("No unassigned jobs.\nNew jobs without a technician wait here.", dock)
        self.tray_empty.setObjectName("emptyState")
        self.tray_empty.setAlignment(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop)
        self.tray_empty.setWordWrap(True)
        self._tray_stack = QStackedWidget(dock)
        self._tray_stack.addWidget(self.tray_empty)
        self._tray_stack.addWidget(self.tray)
        self._tray_stack.setMinimumWidth(250)
        hint = PlainLabel("Drag a job onto a technician's row to schedule it; double-click to edit.", dock)
        hint.setObjectName("hint")
        hint.setWordWrap(True)
        hint.setContentsMargins(10, 6, 10, 10)
        tray_box = QWidget(dock)
        tray_column = QVBoxLayout(tray_box)
        tray_column.setContentsMargins(0, 0, 0, 0)
        tray_column.setSpacing(0)
        tray_column.addWidget(self._tray_stack, 1)
        tray_column.addWidget(hint)
        dock.setWidget(tray_box)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
        self.tray_dock = dock

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
        self.add_tech_action = QAction("&Add technician…", self)
        self.add_tech_action.triggered.connect(self.open_add_technician)
        self.time_off_action = QAction("&Time off…", self)
        self.time_off_action.triggered.connect(self.open_time_off)
        self.undo_stack = BoardUndoStack(
            self.services.bookings, self.worker, self.office, self._tech_name, self
        )
        self.undo_action = QAction("&Undo", self)
        self.undo_action.setShortcut(QKeySequence.StandardKey.Undo)
        self.undo_action.setEnabled(False)
        self.undo_action.triggered.connect(lambda: self.undo_stack.undo())
        self.undo_stack.changed.connect(self._on_undo_stack_changed)
        self.undo_stack.undone.connect(self._on_undo_stack_undone)
        self.undo_stack.refused.connect(self._on_undo_stack_refused)

    def _build_toolbar(self) -> None:
        bar = QToolBar("Navigation", self)
        bar.setObjectName("navigationBar")
        bar.setMovable(False)
        bar.setIconSize(QSize(16, 16))
        bar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        bar.addAction(self.today_action)
        bar.addAction(self.prev_action)
        bar.addAction(self.next_action)
        self.date_edit = QDateEdit(self)
        self.date_edit.setCalendarPopup(True)
        self.date_edit.setDisplayFormat("ddd d MMM yyyy")
        self.date_edit.setToolTip("Jump to a date")
        self.date_edit.dateChanged.connect(self._on_date_edit_date_changed)
        bar.addWidget(self.date_edit)
        self.period_label = PlainLabel(self)
        self.period_label.setObjectName("periodLabel")
        bar.addWidget(self.period_label)
        spacer = QWidget(self)
        spacer.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        bar.addWidget(spacer)
        bar.addAction(self.day_action)
        bar.addAction(self.week_action)
        bar.addSeparator()
        bar.addAction(self.find_slot_action)
        bar.addAction(self.new_booking_action)
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, bar)
        self.toolbar = bar

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
        tech_menu = menu.addMenu("&Technicians")
        tech_menu.addAction(self.add_tech_action)
        tech_menu.addAction(self.time_off_action)

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
        return self._snapshot

    @property
    def editor(self) -> BookingEditorDialog | None:
        return self._editor

    @property
    def dialog(self) -> QWidget | None:
        """The small dialog currently open (technician, time off, find slot), if any."""
        return self._dialog

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
        self.date_edit.blockSignals(True)
        self.date_edit.setDate(QDate(self._anchor.year, self._anchor.month, self._anchor.day))
        self.date_edit.blockSignals(False)
        first = period_start(self._mode, self._anchor)
        if self._mode is BoardMode.DAY:
            self.period_label.setText(f"{first:%A} {first.day} {first:%B %Y}")
        else:
            last = first + timedelta(days=6)
            same_month = first.month == last.month
            start_text = f"{first.day}" if same_month else f"{first.day} {first:%b}"
            self.period_label.setText(f"Week of {start_text}–{last.day} {last:%b %Y}")

    def _on_date_edit_date_changed(self, value: QDate) -> None:
        self.go_to(date(value.year(), value.month(), value.day()))

    # --- data --------------------------------------------------------------------------------------

    def refresh(self) -> None:
        """Ask for a fresh snapshot of the shown period; older answers still in flight are dropped."""
        if self._closing:
            return
        self._refresh_timer.stop()
        self._generation += 1
        generation, mode, first = self._generation, self._mode, period_start(self._mode, self._anchor)
        window = board_window(mode, self._anchor, self.office)
        board = self.services.board
        self.worker.run(
            lambda: board.snapshot(window),
            on_done=lambda snap: self._on_snapshot_loaded(generation, mode, first, snap),
            context=self,
        )

    def _on_snapshot_loaded(
        self, generation: int, mode: BoardMode, first: date, snapshot: BoardSnapshot
    ) -> None:
        if generation != self._generation:
            return
        self._snapshot = snapshot
        self.board.set_now(self.services.clock.now())
        self.board.set_snapshot(snapshot, mode, first)
        self.tech_model.set_techs([row.tech for row in snapshot.rows])
        self.unassigned_model.set_jobs(snapshot.unassigned, snapshot.customers)
        self._tray_stack.setCurrentWidget(self.tray if snapshot.unassigned else self.tray_empty)
        self.tray_dock.setWindowTitle(
            f"Unassigned jobs ({len(snapshot.unassigned)})" if snapshot.unassigned else "Unassigned jobs"
        )
        self._update_status(snapshot)
        self.snapshot_applied.emit()

    def _update_status(self, snapshot: BoardSnapshot) -> None:
        jobs = [b for row in snapshot.rows for b in row.bookings if b.is_live]
        hours = sum((b.duration for b in jobs), timedelta())
        period = "today" if self._mode is BoardMode.DAY else "this week"
        if (
            self._mode is BoardMode.DAY
            and self._anchor != self.services.clock.now().astimezone(self.office).date()
        ):
            period = "this day"
        parts = [
            f"{len(snapshot.rows)} technician{'s' if len(snapshot.rows) != 1 else ''}",
            f"{len(jobs)} job{'s' if len(jobs) != 1 else ''} {period} ({duration_text(hours)})",
            f"{len(snapshot.unassigned)} unassigned",
        ]
        if snapshot.open_conflicts:
            parts.append(f"{len(snapshot.open_conflicts)} open conflict(s)")
        self.summary_label.setText("   ·   ".join(parts))
        accounts = [a for row in snapshot.rows for a in row.accounts]
        connected = sum(1 for row in snapshot.rows if row.accounts)
        self.sync_label.setText(
            f"Calendars: {connected} of {len(snapshot.rows)} technicians connected"
            if accounts or snapshot.rows
            else ""
        )

    def _on_bridge_board_changed(self, _event: object) -> None:
        self._refresh_timer.start()

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
        snap = self._snapshot
        if snap is None:
            return None
        for row in snap.rows:
            for booking in row.bookings:
                if booking.id == booking_id:
                    return booking
        return next((b for b in snap.unassigned if b.id == booking_id), None)

    # --- board interactions ------------------------------------------------------------------------

    def _on_board_booking_dropped(self, booking_id: str, tech_id: str, start: datetime) -> None:
        self.move_booking(BookingId(booking_id), TechId(tech_id), start)

    def move_booking(
        self, booking_id: BookingId, tech_id: TechId, start: datetime, force: bool = False
    ) -> None:
        """Move (or assign) a booking through BookingService; busy time asks "Book anyway?"."""
        bookings = self.services.bookings

        def failed(error: BaseException) -> None:
            if isinstance(error, Refused) and not force:
                ask(
                    self,
                    "Technician is busy",
                    "Book anyway?",
                    str(error),
                    "Book anyway",
                    lambda: self.move_booking(booking_id, tech_id, start, force=True),
                )
            else:
                self.worker.report(error)

        def move() -> BookingChange:
            before = bookings.get(booking_id)
            return BookingChange(before, bookings.move(booking_id, start, tech=tech_id, force=force))

        self.worker.run(move, on_done=self._remember, on_error=failed, context=self)

    # --- undo --------------------------------------------------------------------------------------

    def _tech_name(self, tech_id: TechId | None) -> str:
        tech = next((t for t in self.techs() if t.id == tech_id), None)
        return tech.name if tech is not None else "unassigned"

    def _customer_name(self, booking: Booking) -> str:
        customer = self._snapshot.customers.get(booking.customer_id) if self._snapshot else None
        return customer.name if customer is not None else "the customer"

    def _remember(self, change: BookingChange) -> None:
        """Offer to undo a change just made here (Edit ▸ Undo, and Undo in the status bar)."""
        entry = self.undo_stack.record(change, self._customer_name(change.before))
        if entry is not None:
            self.statusBar().clearMessage()
            self.undo_notice.show_change(entry.label)

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
        booking = self._find_booking(booking_id)
        if booking is None or self._snapshot is None:
            return
        customer = self._snapshot.customers.get(booking.customer_id)
        bookings = self.services.bookings

        def cancel() -> BookingChange:
            return BookingChange(bookings.get(booking_id), bookings.cancel(booking_id))

        ask(
            self,
            "Cancel booking",
            "Cancel this booking?",
            describe_booking(booking, customer, self.office)
            + "\n\nIt is removed from the board and from the technician's calendar.",
            "Cancel booking",
            lambda: self.worker.run(cancel, on_done=self._remember, context=self),
            no_text="Keep it",
        )

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
        if self._editor is not None:
            self._editor.close()
        customer = None
        if booking is not None and self._snapshot is not None:
            customer = self._snapshot.customers.get(booking.customer_id)
        editor = BookingEditorDialog(
            self.services,
            self.worker,
            self.office,
            self.techs(),
            booking=booking,
            customer=customer,
            tech_id=tech_id,
            start=start,
            duration=duration,
            parent=self,
        )
        editor.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        editor.saved.connect(self._on_editor_saved)
        if booking is not None:
            editor.saved.connect(lambda after: self._remember(BookingChange(booking, after)))
        editor.finished.connect(lambda _result: self._forget_editor(editor))
        self._editor = editor
        editor.open()
        return editor

    def _forget_editor(self, editor: BookingEditorDialog) -> None:
        if self._editor is editor:
            self._editor = None

    def _on_editor_saved(self, booking: Booking) -> None:
        self.board.clear_slot()
        self.board.select_booking(booking.id)
        self.statusBar().showMessage("Booking saved.", 6000)

    def _open_dialog(self, dialog: QWidget) -> None:
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self._dialog = dialog
        dialog.destroyed.connect(lambda: setattr(self, "_dialog", None))
        dialog.show()

    def open_add_technician(self) -> TechnicianDialog:
        dialog = TechnicianDialog(self.services, self.worker, self.office_zone_name, self)
        dialog.saved.connect(lambda tech: self.statusBar().showMessage(f"Added {tech.name}.", 6000))
        self._open_dialog(dialog)
        return dialog

    def open_time_off(self) -> TimeOffDialog | None:
        if not self.techs():
            self.show_info("Add a technician first: Technicians ▸ Add technician.")
            return None
        selected = self.board.selected_booking
        booking = self._find_booking(selected) if selected else None
        dialog = TimeOffDialog(
            self.services, self.worker, self.office, self.techs(), booking.tech_id if booking else None, self
        )
        dialog.saved.connect(lambda _item: self.statusBar().showMessage("Time off added.", 6000))
        self._open_dialog(dialog)
        return dialog

    def open_find_slot(self) -> FindSlotDialog | None:
        if not self.techs():
            self.show_info("Add a technician first: Technicians ▸ Add technician.")
            return None
        dialog = FindSlotDialog(self.techs(), self)
        dialog.accepted.connect(lambda: self.find_slot(dialog.duration(), dialog.tech_ids()))
        self._open_dialog(dialog)
        return dialog

    def find_slot(self, duration: timedelta, tech_ids: list[str]) -> None:
        """Search the earliest free slot; show it on the board and offer to book it."""
        schedule = self.services.schedule
        start = self.services.clock.now()
        self.worker.run(
            lambda: schedule.earliest(duration, tech_ids, start=start, days=SLOT_SEARCH_DAYS),
            on_done=lambda slots: self._on_slot_found(slots, duration),
            context=self,
        )

    def _on_slot_found(self, slots: list[Slot], duration: timedelta) -> None:
        if not slots:
            self.show_info(
                f"No free slot of {duration_text(duration)} in the next {SLOT_SEARCH_DAYS} days "
                "for the chosen technicians."
            )
            return
        slot = slots[0]
        tech_id, span = slot.tech_id, slot.interval
        proposal = Interval(span.start, span.start + duration)
        self.go_to(proposal.start.astimezone(self.office).date())
        self.set_mode(BoardMode.DAY)
        self.board.show_slot(tech_id, proposal)
        tech = next((t for t in self.techs() if t.id == tech_id), None)
        name = tech.name if tech else "A technician"
        ask(
            self,
            "First free slot",
            f"Book {name} {clock_range(proposal, self.office, with_day=True)}?",
            f"{name} is free for {duration_text(duration)} then (office time, {self.office_zone_name}).",
            "Book it…",
            lambda: self.open_editor(tech_id=tech_id, start=proposal.start, duration=duration),
            no_text="Not now",
            on_no=self.board.clear_slot,
        )

    # --- conflicts, sync health and alerts ----------------------------------------------------------

    def _build_sync_panels(self) -> None:
        """The conflicts dock beside the tray, the alerts bell, and View ▸ Sync health."""
        self.conflicts_panel = ConflictsPanelWidget(
            self.services, self.worker, self.bridge, self.office, self
        )
        dock = QDockWidget("Conflicts", self)
        dock.setObjectName("conflictsDock")
        dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable)
        dock.setWidget(self.conflicts_panel)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
        self.tabifyDockWidget(self.tray_dock, dock)
        self.tray_dock.raise_()
        self.conflicts_dock = dock
        self._revealer = BoardRevealer(self, self)
        self.conflicts_panel.booking_selected.connect(self._revealer.reveal)
        self.conflicts_panel.message_shown.connect(lambda text: self.statusBar().showMessage(text, 6000))
        self.conflicts_panel.count_changed.connect(
            lambda count: dock.setWindowTitle(f"Conflicts ({count})" if count else "Conflicts")
        )
        self.conflicts_action = QAction("&Conflicts", self)
        self.conflicts_action.setShortcut(QKeySequence("Ctrl+Shift+C"))
        self.conflicts_action.triggered.connect(self.show_conflicts)
        self.health_action = QAction("Sync &health…", self)
        self.health_action.triggered.connect(self.open_sync_health)
        self.alerts = NotificationCenter(self.services, self.worker, self.bridge, self.office, self)
        self.tray_notifier = TrayNotifier(self)
        self.alerts.alert_arrived.connect(self.tray_notifier.notify)
        self.bell = NotificationBellButton(self)
        self.bell.clicked.connect(self.open_inbox)
        self.alerts.unread_changed.connect(self.bell.set_count)
        self.toolbar.addSeparator()
        self.toolbar.addWidget(self.bell)
        view_menu = next(
            m for a in self.menuBar().actions() if isinstance(m := a.menu(), QMenu) and a.text() == "&View"
        )
        view_menu.addSeparator()
        view_menu.addAction(self.conflicts_action)
        view_menu.addAction(self.health_action)
        self._health_dialog: SyncHealthDialog | None = None
        self._inbox: NotificationInboxWidget | None = None

    def _stop_sync_panels(self) -> None:
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
            dialog = SyncHealthDialog(self.services, self.worker, self.bridge, self.office, self)
            dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
            dialog.destroyed.connect(lambda: setattr(self, "_health_dialog", None))
            self._health_dialog = dialog
        self._health_dialog.show()
        self._health_dialog.raise_()
        return self._health_dialog

    def open_inbox(self) -> NotificationInboxWidget:
        if self._inbox is None:
            self._inbox = NotificationInboxWidget(self.alerts, self)
        self._inbox.show_below(self.bell)
        return self._inbox

    # --- closing -----------------------------------------------------------------------------------

    def closeEvent(self, event: QCloseEvent) -> None:
        self._closing = True
        self._now_timer.stop()
        self._refresh_timer.stop()
        # Panels stop asking before the worker goes: shutting it down delivers finished jobs,
        # whose callbacks must not queue new ones.
        self._stop_sync_panels()
        self.bridge.close()
        self.worker.shutdown()
        super().closeEvent(event)
        self.closed.emit()
