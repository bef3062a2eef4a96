"""Small dialogs: add a technician, give a technician time off, find the first free slot.

Each validates inline and saves through the database worker; a service error appears inside the
dialog as the service's own sentence.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable, Sequence
from datetime import date, time, timedelta, tzinfo
from typing import Any

from PySide6.QtCore import QDate, Qt, QTime, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QButtonGroup,
    QColorDialog,
    QComboBox,
    QDateEdit,
    QDialog,
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QRadioButton,
    QSpinBox,
    QTimeEdit,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.domain.hours import DEFAULT_HOURS_TEXT
from app.domain.model import Technician, TimeOff
from app.domain.time import local_to_utc
from app.services.container import Services
from app.services.techs import PALETTE
from ui.models import TechRowsModel
from ui.plain import PlainLabel
from ui.resources import palette
from ui.widgets import (
    contains_completer,
    dialog_buttons,
    error_label,
    form_error_label,
    set_invalid,
    show_error,
    stacked,
)
from ui.worker import DatabaseWorker


class _ServiceDialog(QDialog):
    """A form dialog with a primary button that runs one service call on the worker."""

    saved = Signal(object)  # what the service call returned; each dialog below names its type

    def __init__(
        self, services: Services, worker: DatabaseWorker, title: str, parent: QWidget | None
    ) -> None:
        super().__init__(parent)
        self._services = services
        self._worker = worker
        self.setWindowTitle(title)
        self.form = QFormLayout()
        self.form.setLabelAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.form.setHorizontalSpacing(14)
        self.form.setVerticalSpacing(10)
        self.form_error = form_error_label(self)
        self.save_button, buttons = dialog_buttons(self, "Save", self.save)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(20, 18, 20, 16)
        outer.setSpacing(14)
        outer.addLayout(self.form)
        outer.addWidget(self.form_error)
        outer.addStretch(1)
        outer.addLayout(buttons)

    def save(self) -> None:
        self.form_error.hide()
        call = self.prepare()
        if call is None:
            return
        self.save_button.setEnabled(False)
        self._worker.run(call, on_done=self._on_saved, on_error=self._on_failed, context=self)

    def prepare(self) -> Callable[[], Any] | None:
        """Validate the form; return the service call to run, or None when something is missing."""
        raise NotImplementedError

    def _on_saved(self, value: object) -> None:
        self.save_button.setEnabled(True)
        self.saved.emit(value)
        self.accept()

    def _on_failed(self, error: BaseException) -> None:
        self.save_button.setEnabled(True)
        self._worker.report_in(error, self.form_error)


def timezone_names() -> list[str]:
    """IANA zone names people pick from (the legacy aliases left out), sorted."""
    names = zoneinfo.available_timezones()
    return sorted(n for n in names if "/" in n and not n.startswith(("Etc/", "SystemV/", "posix/", "right/")))


class TechnicianDialog(_ServiceDialog):
    """Add a technician: name, email, time zone, business hours and a colour for the board."""

    saved = Signal(Technician)

    def __init__(
        self, services: Services, worker: DatabaseWorker, default_zone: str, parent: QWidget | None = None
    ) -> None:
        super().__init__(services, worker, "Add technician", parent)
        self.setObjectName("technicianDialog")
        self.name_edit = QLineEdit(self)
        self.name_edit.setPlaceholderText("e.g. Dana Ortiz")
        self.email_edit = QLineEdit(self)
        self.email_edit.setPlaceholderText("dana@example.com")
        self.zone_combo = QComboBox(self)
        self.zone_combo.setEditable(True)
        self.zone_combo.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.zone_combo.addItems(timezone_names())
        self.zone_combo.setCompleter(contains_completer(self.zone_combo.model(), self))
        self.zone_combo.setCurrentText(default_zone)
        self.hours_edit = QLineEdit(DEFAULT_HOURS_TEXT, self)
        hours_hint = PlainLabel(
            "Like “mon-fri 08:00-17:00; sat 09:00-12:00”, in the technician's own time.", self
        )
        hours_hint.setObjectName("hint")
        hours_hint.setWordWrap(True)
        self.color = PALETTE[0]
        self.color_group = QButtonGroup(self)
        colors = QHBoxLayout()
        colors.setSpacing(6)
        ring, chosen = palette.hex("surface"), palette.hex("selection")  # around a tech colour (data)
        for index, value in enumerate(PALETTE):
            button = QToolButton(self)
            button.setCheckable(True)
            button.setFixedSize(26, 26)
            button.setToolTip(value)
            button.setStyleSheet(
                f"QToolButton {{ background: {value}; border-radius: 13px; border: 2px solid {ring}; }}"
                f"QToolButton:checked {{ border: 3px solid {chosen}; }}"
            )
            self.color_group.addButton(button, index)
            colors.addWidget(button)
        custom = QPushButton("Other…", self)
        custom.clicked.connect(self._pick_custom_color)
        colors.addWidget(custom)
        colors.addStretch(1)
        self.color_group.button(0).setChecked(True)
        self.color_group.idClicked.connect(self._on_color_group_id_clicked)
        self.name_error = error_label(self)
        self.email_error = error_label(self)
        self.form.addRow("Name", stacked(self.name_edit, self.name_error))
        self.form.addRow("Email", stacked(self.email_edit, self.email_error))
        self.form.addRow("Time zone", self.zone_combo)
        self.form.addRow("Hours", stacked(self.hours_edit, hours_hint))
        self.form.addRow("Colour", colors)
        self.save_button.setText("Add technician")
        self.resize(520, 360)

    def _on_color_group_id_clicked(self, index: int) -> None:
        self.color = PALETTE[index]

    def _pick_custom_color(self) -> None:
        dialog = QColorDialog(QColor(self.color), self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.colorSelected.connect(self._on_custom_color)
        dialog.open()

    def _on_custom_color(self, color: QColor) -> None:
        self.color = color.name()
        checked = self.color_group.checkedButton()
        if checked is not None:
            self.color_group.setExclusive(False)
            checked.setChecked(False)
            self.color_group.setExclusive(True)

    def prepare(self) -> Callable[[], Technician] | None:
        name = self.name_edit.text().strip()
        email = self.email_edit.text().strip()
        show_error(self.name_error, "" if name else "Enter the technician's name.")
        show_error(self.email_error, "" if "@" in email else "Enter an email address, like dana@example.com.")
        set_invalid(self.name_edit, not name)
        set_invalid(self.email_edit, "@" not in email)
        if not name or "@" not in email:
            return None
        zone_name = self.zone_combo.currentText().strip()
        hours = self.hours_edit.text()
        color = self.color
        techs = self._services.techs
        return lambda: techs.add(name, email, zone_name, hours=hours, color=color)


class TimeOffDialog(_ServiceDialog):
    """Block a technician for whole days or part of one day."""

    saved = Signal(TimeOff)

    def __init__(
        self,
        services: Services,
        worker: DatabaseWorker,
        office: tzinfo,
        techs: Sequence[Technician],
        tech_id: str | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(services, worker, "Time off", parent)
        self.setObjectName("timeOffDialog")
        self._office = office
        self.tech_model = TechRowsModel(parent=self)
        self.tech_model.set_techs(techs)
        self.tech_combo = QComboBox(self)
        self.tech_combo.setModel(self.tech_model)
        self.tech_combo.setCurrentIndex(max(0, self.tech_model.row_of(tech_id)))
        today = services.clock.now().astimezone(office).date()
        self.whole_days = QRadioButton("Whole days", self)
        self.part_day = QRadioButton("Part of a day", self)
        self.whole_days.setChecked(True)
        kind = QHBoxLayout()
        kind.addWidget(self.whole_days)
        kind.addWidget(self.part_day)
        kind.addStretch(1)
        self.date_edit = QDateEdit(QDate(today.year, today.month, today.day), self)
        self.date_edit.setCalendarPopup(True)
        self.date_edit.setDisplayFormat("ddd d MMM yyyy")
        self.days_spin = QSpinBox(self)
        self.days_spin.setRange(1, 60)
        self.days_spin.setSuffix(" day(s)")
        self.from_edit = QTimeEdit(QTime(12, 0), self)
        self.from_edit.setDisplayFormat("HH:mm")
        self.to_edit = QTimeEdit(QTime(14, 0), self)
        self.to_edit.setDisplayFormat("HH:mm")
        span = QHBoxLayout()
        span.addWidget(self.from_edit)
        span.addWidget(PlainLabel("to", self))
        span.addWidget(self.to_edit)
        span.addStretch(1)
        self.span_row = QWidget(self)
        self.span_row.setLayout(span)
        span.setContentsMargins(0, 0, 0, 0)
        self.reason_edit = QLineEdit(self)
        self.reason_edit.setPlaceholderText("e.g. Vacation, dentist, training")
        self.span_error = error_label(self)
        self.form.addRow("Technician", self.tech_combo)
        self.form.addRow("", kind)
        self.form.addRow("From", self.date_edit)
        self.form.addRow("Length", self.days_spin)
        self.form.addRow("Hours", stacked(self.span_row, self.span_error))
        self.form.addRow("Reason", self.reason_edit)
        self.whole_days.toggled.connect(self._on_whole_days_toggled)
        self._on_whole_days_toggled(True)
        self.save_button.setText("Add time off")
        self.resize(460, 320)

    def _on_whole_days_toggled(self, _checked: bool) -> None:
        whole = self.whole_days.isChecked()
        self.days_spin.setEnabled(whole)
        self.span_row.setEnabled(not whole)

    def prepare(self) -> Callable[[], object] | None:
        tech = self.tech_model.tech_at(self.tech_combo.currentIndex())
        if tech is None:
            self.form_error.setText("Add a technician first.")
            self.form_error.show()
            return None
        qdate = self.date_edit.date()
        day = date(qdate.year(), qdate.month(), qdate.day())
        reason = self.reason_edit.text()
        time_off = self._services.time_off
        tech_id = tech.id
        if self.whole_days.isChecked():
            days = self.days_spin.value()
            return lambda: time_off.add_days(tech_id, day, days, reason)
        start = local_to_utc(day, _time(self.from_edit.time()), self._office)
        end = local_to_utc(day, _time(self.to_edit.time()), self._office)
        if end <= start:
            show_error(self.span_error, "The end must be after the start.")
            return None
        show_error(self.span_error, "")
        return lambda: time_off.add_span(tech_id, start, end, reason)


class FindSlotDialog(QDialog):
    """Ask for a job length and which technicians may take it; the window runs the search."""

    def __init__(self, techs: Sequence[Technician], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("findSlotDialog")
        self.setWindowTitle("Find first free slot")
        self.duration_spin = QSpinBox(self)
        self.duration_spin.setRange(15, 12 * 60)
        self.duration_spin.setSingleStep(15)
        self.duration_spin.setValue(90)
        self.duration_spin.setSuffix(" min")
        self.tech_list = QListWidget(self)
        self.tech_list.setMinimumHeight(180)
        for tech in techs:
            item = QListWidgetItem(tech.name, self.tech_list)
            item.setData(Qt.ItemDataRole.UserRole, tech.id)
            item.setData(Qt.ItemDataRole.DecorationRole, QColor(tech.color))
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked)
        self.error = error_label(self)
        form = QFormLayout()
        form.setHorizontalSpacing(14)
        form.addRow("Job length", self.duration_spin)
        form.addRow("Technicians", stacked(self.tech_list, self.error))
        self.find_button, buttons = dialog_buttons(self, "Find slot", self._on_find_button_clicked)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(20, 18, 20, 16)
        outer.addLayout(form)
        outer.addLayout(buttons)
        self.resize(420, 360)

    def duration(self) -> timedelta:
        return timedelta(minutes=self.duration_spin.value())

    def tech_ids(self) -> list[str]:
        items = (self.tech_list.item(i) for i in range(self.tech_list.count()))
        return [
            str(i.data(Qt.ItemDataRole.UserRole)) for i in items if i.checkState() == Qt.CheckState.Checked
        ]

    def _on_find_button_clicked(self) -> None:
        if not self.tech_ids():
            show_error(self.error, "Tick at least one technician.")
            return
        self.accept()


def _time(value: QTime) -> time:
    return time(value.hour(), value.minute())
