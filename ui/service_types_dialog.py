"""Booking ▸ Services…: the services customers can book, their length, buffer and qualified techs.

The list is on the left, the chosen service's form on the right; every read and write runs on the
database worker, and a refusal (a name already taken, a length out of range) shows inside the
dialog as the service's own sentence.
"""

from __future__ import annotations

from datetime import timedelta

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QDialog,
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.domain.model import Technician
from app.domain.service_types import ServiceType
from app.services.container import Services
from app.services.service_types import ServiceTypeService
from ui.plain import PlainLabel
from ui.widgets import form_error_label
from ui.worker import DatabaseWorker

_ID = Qt.ItemDataRole.UserRole


class ServiceTypesDialog(QDialog):
    """Add, change and remove service types; `changed` after every save or removal, `loaded` after each reload."""

    changed = Signal()
    loaded = Signal()  # the list shows what the store holds

    def __init__(self, services: Services, worker: DatabaseWorker, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("serviceTypesDialog")
        self.setWindowTitle("Services")
        self._kinds = ServiceTypeService(services.uow)
        self._techs_service = services.techs
        self._worker = worker
        self._services: list[ServiceType] = []
        self._techs: list[Technician] = []

        self.list = QListWidget(self)
        self.list.setAccessibleName("Services")
        self.list.currentRowChanged.connect(self._on_list_current_row_changed)
        self.new_button = QPushButton("New service", self)
        self.new_button.clicked.connect(self._on_new_button_clicked)
        left = QVBoxLayout()
        left.addWidget(self.list, 1)
        left.addWidget(self.new_button)

        self.name_edit = QLineEdit(self)
        self.name_edit.setPlaceholderText("e.g. AC repair")
        self.duration_spin = _minutes(self, 5, 720, 60)
        self.buffer_spin = _minutes(self, 0, 240, 0)
        self.tech_list = QListWidget(self)
        self.tech_list.setAccessibleName("Qualified technicians")
        hint = PlainLabel("Customers can book this service with the technicians ticked here.", self)
        hint.setObjectName("hint")
        hint.setWordWrap(True)
        form = QFormLayout()
        form.setHorizontalSpacing(14)
        form.setVerticalSpacing(10)
        form.addRow("Name", self.name_edit)
        form.addRow("Length", self.duration_spin)
        form.addRow("Buffer after", self.buffer_spin)
        form.addRow("Qualified", self.tech_list)
        form.addRow("", hint)
        self.form_error = form_error_label(self)
        self.save_button = QPushButton("Save service", self)
        self.save_button.setDefault(True)
        self.save_button.clicked.connect(self._on_save_button_clicked)
        self.remove_button = QPushButton("Remove", self)
        self.remove_button.clicked.connect(self._on_remove_button_clicked)
        close = QPushButton("Close", self)
        close.clicked.connect(self.accept)
        buttons = QHBoxLayout()
        buttons.addWidget(self.remove_button)
        buttons.addStretch(1)
        buttons.addWidget(close)
        buttons.addWidget(self.save_button)
        right = QVBoxLayout()
        right.addLayout(form, 1)
        right.addWidget(self.form_error)
        right.addLayout(buttons)

        outer = QHBoxLayout(self)
        outer.setContentsMargins(20, 18, 20, 16)
        outer.setSpacing(18)
        outer.addLayout(left, 2)
        outer.addLayout(right, 3)
        self.resize(720, 440)
        self.reload()

    # --- loading -------------------------------------------------------------------------------

    def reload(self, select: str | None = None) -> None:
        kinds, techs = self._kinds, self._techs_service

        def load() -> tuple[list[ServiceType], list[Technician]]:
            return kinds.list(), techs.list()

        self._worker.run(load, on_done=lambda value: self._on_loaded(value, select), context=self)

    def _on_loaded(self, value: object, select: str | None) -> None:
        self._services, self._techs = value  # type: ignore[misc]
        self.list.blockSignals(True)
        self.list.clear()
        for service in self._services:
            item = QListWidgetItem(f"{service.name}  ·  {_length(service.duration)}", self.list)
            item.setData(_ID, service.id)
        self.list.blockSignals(False)
        row = next((i for i, s in enumerate(self._services) if s.id == select), 0 if self._services else -1)
        self.list.setCurrentRow(row)
        if row < 0:
            self._show(None)
        self.loaded.emit()

    # --- the form ------------------------------------------------------------------------------

    def current(self) -> ServiceType | None:
        row = self.list.currentRow()
        return self._services[row] if 0 <= row < len(self._services) else None

    def _on_list_current_row_changed(self, _row: int) -> None:
        self._show(self.current())

    def _on_new_button_clicked(self) -> None:
        self.list.setCurrentRow(-1)
        self._show(None)
        self.name_edit.setFocus()

    def _show(self, service: ServiceType | None) -> None:
        self.form_error.hide()
        self.name_edit.setText(service.name if service else "")
        self.duration_spin.setValue(int(service.duration.total_seconds() // 60) if service else 60)
        self.buffer_spin.setValue(int(service.buffer_after.total_seconds() // 60) if service else 0)
        self.remove_button.setEnabled(service is not None)
        self.tech_list.clear()
        for tech in self._techs:
            item = QListWidgetItem(tech.name, self.tech_list)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            ticked = service is not None and tech.id in service.qualified
            item.setCheckState(Qt.CheckState.Checked if ticked else Qt.CheckState.Unchecked)
            item.setData(_ID, tech.id)

    def ticked(self) -> list[str]:
        items = (self.tech_list.item(i) for i in range(self.tech_list.count()))
        return [str(item.data(_ID)) for item in items if item.checkState() is Qt.CheckState.Checked]

    def _on_save_button_clicked(self) -> None:
        self.form_error.hide()
        current, kinds = self.current(), self._kinds
        name, techs = self.name_edit.text(), self.ticked()
        duration = timedelta(minutes=self.duration_spin.value())
        buffer = timedelta(minutes=self.buffer_spin.value())

        def save() -> ServiceType:
            if current is None:
                return kinds.add(name, duration, buffer, techs)
            return kinds.edit(current.id, name=name, duration=duration, buffer_after=buffer, techs=techs)

        self.save_button.setEnabled(False)
        self._worker.run(save, on_done=self._on_saved, on_error=self._on_failed, context=self)

    def _on_remove_button_clicked(self) -> None:
        current, kinds = self.current(), self._kinds
        if current is None:
            return
        self._worker.run(
            lambda: kinds.remove(current.id), on_done=self._on_removed, on_error=self._on_failed, context=self
        )

    def _on_saved(self, value: object) -> None:
        self.save_button.setEnabled(True)
        assert isinstance(value, ServiceType)
        self.changed.emit()
        self.reload(select=value.id)

    def _on_removed(self, _value: object) -> None:
        self.changed.emit()
        self.reload()

    def _on_failed(self, error: BaseException) -> None:
        self.save_button.setEnabled(True)
        self._worker.report_in(error, self.form_error)


def _minutes(parent: QWidget, least: int, most: int, value: int) -> QSpinBox:
    spin = QSpinBox(parent)
    spin.setRange(least, most)
    spin.setSingleStep(15)
    spin.setSuffix(" min")
    spin.setValue(value)
    return spin


def _length(span: timedelta) -> str:
    minutes = int(span.total_seconds() // 60)
    hours, rest = divmod(minutes, 60)
    if not hours:
        return f"{rest} min"
    return f"{hours} h" if not rest else f"{hours} h {rest} min"
