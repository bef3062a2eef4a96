"""The dialogs that decide one conflict by hand: Reschedule (a new start) and Reassign (a new tech)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time, tzinfo
from typing import Any

from PySide6.QtCore import (
    QAbstractListModel,
    QDate,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    QTime,
    Signal,
)
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDateEdit,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QListView,
    QPushButton,
    QTimeEdit,
    QVBoxLayout,
    QWidget,
)

from app.domain.ids import TechId
from app.domain.model import ConflictKind
from app.domain.time import local_to_utc, zone
from app.services.container import Services
from app.services.reassign_choices import TechChoice, tech_choices
from app.services.sync_outcomes import ConflictView
from ui.conflicts.wording import describe_conflict
from ui.format import duration_text
from ui.plain import PlainLabel
from ui.resources import palette
from ui.worker import DatabaseWorker

SLOT_SEARCH_DAYS = 14
ModelIndex = QModelIndex | QPersistentModelIndex


class _DecisionDialog(QDialog):
    """The frame of a dialog that decides one conflict: its title, a line on what clashes, the
    subclass's body, then the decision's own button beside Cancel."""

    def __init__(
        self, name: str, window_title: str, heading: str, about: str, parent: QWidget | None
    ) -> None:
        super().__init__(parent)
        self.setObjectName(name)
        self.setWindowTitle(window_title)
        self._heading = PlainLabel(heading, self)
        self._heading.setObjectName("sectionTitle")
        self._about = PlainLabel(about, self)
        self._about.setObjectName("hint")
        self._about.setWordWrap(True)

    def _lay_out(self, body: QWidget | QFormLayout, action: str, min_width: int) -> QPushButton:
        """Place the parts (a widget body takes the spare height) and return the decision's button."""
        buttons = QDialogButtonBox(self)
        ok_button = buttons.addButton(action, QDialogButtonBox.ButtonRole.AcceptRole)
        ok_button.setDefault(True)
        buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        column = QVBoxLayout(self)
        column.setContentsMargins(18, 16, 18, 14)
        column.setSpacing(10)
        column.addWidget(self._heading)
        column.addWidget(self._about)
        if isinstance(body, QWidget):
            column.addWidget(body, 1)
        else:
            column.addLayout(body)
        column.addWidget(buttons)
        self.setMinimumWidth(min_width)
        return ok_button


class RescheduleDialog(_DecisionDialog):
    """A new start for the job, in the tech's own clock; "Next free time" asks ScheduleService."""

    def __init__(
        self,
        services: Services,
        worker: DatabaseWorker,
        view: ConflictView,
        office: tzinfo,
        parent: QWidget | None = None,
    ) -> None:
        text = describe_conflict(view, office, services.clock.now())
        sides = f"{text.job_label}: {text.job}\n{text.other_label}: {text.other}"
        super().__init__("rescheduleDialog", "Reschedule job", text.title, sides, parent)
        self._services = services
        self._worker = worker
        self._view = view
        tech = view.booking_tech or view.tech
        self._tech = tech
        self._tz: tzinfo = zone(tech.timezone) if tech else office
        booking = view.booking
        proposed = self._proposal()
        local = proposed.astimezone(self._tz)
        self.date_edit = QDateEdit(QDate(local.year, local.month, local.day), self)
        self.date_edit.setCalendarPopup(True)
        self.date_edit.setDisplayFormat("ddd d MMM yyyy")
        self.time_edit = QTimeEdit(QTime(local.hour, local.minute), self)
        self.time_edit.setDisplayFormat("HH:mm")
        self.next_free_button = QPushButton("Next free time", self)
        self.next_free_button.setToolTip("The first time after this one when the technician is free")
        self.next_free_button.clicked.connect(self.find_next_free)
        self.next_free_button.setEnabled(tech is not None and booking is not None)
        when = QHBoxLayout()
        when.addWidget(self.date_edit, 1)
        when.addWidget(self.time_edit)
        when.addWidget(self.next_free_button)
        zone_name = tech.timezone if tech else "office time"
        duration = duration_text(booking.duration) if booking else ""
        self.note = PlainLabel(f"{duration} · times in {zone_name}", self)
        self.note.setObjectName("hint")
        form = QFormLayout()
        form.addRow("New start", when)
        form.addRow("", self.note)
        self.ok_button = self._lay_out(form, "Reschedule", 460)

    def _proposal(self) -> datetime:
        """The tech's time for a both-sides edit; else the booking's own start."""
        conflict, booking = self._view.conflict, self._view.booking
        if conflict.kind is ConflictKind.EDITED_BOTH and conflict.other_start is not None:
            return conflict.other_start
        if booking is not None and booking.start is not None:
            return booking.start
        return self._services.clock.now()

    def start(self) -> datetime:
        value, at = self.date_edit.date(), self.time_edit.time()
        return local_to_utc(
            date(value.year(), value.month(), value.day()), time(at.hour(), at.minute()), self._tz
        )

    def set_start(self, start: datetime) -> None:
        local = start.astimezone(self._tz)
        self.date_edit.setDate(QDate(local.year, local.month, local.day))
        self.time_edit.setTime(QTime(local.hour, local.minute))

    def find_next_free(self) -> None:
        booking, tech = self._view.booking, self._tech
        if booking is None or tech is None:
            return
        schedule = self._services.schedule
        begin = max(self.start(), self._services.clock.now())
        self.next_free_button.setEnabled(False)
        self._worker.run(
            lambda: schedule.earliest(booking.duration, [tech.id], start=begin, days=SLOT_SEARCH_DAYS),
            on_done=self._on_next_free_found,
            context=self,
        )

    def _on_next_free_found(self, slots: list[Any]) -> None:
        self.next_free_button.setEnabled(True)
        if not slots:
            self.note.setText(f"No free time in the next {SLOT_SEARCH_DAYS} days.")
            return
        self.set_start(slots[0].interval.start)


