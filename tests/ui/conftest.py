"""GUI test setup: offscreen Qt and a main window over a real store.

Every Qt warning fails its test through pytest-qt (`qt_log_level_fail` in pyproject).
"""

from __future__ import annotations

import os

# The platform must be chosen before Qt loads (imported below).
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from collections.abc import Iterator

import pytest
from PySide6.QtWidgets import QApplication, QMessageBox, QWidget

from app.domain.time import FixedClock
from app.services.container import Services
from tests.ui.business import DEMO_NOW, Business, build_business
from ui.gc_guard import MainThreadGarbageCollector
from ui.main_window import MainWindow
from ui.style import apply_style

OFFICE = "America/Chicago"


@pytest.fixture(autouse=True)
def gui_thread_collects_garbage(qapp: QApplication) -> Iterator[MainThreadGarbageCollector]:
    """As in the app: cyclic garbage (Qt objects among it) is collected on the GUI thread only."""
    collector = MainThreadGarbageCollector(qapp)
    yield collector
    collector.stop()
    collector.deleteLater()


@pytest.fixture
def styled_app(qapp: QApplication) -> QApplication:
    apply_style(qapp)
    return qapp


@pytest.fixture
def window(qtbot, services: Services, styled_app: QApplication) -> Iterator[MainWindow]:  # type: ignore[no-untyped-def]
    """The main window over the test's store, shown, with its first snapshot applied."""
    win = MainWindow(services, office_zone=OFFICE)
    qtbot.addWidget(win)
    win.resize(1400, 860)
    with qtbot.waitSignal(win.snapshot_applied, timeout=10_000):
        win.show()
    yield win
    win.close()


def refreshed(qtbot, win: MainWindow) -> None:  # type: ignore[no-untyped-def]
    """Reload the board and wait until the new snapshot is on screen."""
    with qtbot.waitSignal(win.snapshot_applied, timeout=10_000):
        win.refresh()


@pytest.fixture
def clock() -> FixedClock:
    """Wednesday morning of the demo week (overrides the shared Monday clock)."""
    return FixedClock(DEMO_NOW)


@pytest.fixture
def business(services: Services) -> Business:
    return build_business(services)


@pytest.fixture
def busy_window(qtbot, business: Business, window: MainWindow) -> MainWindow:  # type: ignore[no-untyped-def]
    """The main window showing the demo business (built before the window opened)."""
    return window


def open_question(qtbot, parent: QWidget) -> QMessageBox:  # type: ignore[no-untyped-def]
    """Wait for the confirmation box the window or a dialog opened, and return it."""
    found: list[QMessageBox] = []

    def shown() -> bool:
        boxes = [b for b in parent.findChildren(QMessageBox) if b.isVisible()]
        found[:] = boxes
        return bool(boxes)

    qtbot.waitUntil(shown, timeout=10_000)
    return found[-1]


def answer_yes(qtbot, parent: QWidget) -> str:  # type: ignore[no-untyped-def]
    """Click the affirmative button of the open question; returns the question's text."""
    box = open_question(qtbot, parent)
    text = f"{box.text()} {box.informativeText()}"
    box.button(QMessageBox.StandardButton.Yes).click()
    return text
