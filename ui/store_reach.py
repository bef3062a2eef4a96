"""The window's banner says when the store cannot be reached, and when it answers again.

The change feed's listener is the first to notice an office store gone (its connection is checked
between notices) and the first to see it back; it reports both here, from whatever thread it runs
on. While the store is gone every edit is refused by the store itself with one sentence and no
half-written change (each is one transaction, and nothing is queued at the desk); the banner
says so before anyone tries.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Qt, Signal

from app.errors import StorageError
from ui.main_window import MainWindow

BACK = "The store answers again; the board has caught up with every change made meanwhile."


# The listener's own sentence names the server and the driver's words: for the log (it logs it),
# not for a dispatcher, who needs what it means for them.
LOST = "The store cannot be reached, so edits are refused until it answers again; nothing is saved half-way."


class StoreReachNotice(QObject):
    """Feeds the listener's `on_connection` reports (StorageError, or None when back) to the banner."""

    # StorageError or None: "lost" or "back". From any thread; shown on the GUI thread.
    reach_changed = Signal(object)

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self._window = window
        self.lost: str | None = None  # the banner's text while the store is gone
        self.reach_changed.connect(self._on_self_reach_changed, Qt.ConnectionType.QueuedConnection)

    def report(self, problem: StorageError | None) -> None:
        self.reach_changed.emit(problem)

    def _on_self_reach_changed(self, problem: StorageError | None) -> None:
        if problem is not None:
            self.lost = LOST
            self._window.show_error(LOST)
        elif self.lost is not None:
            self.lost = None
            self._window.show_info(BACK)
