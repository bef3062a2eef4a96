"""Connect this desk to the office's store: a PostgreSQL address, checked and saved for the next start.

The window keeps its current store while it runs (its screens, worker and sync are built over it);
the saved address is opened on the next start, which the dialog says in so many words. Checking and
saving happen in the composition root's `save` (the ui never touches settings files or the store):
it returns where the address was saved, or raises a CrewboardError whose sentence is shown here.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QDialog, QFormLayout, QLineEdit, QVBoxLayout, QWidget

from app.errors import CrewboardError
from ui.plain import PlainLabel
from ui.widgets import dialog_buttons, error_label, set_invalid, show_error, stacked

SaveStore = Callable[[str], Path]
EXAMPLE = "postgresql://dispatch@office-server/crewboard"


class OfficeStoreDialog(QDialog):
    saved = Signal(str)  # the sentence telling the user to restart

    def __init__(self, save: SaveStore, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("officeStoreDialog")
        self.setWindowTitle("Connect to an office store")
        self._save = save
        title = PlainLabel("Connect to your office's store", self)
        title.setObjectName("sectionTitle")
        intro = PlainLabel(
            "An office keeps its technicians, jobs and calendars in one PostgreSQL database that every "
            "desk opens. Enter the address your administrator gave you. Leave the password out: "
            "put it in ~/.pgpass on this computer, so it is never saved in a plain settings file.",
            self,
        )
        intro.setObjectName("hint")
        intro.setWordWrap(True)
        self.url_edit = QLineEdit(self)
        self.url_edit.setObjectName("officeUrl")
        self.url_edit.setPlaceholderText(EXAMPLE)
        self.url_edit.setClearButtonEnabled(True)
        self.url_error = error_label(self)
        form = QFormLayout()
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        form.setHorizontalSpacing(14)
        form.addRow("Address", stacked(self.url_edit, self.url_error))
        self.done_label = PlainLabel(self)
        self.done_label.setObjectName("doneNote")
        self.done_label.setWordWrap(True)
        self.done_label.hide()
        self.save_button, buttons = dialog_buttons(self, "Save", self.save)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(22, 18, 22, 16)
        outer.setSpacing(12)
        outer.addWidget(title)
        outer.addWidget(intro)
        outer.addLayout(form)
        outer.addWidget(self.done_label)
        outer.addStretch(1)
        outer.addLayout(buttons)
        self.setMinimumWidth(600)
        self.resize(600, 300)

    def save(self) -> None:
        text = self.url_edit.text()
        try:
            path = self._save(text)
        except CrewboardError as error:
            set_invalid(self.url_edit, True)
            show_error(self.url_error, str(error))
            return
        set_invalid(self.url_edit, False)
        show_error(self.url_error, "")
        sentence = (
            f"Saved in {shown(path)}. Restart Crewboard to open the office store; until then this window "
            "keeps working on the store it opened with."
        )
        self.done_label.setText(sentence)
        self.done_label.show()
        self.adjustSize()
        self.url_edit.setEnabled(False)
        self.save_button.setText("Close")
        self.save_button.clicked.disconnect()
        self.save_button.clicked.connect(self.accept)
        self.saved.emit(sentence)


def shown(path: Path) -> str:
    """`path` as people read it: under their home folder as ~/…."""
    try:
        return str(Path("~") / path.relative_to(Path.home()))
    except ValueError:
        return str(path)
