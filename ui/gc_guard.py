"""Python's cyclic garbage collection, run on the GUI thread only.

The app does work on several Python threads (the database worker, the sync engine's database
thread, one thread per Google account). CPython runs its cyclic collector in whichever thread
happens to allocate when a threshold is crossed, so a Qt object caught in a reference cycle (a
dialog whose slots close over it, a finished event loop's timer object) could be destroyed on one
of those threads. Qt objects must die on the thread they live on: Qt warns "Timers cannot be
stopped from another thread" at best and corrupts its state at worst. Reference counting still
frees almost everything at once; only cycles wait for this collector, for at most `interval_ms`.
"""

from __future__ import annotations

import gc

from PySide6.QtCore import QObject, QTimer

INTERVAL_MS = 500


class MainThreadGarbageCollector(QObject):
    """Turns automatic collection off and collects on a timer of the thread it is created in."""

    def __init__(self, parent: QObject | None = None, interval_ms: int = INTERVAL_MS) -> None:
        super().__init__(parent)
        self._was_enabled = gc.isenabled()
        self._thresholds = gc.get_threshold()
        gc.disable()
        self._timer = QTimer(self)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self.collect_due)
        self._timer.start()

    def collect_due(self) -> int:
        """Collect the oldest generation whose threshold is crossed, as CPython would; objects freed."""
        counts = gc.get_count()
        due = [g for g in range(3) if self._thresholds[g] and counts[g] > self._thresholds[g]]
        return gc.collect(max(due)) if due else 0

    def stop(self) -> None:
        """Hand collection back to CPython (as it was before)."""
        self._timer.stop()
        if self._was_enabled:
            gc.enable()
