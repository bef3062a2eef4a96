"""Undo on the board: a drop, a reassignment, a cancellation or an editor change goes back through
the booking service (the outbox gets a row for it), and never over a newer change."""

from __future__ import annotations

from datetime import timedelta

from PySide6.QtCore import QPoint, Qt, QTime
from PySide6.QtGui import QKeySequence
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QMenu

from app.domain.model import BookingStatus, OutboxItem
from app.services.bookings import NewBooking
from app.services.container import Services
from tests.ui.business import MONDAY, Business, at
from tests.ui.conftest import answer_yes, open_question
from tests.ui.test_main_window import drag, grab_offset, release
from ui.main_window import MainWindow

WED = MONDAY + timedelta(days=2)


def outbox(services: Services, booking_id: str) -> list[OutboxItem]:
    with services.uow() as uow:
        return uow.outbox.for_booking(booking_id)  # type: ignore[arg-type]


def drop_at(qtbot, win: MainWindow, booking_id: str, tech_id: str, hour: int = 15) -> None:  # type: ignore[no-untyped-def]
    center, offset = grab_offset(win, booking_id)
    target = win.board.point_for(tech_id, at(WED, hour))  # type: ignore[arg-type]
    drop = QPoint(target.x() + offset, target.y())
    with qtbot.waitSignal(win.snapshot_applied, timeout=10_000):
        drag(qtbot, win, center, drop)
        release(win, drop)


def undo(qtbot, win: MainWindow) -> None:  # type: ignore[no-untyped-def]
    with qtbot.waitSignal(win.snapshot_applied, timeout=10_000):
        win.undo_action.trigger()


def test_undo_puts_a_dropped_job_back_and_the_outbox_sees_it(
    qtbot, busy_window: MainWindow, business: Business, services: Services
) -> None:  # type: ignore[no-untyped-def]
    win = busy_window
    garcia = business.bookings["garcia"]  # Dana Ortiz, Wed 10:00
    dana = business.techs["Dana Ortiz"]
    assert not win.undo_action.isEnabled()
    drop_at(qtbot, win, garcia.id, dana.id, hour=11)
    moved = services.bookings.get(garcia.id)
    assert moved.start == at(WED, 11)
    assert win.undo_notice.isVisible()
    assert win.undo_notice.text == "Moved Garcia Bakery to Wed 11:00 (Dana Ortiz)"
    assert not win.summary_label.isVisible()  # room for the notice in a narrow window
    win.board.select_booking(business.bookings["hill"].id)  # a passing message covers the notice...
    assert not win.undo_notice.isVisible()
    win.board.select_booking(None)  # ...which comes back after it, the totals still aside
    assert win.undo_notice.isVisible() and not win.summary_label.isVisible()
    assert win.undo_action.isEnabled()
    assert win.undo_action.text() == "&Undo move of Garcia Bakery"
    assert win.undo_action.shortcut() == QKeySequence(QKeySequence.StandardKey.Undo)
    edit_menu = next(a.menu() for a in win.menuBar().actions() if a.text() == "&Edit")
    assert isinstance(edit_menu, QMenu) and win.undo_action in edit_menu.actions()
    queued = len(outbox(services, garcia.id))

    undo(qtbot, win)
    restored = services.bookings.get(garcia.id)
    assert (restored.start, restored.tech_id, restored.status) == (
        garcia.start,
        dana.id,
        BookingStatus.SCHEDULED,
    )
    assert restored.version == moved.version + 1
    items = outbox(services, garcia.id)
    assert len(items) == queued + 1
    assert items[-1].tech_id == dana.id  # "plan Garcia's event again" for Dana's calendar
    assert win.statusBar().currentMessage() == "Undone: Garcia Bakery is back at Wed 10:00 (Dana Ortiz)."
    assert not win.undo_notice.isVisible() and not win.undo_notice.offered
    win.statusBar().clearMessage()
    assert win.summary_label.isVisible()  # the day's totals are back once the message goes
    assert not win.undo_action.isEnabled() and win.undo_action.text() == "&Undo"
    layout = win.board.board_layout
    assert layout is not None and layout.by_booking[garcia.id].interval.start == at(WED, 10)


def test_the_notice_undoes_a_reassignment_and_a_few_levels_undo_in_turn(
    qtbot, busy_window: MainWindow, business: Business, services: Services
) -> None:  # type: ignore[no-untyped-def]
    win = busy_window
    hill, garcia = business.bookings["hill"], business.bookings["garcia"]
    dana, marcus = business.techs["Dana Ortiz"], business.techs["Marcus Lee"]
    drop_at(qtbot, win, garcia.id, dana.id, hour=11)
    drop_at(qtbot, win, hill.id, marcus.id, hour=15)
    assert services.bookings.get(hill.id).tech_id == marcus.id
    assert win.undo_notice.text == "Moved Hill family to Wed 15:00 (Marcus Lee)"
    queued = len(outbox(services, hill.id))
    with qtbot.waitSignal(win.snapshot_applied, timeout=10_000):
        QTest.mouseClick(win.undo_notice.undo_button, Qt.MouseButton.LeftButton)
    back = services.bookings.get(hill.id)
    assert (back.tech_id, back.start) == (dana.id, hill.start)
    # The undo involves Marcus's calendar (the job leaves it), then Dana's (it comes back).
    assert [i.tech_id for i in outbox(services, hill.id)[queued:]] == [marcus.id, dana.id]
    assert win.undo_action.text() == "&Undo move of Garcia Bakery"  # the level below
    undo(qtbot, win)
    assert services.bookings.get(garcia.id).start == garcia.start


