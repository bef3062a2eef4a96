"""Text from calendars, customers and users is shown as text, never as markup.

Qt guesses: a QLabel, a tooltip or a message box whose text starts with something like a tag
renders it as rich text, so an event titled `<img src='file:///etc/passwd'><span
style='font-size:28pt'>CALL NOW</span>` would load a local file and shout across the screen. Every
label here is a `PlainLabel` (Qt.TextFormat.PlainText), tooltips that carry such text go through
`plain_tip`, and message boxes are set to plain text. Where a screen mixes our markup with their text
(the board's tile tooltips), their text is escaped with html.escape instead.
"""

from __future__ import annotations

from PySide6.QtGui import Qt
from PySide6.QtWidgets import QLabel, QMessageBox, QWidget


class PlainLabel(QLabel):
    """A QLabel that never interprets its text as markup."""

    def __init__(self, text: str | QWidget | None = None, parent: QWidget | None = None) -> None:
        # QLabel's two forms: PlainLabel(parent) and PlainLabel(text, parent).
        if isinstance(text, QWidget):
            text, parent = None, text
        super().__init__(parent)
        self.setTextFormat(Qt.TextFormat.PlainText)
        if text:
            self.setText(text)


def plain_tip(text: str) -> str:
    """A tooltip showing `text` as written: text Qt would take for markup is escaped."""
    if not Qt.mightBeRichText(text):
        return text
    return Qt.convertFromPlainText(text, Qt.WhiteSpaceMode.WhiteSpaceNormal)  # wraps like any tooltip


def plain_message_box(box: QMessageBox) -> QMessageBox:
    """`box` with its text and informative text shown as plain text."""
    box.setTextFormat(Qt.TextFormat.PlainText)
    return box
