"""Small shared widgets: the message banner, confirmation prompts, inline field errors, form parts,
and the base of dialogs that must let go of what they started when they close."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QAbstractItemModel, Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (
    QCompleter,
    QDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ui.plain import PlainLabel


class MessageBanner(QFrame):
    """A non-modal strip above the board for errors and notices; it never blocks the dispatcher."""

    dismissed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("banner")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(12, 8, 8, 8)
        layout.setSpacing(10)
        self._icon = PlainLabel(self)
        self._label = PlainLabel(self)
        self._label.setWordWrap(True)
        self._label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        close = QToolButton(self)
        close.setText("✕")
        close.setToolTip("Dismiss")
        close.setCursor(Qt.CursorShape.PointingHandCursor)
        close.clicked.connect(self.dismiss)
        layout.addWidget(self._icon)
        layout.addWidget(self._label, 1)
        layout.addWidget(close)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self.dismiss)
        self.hide()

    @property
    def text(self) -> str:
        return self._label.text()

    def show_error(self, message: str) -> None:
        self._show(message, "error", "⚠", timeout_ms=0)

    def show_info(self, message: str, timeout_ms: int = 8000) -> None:
        self._show(message, "info", "ℹ", timeout_ms)

    def _show(self, message: str, kind: str, icon: str, timeout_ms: int) -> None:
        self.setProperty("kind", kind)
        self.style().unpolish(self)
        self.style().polish(self)
        self._icon.setText(icon)
        self._label.setText(message)
        self.show()
        if timeout_ms:
            self._timer.start(timeout_ms)
        else:
            self._timer.stop()

    def dismiss(self) -> None:
        self._timer.stop()
        self.hide()
        self.dismissed.emit()


def ask(
    parent: QWidget,
    title: str,
    question: str,
    detail: str,
    yes_text: str,
    on_yes: Callable[[], object],
    no_text: str = "Cancel",
    on_no: Callable[[], object] | None = None,
) -> QMessageBox:
    """A window-modal question that does not start a nested event loop; `on_yes` runs on Yes."""
    box = QMessageBox(parent)
    box.setObjectName("confirmBox")
    box.setTextFormat(Qt.TextFormat.PlainText)  # questions name techs, customers and calendars
    box.setIcon(QMessageBox.Icon.Question)
    box.setWindowTitle(title)
    box.setText(question)
    if detail:
        box.setInformativeText(detail)
    box.setStandardButtons(QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel)
    yes = box.button(QMessageBox.StandardButton.Yes)
    yes.setText(yes_text)
    box.button(QMessageBox.StandardButton.Cancel).setText(no_text)
    box.setDefaultButton(QMessageBox.StandardButton.Cancel)
    box.setWindowModality(Qt.WindowModality.WindowModal)
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)

    def finished() -> None:
        if box.clickedButton() is yes:
            on_yes()
        elif on_no is not None:
            on_no()

    box.finished.connect(finished)
    box.open()
    return box


def set_invalid(widget: QWidget, invalid: bool) -> None:
    """Mark a field red (the stylesheet reads the `invalid` property)."""
    widget.setProperty("invalid", invalid)
    widget.style().unpolish(widget)
    widget.style().polish(widget)


def error_label(parent: QWidget, name: str = "fieldError") -> QLabel:
    """A hidden, wrapping error line; the stylesheet colours it by its object name."""
    label = PlainLabel(parent)
    label.setObjectName(name)
    label.setWordWrap(True)
    label.hide()
    return label


def show_error(label: QLabel, message: str) -> None:
    label.setText(message)
    label.setVisible(bool(message))


def form_error_label(parent: QWidget) -> QLabel:
    """The sentence under a form for what no single field explains (a service's refusal)."""
    return error_label(parent, "formError")


def stacked(field: QWidget, below: QLabel) -> QWidget:
    """A field with its hint or inline error right under it, as one form row."""
    box = QWidget(field.parentWidget())
    layout = QVBoxLayout(box)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.setSpacing(3)
    layout.addWidget(field)
    layout.addWidget(below)
    return box


def dialog_buttons(
    dialog: QDialog, text: str, on_clicked: Callable[[], object]
) -> tuple[QPushButton, QHBoxLayout]:
    """Cancel and the dialog's primary (default) button, right-aligned; Cancel rejects the dialog."""
    primary = QPushButton(text, dialog)
    primary.setDefault(True)
    primary.setProperty("primary", True)
    primary.clicked.connect(on_clicked)
    cancel = QPushButton("Cancel", dialog)
    cancel.clicked.connect(dialog.reject)
    row = QHBoxLayout()
    row.addStretch(1)
    row.addWidget(cancel)
    row.addWidget(primary)
    return primary, row


def contains_completer(model: QAbstractItemModel, parent: QWidget) -> QCompleter:
    """Completion that matches anywhere in an entry, ignoring case, in a popup."""
    completer = QCompleter(model, parent)
    completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
    completer.setFilterMode(Qt.MatchFlag.MatchContains)
    completer.setCompletionMode(QCompleter.CompletionMode.PopupCompletion)
    return completer


class ReleasingDialog(QDialog):
    """A dialog that runs timers or threads of its own: `_release()` stops them however it closes.

    A dialog closes through `done()` (its buttons, Esc) or a close event (the title bar, `close()`,
    which then calls `done()` too), so `_release()` may run more than once and must allow for it.
    """

    def done(self, result: int) -> None:
        self._release()
        super().done(result)

    def closeEvent(self, event: QCloseEvent) -> None:
        self._release()
        super().closeEvent(event)

    def _release(self) -> None:
        """Stop what the dialog started; subclasses that start something say what."""
