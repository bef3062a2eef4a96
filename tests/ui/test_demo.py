"""`crewboard demo` in-process and offscreen: it starts, opens its phone, and the board follows a phone edit."""

from __future__ import annotations

import os

os.environ.setdefault("QTWEBENGINE_CHROMIUM_FLAGS", "--no-sandbox --disable-gpu")

import asyncio
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import httpx
import keyring.backends.fail
import pytest
from PySide6.QtWidgets import QApplication

from app.demo import DemoSession, DemoSync, decorate_demo_window, demo_days, read_calendars_once, start_demo
from app.domain.model import AccountStatus, BusySource, Provider
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
def test_the_demo_connects_six_techs_and_books_only_free_time(demo: DemoSession) -> None:
    assert demo.problem is None
    views = demo.services.accounts.list()
    assert sorted((v.tech.name, v.account.provider.value) for v in views) == [
        ("Alex Rivera", "google"),
        ("Casey Nguyen", "microsoft"),
        ("Jordan Lee", "google"),
        ("Morgan Brooks", "microsoft"),
        ("Priya Shah", "caldav"),
        ("Sam Patel", "google"),
    ]
    assert all(v.account.status is AccountStatus.CONNECTED for v in views)
    # Sandbox sign-ins name their endpoint; the CalDAV one keeps its server address in the keyring.
    assert all(v.account.endpoint for v in views if v.account.provider is not Provider.CALDAV)
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
def test_the_demo_caldav_tech_syncs_both_ways_with_its_radicale(demo: DemoSession) -> None:
    """Priya's iPhone-style calendar is a real Radicale: her seeded week and an event the Sandbox
    phone adds there reach the board, and her jobs are in her calendar as VEVENTs after a round."""
    from caldav.collection import Calendar as PhoneCalendar
    from caldav.davclient import DAVClient

    assert demo.caldav is not None and demo.caldav.running
    priya = next(t for t in demo.techs if t.name == "Priya Shah")
    tz = zone(priya.timezone)
    days = demo_days(demo.services.clock.now().astimezone(tz).date())
    assert "Dentist appointment" in [b.title for b in demo.services.schedule.day(priya.name, days[1]).busy]
    (slot,) = demo.services.schedule.earliest(
        timedelta(minutes=45), [priya.id], start=demo.services.clock.now() + timedelta(days=2)
    )
    phone_tech = next(t for t in demo.phone.techs() if t.email == priya.email)
    assert phone_tech.provider_label == "iCloud (CalDAV)"
    added = demo.phone.add_event(
        phone_tech, "Eye doctor", slot.interval.start.astimezone(tz), timedelta(minutes=45), True, False
    )
    read_calendars_once(demo.services, demo.store)  # the round the running engine does every 10 s

    def eye_doctor() -> list[datetime]:
        day = slot.interval.start.astimezone(tz).date()
        return [
            b.interval.start
            for b in demo.services.schedule.day(priya.name, day).busy
            if b.title == "Eye doctor"
        ]

    assert eye_doctor() == [slot.interval.start]

    with demo.services.uow() as uow:
        jobs = {b.id for b in uow.bookings.list(live_only=True) if b.tech_id == priya.id}
    assert len(jobs) >= 7
    client = DAVClient(url=demo.caldav.url, username=priya.email, password=demo.caldav.password(priya.email))
    phone = PhoneCalendar(client=client, url=f"{demo.caldav.url}/{priya.email}/calendar/")
    written = {
        str(e.icalendar_component.get("X-CREWBOARD-BOOKING-ID"))
        for e in phone.events()
        if e.icalendar_component.get("X-CREWBOARD-BOOKING-ID") is not None
    }
    assert written == jobs
    # The Sandbox phone shows her week as her calendar app does: the series expanded, jobs marked.
    week = demo.phone.events(
        phone_tech, slot.interval.start - timedelta(days=7), slot.interval.start + timedelta(days=7)
    )
    titles = [e.title for e in week]
    assert titles.count("Team meeting") == 2 and "Eye doctor" in titles
    assert sum(e.from_crewboard for e in week) >= 7
    moved = slot.interval.start + timedelta(hours=1)
    demo.phone.move_event(phone_tech, added, moved.astimezone(tz), timedelta(minutes=45))
    read_calendars_once(demo.services, demo.store)
    assert eye_doctor() == [moved]
    demo.phone.delete_event(phone_tech, added)
    read_calendars_once(demo.services, demo.store)
    assert eye_doctor() == []
    # "Revoke Crewboard's access": she replaced the app-specific password; the board asks to reconnect.
    demo.phone.revoke(phone_tech)
    read_calendars_once(demo.services, demo.store)
    (view,) = [v for v in demo.services.accounts.list() if v.tech.id == priya.id]
    assert view.account.status in (AccountStatus.NEEDS_RECONNECT, AccountStatus.REVOKED)


@pytest.mark.keyring
def test_the_board_follows_an_event_added_on_the_sandbox_phone(
    qtbot, demo: DemoSession, qapp: QApplication
) -> None:  # type: ignore[no-untyped-def]
    win = open_window(qtbot, demo, qapp)
    assert "Demo ▸ Sandbox phone" in win.banner.text
    demo_menu = next(a for a in win.menuBar().actions() if a.text() == "&Demo").menu()
    (action,) = [a for a in demo_menu.actions() if a.objectName() == "sandboxPhoneAction"]
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


