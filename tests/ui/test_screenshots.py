"""Screenshots of the demo business for the docs: day view, week view and the booking editor.

The clock is fixed (Wednesday 4 Nov 2026, 10:40 in Chicago), so the images are stable.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QPoint
from PySide6.QtGui import QColor, QImage
from PySide6.QtWidgets import QApplication, QWidget

from tests.ui.business import Business
from ui.board.layout import BoardMode
from ui.main_window import MainWindow

SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def settle(qapp: QApplication) -> None:
    """Let pending layout requests run so the grab shows final geometry."""
    for _ in range(3):
        qapp.sendPostedEvents()
        qapp.processEvents()


def save(widget: QWidget, name: str) -> QImage:
    SHOTS.mkdir(parents=True, exist_ok=True)
    image = widget.grab().toImage()
    path = SHOTS / name
    assert image.save(str(path))
    return QImage(str(path))


def tile_pixel(win: MainWindow, booking_id: str) -> QColor:
    """The colour just inside a tile's bottom-right corner, in window coordinates."""
    layout = win.board.board_layout
    assert layout is not None
    corner = win.board.to_viewport(layout.by_booking[booking_id].rect.bottomRight())
    inside = win.board.viewport().mapTo(win, QPoint(corner.x() - 6, corner.y() - 4))
    return win.grab().toImage().pixelColor(inside)


def test_screenshots(qtbot, qapp, business: Business, window: MainWindow) -> None:  # type: ignore[no-untyped-def]
    win = window
    with qtbot.waitSignal(win.snapshot_applied, timeout=10_000):
        win.resize(1600, 900)
        win.refresh()
    settle(qapp)
    day = save(win, "board-day.png")
    assert (day.width(), day.height()) == (1600, 900)
    assert tile_pixel(win, business.bookings["hill"].id) == QColor(business.techs["Dana Ortiz"].color)

    with qtbot.waitSignal(win.snapshot_applied, timeout=10_000):
        win.set_mode(BoardMode.WEEK)
    settle(qapp)
    week = save(win, "board-week.png")
    assert (week.width(), week.height()) == (1600, 900)
    assert tile_pixel(win, business.bookings["khan"].id) == QColor(business.techs["Marcus Lee"].color)

    with qtbot.waitSignal(win.snapshot_applied, timeout=10_000):
        win.set_mode(BoardMode.DAY)
    editor = win.open_editor(booking=business.bookings["ruiz"])
    with qtbot.waitSignal(editor.day_loaded, timeout=10_000):
        pass
    qtbot.waitUntil(lambda: win.worker.pending == 0, timeout=5000)
    settle(qapp)
    shot = save(editor, "booking-editor.png")
    assert shot.width() >= 800 and shot.height() >= 500
    assert editor.timeline.day is not None and editor.timeline.day.tech.name == "Elena Novak"
