"""Help ▸ About Crewboard: the version, the store in use and where the log is, ready to copy.

The three facts a support call starts with, the same that `crewboard --version` prints. The
composition root reads them (the ui never opens the store) and calls `attach_about` once.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QGuiApplication
from PySide6.QtWidgets import (
    QDialog,
    QFormLayout,
    QHBoxLayout,
    QMainWindow,
    QMenu,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.about import AboutFacts
from ui.plain import PlainLabel
from ui.resources import app_icon

ICON_PIXELS = 64


class AboutDialog(QDialog):
    def __init__(self, facts: AboutFacts, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.facts = facts
        self.setObjectName("aboutDialog")
        self.setWindowTitle("About Crewboard")
        icon = PlainLabel(self)
        icon.setPixmap(app_icon().pixmap(ICON_PIXELS, ICON_PIXELS))
        icon.setAlignment(Qt.AlignmentFlag.AlignTop)
        title = PlainLabel(f"Crewboard {facts.version}", self)
        title.setObjectName("sectionTitle")
        blurb = PlainLabel(
            "Dispatch board for field-service crews, in two-way sync with each technician's calendar.",
            self,
        )
        blurb.setObjectName("hint")
        blurb.setWordWrap(True)
        form = QFormLayout()
        form.setHorizontalSpacing(12)
        form.setVerticalSpacing(8)
        for label, value in (("Store", facts.store), ("Log", facts.log), ("Python", facts.python)):
            field = PlainLabel(value, self)
            field.setObjectName(f"about{label}")
            field.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            field.setWordWrap(True)
            form.addRow(PlainLabel(f"{label}:", self), field)
        copy = QPushButton("Copy details", self)
        copy.setObjectName("aboutCopy")
        copy.setToolTip("Copy the version, store and log path, e.g. for a support e-mail")
        copy.setAutoDefault(False)  # Enter closes; only Close looks like the main button
        copy.clicked.connect(self.copy_details)
        close = QPushButton("Close", self)
        close.setDefault(True)
        close.setProperty("primary", True)
        close.clicked.connect(self.accept)
        buttons = QHBoxLayout()
        buttons.addWidget(copy)
        buttons.addStretch(1)
        buttons.addWidget(close)
        text = QVBoxLayout()
        text.setSpacing(8)
        text.addWidget(title)
        text.addWidget(blurb)
        text.addSpacing(4)
        text.addLayout(form)
        top = QHBoxLayout()
        top.setSpacing(18)
        top.addWidget(icon)
        top.addLayout(text, 1)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(22, 20, 22, 16)
        outer.setSpacing(18)
        outer.addLayout(top)
        outer.addLayout(buttons)
        self.setMinimumWidth(600)

    def copy_details(self) -> None:
        QGuiApplication.clipboard().setText("\n".join(self.facts.lines()))


def attach_about(window: QMainWindow, facts: AboutFacts) -> QAction:
    """Add Help ▸ About Crewboard to `window` (the Help menu is made if the window has none)."""
    menu = _help_menu(window) or window.menuBar().addMenu("&Help")
    action = menu.addAction("&About Crewboard")
    action.setObjectName("aboutAction")
    action.setMenuRole(QAction.MenuRole.AboutRole)  # where macOS puts it: the application menu

    def show() -> None:
        dialog = AboutDialog(facts, window)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()

    action.triggered.connect(show)
    return action


def _help_menu(window: QMainWindow) -> QMenu | None:
    for action in window.menuBar().actions():
        menu = action.menu()
        if isinstance(menu, QMenu) and menu.title().replace("&", "") == "Help":
            return menu
    return None
