"""The booking editor: creating and editing through BookingService, the tech's day, validation."""

from __future__ import annotations

from datetime import timedelta

from PySide6.QtCore import QDate, Qt, QTime
from PySide6.QtTest import QTest

from app.domain.model import BusySource
from app.domain.time import FixedClock
from app.services.container import Services
from storage import open_database
from tests.ui.business import MONDAY, Business, at
from tests.ui.conftest import answer_yes
from ui.booking_editor import BookingEditorDialog
from ui.main_window import MainWindow

WED = MONDAY + timedelta(days=2)
THU = MONDAY + timedelta(days=3)


def open_editor(qtbot, win: MainWindow, **kwargs) -> BookingEditorDialog:  # type: ignore[no-untyped-def]
    with qtbot.waitSignal(win.worker.job_finished, timeout=5000):
        editor = win.open_editor(**kwargs)
    qtbot.waitUntil(lambda: win.worker.pending == 0, timeout=5000)
    return editor


def type_into(widget, text: str) -> None:  # type: ignore[no-untyped-def]
    widget.setFocus()
    QTest.keyClicks(widget, text)


def test_the_editor_creates_a_booking(
    qtbot, busy_window: MainWindow, business: Business, services: Services
) -> None:  # type: ignore[no-untyped-def]
    win = busy_window
    sam = business.techs["Sam Whitaker"]
    editor = open_editor(qtbot, win, tech_id=sam.id, start=at(WED, 14))
    type_into(editor.customer_line, "Vasquez family")
    editor.address_edit.setText("19 Harbor Rd")
    editor.phone_edit.setText("(312) 555-0199")
    editor.service_combo.setEditText("Furnace repair")
    editor.duration_spin.setValue(105)
    editor.notes_edit.setPlainText("Gate code 4411")
    with qtbot.waitSignal(editor.saved, timeout=5000) as saved:
        QTest.mouseClick(editor.save_button, Qt.MouseButton.LeftButton)
    booking = saved.args[0]
    stored = services.bookings.get(booking.id)
    assert stored.tech_id == sam.id
    assert stored.start == at(WED, 14)
    assert stored.duration == timedelta(minutes=105)
    assert stored.service == "Furnace repair"
    assert stored.notes == "Gate code 4411"
    assert not stored.forced
    customer = services.customers.get(stored.customer_id)
    assert (customer.name, customer.address, customer.phone) == (
        "Vasquez family",
        "19 Harbor Rd",
        "(312) 555-0199",
    )
    qtbot.waitUntil(lambda: win.editor is None, timeout=5000)
    qtbot.waitUntil(lambda: win.board.selected_booking == booking.id, timeout=5000)


def test_missing_fields_are_explained_next_to_them(
    qtbot, busy_window: MainWindow, business: Business, services: Services
) -> None:  # type: ignore[no-untyped-def]
    win = busy_window
    editor = open_editor(qtbot, win, tech_id=business.techs["Sam Whitaker"].id, start=at(WED, 14))
    before = len(services.bookings.list())
    QTest.mouseClick(editor.save_button, Qt.MouseButton.LeftButton)
    assert editor.customer_error.isVisibleTo(editor)
    assert editor.customer_error.text() == "Enter the customer's name."
    assert editor.service_error.text() == "Enter the service, such as AC repair."
    assert win.worker.pending == 0
    assert len(services.bookings.list()) == before
    type_into(editor.customer_line, "Someone")
    assert not editor.customer_error.isVisibleTo(editor)


def test_closing_the_window_drops_a_customer_search_still_waiting(
    qtbot, busy_window: MainWindow, business: Business
) -> None:  # type: ignore[no-untyped-def]
    editor = open_editor(qtbot, busy_window, tech_id=business.techs["Sam Whitaker"].id, start=at(WED, 14))
    type_into(editor.customer_line, "Some")
    assert editor._search_timer.isActive()  # the search waits 200 ms for more typing
    busy_window.close()  # its worker shuts down: a search firing now could not be asked for
    assert not editor.isVisible()
    assert not editor._search_timer.isActive()


def test_saving_over_busy_time_asks_and_book_anyway_forces(
    qtbot, busy_window: MainWindow, business: Business, services: Services
) -> None:  # type: ignore[no-untyped-def]
    win = busy_window
    priya = business.techs["Priya Shah"]
    editor = open_editor(qtbot, win, tech_id=priya.id, start=at(WED, 9, 30))  # her dentist appointment
    qtbot.waitUntil(lambda: editor.timeline.day is not None, timeout=5000)
    assert editor.clash_label.isVisibleTo(editor)
    assert "Dentist" in editor.clash_label.text()
    type_into(editor.customer_line, "Hill family")
    editor.service_combo.setEditText("AC repair")
    QTest.mouseClick(editor.save_button, Qt.MouseButton.LeftButton)
    with qtbot.waitSignal(editor.saved, timeout=5000) as saved:
        text = answer_yes(qtbot, editor)
    assert "Dentist" in text
    stored = services.bookings.get(saved.args[0].id)
    assert stored.forced and stored.tech_id == priya.id and stored.start == at(WED, 9, 30)


