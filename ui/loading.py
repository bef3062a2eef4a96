"""LatestLoader: one query kept fresh on the database worker, only the newest answer shown.

Screens that mirror the database (the conflicts panel, the health window, the alert inbox) ask for
a fresh read whenever the bus says something changed. Reads can overtake each other on the way
back, so an older answer must never replace a newer one; a burst of change events should cost one
read, not one each; and once the window closes its worker is gone, so nothing may load any more.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

from PySide6.QtCore import QObject, QTimer

from ui.worker import DatabaseWorker

T = TypeVar("T")


class LatestLoader(QObject, Generic[T]):
    """Runs `query` on the worker and hands `on_loaded` only the answer to the latest request.

    `load()` reads now; `schedule()` reads once after `delay_ms`, however often it is called
    meanwhile; `cancel()` drops a scheduled read; `stop()` ends all reading for good. The loader
    is the context of its worker calls, so its answers are dropped once it (or its parent) is gone.
    """

    def __init__(
        self,
        worker: DatabaseWorker,
        query: Callable[[], T],
        on_loaded: Callable[[T], None],
        delay_ms: int,
        parent: QObject,
    ) -> None:
        super().__init__(parent)
        self._worker = worker
        self._query = query
        self._on_loaded = on_loaded
        self._generation = 0
        self._stopped = False
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(delay_ms)
        self._timer.timeout.connect(self.load)

    def load(self) -> None:
        self._timer.stop()
        if self._stopped:
            return
        self._generation += 1
        generation = self._generation
        self._worker.run(self._query, on_done=lambda value: self._deliver(generation, value), context=self)

    def schedule(self) -> None:
        self._timer.start()

    def cancel(self) -> None:
        self._timer.stop()

    def stop(self) -> None:
        """No more loading: the window is closing and its worker is gone."""
        self._stopped = True
        self._timer.stop()

    def _deliver(self, generation: int, value: T) -> None:
        if generation == self._generation:
            self._on_loaded(value)
