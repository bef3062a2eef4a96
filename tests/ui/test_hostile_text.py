"""Remote and typed text is shown as text: a hostile event title, calendar name, tech name or
customer name is never interpreted as markup (no <img> loaded, no 28pt "CALL NOW").

Each screen that shows such text renders it here; every QLabel showing it must be plain text, and
every tooltip carrying it must be plain or escaped (Qt guesses rich text from a leading tag).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import Qt as GuiQt
from PySide6.QtWidgets import QApplication, QLabel, QMessageBox, QWidget

from app.domain.ids import ConflictId, new_id
from app.domain.model import Audience, Booking, Conflict, ConflictKind, Technician
from app.domain.time import Interval
from app.services.bookings import NewBooking
from app.services.container import Services
from tests.ui.business import DEMO_NOW, MONDAY, add_busy, add_tech, at, connect_calendar
from tests.ui.test_inbox import add_alert
from ui.conflicts.dialogs import RescheduleDialog
from ui.main_window import MainWindow
from ui.models import TechRowsModel, UnassignedJobsModel
from ui.settings import CalendarSettingsDialog
from ui.signin import ConnectionSetup
from ui.widgets import ask

HOSTILE = "<img src='file:///etc/passwd'><span style='font-size:28pt'>CALL NOW</span>"
TECH_NAME = "<b>Ana</b> <img src='file:///etc/passwd'> CALL NOW"
WED = MONDAY + timedelta(days=2)


@dataclass
class Hostile:
    tech: Technician
    booking: Booking
    conflict: Conflict


@pytest.fixture
def hostile(services: Services) -> Hostile:
    """A tech, calendar, event, customer and conflict whose texts are all markup."""
    tech = add_tech(services, TECH_NAME)
    _account, calendar = connect_calendar(services, tech, name=HOSTILE)
    add_busy(services, tech, calendar, Interval(at(WED, 9), at(WED, 10)), HOSTILE, calendar_name=HOSTILE)
    booking = services.bookings.create(
        NewBooking(customer=HOSTILE, service=HOSTILE, duration=timedelta(hours=1), start=at(WED, 9, 30),
                   tech=tech.id),
        force=True,
    )  # fmt: skip
    conflict = Conflict(
        ConflictId(new_id()),
        booking.id,
        tech.id,
        ConflictKind.OVERLAP,
        DEMO_NOW - timedelta(minutes=5),
        calendar_id=calendar,
        other_title=HOSTILE,
        other_start=at(WED, 9),
        other_end=at(WED, 10),
        detail=f"'{HOSTILE}' on {HOSTILE} overlaps the {HOSTILE} job",
    )
    with services.uow() as uow:
        uow.conflicts.add(conflict)
        uow.commit()
    return Hostile(tech, booking, conflict)


@pytest.fixture
def hostile_window(qtbot, hostile: Hostile, window: MainWindow) -> MainWindow:  # type: ignore[no-untyped-def]
    return window


def plain_labels(root: QWidget) -> list[QLabel]:
    """The labels under `root` showing the hostile text; each must be plain text."""
    showing = [label for label in root.findChildren(QLabel) if "CALL NOW" in label.text()]
    for label in showing:
        assert label.textFormat() == Qt.TextFormat.PlainText, (label.objectName(), label.text())
    return showing


def assert_plain_tip(tip: object) -> None:
    """A tooltip Qt would render as rich text must carry the markup escaped, not live."""
    assert isinstance(tip, str) and "CALL NOW" in tip
    assert not GuiQt.mightBeRichText(tip) or "<img" not in tip, tip


def test_the_conflicts_panel_and_its_dialogs_show_the_title_as_text(  # type: ignore[no-untyped-def]
    qtbot, hostile: Hostile, hostile_window: MainWindow
) -> None:
    win = hostile_window
    panel = win.conflicts_panel
    with qtbot.waitSignal(panel.conflicts_loaded, timeout=10_000):
        panel.refresh()
    panel.select(hostile.conflict.id)
    assert HOSTILE in panel.detail.text()  # shown literally
    assert panel.detail in plain_labels(panel)
    model = panel.open_model
    row = model.row_of(hostile.conflict.id)
    assert_plain_tip(model.index(row, 0).data(Qt.ItemDataRole.ToolTipRole))
    view = model.view_at(row)
    assert view is not None
    dialog = RescheduleDialog(win.services, win.worker, view, win.office, win)
    qtbot.addWidget(dialog)
    assert len(plain_labels(dialog)) >= 2  # the job's title and the other side's
    dialog.close()


def test_settings_show_calendar_and_tech_names_as_text(  # type: ignore[no-untyped-def]
    qtbot, hostile: Hostile, hostile_window: MainWindow
) -> None:
    win = hostile_window
    setup = ConnectionSetup(make_connector=lambda *_args: None)  # type: ignore[arg-type,return-value]
    dialog = CalendarSettingsDialog(win.services, win.worker, setup, win.techs(), hostile.tech.id, win)
    qtbot.addWidget(dialog)
    with qtbot.waitSignal(dialog.loaded, timeout=10_000):
        dialog.show()
    shown = [label.text() for label in plain_labels(dialog)]
    assert f"Calendar settings — {TECH_NAME}" in shown  # the tech's name, literally
    assert HOSTILE in shown  # the calendar's name, literally
    dialog.close()


def test_the_booking_editor_shows_a_clashing_title_as_text(  # type: ignore[no-untyped-def]
    qtbot, hostile: Hostile, hostile_window: MainWindow
) -> None:
    win = hostile_window
    with qtbot.waitSignal(win.worker.job_finished, timeout=5000):
        editor = win.open_editor(tech_id=hostile.tech.id, start=at(WED, 9, 15))
    qtbot.waitUntil(lambda: editor.clash_label.isVisibleTo(editor), timeout=5000)
    assert HOSTILE in editor.clash_label.text()  # not escaped twice: a plain label shows it as typed
    assert editor.clash_label in plain_labels(editor)
    editor.close()


def test_board_lists_and_alerts_keep_tooltips_plain(  # type: ignore[no-untyped-def]
    qtbot, services: Services, hostile: Hostile, hostile_window: MainWindow
) -> None:
    win = hostile_window
    techs = TechRowsModel()
    techs.set_techs([hostile.tech])
    assert_plain_tip(techs.index(techs.row_of(hostile.tech.id), 0).data(Qt.ItemDataRole.ToolTipRole))
    unassigned = services.bookings.create(
        NewBooking(customer="Harbor Dental", service=HOSTILE, duration=timedelta(hours=1))
    )
    jobs = UnassignedJobsModel()
    jobs.set_jobs([unassigned], {unassigned.customer_id: services.customers.get(unassigned.customer_id)})
    assert_plain_tip(jobs.index(0, 0).data(Qt.ItemDataRole.ToolTipRole))
    with qtbot.waitSignal(win.alerts.alerts_loaded, timeout=10_000):
        add_alert(services, Audience.DISPATCHER, HOSTILE, body=HOSTILE)
    qtbot.waitUntil(lambda: win.alerts.model.rowCount() == 1, timeout=10_000)
    assert_plain_tip(win.alerts.model.index(0, 0).data(Qt.ItemDataRole.ToolTipRole))
    inbox = win.open_inbox()
    assert inbox is not None
    plain_labels(win)  # whatever the board, the tray and the inbox show, no label is rich


def test_questions_are_plain_text(qtbot, styled_app: QApplication) -> None:  # type: ignore[no-untyped-def]
    parent = QWidget()
    qtbot.addWidget(parent)
    box = ask(
        parent,
        "Disconnect",
        f"Disconnect {HOSTILE}?",
        f"{HOSTILE} stops syncing.",
        "Disconnect",
        lambda: None,
    )
    assert isinstance(box, QMessageBox)
    labels = plain_labels(box)
    assert len(labels) == 2
    box.close()


def test_screens_make_labels_through_plain_label_only() -> None:
    """A new QLabel(...) would guess rich text again; labels are PlainLabel (ui/plain.py says why)."""
    ui = Path(__file__).resolve().parents[2] / "ui"
    bare = [
        f"{path.relative_to(ui.parent)}:{number}"
        for path in sorted(ui.rglob("*.py"))
        if path.name != "plain.py"
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if re.search(r"\bQLabel\(", line)
    ]
    assert bare == []
