"""Every board live: what another desk commits reaches an open window through the change feed alone.

The other desk is another Database on the same file (its own connections, its own bus), so this
window hears nothing of it except through the feed relay that app.main starts beside the window.
The relay runs on an asyncio loop in a thread of its own here; app.main runs it on the qasync loop.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from datetime import timedelta

import pytest
from pytestqt.qtbot import QtBot

from app.domain.ids import ConflictId, new_id
from app.domain.model import Conflict, ConflictKind, SyncHealth
from app.domain.time import FixedClock
from app.services.bookings import NewBooking
from app.services.change_feed import FollowTiming
from app.services.container import Services
from app.services.feed_relay import FeedRelay
from storage import open_database
from storage.feed_watch import StoreFeed
from tests.ui.business import MONDAY, Business, at
from ui.main_window import MainWindow

THU = MONDAY + timedelta(days=3)


class RelayThread:
    """Runs a FeedRelay on an asyncio loop in a thread; stop() cancels it and waits."""

    def __init__(self, relay: FeedRelay, since: int) -> None:
        self._relay = relay
        self._since = since
        self._loop = asyncio.new_event_loop()
        self._task: asyncio.Task[None] | None = None
        self._started = threading.Event()
        self._thread = threading.Thread(target=self._run, name="feed-relay")

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._task = self._loop.create_task(self._relay.run(self._since))
        self._started.set()
        try:
            self._loop.run_until_complete(asyncio.gather(self._task, return_exceptions=True))
        finally:
            self._loop.close()

    def start(self) -> None:
        self._thread.start()
        self._started.wait()

    def stop(self) -> None:
        task = self._task
        if task is not None:
            self._loop.call_soon_threadsafe(task.cancel)
        self._thread.join()


@pytest.fixture
def other_desk(db_url: str, clock: FixedClock) -> Iterator[Services]:
    database = open_database(db_url, desk="front-desk")
    try:
        yield Services.build(database.unit_of_work, clock)
    finally:
        database.dispose()


@pytest.fixture
def relayed(db_url: str, services: Services) -> Iterator[None]:
    """The window's desk follows the feed of its store, as app.main.run_desktop does."""
    database = open_database(db_url)
    feed = StoreFeed(database)
    runner = RelayThread(
        FeedRelay(feed, services.uow, services.bus, FollowTiming(heartbeat_s=300.0)), feed.last_seq()
    )
    runner.start()
    try:
        yield
    finally:
        runner.stop()
        database.dispose()


def _on_board(win: MainWindow, booking_id: str) -> bool:
    snapshot = win.snapshot
    return snapshot is not None and any(b.id == booking_id for row in snapshot.rows for b in row.bookings)


def test_another_desks_booking_and_conflict_reach_the_open_window(
    qtbot: QtBot, busy_window: MainWindow, business: Business, other_desk: Services, relayed: None
) -> None:
    win = busy_window
    with qtbot.waitSignal(win.snapshot_applied, timeout=10_000):
        win.go_to(THU)
    booked = other_desk.bookings.create(
        NewBooking("Okafor family", "Leak repair", timedelta(hours=1), at(THU, 15), tech="Marcus Lee"),
        force=True,
    )
    qtbot.waitUntil(lambda: _on_board(win, booked.id), timeout=10_000)

    conflict = Conflict(
        ConflictId(new_id()), booked.id, booked.tech_id, ConflictKind.OVERLAP, other_desk.clock.now()
    )
    with other_desk.uow() as uow:  # as the office service's sync would open it
        uow.conflicts.add(conflict)
        uow.commit()
    panel = win.conflicts_panel

    def listed() -> bool:
        lists = panel.lists
        return lists is not None and any(view.conflict.id == conflict.id for view in lists.open)

    qtbot.waitUntil(listed, timeout=10_000)


def test_another_programs_outage_reaches_the_open_health_panel(
    qtbot: QtBot, busy_window: MainWindow, services: Services, other_desk: Services, relayed: None
) -> None:
    win = busy_window
    with services.uow(read_only=True) as uow:
        account = uow.accounts.list()[0]
    dialog = win.open_sync_health()
    qtbot.waitUntil(lambda: dialog.report is not None, timeout=10_000)
    failing_since = other_desk.clock.now()
    with other_desk.uow() as uow:  # as the office service's health monitor records an outage
        uow.health.put(
            SyncHealth(account.id, failing_since=failing_since, last_error="Google cannot be reached")
        )
        uow.commit()

    def shown() -> bool:
        report = dialog.report
        return report is not None and any(
            row.account.id == account.id
            and row.health is not None
            and row.health.failing_since == failing_since
            for row in report.accounts
        )

    qtbot.waitUntil(shown, timeout=10_000)
    dialog.close()
