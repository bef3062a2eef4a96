"""A drag over a job another desk moved meanwhile is refused with who moved it, never applied."""

from __future__ import annotations

from datetime import timedelta

from PySide6.QtCore import QPoint
from pytestqt.qtbot import QtBot

from app.domain.time import FixedClock
from app.services.container import Services
from storage import open_database
from tests.ui.business import MONDAY, Business, at
from tests.ui.test_main_window import drag, grab_offset, release
from ui.main_window import MainWindow

WED = MONDAY + timedelta(days=2)


def test_dropping_a_tile_another_desk_moved_meanwhile_is_refused(
    qtbot: QtBot,
    busy_window: MainWindow,
    business: Business,
    services: Services,
    db_url: str,
    clock: FixedClock,
) -> None:
    win = busy_window
    garcia = business.bookings["garcia"]
    dana = business.techs["Dana Ortiz"]
    center, offset = grab_offset(win, garcia.id)
    front_desk = open_database(db_url, desk="front-desk")  # no feed here: this board stays as it was
    try:
        elsewhere = Services.build(front_desk.unit_of_work, clock).bookings.move(garcia.id, at(WED, 7))
    finally:
        front_desk.dispose()
    target = win.board.point_for(dana.id, at(WED, 11))
    drop = QPoint(target.x() + offset, target.y())
    drag(qtbot, win, center, drop)
    release(win, drop)
    qtbot.waitUntil(lambda: win.banner.isVisible(), timeout=10_000)
    assert win.banner.text.startswith(
        "The Garcia Bakery job was moved to 07:00 on Wed 4 Nov at front-desk just now"
    )
    qtbot.waitUntil(lambda: win.worker.pending == 0, timeout=10_000)
    assert services.bookings.get(garcia.id) == elsewhere
