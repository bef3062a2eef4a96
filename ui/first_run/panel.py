"""The welcome a new user sees instead of an empty board: three ways to start, each one button.

Shown over the board while the store has no technicians; it steps aside by itself once the first
technician is on the board (see ui.first_run.entry).
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QPushButton, QVBoxLayout, QWidget

from ui.plain import PlainLabel
from ui.resources import stylesheet

CHOICES = (
    (
        "demo",
        "Try the demo",
        "A sample business: five technicians with calendars that sync, in a window of its own. "
        "Nothing you have here is touched.",
        "Open the demo",
    ),
    (
        "techs",
        "Add your technicians",
        "Name, e-mail, time zone, hours and a colour for each; then connect their Google or "
        "Outlook calendars.",
        "Add technicians…",
    ),
    (
        "office",
        "Connect to an office store",
        "Your office already runs Crewboard on a PostgreSQL server: open its board from this desk.",
        "Connect…",
    ),
)


class FirstRunPanel(QFrame):
    demo_requested = Signal()
    add_techs_requested = Signal()
    office_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("firstRun")
        self.setStyleSheet(stylesheet("first_run"))
        self.setAutoFillBackground(True)
        title = PlainLabel("Welcome to Crewboard", self)
        title.setObjectName("welcomeTitle")
        title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        subtitle = PlainLabel(
            "There are no technicians on this board yet. How would you like to start?", self
        )
        subtitle.setObjectName("welcomeSubtitle")
        subtitle.setAlignment(Qt.AlignmentFlag.AlignCenter)
        cards = QHBoxLayout()
        cards.setSpacing(18)
        signals = {
            "demo": self.demo_requested,
            "techs": self.add_techs_requested,
            "office": self.office_requested,
        }
        self.buttons: dict[str, QPushButton] = {}
        for key, heading, text, action in CHOICES:
            card, button = self._card(heading, text, action, primary=key == "techs")
            button.setObjectName(f"firstRun_{key}")
            button.clicked.connect(signals[key].emit)
            self.buttons[key] = button
            cards.addWidget(card)
        column = QVBoxLayout()
        column.setSpacing(10)
        column.addStretch(2)
        column.addWidget(title)
        column.addWidget(subtitle)
        column.addSpacing(22)
        column.addLayout(cards)
        column.addStretch(3)
        row = QHBoxLayout(self)
        row.setContentsMargins(32, 24, 32, 24)
        row.addStretch(1)
        row.addLayout(column, 0)
        row.addStretch(1)

    def _card(self, heading: str, text: str, action: str, primary: bool) -> tuple[QFrame, QPushButton]:
        card = QFrame(self)
        card.setObjectName("choiceCard")
        card.setFixedWidth(272)
        title = PlainLabel(heading, card)
        title.setObjectName("choiceTitle")
        title.setWordWrap(True)
        body = PlainLabel(text, card)
        body.setObjectName("choiceText")
        body.setWordWrap(True)
        body.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        button = QPushButton(action, card)
        button.setProperty("primary", primary)
        button.setCursor(Qt.CursorShape.PointingHandCursor)
        layout = QVBoxLayout(card)
        layout.setContentsMargins(20, 18, 20, 18)
        layout.setSpacing(10)
        layout.addWidget(title)
        layout.addWidget(body, 1)
        layout.addWidget(button, 0, Qt.AlignmentFlag.AlignLeft)
        card.setMinimumHeight(190)
        return card, button