def test_the_demo_week_is_the_coming_five_business_days() -> None:
    sunday, wednesday, saturday = date(2026, 12, 6), date(2026, 12, 9), date(2026, 12, 12)
    assert demo_days(sunday) == [date(2026, 12, d) for d in (7, 8, 9, 10, 11)]
    assert demo_days(wednesday) == [date(2026, 12, d) for d in (9, 10, 11, 14, 15)]
    assert demo_days(saturday) == [date(2026, 12, d) for d in (14, 15, 16, 17, 18)]
    assert demo_days(date(2026, 12, 31)) == [
        date(2026, 12, 31),
        date(2027, 1, 1),
        *(date(2027, 1, d) for d in (4, 5, 6)),
    ]


def _started_on(weekday: int) -> FixedClock:
    """Noon in Chicago on `weekday` (0 = Monday) of this week: the demo as started that day."""
    day = monday_morning().date() + timedelta(days=weekday)
    return FixedClock(datetime.combine(day, time(18, 0), tzinfo=UTC))


@pytest.mark.keyring
@pytest.mark.parametrize("weekday", [6, 2], ids=["sunday", "wednesday"])
def test_the_demo_seeds_and_books_the_coming_business_days(
    tmp_path: Path, token_store: TokenStore, weekday: int
) -> None:
    """Started on a Sunday the board's coming week is full (not the week just past), and on a
    Wednesday the week runs on to Tuesday; the techs' own events lie on the same days."""
    clock = _started_on(weekday)
    session = start_demo(tmp_path, clock, store=token_store)
    try:
        assert session.problem is None
        with session.services.uow() as uow:
            jobs = [b for b in uow.bookings.list(live_only=True) if b.tech_id and b.start]
        for tech in session.techs:
            tz = zone(tech.timezone)
            days = demo_days(clock.now().astimezone(tz).date())
            booked = {b.start.astimezone(tz).date() for b in jobs if b.tech_id == tech.id and b.start}
            assert booked <= set(days) and len(booked) >= 4, (tech.name, booked)
            mine = [b for b in jobs if b.tech_id == tech.id]
            assert len(mine) >= 7
            # The seed's Tuesday dentist is on the second business day of the span, on the board too.
            dentist_day = session.services.schedule.day(tech.name, days[1])
            assert "Dentist appointment" in [b.title for b in dentist_day.busy], tech.name
            pto_day = session.services.schedule.day(tech.name, days[4])
            assert "PTO" in [b.title for b in pto_day.busy], tech.name
    finally:
        session.close()


async def _until(check: Callable[[], bool], timeout: float = 20.0) -> None:
    async with asyncio.timeout(timeout):
        while not check():
            await asyncio.sleep(0.05)


@pytest.mark.keyring
async def test_the_demo_delivers_push_so_a_phone_edit_needs_no_poll(
    tmp_path: Path, token_store: TokenStore
) -> None:
    """The sandbox is on loopback, so the demo listens for its notices: with polling pushed out of
    the way, an event added on the phone (Google and Outlook) still reaches the board."""
    # Now, not this week's Monday: Graph bounds a subscription's expiry by the provider's own clock.
    clock = FixedClock(datetime.now(UTC).replace(microsecond=0))
    demo = await asyncio.to_thread(start_demo, tmp_path, clock, store=token_store)
    try:
        await _push_reaches_the_board(demo)
    finally:
        demo.close()


async def _job_pages_are_served(demo: DemoSession, sync: DemoSync) -> None:
    """The demo's job events link job pages served beside the push receiver, on loopback."""
    from app.services.job_links import link_setup

    def first_link() -> tuple[str | None, str]:
        job = next(b for b in demo.services.bookings.list() if b.tech_id is not None)
        tech = next(t for t in demo.techs if t.id == job.tech_id)
        with demo.services.uow() as uow:
            setup = link_setup(uow)
            uow.commit()
        assert setup.public_url == sync.push.receiver.url
        return setup.url_for(job, tech), tech.name

    link, name = await asyncio.to_thread(first_link)
    assert link is not None
    async with httpx.AsyncClient(trust_env=False, timeout=10) as client:
        page = await client.get(link)
    assert page.status_code == 200 and f"Job for {name}" in page.text


async def _push_reaches_the_board(demo: DemoSession) -> None:
    sync = DemoSync(demo.services, demo.store)
    stop = asyncio.Event()
    running = asyncio.ensure_future(sync.run_forever(stop))
    try:
        await asyncio.wait_for(sync.listening.wait(), 20)
        await _job_pages_are_served(demo, sync)

        def watched() -> bool:
            views = demo.services.accounts.list()
            # CalDAV has no push: the CalDAV tech is read at each poll only.
            return all(
                c.channel_id
                for v in views
                if v.account.provider is not Provider.CALDAV
                for c in v.calendars
                if c.blocks
            )

        await _until(watched)
        sync.engine.poll_seconds = 3600.0  # from here on only push makes the engine read
        await asyncio.sleep(0.5)  # let a round under way finish
        phone_techs = {t.email: t for t in await asyncio.to_thread(demo.phone.techs)}
        for name in ("Jordan Lee", "Casey Nguyen"):
            tech = next(t for t in demo.techs if t.name == name)
            (slot,) = demo.services.schedule.earliest(
                timedelta(minutes=45), [tech.id], start=demo.services.clock.now() + timedelta(days=2)
            )
            start = slot.interval.start.astimezone(zone(tech.timezone))
            await asyncio.to_thread(
                demo.phone.add_event,
                phone_techs[tech.email],
                "Pushed dentist",
                start,
                timedelta(minutes=45),
                True,
                False,
            )

            local_day = start.date()

            def on_board(who: str = name, day: date = local_day, at: datetime = slot.interval.start) -> bool:
                busy = demo.services.schedule.day(who, day).busy
                return any(b.title == "Pushed dentist" and b.interval.start == at for b in busy)

            await _until(on_board)
    finally:
        stop.set()
        await asyncio.wait_for(running, 30)
        await sync.aclose()
