"""Calendar settings over the running demo: real sandbox accounts, a real keyring, a real store.

The clock is fixed on Monday morning of the current week, so every event of the seeded week is
inside what sync reads, whatever day the tests run.
"""

from __future__ import annotations

import os

os.environ.setdefault("QTWEBENGINE_CHROMIUM_FLAGS", "--no-sandbox --disable-gpu")

from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QApplication

from app.demo import DemoSession, start_demo
from app.domain.model import AccountStatus, BookingStatus, Technician
from app.domain.time import FixedClock
from app.main import OutlookColourConnectors, caldav_connector_factory, connector_factory
from tests.accounts.conftest import keyring_problem, token_store
from tests.ui.conftest import answer_yes
from ui.main_window import MainWindow
from ui.settings import CalendarSettingsDialog, attach_calendar_settings
from ui.settings.caldav_dialog import CALDAV_CONNECTOR
from ui.settings.entry import CalendarSettingsEntry
from ui.signin import ConnectionSetup

__all__ = ["keyring_problem", "token_store"]

pytestmark = pytest.mark.keyring

SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def monday_morning() -> datetime:
    today = datetime.now(UTC).date()
    monday = today - timedelta(days=today.weekday())
    return datetime.combine(monday, time(12, 0), tzinfo=UTC)  # 06:00 in Chicago, 04:00 in Los Angeles


@pytest.fixture
def demo(tmp_path: Path, token_store) -> Iterator[DemoSession]:  # type: ignore[no-untyped-def]
    session = start_demo(tmp_path, FixedClock(monday_morning()), store=token_store)
    assert session.problem is None
    yield session
    session.close()


@pytest.fixture
def board(qtbot, demo: DemoSession, qapp: QApplication) -> Iterator[tuple[MainWindow, ConnectionSetup]]:  # type: ignore[no-untyped-def]
    from ui.style import apply_style

    apply_style(qapp)
    win = MainWindow(demo.services, office_zone="America/Chicago")
    qtbot.addWidget(win)
    setup = ConnectionSetup(
        make_connector=connector_factory(demo.urls.control, demo.store),
        sandbox=True,
        sandbox_identity_url=demo.urls.microsoft,
        extra={CALDAV_CONNECTOR: caldav_connector_factory(demo.store)},
        outlook_colour=OutlookColourConnectors(demo.urls.control, demo.store),
    )
    attach_calendar_settings(win, setup)
    win.resize(1400, 860)
    with qtbot.waitSignal(win.snapshot_applied, timeout=10_000):
        win.show()
    yield win, setup
    win.close()


def settings_entry(win: MainWindow) -> CalendarSettingsEntry:
    entry = win.findChild(CalendarSettingsEntry)
    assert isinstance(entry, CalendarSettingsEntry)
    return entry


def tech(demo: DemoSession, name: str) -> Technician:
    return next(t for t in demo.techs if t.name == name)


def name_point(win: MainWindow, tech_id: str) -> QPoint:
    """The middle of a tech's name in the board's left column."""
    layout = win.board.board_layout
    assert layout is not None
    index = layout.row_index(tech_id)  # type: ignore[arg-type]
    assert index is not None
    y = win.board.header_height + (index + 0.5) * layout.row_height - win.board.verticalScrollBar().value()
    return QPoint(80, round(y))


def open_by_double_click(qtbot, win: MainWindow, who: Technician) -> CalendarSettingsDialog:  # type: ignore[no-untyped-def]
    qtbot.mouseDClick(win.board.viewport(), Qt.MouseButton.LeftButton, pos=name_point(win, who.id))
    dialog = settings_entry(win).dialog
    assert isinstance(dialog, CalendarSettingsDialog)
    qtbot.waitUntil(
        lambda: dialog.tech is not None and dialog.tech.id == who.id and bool(dialog.views), timeout=10_000
    )
    return dialog


def preview_row(dialog: CalendarSettingsDialog, title: str) -> tuple[bool, str]:
    preview = dialog.current_preview
    assert preview is not None
    (item,) = [i for i in preview.items if i.title == title]
    return item.blocks, item.reason


