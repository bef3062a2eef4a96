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


def test_a_full_collection_runs_at_most_once_a_minute_and_younger_ones_in_between(qapp: QApplication) -> None:
    clock = [1000.0]
    collector = MainThreadGarbageCollector(qapp, monotonic=lambda: clock[0])
    full: list[int] = []

    def record(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            full.append(info["generation"])

    gc.callbacks.append(record)
    kept: list[list[int]] = []
    try:

        def step() -> None:
            kept.extend([n] for n in range(gc.get_threshold()[0] + 10))  # past the young threshold
            collector.collect_due()

        while gc.get_count()[2] <= gc.get_threshold()[2]:  # until a full collection is due
            step()
        for _ in range(20):  # due all along, but within a minute of the start
            step()
        assert gc.get_count()[2] > gc.get_threshold()[2]
        assert 2 not in full and 1 in full
        clock[0] += 61
        step()
        assert full.count(2) == 1  # due, and a minute since the last
        full.clear()
        while gc.get_count()[2] <= gc.get_threshold()[2]:
            step()
        step()
        assert 2 not in full  # due again, but the last was under a minute ago
    finally:
        gc.callbacks.remove(record)
        collector.stop()


def test_settling_sets_aside_what_start_up_built(qapp: QApplication) -> None:
    collector = MainThreadGarbageCollector(qapp)
    try:
        collector.settle()
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
        collector.stop()
