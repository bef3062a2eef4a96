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
import time
from collections.abc import Callable

from PySide6.QtCore import QObject, QTimer

INTERVAL_MS = 500
# A full collection walks every object the app holds: about 100 ms on the GUI thread with a
# 200-tech week loaded, measured. CPython itself runs one only when the long-lived objects grew by
# a quarter, which a timer cannot see; run this often, every 11th due step made one every few
# seconds while changes streamed in. Cycles wait longer; refcounting still frees the rest at once.
FULL_EVERY_S = 60.0


class MainThreadGarbageCollector(QObject):
    """Turns automatic collection off and collects on a timer of the thread it is created in."""

    def __init__(
        self,
        parent: QObject | None = None,
        interval_ms: int = INTERVAL_MS,
        *,
        full_every_s: float = FULL_EVERY_S,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(parent)
        self._full_every = full_every_s
        self._monotonic = monotonic
        self._last_full = monotonic()
        self._was_enabled = gc.isenabled()
        self._thresholds = gc.get_threshold()
        gc.disable()
        self._timer = QTimer(self)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self.collect_due)
        self._timer.start()

    def collect_due(self) -> int:
        """Collect the oldest generation whose threshold is crossed, as CPython would (a full
        collection at most every `full_every_s`); the number of objects freed."""
        counts = gc.get_count()
        due = [g for g in range(3) if self._thresholds[g] and counts[g] > self._thresholds[g]]
        if not due:
            return 0
        generation = max(due)
        if generation == 2:
            now = self._monotonic()
            if now - self._last_full < self._full_every:
                generation = 1
            else:
                self._last_full = now
        return gc.collect(generation)

    def settle(self) -> None:
        """Once the app has started: collect, then set aside everything alive now (modules, Qt's
        wrappers, the store's mappings) so that no later full collection walks it again. Objects
        set aside are still freed by reference counting; only a cycle among them would stay."""
        gc.collect()
        gc.freeze()

    def stop(self) -> None:
        """Hand collection back to CPython (as it was before)."""
        self._timer.stop()
        if self._was_enabled:
            gc.enable()
