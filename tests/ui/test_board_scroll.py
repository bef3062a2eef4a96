"""Scrolling moves what the board painted and paints only the strip scrolled in: the result must be
the very pixels a full repaint gives, rows, names, time header and all."""

from __future__ import annotations

from PySide6.QtGui import QImage
from PySide6.QtWidgets import QApplication, QScrollBar
from pytestqt.qtbot import QtBot

from ui.board.layout import BoardMode
from ui.main_window import MainWindow


def on_screen(win: MainWindow) -> QImage:
    """What the window's backing store holds (grab() would paint the board afresh instead)."""
    return win.screen().grabWindow(win.winId()).toImage()


def scrolled_then_repainted(
    app: QApplication, win: MainWindow, bar: QScrollBar, value: int
) -> tuple[QImage, QImage]:
    bar.setValue(value)
    app.processEvents()  # the frame Qt paints after the scroll: moved pixels and the new strip
    moved = on_screen(win)
    win.board.viewport().repaint()
    return moved, on_screen(win)


def test_scrolling_either_way_paints_what_a_full_repaint_paints(
    qtbot: QtBot, busy_window: MainWindow, styled_app: QApplication
) -> None:
    win = busy_window
    win.resize(900, 420)  # a week of six techs then scrolls both ways
    with qtbot.waitSignal(win.snapshot_applied, timeout=10_000):
        win.set_mode(BoardMode.WEEK)
    styled_app.processEvents()
    vertical, horizontal = win.board.verticalScrollBar(), win.board.horizontalScrollBar()
    assert vertical.maximum() > 0 and horizontal.maximum() > 0
    steps = [
        (vertical, 37),
        (horizontal, 55),
        (vertical, 120),
        (horizontal, 3),
        (vertical, 0),
        (horizontal, 0),
    ]
    for bar, value in steps:
        moved, repainted = scrolled_then_repainted(styled_app, win, bar, min(value, bar.maximum()))
        assert moved == repainted, f"scrolling to {value} left different pixels"
