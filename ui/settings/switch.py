"""A small on/off switch: clearer than a tick box for a setting that takes effect at once."""

from __future__ import annotations

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QPainter, QPaintEvent
from PySide6.QtWidgets import QAbstractButton, QWidget

from ui.resources import palette


class ToggleSwitch(QAbstractButton):
    """A checkable pill with a knob; its text is the accessible name (shown by the row beside it)."""

    def __init__(self, text: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setCheckable(True)
        self.setText(text)
        self.setAccessibleName(text)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)

    def sizeHint(self) -> QSize:
        return QSize(40, 22)

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        track = QRectF(1, 2, 38, 20)
        on = self.isChecked()
        color = palette.color("accent" if on else "switch_off")
        if not self.isEnabled():
            color = palette.color("switch_on_disabled" if on else "switch_off_disabled")
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(color)
        painter.drawRoundedRect(track, 10, 10)
        knob = QRectF(track.right() - 18 if on else track.left() + 2, track.top() + 2, 16, 16)
        painter.setBrush(palette.color("switch_knob"))
        painter.drawEllipse(knob)
        if self.hasFocus():
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.setPen(palette.color("accent"))
            painter.drawRoundedRect(track.adjusted(-1, -1, 1, 1), 11, 11)
        painter.end()
