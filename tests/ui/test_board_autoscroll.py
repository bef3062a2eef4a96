"""Auto-scroll while dragging: a job held near an edge of a long board scrolls it towards rows
that are off-screen, and stops when the pointer leaves the edge or the drag ends."""

from __future__ import annotations

from datetime import timedelta

import pytest
from PySide6.QtCore import QPoint, QPointF, QRect, Qt
from PySide6.QtGui import QDragEnterEvent, QDragLeaveEvent, QDragMoveEvent, QDropEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from app.services.container import Services
from tests.ui.business import MONDAY, Business, add_tech, at
from tests.ui.conftest import refreshed
from ui.board.autoscroll import EDGE, MAX_STEP, MIN_STEP, scroll_velocity
from ui.main_window import MainWindow

WED = MONDAY + timedelta(days=2)
LEFT = Qt.MouseButton.LeftButton
NO_MOD = Qt.KeyboardModifier.NoModifier
MOVE = Qt.DropAction.MoveAction


@pytest.fixture
def crowded(qtbot, busy_window: MainWindow, services: Services) -> MainWindow:  # type: ignore[no-untyped-def]
    """The demo business with 30 more technicians (names sorting after the demo's): a long board."""
    for n in range(30):
        add_tech(services, f"Zoe Tech {n:02d}")
    refreshed(qtbot, busy_window)
    board = busy_window.board
    assert board.verticalScrollBar().maximum() > 1000
    assert board.verticalScrollBar().value() == 0
    return busy_window


def near_bottom(win: MainWindow, x: int) -> QPoint:
    return QPoint(x, win.board.viewport().height() - 6)


def grid_middle(win: MainWindow, x: int) -> QPoint:
    header = win.board.header_height
    return QPoint(x, header + (win.board.viewport().height() - header) // 2)


def test_the_speed_grows_towards_each_edge_and_is_zero_inside() -> None:
    grid = QRect(200, 40, 800, 600)  # x 200..1000, y 40..640
    assert scroll_velocity(QPoint(600, 340), grid) == (0, 0)
    slow = scroll_velocity(QPoint(600, 640 - EDGE + 4), grid)
    fast = scroll_velocity(QPoint(600, 638), grid)
    assert 0 < slow[1] < fast[1] <= MAX_STEP and slow[0] == fast[0] == 0
    assert scroll_velocity(QPoint(600, 900), grid) == (0, MAX_STEP)  # beyond the edge: full speed
    assert scroll_velocity(QPoint(600, 42), grid)[1] < -MIN_STEP  # towards the time header: up
    assert scroll_velocity(QPoint(998, 340), grid)[0] > MIN_STEP  # right edge: later in the week
    assert scroll_velocity(QPoint(150, 340), grid) == (-MAX_STEP, 0)  # over the names: earlier


def test_holding_a_tile_near_the_bottom_scrolls_to_an_off_screen_tech_and_drops_there(
    qtbot, crowded: MainWindow, business: Business, services: Services
) -> None:  # type: ignore[no-untyped-def]
    win, board = crowded, crowded.board
    hill = business.bookings["hill"]  # Dana Ortiz, the first row
    bar = board.verticalScrollBar()
    center = board.tile_center(hill.id)
    viewport = board.viewport()
    QTest.mousePress(viewport, LEFT, NO_MOD, center)
    QTest.mouseMove(viewport, grid_middle(win, center.x()))
    assert not board.autoscrolling
    QTest.mouseMove(viewport, near_bottom(win, center.x()))
    assert board.autoscrolling
    # The pointer is held still: the board keeps scrolling and the target follows the content.
    qtbot.waitUntil(lambda: bar.value() > 600, timeout=10_000)
    target = board.drag_target
    assert target is not None and target[0] != hill.tech_id
    layout = board.board_layout
    assert layout is not None and (layout.row_index(target[0]) or 0) > 8

    QTest.mouseMove(viewport, grid_middle(win, center.x()))  # away from the edge: it stops
    assert not board.autoscrolling
    held = bar.value()
    qtbot.wait(150)
    assert bar.value() == held
    still = board.drag_target
    assert still is not None
    with qtbot.waitSignal(win.snapshot_applied, timeout=10_000):
        QTest.mouseRelease(viewport, LEFT, NO_MOD, grid_middle(win, center.x()))
    moved = services.bookings.get(hill.id)
    assert (moved.tech_id, moved.start) == still
    assert moved.tech_id != hill.tech_id


def test_a_refresh_keeps_the_drag_and_escape_stops_the_scrolling(
    qtbot, crowded: MainWindow, business: Business
) -> None:  # type: ignore[no-untyped-def]
    board = crowded.board
    center = board.tile_center(business.bookings["hill"].id)
    viewport = board.viewport()
    QTest.mousePress(viewport, LEFT, NO_MOD, center)
    QTest.mouseMove(viewport, grid_middle(crowded, center.x()))
    QTest.mouseMove(viewport, near_bottom(crowded, center.x()))
    qtbot.waitUntil(lambda: board.verticalScrollBar().value() > 0, timeout=10_000)
    refreshed(qtbot, crowded)  # sync brings fresh snapshots all day: the drag goes on
    assert board.autoscrolling and board.drag_target is not None
    QTest.keyClick(board, Qt.Key.Key_Escape)  # the dispatcher gives up on the drag
    assert not board.autoscrolling and board.drag_target is None
    QTest.mouseRelease(viewport, LEFT, NO_MOD, near_bottom(crowded, center.x()))
    assert not board.autoscrolling


def test_a_job_from_the_tray_scrolls_the_board_too(
    qtbot, crowded: MainWindow, business: Business, services: Services
) -> None:  # type: ignore[no-untyped-def]
    win, board = crowded, crowded.board
    model = win.unassigned_model
    morris = business.bookings["unassigned1"]
    row = next(r for r in range(model.rowCount()) if model.job_at(r) == morris)
    data = model.mimeData([model.index(row, 0)])
    x = board.point_for(business.techs["Dana Ortiz"].id, at(WED, 14)).x()
    viewport = board.viewport()
    enter = QDragEnterEvent(grid_middle(win, x), MOVE, data, LEFT, NO_MOD)
    QApplication.sendEvent(viewport, enter)
    assert enter.isAccepted()
    QApplication.sendEvent(viewport, QDragMoveEvent(near_bottom(win, x), MOVE, data, LEFT, NO_MOD))
    assert board.autoscrolling
    bar = board.verticalScrollBar()
    qtbot.waitUntil(lambda: bar.value() > 400, timeout=10_000)
    target = board.drag_target
    assert target is not None and target[1] == at(WED, 14)
    QApplication.sendEvent(viewport, QDragLeaveEvent())  # the pointer went back to the tray
    assert not board.autoscrolling and board.drag_target is None
    held = bar.value()
    qtbot.wait(150)
    assert bar.value() == held

    # Coming back and dropping in the middle lands the job on the row now shown there.
    QApplication.sendEvent(viewport, QDragEnterEvent(grid_middle(win, x), MOVE, data, LEFT, NO_MOD))
    QApplication.sendEvent(viewport, QDragMoveEvent(grid_middle(win, x), MOVE, data, LEFT, NO_MOD))
    assert not board.autoscrolling
    aimed = board.drag_target
    assert aimed is not None
    with qtbot.waitSignal(win.snapshot_applied, timeout=10_000):
        QApplication.sendEvent(viewport, QDropEvent(QPointF(grid_middle(win, x)), MOVE, data, LEFT, NO_MOD))
    assigned = services.bookings.get(morris.id)
    assert (assigned.tech_id, assigned.start) == aimed
