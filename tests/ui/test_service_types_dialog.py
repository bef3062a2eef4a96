"""Booking ▸ Services…: adding, changing and removing the services customers can book."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from app.services.container import Services
from app.services.service_types import ServiceTypeService
from tests.ui.test_screenshots import save, settle
from ui.service_types_dialog import ServiceTypesDialog
from ui.worker import DatabaseWorker


@pytest.fixture
def worker() -> Iterator[DatabaseWorker]:
    made = DatabaseWorker()
    yield made
    made.shutdown()


@pytest.fixture
def dialog(qtbot, services: Services, worker: DatabaseWorker, styled_app: QApplication) -> ServiceTypesDialog:  # type: ignore[no-untyped-def]
    services.techs.add("Maria Lopez", "maria@example.com", "America/Chicago")
    services.techs.add("Sam Okafor", "sam@example.com", "America/Chicago")
    ServiceTypeService(services.uow).add(
        "AC repair", timedelta(minutes=60), timedelta(minutes=30), ["Maria Lopez"]
    )
    made = ServiceTypesDialog(services, worker)
    # The list arrives through the event loop, so it cannot be missed before waiting starts.
    qtbot.waitSignal(made.loaded, timeout=5000).wait()
    qtbot.addWidget(made)
    made.show()
    return made


def test_a_new_service_is_saved_with_its_qualified_techs(
    qtbot, dialog: ServiceTypesDialog, services: Services, worker: DatabaseWorker
) -> None:  # type: ignore[no-untyped-def]
    assert dialog.list.count() == 1 and dialog.name_edit.text() == "AC repair"
    assert dialog.ticked() == [services.techs.find("Maria Lopez").id]
    QTest.mouseClick(dialog.new_button, Qt.MouseButton.LeftButton)
    dialog.name_edit.setText("Drain cleaning")
    dialog.duration_spin.setValue(90)
    dialog.buffer_spin.setValue(15)
    dialog.tech_list.item(1).setCheckState(Qt.CheckState.Checked)
    with qtbot.waitSignal(dialog.changed, timeout=5000), qtbot.waitSignal(dialog.loaded, timeout=5000):
        QTest.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    assert dialog.list.count() == 2
    drain = ServiceTypeService(services.uow).find("Drain cleaning")
    assert (drain.duration, drain.buffer_after) == (timedelta(minutes=90), timedelta(minutes=15))
    assert drain.qualified == {services.techs.find("Sam Okafor").id}
    assert dialog.current() == drain


def test_a_refusal_shows_in_the_dialog(qtbot, dialog: ServiceTypesDialog, worker: DatabaseWorker) -> None:  # type: ignore[no-untyped-def]
    QTest.mouseClick(dialog.new_button, Qt.MouseButton.LeftButton)
    dialog.name_edit.setText("ac repair")
    with qtbot.waitSignal(worker.job_finished, timeout=5000):
        QTest.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    assert dialog.form_error.isVisibleTo(dialog)
    assert (
        dialog.form_error.text()
        == "There is already a service called 'ac repair'; edit it or choose another name."
    )


def test_screenshot(qtbot, dialog: ServiceTypesDialog, styled_app: QApplication) -> None:  # type: ignore[no-untyped-def]
    settle(styled_app)
    image = save(dialog, "services-dialog.png")
    assert image.width() >= 700


def test_the_booking_menu_opens_the_services_dialog(qtbot, window) -> None:  # type: ignore[no-untyped-def]
    booking = next(a for a in window.menuBar().actions() if a.text() == "&Booking").menu()
    assert window.services_action in booking.actions()
    dialog = window.open_service_types()
    qtbot.waitSignal(dialog.loaded, timeout=5000).wait()
    assert dialog.isVisible() and dialog.list.count() == 0
    dialog.close()


def test_an_online_job_says_so_on_the_board(services: Services) -> None:
    from datetime import UTC, datetime

    from PySide6.QtCore import QRectF

    from app.domain.ids import BookingId, CustomerId
    from app.domain.model import Booking
    from app.domain.time import Interval
    from ui.board.layout import Tile, TileKind
    from ui.board.tooltips import tile_tooltip

    start = datetime(2026, 11, 2, 15, 0, tzinfo=UTC)
    booking = Booking(BookingId("b" * 32), CustomerId("c" * 32), None, "AC repair", start, timedelta(hours=1))
    tile = Tile(TileKind.BOOKING, 0, QRectF(), Interval(start, start + timedelta(hours=1)), booking=booking)
    assert "Booked online" not in tile_tooltip(tile, UTC)
    tile.online, tile.assigned_because = True, "6 h booked this week, fewest among the 3 free"
    text = tile_tooltip(tile, UTC)
    assert "Booked online<br>Assigned automatically: 6 h booked this week, fewest among the 3 free" in text


def test_the_booking_editor_assigns_automatically_and_says_why(
    qtbot, busy_window, business, services: Services
) -> None:  # type: ignore[no-untyped-def]
    from tests.ui.business import MONDAY, at
    from tests.ui.test_booking_editor import open_editor

    techs = business.techs
    qualified = ["Sam Whitaker", next(name for name in techs if name != "Sam Whitaker")]
    ServiceTypeService(services.uow).add("Furnace repair", timedelta(minutes=90), techs=qualified)
    editor = open_editor(qtbot, busy_window, start=at(MONDAY + timedelta(days=2), 13))
    editor.service_combo.setEditText("Gutter cleaning")
    with qtbot.waitSignal(busy_window.worker.job_finished, timeout=5000):
        QTest.mouseClick(editor.auto_button, Qt.MouseButton.LeftButton)
    assert editor.auto_label.text().startswith("No service called 'Gutter cleaning'")
    editor.service_combo.setEditText("Furnace repair")
    with qtbot.waitSignal(busy_window.worker.job_finished, timeout=5000):
        QTest.mouseClick(editor.auto_button, Qt.MouseButton.LeftButton)
    chosen = editor.selected_tech()
    assert chosen is not None and chosen.name in qualified
    assert editor.duration_spin.value() == 90
    assert editor.auto_label.text().startswith("Assigned automatically: ")
    assert "booked this week" in editor.auto_label.text()