def test_the_panel_shows_the_chosen_techs_day_and_follows_changes(
    qtbot, busy_window: MainWindow, business: Business
) -> None:  # type: ignore[no-untyped-def]
    win = busy_window
    editor = open_editor(qtbot, win, tech_id=business.techs["Dana Ortiz"].id, start=at(WED, 9))
    day = editor.timeline.day
    assert day is not None and day.tech.name == "Dana Ortiz"
    titles = {b.title for b in editor.timeline.busy}
    assert {"Lunch with supplier", "AC repair", "Furnace tune-up"} <= titles
    assert "Free" in editor.day_summary.text()
    with qtbot.waitSignal(editor.day_loaded, timeout=5000):
        editor.tech_combo.setCurrentIndex(editor.tech_model.row_of(business.techs["Elena Novak"].id))
    day = editor.timeline.day
    assert day is not None and day.tech.name == "Elena Novak"
    assert "Elena's clock is 1 h behind" in editor.day_summary.text()
    assert any(b.source is BusySource.CALENDAR and b.title is None for b in editor.timeline.busy)
    with qtbot.waitSignal(editor.day_loaded, timeout=5000):
        editor.date_edit.setDate(QDate(2026, 11, 2))
    day = editor.timeline.day
    assert day is not None and day.day == MONDAY
    with qtbot.waitSignal(editor.day_loaded, timeout=5000):
        editor.tech_combo.setCurrentIndex(editor.tech_model.row_of(business.techs["Marcus Lee"].id))
    editor.tech_combo.setCurrentIndex(0)  # Unassigned
    assert editor.timeline.day is None
    assert editor.schedule_later.isVisibleTo(editor)


def test_editing_moves_the_job_and_keeps_its_own_slot_free(
    qtbot, busy_window: MainWindow, business: Business, services: Services
) -> None:  # type: ignore[no-untyped-def]
    win = busy_window
    hill = business.bookings["hill"]
    customer = services.customers.get(hill.customer_id)
    editor = open_editor(qtbot, win, booking=hill)
    assert editor.windowTitle() == "Edit booking"
    assert editor.address_edit.text() == customer.address
    assert not editor.clash_label.isVisibleTo(editor)  # the job itself is not a clash
    assert all(b.remote_id != hill.id for b in editor.timeline.busy)
    editor.time_edit.setTime(QTime(8, 30))
    with qtbot.waitSignal(editor.saved, timeout=5000):
        QTest.mouseClick(editor.save_button, Qt.MouseButton.LeftButton)
    stored = services.bookings.get(hill.id)
    assert stored.start == at(WED, 8, 30)
    assert stored.version == hill.version + 1


def test_picking_a_known_customer_fills_address_and_phone(
    qtbot, busy_window: MainWindow, business: Business
) -> None:  # type: ignore[no-untyped-def]
    win = busy_window
    editor = open_editor(qtbot, win)
    with qtbot.waitSignal(win.worker.job_finished, timeout=5000):
        type_into(editor.customer_line, "Hil")
    qtbot.waitUntil(lambda: editor.customers.customer_named("Hill family") is not None, timeout=5000)
    assert editor.customer_line.text() == "Hil"  # the search does not overwrite what is typed
    completer = editor.customer_combo.completer()
    completer.activated.emit("Hill family")
    assert editor.customer_combo.currentText() == "Hill family"
    assert editor.address_edit.text() == "412 Oak St, Evanston"
    assert editor.phone_edit.text() == "(847) 555-0142"


def test_a_job_can_wait_unassigned_without_a_time(qtbot, busy_window: MainWindow, services: Services) -> None:  # type: ignore[no-untyped-def]
    win = busy_window
    editor = open_editor(qtbot, win)
    editor.tech_combo.setCurrentIndex(0)
    editor.schedule_later.setChecked(True)
    assert not editor.date_edit.isEnabled()
    type_into(editor.customer_line, "Greenway HOA")
    editor.service_combo.setEditText("Estimate")
    with qtbot.waitSignal(win.snapshot_applied, timeout=10_000):
        QTest.mouseClick(editor.save_button, Qt.MouseButton.LeftButton)
    waiting = [b for b in services.bookings.unassigned() if b.start is None]
    assert any(b.service == "Estimate" for b in waiting)
    assert win.unassigned_model.rowCount() == 3


def test_a_save_over_another_desks_change_is_refused_and_reload_shows_it(
    qtbot, busy_window: MainWindow, business: Business, services: Services, db_url: str, clock: FixedClock
) -> None:  # type: ignore[no-untyped-def]
    win = busy_window
    hill = business.bookings["hill"]
    editor = open_editor(qtbot, win, booking=hill)
    front_desk = open_database(db_url, desk="front-desk")  # another desk, its own connections
    try:
        moved = Services.build(front_desk.unit_of_work, clock).bookings.move(hill.id, at(THU, 14))
    finally:
        front_desk.dispose()
    clock.advance(timedelta(seconds=20))
    editor.notes_edit.setPlainText("Bring the ladder")
    QTest.mouseClick(editor.save_button, Qt.MouseButton.LeftButton)
    with qtbot.waitSignal(editor.reloaded, timeout=5000):
        text = answer_yes(qtbot, editor)  # "Reload"
    assert "The Hill family job was moved to 14:00 on Thu 5 Nov at front-desk 20 s ago" in text
    assert editor.time_edit.time() == QTime(14, 0)
    assert editor.notes_edit.toPlainText() == moved.notes
    assert services.bookings.get(hill.id) == moved  # nothing of the refused save was kept
    editor.notes_edit.setPlainText("Bring the ladder")
    with qtbot.waitSignal(editor.saved, timeout=5000):
        QTest.mouseClick(editor.save_button, Qt.MouseButton.LeftButton)
    stored = services.bookings.get(hill.id)
    assert (stored.start, stored.notes, stored.version) == (
        at(THU, 14),
        "Bring the ladder",
        moved.version + 1,
    )
