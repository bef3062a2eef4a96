"""The board under a stream of changes: deltas for a few techs, full reloads at most once a second,
and never an answer for an older period on screen."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from PySide6.QtCore import QRect
from PySide6.QtGui import QPaintEvent
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from app.bus import BusyChanged, TechsChanged
from app.domain.ids import TechId
from app.domain.time import Interval
from app.services.board import BoardService
from app.services.container import Services
from tests.ui.business import MONDAY, Business, add_busy, at
from ui.board_refresh import BoardRefresher, Shown
from ui.main_window import MainWindow

WED = MONDAY + timedelta(days=2)


class Calls:
    """Counts what the board asked BoardService for, passing every call on."""

    def __init__(self, service: BoardService, monkeypatch: pytest.MonkeyPatch) -> None:
        self.snapshots = 0
        self.rows: list[set[TechId]] = []
        self.gate: threading.Event | None = None  # when set up, a rows() call waits for it
        snapshot, rows = service.snapshot, service.rows

        def counted_snapshot(window: Interval) -> Any:
            self.snapshots += 1
            return snapshot(window)

        def counted_rows(window: Interval, techs: Any, bookings: Any = ()) -> Any:
            self.rows.append(set(techs))
            if self.gate is not None:
                self.gate.wait(10)
            return rows(window, techs, bookings)

        monkeypatch.setattr(service, "snapshot", counted_snapshot)
        monkeypatch.setattr(service, "rows", counted_rows)


@pytest.fixture
def calls(services: Services, monkeypatch: pytest.MonkeyPatch) -> Calls:
    return Calls(services.board, monkeypatch)


def busy_titles(win: MainWindow, tech_id: TechId) -> set[str | None]:
    row = win.snapshot.row_for(tech_id) if win.snapshot else None
    return {b.title for b in row.busy} if row else set()


def test_a_busy_change_of_one_tech_reads_only_that_techs_rows(
    qtbot: QtBot, business: Business, calls: Calls, busy_window: MainWindow, services: Services
) -> None:
    win = busy_window
    dana = business.techs["Dana Ortiz"]
    full_before = calls.snapshots
    add_busy(services, dana, business.calendars["Dana Ortiz"], Interval(at(WED, 12), at(WED, 13)), "Dentist")
    services.bus.publish(BusyChanged((dana.id,)))  # as the feed relay tells it

    qtbot.waitUntil(lambda: "Dentist" in busy_titles(win, dana.id), timeout=10_000)

    assert calls.rows == [{dana.id}]
    assert calls.snapshots == full_before
    layout = win.board.board_layout
    index = layout.row_index(dana.id) if layout else None
    assert layout is not None and index is not None
    assert any(t.block is not None and t.block.title == "Dentist" for t in layout.rows[index].tiles)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def fake_clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def refresher(
    qtbot: QtBot, busy_window: MainWindow, services: Services, fake_clock: FakeClock
) -> Iterator[tuple[BoardRefresher, list[Shown]]]:
    """A second refresher over the window's worker with a clock the test moves."""
    win = busy_window
    qtbot.waitUntil(lambda: win.refresher.idle, timeout=10_000)
    win.refresher.stop()  # the window's own stays out of the way
    applied: list[Shown] = []
    shown = win._shown
    made = BoardRefresher(
        win.worker, services.board, shown, lambda _s, at, _c: applied.append(at), fake_clock, win
    )
    yield made, applied
    made.stop()


def settle(qtbot: QtBot, refresher: BoardRefresher, wait_ms: int = 300) -> None:
    """Let gathering pauses and waits pass (real time), then wait for any load in flight."""
    qtbot.wait(wait_ms)
    qtbot.waitUntil(lambda: not refresher._in_flight, timeout=10_000)


