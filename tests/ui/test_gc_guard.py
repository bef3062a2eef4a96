"""Cyclic garbage holding Qt objects is collected on the GUI thread, never on a worker thread."""

from __future__ import annotations

import gc
import threading
import weakref

from PySide6.QtCore import QObject, QTimer
from PySide6.QtWidgets import QApplication

from ui.gc_guard import MainThreadGarbageCollector


class _Looped(QObject):
    """A QObject with a running timer, kept alive only by a reference cycle."""

    def __init__(self) -> None:
        super().__init__()
        self.me = self
        self.timer = QTimer(self)
        self.timer.start(60_000)


def test_a_worker_thread_allocating_never_collects_and_the_gui_thread_does(qapp: QApplication) -> None:
    collector = MainThreadGarbageCollector(qapp)
    kept: list[list[int]] = []
    try:
        assert not gc.isenabled()
        looped = _Looped()
        alive = weakref.ref(looped)
        del looped

        def allocate() -> None:  # objects that live on: far past the young generation's threshold
            kept.extend([n] for n in range(20_000))

        worker = threading.Thread(target=allocate)
        worker.start()
        worker.join()
        assert gc.get_count()[0] > gc.get_threshold()[0]
        assert alive() is not None  # CPython would have collected on the worker thread; it did not

        assert collector.collect_due() > 0  # the guard's timer step, on this (the GUI) thread
        assert alive() is None
    finally:
        collector.stop()


def test_nothing_is_collected_below_the_thresholds(qapp: QApplication) -> None:
    gc.collect()
    collector = MainThreadGarbageCollector(qapp)
    try:
        assert collector.collect_due() == 0
    finally:
        collector.stop()


def test_stopping_hands_collection_back_as_it_was(qapp: QApplication) -> None:
    before = gc.isenabled()  # the GUI tests themselves run under a guard, as the app does
    try:
        for enabled in (True, False):
            (gc.enable if enabled else gc.disable)()
            collector = MainThreadGarbageCollector(qapp)
            assert not gc.isenabled()
            collector.stop()
            assert gc.isenabled() is enabled
    finally:
        (gc.enable if before else gc.disable)()
