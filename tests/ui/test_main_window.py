"""The main window driven like a dispatcher would: through the board, the keyboard and the menus."""

from __future__ import annotations

from datetime import date, timedelta

from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent, QDropEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from app.domain.model import BookingStatus
from app.services.bookings import NewBooking
from app.services.container import Services
from tests.ui.business import MONDAY, Business, at
from tests.ui.conftest import answer_yes, open_question
from ui.board.layout import BoardMode
from ui.board.scene import EMPTY_TEXT
from ui.main_window import MainWindow

WED = MONDAY + timedelta(days=2)
LEFT = Qt.MouseButton.LeftButton
NO_MOD = Qt.KeyboardModifier.NoModifier


def drag(qtbot, win: MainWindow, start: QPoint, end: QPoint) -> None:  # type: ignore[no-untyped-def]
    viewport = win.board.viewport()
    QTest.mousePress(viewport, LEFT, NO_MOD, start)
    middle = QPoint((start.x() + end.x()) // 2, (start.y() + end.y()) // 2)
    QTest.mouseMove(viewport, middle)
    QTest.mouseMove(viewport, end)


def release(win: MainWindow, at_point: QPoint) -> None:
    QTest.mouseRelease(win.board.viewport(), LEFT, NO_MOD, at_point)


def grab_offset(win: MainWindow, booking_id: str) -> tuple[QPoint, int]:
    """The tile's centre and how far right of the tile's start that is."""
    center = win.board.tile_center(booking_id)
    layout = win.board.board_layout
    assert layout is not None
    left = win.board.to_viewport(layout.by_booking[booking_id].rect.topLeft()).x()
    return center, center.x() - left


def test_the_board_shows_todays_techs_and_jobs(busy_window: MainWindow, business: Business) -> None:
    win = busy_window
    snapshot = win.snapshot
    assert snapshot is not None
    assert [r.tech.name for r in snapshot.rows][:2] == ["Dana Ortiz", "Elena Novak"]
    assert win.mode is BoardMode.DAY and win.anchor == WED
    layout = win.board.board_layout
    assert layout is not None and len(layout.rows) == 6
    assert business.bookings["hill"].id in layout.by_booking
    assert business.bookings["adams"].id not in layout.by_booking  # Monday's job
    assert "Wednesday 4 November 2026" in win.period_label.text()
    assert "6 technicians" in win.summary_label.text()
    assert "2 unassigned" in win.summary_label.text()
    assert not win.board.grab().isNull()


def test_day_and_week_views_and_date_navigation(qtbot, busy_window: MainWindow, business: Business) -> None:  # type: ignore[no-untyped-def]
    win = busy_window
    with qtbot.waitSignal(win.snapshot_applied, timeout=10_000):
        win.week_action.trigger()
    assert win.mode is BoardMode.WEEK and win.board.mode is BoardMode.WEEK
    assert win.board.first_day == MONDAY
    layout = win.board.board_layout
    assert layout is not None and layout.axis.days == 7
    assert business.bookings["adams"].id in layout.by_booking
    assert "Week of 2–8 Nov 2026" in win.period_label.text()
    with qtbot.waitSignal(win.snapshot_applied, timeout=10_000):
        win.next_action.trigger()
    assert win.board.first_day == MONDAY + timedelta(days=7)
    assert win.board.board_layout is not None and not win.board.board_layout.by_booking
    with qtbot.waitSignal(win.snapshot_applied, timeout=10_000):
        win.day_action.trigger()
    assert win.board.first_day == WED + timedelta(days=7)
    with qtbot.waitSignal(win.snapshot_applied, timeout=10_000):
        win.prev_action.trigger()
    assert win.anchor == WED + timedelta(days=6)  # one day back in the day view
    with qtbot.waitSignal(win.snapshot_applied, timeout=10_000):
        win.date_edit.setDate(date(2026, 11, 5))
    assert win.board.first_day == date(2026, 11, 5)
    with qtbot.waitSignal(win.snapshot_applied, timeout=10_000):
        win.today_action.trigger()
    assert win.board.first_day == WED


def test_dragging_a_tile_moves_the_booking_to_another_tech_and_time(
    qtbot, busy_window: MainWindow, business: Business, services: Services
) -> None:  # type: ignore[no-untyped-def]
    win = busy_window
    hill = business.bookings["hill"]
    marcus = business.techs["Marcus Lee"]
    center, offset = grab_offset(win, hill.id)
    target = win.board.point_for(marcus.id, at(WED, 15))
    drop = QPoint(target.x() + offset, target.y())
    with qtbot.waitSignal(win.snapshot_applied, timeout=10_000):
        drag(qtbot, win, center, drop)
        assert win.board.drag_target == (marcus.id, at(WED, 15))
        assert win.board.drag_blocked is False
        release(win, drop)
    moved = services.bookings.get(hill.id)
    assert moved.tech_id == marcus.id
    assert moved.start == at(WED, 15)
    assert not moved.forced
    layout = win.board.board_layout
    assert layout is not None and layout.by_booking[hill.id].row == layout.row_index(marcus.id)


def test_a_small_drag_snaps_to_the_quarter_hour_in_the_same_row(
    qtbot, busy_window: MainWindow, business: Business, services: Services
) -> None:  # type: ignore[no-untyped-def]
    win = busy_window
    garcia = business.bookings["garcia"]
    center, _ = grab_offset(win, garcia.id)
    layout = win.board.board_layout
    assert layout is not None
    quarter = layout.axis.minute_width * 15
    drop = QPoint(center.x() + round(quarter * 2.2), center.y() + 3)  # ~33 minutes later: snaps to +30
    with qtbot.waitSignal(win.snapshot_applied, timeout=10_000):
        drag(qtbot, win, center, drop)
        release(win, drop)
    moved = services.bookings.get(garcia.id)
    assert moved.start == at(WED, 10, 30)
    assert moved.tech_id == garcia.tech_id


def test_dropping_onto_busy_time_asks_and_yes_forces_the_booking(
    qtbot, busy_window: MainWindow, business: Business, services: Services
) -> None:  # type: ignore[no-untyped-def]
    win = busy_window
    garcia = business.bookings["garcia"]  # Dana, 10:00-11:00
    dana = business.techs["Dana Ortiz"]
    center, offset = grab_offset(win, garcia.id)
    target = win.board.point_for(dana.id, at(WED, 12))  # her "Lunch with supplier"
    drop = QPoint(target.x() + offset, target.y())
    drag(qtbot, win, center, drop)
    assert win.board.drag_blocked is True  # the red warning outline while over busy time
    release(win, drop)
    question = open_question(qtbot, win)
    assert question.text() == "Book anyway?"
    assert "Lunch with supplier" in question.informativeText()
    assert services.bookings.get(garcia.id).start == at(WED, 10)  # nothing changed yet
    with qtbot.waitSignal(win.snapshot_applied, timeout=10_000):
        answer_yes(qtbot, win)
    moved = services.bookings.get(garcia.id)
    assert moved.start == at(WED, 12)
    assert moved.forced
    layout = win.board.board_layout
    assert layout is not None and layout.by_booking[garcia.id].flagged


def test_dropping_onto_busy_time_and_declining_leaves_the_booking(
    qtbot, busy_window: MainWindow, business: Business, services: Services
) -> None:  # type: ignore[no-untyped-def]
    win = busy_window
    garcia = business.bookings["garcia"]
    center, offset = grab_offset(win, garcia.id)
    target = win.board.point_for(business.techs["Dana Ortiz"].id, at(WED, 12))
    drop = QPoint(target.x() + offset, target.y())
    drag(qtbot, win, center, drop)
    release(win, drop)
    box = open_question(qtbot, win)
    box.button(box.StandardButton.Cancel).click()
    qtbot.waitUntil(lambda: not box.isVisible(), timeout=5000)
    assert win.worker.pending == 0
    assert services.bookings.get(garcia.id).start == at(WED, 10)


def test_double_clicking_empty_space_opens_the_editor_for_that_tech_and_time(
    qtbot, busy_window: MainWindow, business: Business
) -> None:  # type: ignore[no-untyped-def]
    win = busy_window
    sam = business.techs["Sam Whitaker"]
    point = win.board.point_for(sam.id, at(WED, 14, 20))
    assert win.board.tile_at(point) is None
    QTest.mouseDClick(win.board.viewport(), LEFT, NO_MOD, point)
    qtbot.waitUntil(lambda: win.editor is not None and win.editor.isVisible(), timeout=5000)
    editor = win.editor
    assert editor is not None and editor.booking is None
    assert editor.selected_tech() == sam
    assert editor.proposed_start() == at(WED, 14, 15)
    assert editor.windowTitle() == "New booking"


def test_double_clicking_a_tile_edits_that_booking(
    qtbot, busy_window: MainWindow, business: Business
) -> None:  # type: ignore[no-untyped-def]
    win = busy_window
    kim = business.bookings["kim"]
    QTest.mouseDClick(win.board.viewport(), LEFT, NO_MOD, win.board.tile_center(kim.id))
    qtbot.waitUntil(lambda: win.editor is not None and win.editor.isVisible(), timeout=5000)
    editor = win.editor
    assert editor is not None and editor.booking == kim
    assert editor.customer_combo.currentText() == "Kim family"
    assert editor.service_combo.currentText() == "Deep clean"
    assert editor.duration_spin.value() == 180
    assert editor.proposed_start() == kim.start


def test_keyboard_moves_the_selection_edits_and_cancels(
    qtbot, busy_window: MainWindow, business: Business, services: Services
) -> None:  # type: ignore[no-untyped-def]
    win = busy_window
    board = win.board
    b = business.bookings
    QTest.mouseClick(board.viewport(), LEFT, NO_MOD, board.tile_center(b["hill"].id))
    assert board.selected_booking == b["hill"].id
    QTest.keyClick(board, Qt.Key.Key_Right)
    assert board.selected_booking == b["garcia"].id
    QTest.keyClick(board, Qt.Key.Key_Left)
    assert board.selected_booking == b["hill"].id
    QTest.keyClick(board, Qt.Key.Key_Down)  # Elena's row: the job nearest in time
    assert board.selected_booking == b["chen"].id
    QTest.keyClick(board, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: win.editor is not None and win.editor.isVisible(), timeout=5000)
    assert win.editor is not None and win.editor.booking == b["chen"]
    win.editor.reject()
    qtbot.waitUntil(lambda: win.editor is None, timeout=5000)
    board.setFocus()
    QTest.keyClick(board, Qt.Key.Key_Delete)
    question = open_question(qtbot, win)
    assert question.text() == "Cancel this booking?"
    assert "Chen dental office" in question.informativeText()
    with qtbot.waitSignal(win.snapshot_applied, timeout=10_000):
        answer_yes(qtbot, win)
    assert services.bookings.get(b["chen"].id).status is BookingStatus.CANCELLED
    layout = board.board_layout
    assert layout is not None and b["chen"].id not in layout.by_booking
    assert board.selected_booking is None


def test_the_unassigned_tray_lists_waiting_jobs(qtbot, busy_window: MainWindow, business: Business) -> None:  # type: ignore[no-untyped-def]
    win = busy_window
    model = win.tray.model()
    assert model is win.unassigned_model
    assert model.rowCount() == 2
    texts = [model.data(model.index(r, 0)) for r in range(2)]
    assert texts[0].startswith("Lakeside condos") and texts[1].startswith("Morris family")
    assert win.tray.isVisibleTo(win)
    assert win.tray_dock.windowTitle() == "Unassigned jobs (2)"
    win.tray.doubleClicked.emit(model.index(1, 0))
    qtbot.waitUntil(lambda: win.editor is not None and win.editor.isVisible(), timeout=5000)
    assert win.editor is not None and win.editor.booking == business.bookings["unassigned1"]
    assert win.editor.selected_tech() is None
    assert win.editor.schedule_later.isChecked()


def test_the_board_refreshes_when_a_booking_changes_elsewhere(
    qtbot, busy_window: MainWindow, business: Business, services: Services
) -> None:  # type: ignore[no-untyped-def]
    win = busy_window
    with qtbot.waitSignal(win.snapshot_applied, timeout=10_000):
        made = services.bookings.create(
            NewBooking("Walk-in customer", "Estimate", timedelta(minutes=30), at(WED, 15), "Sam Whitaker")
        )
    layout = win.board.board_layout
    assert layout is not None and made.id in layout.by_booking


def test_find_first_free_slot_highlights_it_and_offers_to_book(
    qtbot, busy_window: MainWindow, business: Business
) -> None:  # type: ignore[no-untyped-def]
    win = busy_window
    dialog = win.open_find_slot()
    assert dialog is not None
    dialog.duration_spin.setValue(120)
    for row in range(dialog.tech_list.count()):
        item = dialog.tech_list.item(row)
        if item.text() != "Sam Whitaker":
            item.setCheckState(Qt.CheckState.Unchecked)
    dialog.find_button.click()
    question = open_question(qtbot, win)
    # Sam is busy 07:30-09:30 and 10:30-12:00 today, and the clock says 10:40: the first two free hours
    # start at 12:00.
    assert question.text() == "Book Sam Whitaker Wed 4 Nov, 12:00–14:00?"
    assert win.board.highlighted_slot == (business.techs["Sam Whitaker"].id, at(WED, 12), at(WED, 14))
    question.button(question.StandardButton.Yes).click()
    qtbot.waitUntil(lambda: win.editor is not None and win.editor.isVisible(), timeout=5000)
    editor = win.editor
    assert editor is not None
    assert editor.selected_tech() == business.techs["Sam Whitaker"]
    assert editor.proposed_start() == at(WED, 12)
    assert editor.duration_spin.value() == 120


def test_an_empty_business_says_how_to_start(qtbot, window: MainWindow) -> None:  # type: ignore[no-untyped-def]
    assert window.snapshot is not None and not window.snapshot.rows
    assert window.board.placeholder_text == EMPTY_TEXT
    assert window.tray_empty.isVisibleTo(window)
    assert window.open_find_slot() is None
    assert "Add a technician first" in window.banner.text


def test_errors_show_in_a_banner_without_blocking(qtbot, window: MainWindow) -> None:  # type: ignore[no-untyped-def]
    def fail() -> None:
        from app.errors import StorageError

        raise StorageError("The database is locked by another program; close it and try again.")

    with qtbot.waitSignal(window.worker.error_reported, timeout=5000):
        window.worker.run(fail)
    assert window.banner.isVisible()
    assert window.banner.text == "The database is locked by another program; close it and try again."
    window.banner.dismiss()
    assert not window.banner.isVisible()


def test_dropping_a_job_from_the_tray_assigns_it(
    qtbot, busy_window: MainWindow, business: Business, services: Services
) -> None:  # type: ignore[no-untyped-def]
    win = busy_window
    model = win.unassigned_model
    morris = business.bookings["unassigned1"]
    row = next(r for r in range(model.rowCount()) if model.job_at(r) == morris)
    data = model.mimeData([model.index(row, 0)])
    sam = business.techs["Sam Whitaker"]
    point = QPointF(win.board.point_for(sam.id, at(WED, 14)))
    viewport = win.board.viewport()
    move = Qt.DropAction.MoveAction
    # Drag-enter and drag-move events take integer points; the drop takes a QPointF.
    enter = QDragEnterEvent(point.toPoint(), move, data, LEFT, NO_MOD)
    QApplication.sendEvent(viewport, enter)
    assert enter.isAccepted()
    QApplication.sendEvent(viewport, QDragMoveEvent(point.toPoint(), move, data, LEFT, NO_MOD))
    assert win.board.drag_target == (sam.id, at(WED, 14))
    assert win.board.drag_blocked is False
    with qtbot.waitSignal(win.snapshot_applied, timeout=10_000):
        QApplication.sendEvent(viewport, QDropEvent(point, move, data, LEFT, NO_MOD))
    assigned = services.bookings.get(morris.id)
    assert (assigned.tech_id, assigned.start) == (sam.id, at(WED, 14))
    assert model.rowCount() == 1


def test_a_selected_job_in_conflict_keeps_its_colour(busy_window: MainWindow, business: Business) -> None:
    """Selecting draws an outline only: a flagged job must not turn into a red block."""
    win = busy_window
    nguyen = business.bookings["nguyen"]
    layout = win.board.board_layout
    assert layout is not None
    tile = layout.by_booking[nguyen.id]
    assert tile.flagged
    win.board.select_booking(nguyen.id)
    inside = win.board.to_viewport(tile.rect.bottomLeft() + QPointF(10, -6))
    image = win.board.viewport().grab().toImage()
    assert image.pixelColor(inside).name() == business.techs["Priya Shah"].color
