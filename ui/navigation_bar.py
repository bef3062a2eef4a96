"""The board's navigation bar: today, previous and next, a date to jump to, the shown period, the
day/week switch and the booking shortcuts."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from PySide6.QtCore import QDate, QSize, Qt, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QDateEdit, QSizePolicy, QToolBar, QWidget

from ui.board.layout import BoardMode
from ui.board_status import period_text
from ui.plain import PlainLabel


class NavigationBar(QToolBar):
    """`date_chosen(day)` when the dispatcher picks a date; `show_period` follows the window."""

    date_chosen = Signal(date)

    def __init__(
        self,
        moves: Sequence[QAction],
        modes: Sequence[QAction],
        commands: Sequence[QAction],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__("Navigation", parent)
        self.setObjectName("navigationBar")
        self.setMovable(False)
        self.setIconSize(QSize(16, 16))
        self.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        self.addActions(list(moves))
        self.date_edit = QDateEdit(self)
        self.date_edit.setCalendarPopup(True)
        self.date_edit.setDisplayFormat("ddd d MMM yyyy")
        self.date_edit.setToolTip("Jump to a date")
        self.date_edit.dateChanged.connect(self._on_date_edit_date_changed)
        self.addWidget(self.date_edit)
        self.period_label = PlainLabel(self)
        self.period_label.setObjectName("periodLabel")
        self.addWidget(self.period_label)
        spacer = QWidget(self)
        spacer.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.addWidget(spacer)
        self.addActions(list(modes))
        self.addSeparator()
        self.addActions(list(commands))

    def show_period(self, mode: BoardMode, anchor: date) -> None:
        """Show `anchor` in the date box (without announcing it) and the period it starts."""
        self.date_edit.blockSignals(True)
        self.date_edit.setDate(QDate(anchor.year, anchor.month, anchor.day))
        self.date_edit.blockSignals(False)
        self.period_label.setText(period_text(mode, anchor))

    def _on_date_edit_date_changed(self, value: QDate) -> None:
        self.date_chosen.emit(date(value.year(), value.month(), value.day()))