def test_switches_and_the_tentative_preference_update_the_store_and_the_preview(  # type: ignore[no-untyped-def]
    qtbot, demo: DemoSession, board, qapp
) -> None:
    win, _setup = board
    alex = tech(demo, "Alex Rivera")
    dialog = open_by_double_click(qtbot, win, alex)
    (view,) = dialog.views
    assert view.account.status is AccountStatus.CONNECTED
    primary = next(c for c in view.calendars if c.primary)
    family = next(c for c in view.calendars if c.name == "Family")
    assert dialog.switches[primary.id].isChecked() and not dialog.switches[primary.id].isEnabled()
    assert "always blocks" in dialog.switches[primary.id].toolTip()
    assert not dialog.switches[family.id].isChecked()
    assert preview_row(dialog, "Family: Saturday commitment") == (
        False,
        "Doesn't block: this calendar's switch is off",
    )
    assert preview_row(dialog, "Supplier walkthrough (invitation)") == (
        False,
        "Doesn't block: tentative (not accepted yet)",
    )
    assert preview_row(dialog, "Dentist appointment")[0] is True
    assert preview_row(dialog, "Vendor webinar") == (False, "Doesn't block: declined")
    assert preview_row(dialog, "Private event")[0] is True  # private: times only, no title kept

    with qtbot.waitSignal(dialog.loaded, timeout=10_000):
        qtbot.mouseClick(dialog.switches[family.id], Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: preview_row(dialog, "Family: Saturday commitment")[0], timeout=10_000)
    assert demo.services.accounts.get(view.account.id).calendars[1].blocks is True
    assert dialog.switches[family.id].isChecked()

    with qtbot.waitSignal(dialog.loaded, timeout=10_000):
        dialog.tentative.click()
    qtbot.waitUntil(lambda: preview_row(dialog, "Supplier walkthrough (invitation)")[0], timeout=10_000)
    assert demo.services.techs.find(alex.id).tentative_blocks is True
    assert (
        preview_row(dialog, "Supplier walkthrough (invitation)")[1]
        == "Blocks: tentative (the tech counts those)"
    )
    assert dialog.preview_summary.text().startswith(f"{len(dialog.current_preview.blocking)} of ")  # type: ignore[union-attr]

    for _ in range(3):
        qapp.processEvents()
    SHOTS.mkdir(parents=True, exist_ok=True)
    assert dialog.grab().save(str(SHOTS / "settings-connected.png"))


def test_disconnect_asks_first_and_keeps_the_bookings(qtbot, demo: DemoSession, board) -> None:  # type: ignore[no-untyped-def]
    win, _setup = board
    casey = tech(demo, "Casey Nguyen")
    with demo.services.uow() as uow:
        jobs = [b.id for b in uow.bookings.list(live_only=True) if b.tech_id == casey.id]
    assert jobs
    dialog = open_by_double_click(qtbot, win, casey)
    (view,) = dialog.views
    assert demo.store.load(view.account.token_ref) is not None
    dialog.confirm_disconnect(view)
    text = answer_yes(qtbot, dialog)
    assert "bookings stay on the board" in text and "stay there" in text
    qtbot.waitUntil(
        lambda: demo.services.accounts.get(view.account.id).account.status is AccountStatus.DISCONNECTED,
        timeout=15_000,
    )
    with demo.services.uow() as uow:
        kept = [b for b in uow.bookings.list() if b.id in jobs]
    assert len(kept) == len(jobs) and all(b.status is BookingStatus.SCHEDULED for b in kept)
    assert demo.store.load(view.account.token_ref) is None
    qtbot.waitUntil(
        lambda: bool(dialog.views) and dialog.views[0].account.status is AccountStatus.DISCONNECTED,
        timeout=10_000,
    )
    assert dialog.switches == {}  # a disconnected account offers no switches, only "Connect again"


def test_the_technicians_menu_opens_settings_and_the_right_click_menu_names_the_tech(  # type: ignore[no-untyped-def]
    qtbot, demo: DemoSession, board
) -> None:
    win, _setup = board
    action = settings_entry(win).action
    assert action.text() == "&Calendar settings…"
    action.trigger()
    dialog = settings_entry(win).dialog
    assert dialog is not None
    qtbot.waitUntil(lambda: bool(dialog.views), timeout=10_000)
    assert dialog.tech_combo.count() == len(demo.techs)
    buttons = [b.text() for b in dialog.connect_buttons.values()]
    assert buttons == [
        "Connect Google",
        "Connect Outlook",
        "Connect sandbox Google",
        "Connect sandbox Outlook",
    ]
    dialog.close()
    watcher = settings_entry(win)
    jordan = tech(demo, "Jordan Lee")
    menu = watcher.tech_menu(jordan.id)
    assert [a.text() for a in menu.actions() if a.text()] == ["Jordan Lee", "Calendar settings…"]
    menu.close()
