"""`crewboard demo` in-process and offscreen: it starts, opens its phone, and the board follows a phone edit."""

from __future__ import annotations

import os

os.environ.setdefault("QTWEBENGINE_CHROMIUM_FLAGS", "--no-sandbox --disable-gpu")

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import keyring.backends.fail
import pytest
from PySide6.QtWidgets import QApplication

from app.demo import DemoSession, decorate_demo_window, read_calendars_once, start_demo
from app.domain.model import AccountStatus, BusySource
from app.domain.time import FixedClock, zone
from app.main import connector_factory
from sync.providers.secrets import TokenStore
from tests.accounts.conftest import keyring_problem, token_store
from tests.ui.test_settings import SHOTS, monday_morning
from ui.board.layout import BoardMode
from ui.main_window import MainWindow
from ui.phone import PhoneWindow
from ui.settings import attach_calendar_settings
from ui.signin import ConnectionSetup

__all__ = ["keyring_problem", "token_store"]


def open_window(qtbot, session: DemoSession, qapp: QApplication) -> MainWindow:  # type: ignore[no-untyped-def]
    from ui.style import apply_style

    apply_style(qapp)
    win = MainWindow(session.services, office_zone="America/Chicago", title_suffix="demo")
    qtbot.addWidget(win)
    setup = ConnectionSetup(
        make_connector=connector_factory(session.urls.control, session.store), sandbox=True
    )
    attach_calendar_settings(win, setup)
    decorate_demo_window(session)(win, setup)
    win.resize(1500, 860)
    with qtbot.waitSignal(win.snapshot_applied, timeout=10_000):
        win.show()
    return win


@pytest.fixture
def demo(tmp_path: Path, token_store: TokenStore) -> Iterator[DemoSession]:
    session = start_demo(tmp_path, FixedClock(monday_morning()), store=token_store)
    yield session
    session.close()


@pytest.mark.keyring
def test_the_demo_connects_five_techs_and_books_only_free_time(demo: DemoSession) -> None:
    assert demo.problem is None
    views = demo.services.accounts.list()
    assert sorted((v.tech.name, v.account.provider.value) for v in views) == [
        ("Alex Rivera", "google"),
        ("Casey Nguyen", "microsoft"),
        ("Jordan Lee", "google"),
        ("Morgan Brooks", "microsoft"),
        ("Sam Patel", "google"),
    ]
    assert all(v.account.status is AccountStatus.CONNECTED and v.account.sandbox_url for v in views)
    assert all(c.sync_cursor for v in views for c in v.calendars)  # read once before the window opens
    with demo.services.uow() as uow:
        jobs = uow.bookings.list(live_only=True)
    assert len([b for b in jobs if b.tech_id]) >= 30 and not any(b.forced for b in jobs)
    for booking in jobs:
        if booking.tech_id is None:
            continue
        clashes = demo.services.schedule.conflicts_for(
            next(t for t in demo.techs if t.id == booking.tech_id),
            booking.interval,
            exclude_booking=booking.id,  # type: ignore[arg-type]
        )
        assert not [c for c in clashes if c.source is BusySource.CALENDAR], booking


@pytest.mark.keyring
def test_the_board_follows_an_event_added_on_the_sandbox_phone(
    qtbot, demo: DemoSession, qapp: QApplication
) -> None:  # type: ignore[no-untyped-def]
    win = open_window(qtbot, demo, qapp)
    assert "Demo ▸ Sandbox phone" in win.banner.text
    (action,) = next(a for a in win.menuBar().actions() if a.text() == "&Demo").menu().actions()
    action.trigger()
    phone = win.phone_window  # type: ignore[attr-defined]
    assert isinstance(phone, PhoneWindow)
    qtbot.waitUntil(lambda: bool(phone.events), timeout=10_000)
    jordan = next(t for t in demo.techs if t.name == "Jordan Lee")
    with qtbot.waitSignal(phone.events_loaded, timeout=10_000):
        phone.select_tech(jordan.email)
    assert "Dentist appointment" in [e.title for e in phone.events]

    tz = zone(jordan.timezone)
    wednesday = demo.services.clock.now().astimezone(tz).date() + timedelta(days=2)
    (slot,) = demo.services.schedule.earliest(
        timedelta(minutes=45), [jordan.id], start=demo.services.clock.now() + timedelta(days=2)
    )
    start = slot.interval.start.astimezone(tz)
    phone.set_form("Dentist", start.date(), start.time(), 45, busy=True, private=False)
    with qtbot.waitSignal(phone.changed, timeout=10_000):
        phone.add_event()
    qtbot.waitUntil(lambda: "Dentist" in [e.title for e in phone.events], timeout=10_000)
    (added,) = [e for e in phone.events if e.title == "Dentist"]
    phone.select_event(added.id)

    win.set_mode(BoardMode.WEEK)
    win.go_to(wednesday)

    def dentist_on_board() -> bool:
        snap = win.snapshot
        return snap is not None and any(
            b.title == "Dentist" and b.interval.start == slot.interval.start
            for row in snap.rows
            if row.tech.id == jordan.id
            for b in row.busy
        )

    assert not dentist_on_board()
    read_calendars_once(demo.services, demo.store)  # the round the running engine does every 10 s
    qtbot.waitUntil(dentist_on_board, timeout=15_000)
    # The same round wrote the week's jobs into the techs' calendars: the phone shows them too.
    with qtbot.waitSignal(phone.events_loaded, timeout=10_000):
        phone.reload()
    assert any(e.from_crewboard for e in phone.events)
    phone.select_event(added.id)
    for _ in range(3):
        qapp.processEvents()
    SHOTS.mkdir(parents=True, exist_ok=True)
    assert phone.grab().save(str(SHOTS / "phone.png"))

    with qtbot.waitSignal(phone.changed, timeout=10_000):
        phone.delete_selected()
    read_calendars_once(demo.services, demo.store)
    qtbot.waitUntil(lambda: not dentist_on_board(), timeout=15_000)
    phone.close()


def test_without_a_keyring_the_demo_opens_with_a_banner_saying_why(
    qtbot, tmp_path: Path, qapp: QApplication
) -> None:  # type: ignore[no-untyped-def]
    session = start_demo(
        tmp_path, FixedClock(monday_morning()), store=TokenStore(backend=keyring.backends.fail.Keyring())
    )
    try:
        assert session.problem is not None and "keyring" in session.problem
        assert session.services.accounts.list() == []
        win = open_window(qtbot, session, qapp)
        assert win.banner.text.startswith("Calendars could not be connected:")
        assert "keyring" in win.banner.text
        assert win.snapshot is not None and sum(len(r.bookings) for r in win.snapshot.rows) > 0
        win.close()
    finally:
        session.close()
