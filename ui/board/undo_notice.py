"""UndoNoticeWidget: 'Moved Garcia family to Thu 10:00 (Dana Ortiz) — Undo' in the status bar.

It sits in the status bar rather than above the board: a banner there would push the rows down
right after a drop, under the pointer that is about to drag the next job.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QPushButton,
    QSizePolicy,
    QToolButton,
    QWidget,
)

from ui.plain import PlainLabel

SHOW_MS = 12_000


class UndoNoticeWidget(QFrame):
    """Says what just changed, with Undo; hides itself after a while (Edit ▸ Undo still works)."""

    undo_clicked = Signal()
    offered_changed = Signal(bool)  # the window makes room for it in a narrow status bar

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("undoNotice")
        # Never squeezed: a clipped "Undo" button is no button at all.
        self.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 1, 2, 1)
        layout.setSpacing(8)
        self.label = PlainLabel(self)
        self.label.setObjectName("undoNoticeText")
        self.undo_button = QPushButton("Undo", self)
        self.undo_button.setObjectName("undoNoticeButton")
        self.undo_button.setCursor(Qt.CursorShape.PointingHandCursor)
        self.undo_button.setToolTip("Put it back (Ctrl+Z)")
        self.undo_button.clicked.connect(self._on_undo_button_clicked)
        close = QToolButton(self)
        close.setText("✕")
        close.setToolTip("Dismiss")
        close.setAutoRaise(True)
        close.clicked.connect(self.dismiss)
        layout.addWidget(self.label)
        layout.addWidget(self.undo_button)
        layout.addWidget(close)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(SHOW_MS)
        self._timer.timeout.connect(self.dismiss)
        self._offered = False
        self.hide()

    @property
    def text(self) -> str:
        return self.label.text()

    @property
    def offered(self) -> bool:
        """Whether Undo is on offer here (the status bar hides it while it shows a passing message)."""
        return self._offered

    def show_change(self, text: str) -> None:
        self.label.setText(text)
        self.show()
        self._timer.start()
        self._set_offered(True)

    def dismiss(self) -> None:
        self._timer.stop()
        self.hide()
        self._set_offered(False)

    def _set_offered(self, offered: bool) -> None:
        if offered != self._offered:
            self._offered = offered
            self.offered_changed.emit(offered)

    def _on_undo_button_clicked(self) -> None:
        self.dismiss()
        self.undo_clicked.emit()