def test_undo_reinstates_a_cancelled_job(
    qtbot, busy_window: MainWindow, business: Business, services: Services
) -> None:  # type: ignore[no-untyped-def]
    win, board = busy_window, busy_window.board
    chen = business.bookings["chen"]
    board.select_booking(chen.id)
    board.setFocus()
    QTest.keyClick(board, Qt.Key.Key_Delete)
    with qtbot.waitSignal(win.snapshot_applied, timeout=10_000):
        answer_yes(qtbot, win)
    assert services.bookings.get(chen.id).status is BookingStatus.CANCELLED
    assert win.undo_notice.text == "Cancelled Chen dental office's Heat pump service"
    assert win.undo_action.text() == "&Undo cancellation of Chen dental office"
    win.activateWindow()
    qtbot.waitUntil(win.isActiveWindow, timeout=5000)
    board.setFocus()
    with qtbot.waitSignal(win.snapshot_applied, timeout=10_000):
        QTest.keyClick(board, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)  # Ctrl+Z on the board
    back = services.bookings.get(chen.id)
    assert (back.status, back.start, back.tech_id) == (BookingStatus.SCHEDULED, chen.start, chen.tech_id)
    assert outbox(services, chen.id)[-1].tech_id == chen.tech_id
    layout = board.board_layout
    assert layout is not None and chen.id in layout.by_booking
    assert "booked again" in win.statusBar().currentMessage()


def test_undo_of_an_editor_change(
    qtbot, busy_window: MainWindow, business: Business, services: Services
) -> None:  # type: ignore[no-untyped-def]
    win = busy_window
    ruiz = business.bookings["ruiz"]
    editor = win.open_editor(booking=ruiz)
    editor.time_edit.setTime(QTime(16, 0))
    with qtbot.waitSignal(win.snapshot_applied, timeout=10_000):
        editor.save()
    assert services.bookings.get(ruiz.id).start == at(WED, 16)
    assert win.undo_notice.text.startswith("Moved Ruiz family to Wed 16:00")
    undo(qtbot, win)
    assert services.bookings.get(ruiz.id).start == ruiz.start


def test_undo_after_the_job_changed_elsewhere_refuses_and_changes_nothing(
    qtbot, busy_window: MainWindow, business: Business, services: Services
) -> None:  # type: ignore[no-untyped-def]
    win = busy_window
    garcia = business.bookings["garcia"]
    dana = business.techs["Dana Ortiz"]
    drop_at(qtbot, win, garcia.id, dana.id, hour=11)
    # Meanwhile the tech's calendar (through sync) or another dispatcher moves the job again.
    with qtbot.waitSignal(win.snapshot_applied, timeout=10_000):
        elsewhere = services.bookings.move(garcia.id, at(WED, 7))
    queued = outbox(services, garcia.id)
    win.undo_action.trigger()
    qtbot.waitUntil(lambda: win.banner.isVisible(), timeout=10_000)
    assert win.banner.text == (
        "Can't undo: the Garcia Bakery job was changed after that (by someone else or in the "
        "technician's calendar), so it was left as it is now."
    )
    qtbot.waitUntil(lambda: win.worker.pending == 0, timeout=10_000)
    assert services.bookings.get(garcia.id) == elsewhere
    assert outbox(services, garcia.id) == queued
    assert not win.undo_action.isEnabled()


def test_undo_onto_time_taken_meanwhile_asks_first(
    qtbot, busy_window: MainWindow, business: Business, services: Services
) -> None:  # type: ignore[no-untyped-def]
    win = busy_window
    garcia = business.bookings["garcia"]
    dana = business.techs["Dana Ortiz"]
    drop_at(qtbot, win, garcia.id, dana.id, hour=11)
    moved = services.bookings.get(garcia.id)
    with qtbot.waitSignal(win.snapshot_applied, timeout=10_000):
        services.bookings.create(
            NewBooking("Walk-in customer", "Estimate", timedelta(minutes=30), at(WED, 10), "Dana Ortiz")
        )
    win.undo_action.trigger()
    box = open_question(qtbot, win)
    assert box.text() == "Put it back anyway?"
    assert "Dana Ortiz is busy then" in box.informativeText()
    box.button(box.StandardButton.Cancel).click()
    qtbot.waitUntil(lambda: not box.isVisible(), timeout=5000)
    assert services.bookings.get(garcia.id) == moved  # nothing forced silently
    assert win.undo_action.isEnabled()  # still there to try again
    win.undo_action.trigger()
    with qtbot.waitSignal(win.snapshot_applied, timeout=10_000):
        answer_yes(qtbot, win)
    forced = services.bookings.get(garcia.id)
    assert forced.start == garcia.start and forced.forced
