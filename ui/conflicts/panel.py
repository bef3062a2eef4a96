"""The conflicts panel: open sync conflicts with both sides shown, decided by Keep, Reschedule, Reassign.

Conflicts are read through SyncOutcomeQueries on the database worker and decided through
ConflictService; the list refreshes from ConflictChanged on the bus, never by guessing. Choosing a
conflict selects its booking on the board (the board already outlines it in red).
"""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Any

from PySide6.QtCore import (
    QModelIndex,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QButtonGroup,
    QDialog,
    QHBoxLayout,
    QListView,
    QPushButton,
    QStackedWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.domain.model import Technician
from app.domain.time import zone
from app.services.container import Services
from app.services.sync_outcomes import ConflictLists, ConflictView, SyncOutcomeQueries
from ui.bridge import BusBridge
from ui.conflicts.card import ConflictCardDelegate
from ui.conflicts.dialogs import ReassignDialog, RescheduleDialog
from ui.conflicts.model import ConflictListModel
from ui.conflicts.wording import describe_conflict
from ui.format import day_text
from ui.loading import LatestLoader
from ui.plain import PlainLabel
from ui.resources import stylesheet
from ui.worker import DatabaseWorker

ACTOR = "dispatcher"
REFRESH_DELAY_MS = 60
TICK_MS = 30_000


class ConflictsPanelWidget(QWidget):
    """Open and resolved conflicts. Signals: `conflicts_loaded` after every refresh,
    `booking_selected(booking id, start or None)` when a conflict is chosen, `message_shown(text)`
    after a decision went through, and `count_changed(open conflicts)`."""

    conflicts_loaded = Signal()
    booking_selected = Signal(str, object)  # booking id, start or None (a signal cannot say "or None")
    message_shown = Signal(str)
    count_changed = Signal(int)

    def __init__(
        self,
        services: Services,
        worker: DatabaseWorker,
        bridge: BusBridge,
        office: tzinfo,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("conflictsPanel")
        self.setStyleSheet(stylesheet("conflicts"))
        self.setMinimumWidth(400)
        self._services = services
        self._queries = SyncOutcomeQueries(services.uow, services.clock)
        self._worker = worker
        self._office = office
        self._lists: ConflictLists | None = None
        self._dialog: QDialog | None = None

        self.open_model = ConflictListModel(office, self)
        self.resolved_model = ConflictListModel(office, self)
        self.open_list = self._list_view("conflictList", self.open_model, resolved=False)
        self.resolved_list = self._list_view("resolvedList", self.resolved_model, resolved=True)
        self.open_empty = PlainLabel(
            "No open conflicts.\nWhen a technician's calendar clashes with a job, it shows up here.", self
        )
        self.resolved_empty = PlainLabel("No conflicts decided yet.", self)
        for label in (self.open_empty, self.resolved_empty):
            label.setObjectName("emptyState")
            label.setWordWrap(True)
            label.setAlignment(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop)

        self.open_button = self._segment("Open")
        self.resolved_button = self._segment("Resolved")
        self.open_button.setChecked(True)
        segments = QButtonGroup(self)
        segments.setExclusive(True)
        segments.addButton(self.open_button, 0)
        segments.addButton(self.resolved_button, 1)
        segments.idClicked.connect(self._on_segments_id_clicked)
        header = QHBoxLayout()
        header.setContentsMargins(10, 8, 10, 4)
        header.setSpacing(0)
        header.addWidget(self.open_button)
        header.addWidget(self.resolved_button)
        header.addStretch(1)

        self.stack = QStackedWidget(self)
        for widget in (self.open_list, self.open_empty, self.resolved_list, self.resolved_empty):
            self.stack.addWidget(widget)

        self.detail = PlainLabel("", self)
        self.detail.setObjectName("conflictDetail")
        self.detail.setWordWrap(True)
        self.keep_button = QPushButton("Keep", self)
        self.keep_button.setToolTip("Keep the job as booked; the calendar is brought in line")
        self.keep_button.clicked.connect(self.keep_selected)
        self.reschedule_button = QPushButton("Reschedule…", self)
        self.reschedule_button.clicked.connect(self.open_reschedule)
        self.reassign_button = QPushButton("Reassign…", self)
        self.reassign_button.clicked.connect(self.open_reassign)
        actions = QHBoxLayout()
        actions.setContentsMargins(10, 4, 10, 10)
        actions.setSpacing(6)
        for button in (self.keep_button, self.reschedule_button, self.reassign_button):
            button.setMinimumWidth(0)
            actions.addWidget(button, 1)
        self._action_box = QWidget(self)
        self._action_box.setObjectName("conflictActions")
        action_column = QVBoxLayout(self._action_box)
        action_column.setContentsMargins(0, 0, 0, 0)
        action_column.setSpacing(2)
        action_column.addWidget(self.detail)
        action_column.addLayout(actions)

        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(0)
        column.addLayout(header)
        column.addWidget(self.stack, 1)
        column.addWidget(self._action_box)
        self._update_actions()

        self._loader = LatestLoader(
            worker, self._queries.conflicts, self._on_conflicts_loaded, REFRESH_DELAY_MS, self
        )
        self._tick = QTimer(self)
        self._tick.setInterval(TICK_MS)
        self._tick.timeout.connect(self._on_tick_timeout)
        self._tick.start()
        bridge.conflict_changed.connect(self._on_bridge_changed)
        bridge.booking_changed.connect(self._on_bridge_changed)
        bridge.techs_changed.connect(self._on_bridge_changed)
        self.refresh()

    # --- construction ------------------------------------------------------------------------

    def _list_view(self, name: str, model: ConflictListModel, resolved: bool) -> QListView:
        view = QListView(self)
        view.setObjectName(name)
        view.setModel(model)
        view.setItemDelegate(ConflictCardDelegate(resolved, view))
        view.setSelectionMode(
            QAbstractItemView.SelectionMode.NoSelection
            if resolved
            else QAbstractItemView.SelectionMode.SingleSelection
        )
        view.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        view.setResizeMode(QListView.ResizeMode.Adjust)
        view.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        view.setMouseTracking(True)
        if not resolved:
            view.selectionModel().currentRowChanged.connect(self._on_open_list_current_row_changed)
        return view

    def _segment(self, text: str) -> QToolButton:
        button = QToolButton(self)
        button.setText(text)
        button.setCheckable(True)
        button.setProperty("segment", True)
        button.setCursor(Qt.CursorShape.PointingHandCursor)
        return button

    # --- state -------------------------------------------------------------------------------

    @property
    def lists(self) -> ConflictLists | None:
        return self._lists

    @property
    def dialog(self) -> QDialog | None:
        return self._dialog

    def selected(self) -> ConflictView | None:
        index = self.open_list.currentIndex()
        return self.open_model.view_at(index.row()) if index.isValid() else None

    def select(self, conflict_id: str) -> None:
        """Choose an open conflict, as a click on its card would."""
        self.show_resolved(False)
        row = self.open_model.row_of(conflict_id)
        if row < 0:
            raise KeyError(conflict_id)
        self.open_list.setCurrentIndex(self.open_model.index(row, 0))

    def show_resolved(self, resolved: bool) -> None:
        (self.resolved_button if resolved else self.open_button).setChecked(True)
        self._show_page()

    def _show_page(self) -> None:
        if self.resolved_button.isChecked():
            page = self.resolved_list if self.resolved_model.rowCount() else self.resolved_empty
        else:
            page = self.open_list if self.open_model.rowCount() else self.open_empty
        self.stack.setCurrentWidget(page)
        self._update_actions()

    def _update_actions(self) -> None:
        showing_open = self.open_button.isChecked()
        view = self.selected() if showing_open else None
        self._action_box.setVisible(showing_open and self.open_model.rowCount() > 0)
        live = view is not None and view.booking is not None and view.booking.is_live
        self.keep_button.setEnabled(view is not None)
        self.reschedule_button.setEnabled(live)
        self.reassign_button.setEnabled(live)
        if view is None:
            self.detail.setText("Choose a conflict to decide it.")
        else:
            self.detail.setText(
                view.conflict.detail or describe_conflict(view, self._office, self._now()).noticed
            )

    def _now(self) -> datetime:
        return self._services.clock.now()

    # --- data --------------------------------------------------------------------------------

    def stop(self) -> None:
        """No more loading: the window is closing and its worker is gone."""
        self._loader.stop()
        self._tick.stop()

    def refresh(self) -> None:
        self._loader.load()

    def _on_conflicts_loaded(self, lists: ConflictLists) -> None:
        chosen = self.selected()
        self._lists = lists
        now = self._now()
        self.open_model.set_items(lists.open, now)
        self.resolved_model.set_items(lists.resolved, now)
        self.open_button.setText(f"Open ({len(lists.open)})" if lists.open else "Open")
        self.resolved_button.setText("Resolved")
        if chosen is not None and (row := self.open_model.row_of(chosen.id)) >= 0:
            self.open_list.selectionModel().blockSignals(True)
            self.open_list.setCurrentIndex(self.open_model.index(row, 0))
            self.open_list.selectionModel().blockSignals(False)
        self._show_page()
        self.count_changed.emit(len(lists.open))
        self.conflicts_loaded.emit()

    def _on_bridge_changed(self, _event: object) -> None:
        self._loader.schedule()

    def _on_tick_timeout(self) -> None:
        now = self._now()
        self.open_model.set_now(now)
        self.resolved_model.set_now(now)

    def _on_segments_id_clicked(self, _id: int) -> None:
        self._show_page()

    def _on_open_list_current_row_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        self._update_actions()
        view = self.open_model.view_at(current.row()) if current.isValid() else None
        if view is not None:
            start = view.booking.start if view.booking else None
            self.booking_selected.emit(str(view.conflict.booking_id), start)

    # --- decisions ---------------------------------------------------------------------------

    def keep_selected(self) -> None:
        view = self.selected()
        if view is not None:
            conflicts = self._services.conflicts
            self._decide(lambda: conflicts.keep(view.id, actor=ACTOR), "Kept as booked", view)

    def reschedule(self, view: ConflictView, start: datetime) -> None:
        conflicts = self._services.conflicts
        tz = zone(view.booking_tech.timezone) if view.booking_tech else self._office
        when = f"{day_text(start.astimezone(tz))} {start.astimezone(tz):%H:%M}"
        seen = view.booking.version if view.booking else None  # never over another desk's newer change
        self._decide(
            lambda: conflicts.reschedule(view.id, start, actor=ACTOR, expected_version=seen),
            f"Rescheduled to {when}",
            view,
        )

    def reassign(self, view: ConflictView, tech: Technician) -> None:
        conflicts = self._services.conflicts
        seen = view.booking.version if view.booking else None  # never over another desk's newer change
        self._decide(
            lambda: conflicts.reassign(view.id, tech.id, actor=ACTOR, expected_version=seen),
            f"Given to {tech.name}",
            view,
        )

    def _decide(self, call: Any, done: str, view: ConflictView) -> None:
        title = describe_conflict(view, self._office, self._now()).title
        self._worker.run(call, on_done=lambda _c: self.message_shown.emit(f"{done}: {title}."), context=self)

    def open_reschedule(self) -> RescheduleDialog | None:
        view = self.selected()
        if view is None or view.booking is None or not view.booking.is_live:
            return None
        dialog = RescheduleDialog(self._services, self._worker, view, self._office, self)
        dialog.accepted.connect(lambda: self.reschedule(view, dialog.start()))
        self._open(dialog)
        return dialog

    def open_reassign(self) -> ReassignDialog | None:
        view = self.selected()
        if view is None or view.booking is None or not view.booking.is_live:
            return None
        dialog = ReassignDialog(self._services, self._worker, view, self._office, self)

        def accepted() -> None:
            choice = dialog.chosen()
            if choice is not None:
                self.reassign(view, choice.tech)

        dialog.accepted.connect(accepted)
        self._open(dialog)
        return dialog

    def _open(self, dialog: QDialog) -> None:
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.setWindowModality(Qt.WindowModality.WindowModal)
        self._dialog = dialog
        dialog.destroyed.connect(lambda: setattr(self, "_dialog", None))
        dialog.open()
