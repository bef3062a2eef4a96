"""Adding technicians and time off from the Technicians menu."""

from __future__ import annotations

from datetime import date, timedelta

from PySide6.QtCore import QDate, Qt, QTime
from PySide6.QtTest import QTest

from app.services.container import Services
from tests.ui.business import MONDAY, Business, at
from ui.dialogs import TechnicianDialog, TimeOffDialog, timezone_names
from ui.main_window import MainWindow

WED = MONDAY + timedelta(days=2)


def test_adding_a_technician_puts_a_row_on_the_board(qtbot, window: MainWindow, services: Services) -> None:  # type: ignore[no-untyped-def]
    window.add_tech_action.trigger()
    dialog = window.dialog
    assert isinstance(dialog, TechnicianDialog) and dialog.isVisible()
    assert dialog.zone_combo.currentText() == "America/Chicago"
    dialog.name_edit.setText("Riley Chen")
    dialog.email_edit.setText("riley@example.com")
    dialog.zone_combo.setCurrentText("America/Denver")
    dialog.hours_edit.setText("mon-fri 07:00-15:30")
    dialog.color_group.button(3).click()
    with qtbot.waitSignal(window.snapshot_applied, timeout=10_000):
        QTest.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    (tech,) = services.techs.list()
    assert (tech.name, tech.email, tech.timezone) == ("Riley Chen", "riley@example.com", "America/Denver")
    assert tech.hours.to_text() == "mon-fri 07:00-15:30"
    assert tech.color == "#9333ea"
    assert window.snapshot is not None and [r.tech.name for r in window.snapshot.rows] == ["Riley Chen"]
    assert window.board.placeholder_text is None


def test_the_technician_dialog_explains_what_is_wrong(qtbot, window: MainWindow, services: Services) -> None:  # type: ignore[no-untyped-def]
    dialog = window.open_add_technician()
    QTest.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    assert dialog.name_error.text() == "Enter the technician's name."
    assert window.worker.pending == 0
    dialog.name_edit.setText("Riley Chen")
    dialog.email_edit.setText("riley@example.com")
    dialog.hours_edit.setText("weekdays 9 to 5")
    with qtbot.waitSignal(window.worker.job_finished, timeout=5000):
        QTest.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    assert dialog.form_error.isVisibleTo(dialog)
    assert "Hours 'weekdays 9 to 5' are not understood" in dialog.form_error.text()
    assert dialog.isVisible()
    assert services.techs.list() == []


def test_time_zones_are_searchable_iana_names() -> None:
    names = timezone_names()
    assert "America/Chicago" in names and "Europe/Berlin" in names
    assert "UTC" not in names and not any(n.startswith("Etc/") for n in names)


def test_whole_days_off_block_the_tech(
    qtbot, busy_window: MainWindow, business: Business, services: Services
) -> None:  # type: ignore[no-untyped-def]
    win = busy_window
    win.time_off_action.trigger()
    dialog = win.dialog
    assert isinstance(dialog, TimeOffDialog)
    dialog.tech_combo.setCurrentIndex(dialog.tech_model.row_of(business.techs["Dana Ortiz"].id))
    dialog.date_edit.setDate(QDate(2026, 11, 9))
    dialog.days_spin.setValue(2)
    dialog.reason_edit.setText("Family visit")
    with qtbot.waitSignal(dialog.saved, timeout=5000):
        QTest.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    day = services.schedule.day(business.techs["Dana Ortiz"].id, date(2026, 11, 10))
    assert day.free == ()
    assert any(b.title == "Family visit" and b.all_day for b in day.busy)


def test_part_of_a_day_off_is_read_in_office_time(
    qtbot, busy_window: MainWindow, business: Business, services: Services
) -> None:  # type: ignore[no-untyped-def]
    win = busy_window
    dialog = win.open_time_off()
    assert dialog is not None
    dialog.tech_combo.setCurrentIndex(dialog.tech_model.row_of(business.techs["Elena Novak"].id))
    dialog.part_day.setChecked(True)
    assert not dialog.days_spin.isEnabled()
    dialog.date_edit.setDate(QDate(2026, 11, 6))
    dialog.from_edit.setTime(QTime(15, 0))
    dialog.to_edit.setTime(QTime(14, 0))
    QTest.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    assert dialog.span_error.text() == "The end must be after the start."
    dialog.to_edit.setTime(QTime(17, 0))
    with qtbot.waitSignal(win.snapshot_applied, timeout=10_000):
        QTest.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    friday = date(2026, 11, 6)
    day = services.schedule.day(business.techs["Elena Novak"].id, friday)
    (block,) = [b for b in day.busy if b.title == "Time off"]
    assert (block.interval.start, block.interval.end) == (at(friday, 15), at(friday, 17))