class TechChoiceModel(QAbstractListModel):
    ChoiceRole = Qt.ItemDataRole.UserRole + 1

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._choices: tuple[TechChoice, ...] = ()

    def set_choices(self, choices: Sequence[TechChoice]) -> None:
        self.beginResetModel()
        self._choices = tuple(choices)
        self.endResetModel()

    def choice_at(self, row: int) -> TechChoice | None:
        return self._choices[row] if 0 <= row < len(self._choices) else None

    def rowCount(self, parent: ModelIndex = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(self._choices)

    def flags(self, index: ModelIndex) -> Qt.ItemFlag:
        choice = self.choice_at(index.row()) if index.isValid() else None
        if choice is None:
            return Qt.ItemFlag.NoItemFlags
        if choice.current:
            return Qt.ItemFlag.NoItemFlags  # giving the job to its own tech changes nothing
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable

    def data(self, index: ModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        choice = self.choice_at(index.row()) if index.isValid() else None
        if choice is None:
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            suffix = " (has the job now)" if choice.current else ""
            return f"{choice.tech.name}{suffix}\n{choice.reason}"
        if role == Qt.ItemDataRole.ForegroundRole:
            if choice.current:
                return palette.color("text_muted")
            return palette.color("text" if choice.free else "error_text")
        if role == Qt.ItemDataRole.DecorationRole:
            return QColor(choice.tech.color)
        if role == self.ChoiceRole:
            return choice
        return None


class ReassignDialog(_DecisionDialog):
    """Pick who takes the job; each tech shows whether they are free at the job's time."""

    choices_loaded = Signal()

    def __init__(
        self,
        services: Services,
        worker: DatabaseWorker,
        view: ConflictView,
        office: tzinfo,
        parent: QWidget | None = None,
    ) -> None:
        text = describe_conflict(view, office, services.clock.now())
        super().__init__(
            "reassignDialog", "Reassign job", text.title, f"{text.job_label}: {text.job}", parent
        )
        self.model = TechChoiceModel(self)
        self.list = QListView(self)
        self.list.setObjectName("techChoices")
        self.list.setModel(self.model)
        self.list.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.list.setMinimumHeight(260)
        self.list.doubleClicked.connect(lambda _index: self.accept() if self.chosen() else None)
        self.ok_button = self._lay_out(self.list, "Reassign", 440)
        self.ok_button.setEnabled(False)
        self.list.selectionModel().selectionChanged.connect(self._on_list_selection_changed)
        booking = view.booking
        if booking is not None:
            worker.run(
                lambda: tech_choices(services.techs, services.schedule, booking),
                on_done=self._on_choices_loaded,
                context=self,
            )

    def chosen(self) -> TechChoice | None:
        rows = self.list.selectionModel().selectedRows()
        return self.model.choice_at(rows[0].row()) if rows else None

    def choose(self, tech_id: TechId) -> None:
        for row in range(self.model.rowCount()):
            choice = self.model.choice_at(row)
            if choice is not None and choice.tech.id == tech_id:
                self.list.setCurrentIndex(self.model.index(row, 0))
                return
        raise KeyError(tech_id)

    def _on_choices_loaded(self, choices: list[TechChoice]) -> None:
        self.model.set_choices(choices)
        first_free = next((c for c in choices if c.free and not c.current), None)
        if first_free is not None:
            self.choose(first_free.tech.id)
        self.choices_loaded.emit()

    def _on_list_selection_changed(self, *_args: object) -> None:
        self.ok_button.setEnabled(self.chosen() is not None)
