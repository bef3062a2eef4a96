"""BoardRevealer: shows a conflict's booking on the board, loading its day first when needed."""

from __future__ import annotations

from datetime import date, datetime, tzinfo
from typing import Any, Protocol

from PySide6.QtCore import (
    QObject,
)

from app.domain.ids import BookingId
from ui.board.view import BoardView


class BoardWindow(Protocol):
    """What the panel needs of the main window to show a booking on the board."""

    snapshot_applied: Any
    office: tzinfo
    board: BoardView

    def go_to(self, day: date) -> None: ...


def select_on_board(board: BoardView, booking_id: BookingId) -> bool:
    """Select and scroll to the booking's tile if the board shows it now."""
    layout = board.board_layout
    if layout is None or booking_id not in layout.by_booking:
        return False
    board.select_booking(booking_id)
    return True


class BoardRevealer(QObject):
    """Brings a booking onto the board and selects it, after the right day has loaded if needed."""

    def __init__(self, window: BoardWindow, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._window = window
        self._pending: BookingId | None = None
        window.snapshot_applied.connect(self._on_window_snapshot_applied)

    def reveal(self, booking_id: str, start: datetime | None) -> None:
        window = self._window
        target = BookingId(booking_id)
        if select_on_board(window.board, target):
            self._pending = None
            return
        if start is not None:
            self._pending = target  # selected when the day that shows it has loaded
            window.go_to(start.astimezone(window.office).date())

    def _on_window_snapshot_applied(self) -> None:
        target, self._pending = self._pending, None
        if target is not None:
            select_on_board(self._window.board, target)
