"""Add several technicians at once, then connect each one's calendar.

One row per technician (name, e-mail, time zone, hours, colour). Every row is checked with the same
rules the technician service applies, so a mistake is marked on its own row before anything is
saved. Saving adds each technician whole; a row the store still refuses (someone added the same name
meanwhile) stays in the dialog with the store's sentence, and the rows already added leave it. Then
the dialog turns to its second page: each new technician with a "Connect calendar" button.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QColorDialog,
    QComboBox,
    QDialog,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QStackedWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.domain.hours import DEFAULT_HOURS_TEXT, BusinessHours
from app.domain.ids import TechId
from app.domain.model import Technician
from app.domain.time import zone
from app.errors import CrewboardError
from app.services.container import Services
from app.services.techs import PALETTE, validate_email
from app.services.text import typed_line
from ui.dialogs import timezone_names
from ui.plain import PlainLabel
from ui.resources import palette, stylesheet
from ui.widgets import contains_completer, error_label, form_error_label, set_invalid, show_error
from ui.worker import DatabaseWorker

COLUMNS = ("Name", "E-mail", "Time zone", "Business hours", "Colour", "")
ROWS_AT_START = 3


@dataclass(frozen=True, slots=True)
class TechDraft:
    """One row, checked: what `TechnicianService.add` is called with."""

    name: str
    email: str
    timezone: str
    hours: str
    color: str


@dataclass(frozen=True, slots=True)
class SaveOutcome:
    added: tuple[Technician, ...]
    refused: tuple[tuple[TechDraft, str], ...]  # a row and the store's sentence


class ColorButton(QToolButton):
    """A round swatch of the tech's colour; clicking it opens a colour picker."""

    changed = Signal(str)

    def __init__(self, color: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("techColor")
        self.setFixedSize(28, 28)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.clicked.connect(self._pick)
        self.color = color
        self._paint()

    def set_color(self, color: str) -> None:
        self.color = color
        self._paint()
        self.changed.emit(color)

    def _paint(self) -> None:
        ring = palette.hex("border")
        self.setToolTip(f"The tech's colour on the board: {self.color}. Click to change.")
        # The swatch shows data (the tech's colour), so it is set here, not in the stylesheet.
        self.setStyleSheet(
            f"QToolButton#techColor {{ background: {self.color}; border-radius: 14px;"
            f" border: 2px solid {ring}; }}"
        )

    def _pick(self) -> None:
        dialog = QColorDialog(QColor(self.color), self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.colorSelected.connect(lambda chosen: self.set_color(chosen.name()))
        dialog.open()


class TechRow:
    """The widgets of one technician row, placed into the dialog's grid by `place`."""

    def __init__(self, parent: QWidget, default_zone: str, color: str, zones: Sequence[str]) -> None:
        self.name = QLineEdit(parent)
        self.name.setPlaceholderText("e.g. Dana Ortiz")
        self.email = QLineEdit(parent)
        self.email.setPlaceholderText("dana@example.com")
        self.zone = QComboBox(parent)
        self.zone.setEditable(True)
        self.zone.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.zone.addItems(list(zones))
        self.zone.setCompleter(contains_completer(self.zone.model(), parent))
        self.zone.setCurrentText(default_zone)
        self.hours = QLineEdit(DEFAULT_HOURS_TEXT, parent)
        self.hours.setToolTip("Like “mon-fri 08:00-17:00; sat 09:00-12:00”, in the technician's own time")
        self.color = ColorButton(color, parent)
        self.remove = QToolButton(parent)
        self.remove.setObjectName("removeRow")
        self.remove.setText("✕")
        self.remove.setToolTip("Remove this row")
        self.error = error_label(parent)
        self.widgets: tuple[QWidget, ...] = (
            self.name,
            self.email,
            self.zone,
            self.hours,
            self.color,
            self.remove,
            self.error,
        )

    def place(self, grid: QGridLayout, row: int) -> None:
        """Grid row 0 holds the column titles; this row's fields go below, its error under them."""
        line = 1 + row * 2
        grid.addWidget(self.name, line, 0)
        grid.addWidget(self.email, line, 1)
        grid.addWidget(self.zone, line, 2)
        grid.addWidget(self.hours, line, 3)
        grid.addWidget(self.color, line, 4, Qt.AlignmentFlag.AlignCenter)
        grid.addWidget(self.remove, line, 5)
        grid.addWidget(self.error, line + 1, 0, 1, 6)

    def is_blank(self) -> bool:
        return not self.name.text().strip() and not self.email.text().strip()

    def check(self, taken: set[str]) -> TechDraft | None:
        """The row as a draft, or None with the row's first problem shown under it."""
        problem, field = self._problem(taken)
        for widget in (self.name, self.email, self.hours):
            set_invalid(widget, widget is field)
        show_error(self.error, problem or "")
        if problem:
            return None
        return TechDraft(
            name=" ".join(self.name.text().split()),
            email=self.email.text().strip(),
            timezone=self.zone.currentText().strip(),
            hours=self.hours.text().strip(),
            color=self.color.color,
        )

    def _problem(self, taken: set[str]) -> tuple[str | None, QWidget | None]:
        try:
            name = typed_line(self.name.text(), "A technician's name")
        except CrewboardError as error:
            return str(error), self.name
        if not name:
            return "Enter the technician's name.", self.name
        if name.casefold() in taken:
            return f"There is already a technician called {name}; give each one their own name.", self.name
        try:
            validate_email(self.email.text())
        except CrewboardError:
            return "Enter an e-mail address, like dana@example.com.", self.email
        try:
            zone(self.zone.currentText().strip())
        except CrewboardError as error:
            return str(error), self.zone
        try:
            BusinessHours.parse(self.hours.text())
        except CrewboardError as error:
            return str(error), self.hours
        return None, None

    def clear_marks(self) -> None:
        for widget in (self.name, self.email, self.hours):
            set_invalid(widget, False)
        show_error(self.error, "")

    def show_refusal(self, sentence: str) -> None:
        show_error(self.error, sentence)

    def delete(self) -> None:
        for widget in self.widgets:
            widget.deleteLater()


class AddTechniciansDialog(QDialog):
    """Page one: the rows and "Add technicians". Page two: "Connect calendar" for each one added."""

    added = Signal(list)  # the Technicians added, once per save
    connect_requested = Signal(str)  # a TechId whose calendar settings should open

    def __init__(
        self,
        services: Services,
        worker: DatabaseWorker,
        default_zone: str,
        existing: Sequence[Technician] = (),
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("addTechniciansDialog")
        self.setWindowTitle("Add your technicians")
        self.setStyleSheet(stylesheet("first_run"))
        self._services = services
        self._worker = worker
        self._default_zone = default_zone
        self._existing = {t.name.casefold() for t in existing}
        self._colors_used = len(existing)
        self._zones = timezone_names()
        self.rows: list[TechRow] = []
        self.added_techs: list[Technician] = []

        self.pages = QStackedWidget(self)
        self.pages.addWidget(self._build_entry_page())
        self.pages.addWidget(self._build_connect_page())
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(self.pages)
        for _ in range(ROWS_AT_START):
            self.add_row()
        self.resize(980, 460)

    # --- page one: the rows -------------------------------------------------------------------------

    def _build_entry_page(self) -> QWidget:
        page = QWidget(self)
        title = PlainLabel("Add your technicians", page)
        title.setObjectName("sectionTitle")
        intro = PlainLabel(
            "One row per technician; empty rows are skipped. Business hours are in the technician's "
            "own time zone, like “mon-fri 08:00-17:00; sat 09:00-12:00”.",
            page,
        )
        intro.setObjectName("hint")
        intro.setWordWrap(True)
        self._grid_box = QWidget(page)
        self.grid = QGridLayout(self._grid_box)
        self.grid.setContentsMargins(0, 0, 0, 0)
        self.grid.setHorizontalSpacing(10)
        self.grid.setVerticalSpacing(4)
        for column, (stretch, width) in enumerate(((3, 150), (4, 190), (3, 170), (4, 190), (0, 44), (0, 26))):
            self.grid.setColumnStretch(column, stretch)
            self.grid.setColumnMinimumWidth(column, width)
            heading = PlainLabel(COLUMNS[column], self._grid_box)
            heading.setObjectName("columnTitle")
            self.grid.addWidget(heading, 0, column)
        scroll = QScrollArea(page)
        scroll.setObjectName("techRows")
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        holder = QWidget(scroll)
        rows_column = QVBoxLayout(holder)
        rows_column.setContentsMargins(0, 0, 6, 0)
        rows_column.addWidget(self._grid_box)
        rows_column.addStretch(1)
        scroll.setWidget(holder)
        self.add_button = QPushButton("+ Add another technician", page)
        self.add_button.setObjectName("addRow")
        self.add_button.setAutoDefault(False)
        self.add_button.clicked.connect(self.add_row)
        self.form_error = form_error_label(page)
        cancel = QPushButton("Cancel", page)
        cancel.setAutoDefault(False)
        cancel.clicked.connect(self.reject)
        self.save_button = QPushButton("Add technicians", page)
        self.save_button.setProperty("primary", True)
        self.save_button.setDefault(True)
        self.save_button.clicked.connect(self.save)
        buttons = QHBoxLayout()
        buttons.addWidget(self.add_button)
        buttons.addStretch(1)
        buttons.addWidget(cancel)
        buttons.addWidget(self.save_button)
        layout = QVBoxLayout(page)
        layout.setContentsMargins(22, 18, 22, 16)
        layout.setSpacing(12)
        layout.addWidget(title)
        layout.addWidget(intro)
        layout.addWidget(scroll, 1)
        layout.addWidget(self.form_error)
        layout.addLayout(buttons)
        return page

    def add_row(self) -> TechRow:
        color = PALETTE[(self._colors_used + len(self.rows)) % len(PALETTE)]
        row = TechRow(self._grid_box, self._default_zone, color, self._zones)
        row.remove.clicked.connect(lambda: self.remove_row(row))
        self.rows.append(row)
        self._relayout()
        row.name.setFocus()
        return row

    def remove_row(self, row: TechRow) -> None:
        self.rows.remove(row)
        row.delete()
        if not self.rows:
            self.add_row()
        self._relayout()

    def _relayout(self) -> None:
        for row in self.rows:
            for widget in row.widgets:
                self.grid.removeWidget(widget)
        for index, row in enumerate(self.rows):
            row.place(self.grid, index)
            row.remove.setEnabled(len(self.rows) > 1)
        filled = sum(1 for row in self.rows if not row.is_blank())
        self.save_button.setText("Add technicians" if filled != 1 else "Add technician")

    def drafts(self) -> list[TechDraft] | None:
        """Every filled row, checked; None (with each problem shown on its row) if any is wrong."""
        taken = set(self._existing)
        drafts: list[TechDraft] = []
        ok = True
        for row in self.rows:
            if row.is_blank():
                row.clear_marks()
                continue
            draft = row.check(taken)
            if draft is None:
                ok = False
                continue
            taken.add(draft.name.casefold())
            drafts.append(draft)
        if ok and not drafts:
            show_error(self.form_error, "Fill in at least one technician: a name and an e-mail address.")
            return None
        show_error(self.form_error, "")
        return drafts if ok else None

    def save(self) -> None:
        drafts = self.drafts()
        if drafts is None:
            return
        self.save_button.setEnabled(False)
        techs = self._services.techs

        def add_each() -> SaveOutcome:
            added: list[Technician] = []
            refused: list[tuple[TechDraft, str]] = []
            for draft in drafts:
                try:
                    added.append(
                        techs.add(
                            draft.name, draft.email, draft.timezone, hours=draft.hours, color=draft.color
                        )
                    )
                except CrewboardError as error:
                    refused.append((draft, str(error)))
            return SaveOutcome(tuple(added), tuple(refused))

        self._worker.run(add_each, on_done=self._on_saved, on_error=self._on_failed, context=self)

    def _on_saved(self, outcome: SaveOutcome) -> None:
        self.save_button.setEnabled(True)
        self.added_techs.extend(outcome.added)
        if outcome.added:
            self.added.emit(list(outcome.added))
        done = {t.name.casefold() for t in outcome.added}
        refusals = {draft.name.casefold(): sentence for draft, sentence in outcome.refused}
        for row in list(self.rows):
            key = " ".join(row.name.text().split()).casefold()
            if key in done:
                self.rows.remove(row)
                row.delete()
            elif key in refusals:
                row.show_refusal(refusals[key])
        self._existing |= done
        if outcome.refused:
            if not self.rows:
                self.add_row()
            self._relayout()
            show_error(
                self.form_error,
                f"{len(outcome.added)} added; the rows still here were refused, each says why.",
            )
            return
        self.show_connect_page()

    def _on_failed(self, error: BaseException) -> None:
        self.save_button.setEnabled(True)
        if isinstance(error, CrewboardError):
            show_error(self.form_error, str(error))
        else:
            self._worker.report(error)

    # --- page two: connect each one's calendar ------------------------------------------------------

    def _build_connect_page(self) -> QWidget:
        page = QWidget(self)
        self._connect_title = PlainLabel("", page)
        self._connect_title.setObjectName("sectionTitle")
        intro = PlainLabel(
            "Connect each technician's Google or Outlook calendar, so their own appointments block "
            "their time and their jobs appear on their phone. You can also do this later: "
            "double-click a name on the board.",
            page,
        )
        intro.setObjectName("hint")
        intro.setWordWrap(True)
        self._connect_list = QVBoxLayout()
        self._connect_list.setSpacing(8)
        done = QPushButton("Done", page)
        done.setProperty("primary", True)
        done.setDefault(True)
        done.clicked.connect(self.accept)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(done)
        layout = QVBoxLayout(page)
        layout.setContentsMargins(22, 18, 22, 16)
        layout.setSpacing(12)
        layout.addWidget(self._connect_title)
        layout.addWidget(intro)
        layout.addLayout(self._connect_list)
        layout.addStretch(1)
        layout.addLayout(buttons)
        return page

    def show_connect_page(self) -> None:
        count = len(self.added_techs)
        self._connect_title.setText(f"{count} technician{'s' if count != 1 else ''} added")
        for tech in self.added_techs:
            self._connect_list.addWidget(self._connect_row(tech))
        self.pages.setCurrentIndex(1)
        self.setWindowTitle("Connect calendars")

    def _connect_row(self, tech: Technician) -> QWidget:
        row = QFrame(self)
        row.setObjectName("connectRow")
        dot = PlainLabel(row)
        dot.setFixedSize(14, 14)
        dot.setStyleSheet(f"background: {tech.color}; border-radius: 7px;")  # the tech's colour (data)
        name = PlainLabel(tech.name, row)
        name.setObjectName("connectName")
        detail = PlainLabel(f"{tech.email} · {tech.timezone}", row)
        detail.setObjectName("hint")
        button = QPushButton("Connect calendar…", row)
        button.setObjectName("connectCalendar")
        button.setAutoDefault(False)
        button.clicked.connect(lambda: self.connect_requested.emit(tech.id))
        text = QVBoxLayout()
        text.setSpacing(1)
        text.addWidget(name)
        text.addWidget(detail)
        layout = QHBoxLayout(row)
        layout.setContentsMargins(12, 8, 12, 8)
        layout.setSpacing(12)
        layout.addWidget(dot)
        layout.addLayout(text, 1)
        layout.addWidget(button)
        return row

    def connect_buttons(self) -> dict[TechId, QPushButton]:
        """Each added tech's "Connect calendar…" button (for the tests and the composition root)."""
        buttons = self.findChildren(QPushButton, "connectCalendar")
        return {tech.id: button for tech, button in zip(self.added_techs, buttons, strict=True)}