def test_a_burst_of_changes_reloads_everything_at_most_once_a_second(
    qtbot: QtBot,
    business: Business,
    calls: Calls,
    services: Services,
    refresher: tuple[BoardRefresher, list[Shown]],
    fake_clock: FakeClock,
) -> None:
    board, _applied = refresher
    board.reload()
    settle(qtbot, board)
    assert board.full_loads == 1
    dana, elena = business.techs["Dana Ortiz"], business.techs["Elena Novak"]
    for hour, tech in ((12, dana), (13, elena), (14, dana)):
        fake_clock.now += 0.2  # a change every 200 ms that only a full reload applies
        add_busy(
            services,
            tech,
            business.calendars[tech.name],
            Interval(at(WED, hour), at(WED, hour + 1)),
            f"E{hour}",
        )
        board.changed(TechsChanged(()))
        settle(qtbot, board)
    assert board.full_loads == 1  # 0.6 s since the last: the next waits, however long real time took
    assert board.snapshot is not None and "E12" not in busy_titles_of(board, dana.id)

    fake_clock.now += 0.4  # a second since the last full reload
    qtbot.waitUntil(lambda: board.full_loads == 2 and board.idle, timeout=10_000)
    assert busy_titles_of(board, dana.id) >= {"E12", "E14"} and "E13" in busy_titles_of(board, elena.id)

    fake_clock.now += 0.5
    board.changed(TechsChanged(()))
    settle(qtbot, board)
    assert board.full_loads == 2 and not board.idle  # noted, waiting for its second
    fake_clock.now += 0.5
    qtbot.waitUntil(lambda: board.full_loads == 3 and board.idle, timeout=10_000)


def busy_titles_of(board: BoardRefresher, tech_id: TechId) -> set[str | None]:
    row = board.snapshot.row_for(tech_id) if board.snapshot else None
    return {b.title for b in row.busy} if row else set()


def test_a_delta_for_the_old_period_never_lands_after_navigation(
    qtbot: QtBot, business: Business, calls: Calls, busy_window: MainWindow, services: Services
) -> None:
    win = busy_window
    qtbot.waitUntil(lambda: win.refresher.idle, timeout=10_000)
    gate = threading.Event()
    calls.gate = gate
    dana = business.techs["Dana Ortiz"]
    services.bus.publish(BusyChanged((dana.id,)))
    qtbot.waitUntil(lambda: len(calls.rows) == 1, timeout=10_000)  # the delta is in flight, held
    windows: list[Interval] = []
    record: Callable[[], None] = lambda: windows.append(win.snapshot.window)  # type: ignore[union-attr]  # noqa: E731
    win.snapshot_applied.connect(record)
    win.step(1)  # the next day, read in full behind the held delta
    gate.set()

    qtbot.waitUntil(lambda: win.refresher.idle and bool(windows), timeout=10_000)
    qtbot.wait(100)
    assert windows == [win._shown().window]
    assert win.board.first_day == MONDAY + timedelta(days=3)


def test_a_tech_edited_elsewhere_is_a_delta_of_their_row(
    qtbot: QtBot, business: Business, calls: Calls, busy_window: MainWindow, services: Services
) -> None:
    win = busy_window
    qtbot.waitUntil(lambda: win.refresher.idle, timeout=10_000)
    full_before = calls.snapshots
    elena = services.techs.edit(business.techs["Elena Novak"].id, color="#123456")  # publishes TechsChanged

    def recoloured() -> bool:
        row = win.snapshot.row_for(elena.id) if win.snapshot else None
        return row is not None and row.tech.color == "#123456"

    qtbot.waitUntil(recoloured, timeout=10_000)

    assert calls.rows == [{elena.id}] and calls.snapshots == full_before


def test_a_delta_repaints_only_the_rows_it_replaced(
    qtbot: QtBot,
    business: Business,
    busy_window: MainWindow,
    services: Services,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    win = busy_window
    qtbot.waitUntil(lambda: win.refresher.idle, timeout=10_000)
    styled = QApplication.instance()
    assert styled is not None
    styled.processEvents()
    painted: list[QRect] = []
    paint = win.board.paintEvent

    def recorded(event: QPaintEvent) -> None:
        painted.append(event.rect())
        paint(event)

    monkeypatch.setattr(win.board, "paintEvent", recorded)
    dana = business.techs["Dana Ortiz"]
    add_busy(services, dana, business.calendars["Dana Ortiz"], Interval(at(WED, 12), at(WED, 13)), "Dentist")
    services.bus.publish(BusyChanged((dana.id,)))
    qtbot.waitUntil(lambda: "Dentist" in busy_titles(win, dana.id), timeout=10_000)
    styled.processEvents()

    layout = win.board.board_layout
    index = layout.row_index(dana.id) if layout else None
    assert layout is not None and index is not None
    top = win.board.header_height + index * layout.row_height - win.board.verticalScrollBar().value()
    assert painted, "the new block was never painted"
    assert all(top - 1 <= r.top() and r.bottom() <= top + layout.row_height + 1 for r in painted)
