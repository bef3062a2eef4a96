"""Technicians ▸ Office settings…: what the office tells techs on their jobs, and colour on Outlook.

The desktop's side of `crewboard office`: the number a job event or job page says to call, and
whether Outlook techs may have their jobs in their colour (each tech then opts in from their
calendar settings, which asks them for the Microsoft permission it needs).
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QLineEdit, QPushButton, QVBoxLayout, QWidget

from app.errors import CrewboardError
from app.services.container import Services
from app.services.job_links import OfficeSettingsService
from app.services.outlook_colour import OutlookColourService
from ui.plain import PlainLabel
from ui.resources import stylesheet
from ui.settings.switch import ToggleSwitch
from ui.widgets import ReleasingDialog
from ui.worker import DatabaseWorker, describe_unexpected

COLOUR_TEXT = "Allow Outlook techs to see their jobs in their colour"


class OfficeSettingsDialog(ReleasingDialog):
    """The office's number and the office-wide Outlook colour switch; each saves on its own."""

    loaded = Signal()
    saved = Signal(str)  # a short sentence saying what was stored

    def __init__(self, services: Services, db: DatabaseWorker, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._db = db
        self._office = OfficeSettingsService(services.uow, services.clock)
        self._colour = OutlookColourService(services.uow, services.clock)
        self.setObjectName("officeSettingsDialog")
        self.setWindowTitle("Office settings")
        self.setStyleSheet(stylesheet("settings"))
        self._build()
        self.resize(600, self.sizeHint().height())
        self.reload()

    def _build(self) -> None:
        column = QVBoxLayout(self)
        column.setContentsMargins(20, 16, 20, 14)
        column.setSpacing(8)

        title = PlainLabel("Office number", self)
        title.setObjectName("sectionTitle")
        column.addWidget(title)
        line = QHBoxLayout()
        self.phone = QLineEdit(self)
        self.phone.setObjectName("officePhone")
        self.phone.setPlaceholderText("(312) 555-0142")
        self.phone.returnPressed.connect(self.save_phone)
        self.save_button = QPushButton("Save number", self)
        self.save_button.setObjectName("savePhone")
        self.save_button.setAutoDefault(False)
        self.save_button.clicked.connect(self.save_phone)
        line.addWidget(self.phone, 1)
        line.addWidget(self.save_button)
        column.addLayout(line)
        self.phone_hint = PlainLabel(self)
        self.phone_hint.setObjectName("hint")
        self.phone_hint.setWordWrap(True)
        column.addWidget(self.phone_hint)

        colour_title = PlainLabel("Colour on Outlook", self)
        colour_title.setObjectName("sectionTitle")
        column.addSpacing(6)
        column.addWidget(colour_title)
        row = QHBoxLayout()
        row.setSpacing(10)
        self.colour = ToggleSwitch(COLOUR_TEXT, self)
        self.colour.setObjectName("officeOutlookColour")
        self.colour.clicked.connect(self.set_colour)
        label = PlainLabel(COLOUR_TEXT, self)
        label.setObjectName("calendarName")
        label.setBuddy(self.colour)
        row.addWidget(self.colour)
        row.addWidget(label, 1)
        column.addLayout(row)
        hint = PlainLabel(
            "Outlook colours events by category, and adding Crewboard's category needs one more Microsoft "
            "permission. Each tech turns it on in their Calendar settings, and Outlook asks them to allow it; "
            "techs who do not keep sync exactly as before.",
            self,
        )
        hint.setObjectName("hint")
        hint.setWordWrap(True)
        column.addWidget(hint)

        self.error = PlainLabel(self)
        self.error.setObjectName("formError")
        self.error.setWordWrap(True)
        self.error.hide()
        column.addWidget(self.error)
        column.addStretch(1)
        self._set_ready(False)  # nothing to change until what is stored is on screen
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        close = QPushButton("Close", self)
        close.setAutoDefault(False)
        close.clicked.connect(self.accept)
        buttons.addWidget(close)
        column.addLayout(buttons)

    def _set_ready(self, ready: bool) -> None:
        for widget in (self.phone, self.save_button, self.colour):
            widget.setEnabled(ready)

    def reload(self) -> None:
        office, colour = self._office, self._colour

        def load() -> tuple[str, str | None, bool]:
            return office.phone(), office.public_url(), colour.office_enabled()

        self._db.run(load, on_done=self._on_loaded, on_error=self._show_error, context=self)

    def _on_loaded(self, result: tuple[str, str | None, bool]) -> None:
        phone, public_url, colour_on = result
        self.phone.setText(phone)
        self.phone_hint.setText(
            f"Shown on job pages ({public_url}/job/…) as the number to call."
            if public_url
            else "Job events say to call this number: no office service serves job pages "
            "(crewboard serve --public-url)."
        )
        self.colour.setChecked(colour_on)
        self._set_ready(True)
        self.loaded.emit()

    def save_phone(self) -> None:
        self.error.hide()
        office, number = self._office, self.phone.text()

        def save() -> str:
            office.set_phone(number)
            return office.phone()

        self._db.run(
            save,
            on_done=lambda stored: self.saved.emit(
                f"Office number saved: {stored}." if stored else "Office number removed."
            ),
            on_error=self._show_error,
            context=self,
        )

    def set_colour(self, on: bool) -> None:
        self.error.hide()
        colour = self._colour
        self._db.run(
            lambda: colour.set_office(on),
            on_done=lambda _r: self.saved.emit(
                "Outlook techs can now turn on their colour in Calendar settings."
                if on
                else "Outlook jobs keep the calendar's colour for every tech."
            ),
            on_error=self._on_colour_failed,
            context=self,
        )

    def _on_colour_failed(self, error: BaseException) -> None:
        self._show_error(error)
        self.reload()

    def _show_error(self, error: BaseException) -> None:
        self.error.setText(str(error) if isinstance(error, CrewboardError) else describe_unexpected())
        self.error.show()
