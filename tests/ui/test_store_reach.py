"""PostgreSQL stops under an open desk: a banner says so, an edit is refused with one sentence and
leaves nothing behind, and when the server is back the desk reconnects and catches up by itself."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from pytestqt.qtbot import QtBot

from app.bus import Bus
from app.domain.time import FixedClock
from app.errors import StorageError
from app.services.bookings import NewBooking
from app.services.change_feed import FollowTiming
from app.services.container import Services
from app.services.feed_relay import FeedRelay
from storage import open_database
from storage.database import Database
from storage.feed_watch import StoreFeed
from tests.pg import PostgresServer, fresh_database, own_pg_server
from tests.ui.business import MONDAY, at
from tests.ui.conftest import OFFICE
from tests.ui.test_live_board import RelayThread
from ui.main_window import MainWindow
from ui.store_reach import BACK, LOST, StoreReachNotice

__all__ = ["own_pg_server"]

THU = MONDAY + timedelta(days=3)


@pytest.fixture
def office_store(own_pg_server: PostgresServer) -> Iterator[str]:
    with fresh_database(own_pg_server) as url:
        yield url


@pytest.fixture
def desk_db(office_store: str) -> Iterator[Database]:
    database = open_database(office_store, desk="front-desk")
    try:
        yield database
    finally:
        database.dispose()


def _bookings(services: Services) -> int:
    with services.uow(read_only=True) as uow:
        return len(uow.bookings.list())


def test_the_desk_says_the_store_is_gone_refuses_edits_and_comes_back_by_itself(
    qtbot: QtBot,
    own_pg_server: PostgresServer,
    desk_db: Database,
    office_store: str,
    clock: FixedClock,
    styled_app: object,
) -> None:
    desk = Services.build(desk_db.unit_of_work, clock, Bus())
    desk.techs.add("Marcus Lee", "marcus@example.com", "America/Chicago")
    window = MainWindow(desk, office_zone=OFFICE)
    qtbot.addWidget(window)
    with qtbot.waitSignal(window.snapshot_applied, timeout=10_000):
        window.show()
    notice = StoreReachNotice(window)
    feed = StoreFeed(desk_db)
    relay = FeedRelay(
        feed, desk.uow, desk.bus, FollowTiming(heartbeat_s=0.2, retry_s=0.1, retry_max_s=0.5), notice.report
    )
    runner = RelayThread(relay, feed.last_seq())
    runner.start()
    try:
        own_pg_server.halt()
        qtbot.waitUntil(lambda: notice.lost is not None, timeout=20_000)
        assert window.banner.isVisible() and window.banner.text == notice.lost
        assert notice.lost == LOST

        job = NewBooking("Okafor family", "Leak repair", timedelta(hours=1), at(THU, 15), tech="Marcus Lee")
        with pytest.raises(StorageError) as refused:
            desk.bookings.create(job)
        sentence = str(refused.value)
        assert sentence.startswith("The ") and sentence.count(". ") == 0 and "Traceback" not in sentence

        own_pg_server.resume()
        qtbot.waitUntil(lambda: notice.lost is None, timeout=20_000)
        assert window.banner.text == BACK
        assert _bookings(desk) == 0  # the refused edit left nothing behind

        # The desk's own connections come back by themselves, and another desk's change shows.
        booked = desk.bookings.create(job)
        other_db = open_database(office_store, desk="back-office")
        try:
            other = Services.build(other_db.unit_of_work, clock, Bus())
            moved = other.bookings.create(
                NewBooking("Hill family", "Boiler service", timedelta(hours=1), at(THU, 9), tech="Marcus Lee")
            )
        finally:
            other_db.dispose()
        with qtbot.waitSignal(window.snapshot_applied, timeout=10_000):
            window.go_to(THU)

        def both_on_board() -> bool:
            snapshot = window.snapshot
            ids = {b.id for row in snapshot.rows for b in row.bookings} if snapshot else set()
            return {booked.id, moved.id} <= ids

        qtbot.waitUntil(both_on_board, timeout=10_000)
        assert _bookings(desk) == 2
    finally:
        runner.stop()
        window.close()
