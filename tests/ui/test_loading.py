"""LatestLoader: a burst of requests costs one read, only the newest answer is shown, stop is final."""

from __future__ import annotations

import itertools

import pytest
from PySide6.QtCore import QObject

from ui.loading import LatestLoader
from ui.worker import DatabaseWorker


@pytest.fixture
def worker(qapp):  # type: ignore[no-untyped-def]
    made = DatabaseWorker()
    yield made
    made.shutdown()
    made.deleteLater()


@pytest.fixture
def owner(qapp):  # type: ignore[no-untyped-def]
    made = QObject()
    yield made
    made.deleteLater()


def test_only_the_latest_answer_is_delivered(qtbot, worker: DatabaseWorker, owner: QObject) -> None:  # type: ignore[no-untyped-def]
    counter = itertools.count(1)
    delivered: list[int] = []
    loader = LatestLoader(worker, lambda: next(counter), delivered.append, 10, owner)
    for _ in range(3):
        loader.load()
    qtbot.waitUntil(lambda: worker.pending == 0, timeout=5000)
    assert delivered == [3]


def test_scheduled_loads_coalesce_into_one(qtbot, worker: DatabaseWorker, owner: QObject) -> None:  # type: ignore[no-untyped-def]
    reads: list[int] = []
    delivered: list[int] = []

    def query() -> int:
        reads.append(len(reads) + 1)
        return len(reads)

    loader = LatestLoader(worker, query, delivered.append, 10, owner)
    for _ in range(5):
        loader.schedule()
    qtbot.waitUntil(lambda: delivered == [1], timeout=5000)
    assert reads == [1]


def test_after_stop_nothing_loads(qtbot, worker: DatabaseWorker, owner: QObject) -> None:  # type: ignore[no-untyped-def]
    delivered: list[int] = []
    loader = LatestLoader(worker, lambda: 1, delivered.append, 10, owner)
    loader.schedule()
    loader.stop()
    loader.load()
    assert worker.pending == 0
    loader.schedule()
    # A loader still running, scheduled after the stopped one, answers only after its timer fired.
    witness: list[int] = []
    LatestLoader(worker, lambda: 2, witness.append, 10, owner).schedule()
    qtbot.waitUntil(lambda: witness == [2], timeout=5000)
    assert delivered == []
