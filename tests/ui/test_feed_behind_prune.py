"""A desk asleep longer than the change feed is kept: its open window reloads everything on waking.

The other desk queues a job for nobody (the tray) while this desk's relay is not reading; then the
feed is pruned past this desk's last number, as the sync owner does after a day. The job's own
entry is gone, so only a full reload can put it in the tray.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from pytestqt.qtbot import QtBot

from app.domain.time import FixedClock
from app.services.bookings import NewBooking
from app.services.change_feed import FollowTiming
from app.services.container import Services
from app.services.feed_relay import FeedRelay
from storage import Database, open_database
from storage.feed_watch import StoreFeed
from tests.ui.business import Business
from tests.ui.test_live_board import RelayThread
from ui.main_window import MainWindow


@pytest.fixture
def other_db(db_url: str) -> Iterator[Database]:
    database = open_database(db_url, desk="front-desk")
    yield database
    database.dispose()


def _prune_all_but_newest(database: Database) -> None:
    """Prune as the owner would a day later: dated after every entry, so only the newest stays."""
    with database.unit_of_work() as uow:
        entries = uow.changes.since(0, 100_000)
        after_all = max(change.at for change in entries) + timedelta(seconds=1)
        assert uow.changes.prune(after_all, keep=1, limit=100_000) == len(entries) - 1
        uow.commit()


def test_a_desk_behind_the_prune_reloads_the_whole_board(
    qtbot: QtBot,
    busy_window: MainWindow,
    business: Business,
    services: Services,
    other_db: Database,
    clock: FixedClock,
) -> None:
    win = busy_window
    feed = StoreFeed(other_db)
    asleep_since = feed.last_seq()
    other = Services.build(other_db.unit_of_work, clock)
    queued = other.bookings.create(NewBooking("Okafor family", "Leak repair", timedelta(hours=1)))
    other.techs.add("Dana Whitfield", "dana@example.com", "America/Chicago")  # the newest entry, kept
    _prune_all_but_newest(other_db)
    assert win.snapshot is not None and all(job.id != queued.id for job in win.snapshot.unassigned)

    runner = RelayThread(
        FeedRelay(feed, services.uow, services.bus, FollowTiming(heartbeat_s=300.0)), asleep_since
    )
    runner.start()
    try:

        def in_tray() -> bool:
            snapshot = win.snapshot
            return snapshot is not None and any(job.id == queued.id for job in snapshot.unassigned)

        qtbot.waitUntil(in_tray, timeout=10_000)
    finally:
        runner.stop()
