"""Figures: the board's week view with 200 techs and 8,000 items (issue 17), offscreen.

The main window is shown at 1440×860 in week mode over a real SQLite store. Measured:
- first paint: `BoardView.set_snapshot` of a snapshot it has not shown (a fresh layout: the axis,
  and the rows on screen laid out as the paint asks for them) and one synchronous repaint of the
  viewport, i.e. what a dispatcher waits for between the snapshot arriving and a full board;
- scroll frame: one wheel notch (three scroll steps) down or up, and the frame Qt paints for it
  (the board moves what is painted and paints the strip scrolled into view; rows scrolled into
  view are laid out then); a full repaint of the viewport is noted beside it;
- the snapshot load from the store (BoardService.snapshot, on the window's worker thread in the app);
- then the same board under a stream of sync changes (`board_stream`).
"""

from __future__ import annotations

import gc
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QEventLoop, QTimer
from PySide6.QtWidgets import QApplication

import ui  # noqa: F401  (guards the interpreter before Qt is used)
from app.bus import Bus
from app.domain.model import Technician
from app.domain.time import FixedClock, Interval
from app.services.board import BoardSnapshot
from app.services.container import Services
from storage.database import open_database
from tests.bench import board_stream
from tests.bench.common import Figure, from_samples, percentile, progress, report, timed
from tests.bench.crew import Crew, add_blocks, add_bookings, add_crew, local
from tests.bench.profile import enabled, spy
from ui.board.layout import BoardMode, board_window, period_start
from ui.gc_guard import MainThreadGarbageCollector
from ui.main_window import MainWindow
from ui.style import apply_style

TECHS = 200
ITEMS = 8000
MONDAY = date(2026, 11, 2)
NOW = datetime(2026, 11, 4, 16, 40, tzinfo=UTC)
OFFICE = "America/Chicago"
FIRST_PAINTS = 40
SCROLL_FRAMES = 300


def seed(services: Services) -> Crew:
    """8,000 items over the week: 5,000 jobs and 3,000 calendar blocks (timed, all-day, private, tentative)."""
    crew = add_crew(services, TECHS)
    bookings: list[tuple[Technician, Interval]] = []
    blocks: list[tuple[Technician, Interval, str | None, bool, bool]] = []
    item = 0
    while item < ITEMS:
        for index, tech in enumerate(crew.techs):
            if item >= ITEMS:
                break
            slot = item // TECHS  # 40 items per tech over the week
            day = MONDAY + timedelta(days=slot % 7)
            hour = 7 + (slot * 3 + index) % 11
            minute = (index * 15) % 60
            tz = tech.timezone
            span = Interval(
                local(day, hour, minute, tz), local(day, hour, minute, tz) + timedelta(minutes=90)
            )
            if item % 8 < 5:
                bookings.append((tech, span))
            elif item % 97 == 0:
                whole = Interval(local(day, 0, 0, tz), local(day + timedelta(days=1), 0, 0, tz))
                blocks.append((tech, whole, "PTO", True, False))
            else:
                title = None if item % 5 == 0 else "Dentist appointment"
                blocks.append((tech, span, title, False, item % 13 == 0))
            item += 1
    add_bookings(services, crew, bookings)
    add_blocks(services, crew, blocks)
    return crew


def wall_and_cpu(work: Callable[[], object]) -> tuple[float, float]:
    """Milliseconds `work` took by the clock and in this thread's CPU (steadier on a busy machine)."""
    cpu = time.thread_time()
    wall = timed(work)
    return wall * 1000, (time.thread_time() - cpu) * 1000


def fresh(snapshot: BoardSnapshot) -> BoardSnapshot:
    """An equal snapshot of new row objects, as a reload brings: the board lays it out afresh."""
    return replace(snapshot, rows=tuple(replace(row) for row in snapshot.rows))


def wait_for(signal: object, timeout_ms: int = 30_000) -> None:
    loop = QEventLoop()
    signal.connect(loop.quit)  # type: ignore[attr-defined]
    QTimer.singleShot(timeout_ms, loop.quit)
    loop.exec()


def run(out: str | None) -> list[Figure]:
    app = QApplication.instance() or QApplication(sys.argv)
    assert isinstance(app, QApplication)
    apply_style(app)
    with tempfile.TemporaryDirectory(prefix="crewboard-bench-") as folder:
        path = Path(folder) / "bench.db"
        database = open_database(f"sqlite:///{path}")
        try:
            services = Services.build(database.unit_of_work, FixedClock(NOW), Bus())
            crew = seed(services)
            progress(
                f"board: {TECHS} techs, {crew.bookings} jobs and {crew.blocks} calendar blocks in the week"
            )
            window = MainWindow(services, office_zone=OFFICE)
            window.resize(1440, 860)
            window.show()
            wait_for(window.snapshot_applied)
            window.set_mode(BoardMode.WEEK)
            wait_for(window.snapshot_applied)
            # As run_desktop: collection on the GUI thread's timer, start-up set aside. A full
            # collection is timed before and after setting aside, the week loaded.
            before_full_ms = [timed(gc.collect) * 1000 for _ in range(3)][-1]
            collector = MainThreadGarbageCollector(app)
            collector.settle()
            board = window.board
            office = window.office
            first = period_start(BoardMode.WEEK, MONDAY)
            span = board_window(BoardMode.WEEK, MONDAY, office)
            snapshot = services.board.snapshot(span)
            shown = sum(len(r.bookings) + len(r.busy) for r in snapshot.rows)
            loads = [wall_and_cpu(lambda: services.board.snapshot(span)) for _ in range(10)]
            load_ms, load_cpu = [wall for wall, _ in loads], [cpu for _, cpu in loads]

            def first_paint() -> None:
                board.set_snapshot(fresh(snapshot), BoardMode.WEEK, first)
                board.viewport().repaint()

            cold_ms = timed(first_paint) * 1000
            paint_ms, paint_cpu = [], []
            for _ in range(FIRST_PAINTS):
                board.verticalScrollBar().setValue(0)
                app.processEvents()
                wall, cpu = wall_and_cpu(first_paint)
                paint_ms.append(wall)
                paint_cpu.append(cpu)
            bar = board.verticalScrollBar()
            notch = 3 * bar.singleStep()
            bar.setValue(0)
            app.processEvents()
            frame_ms, frame_cpu, full_ms = [], [], []
            direction = 1
            for _ in range(SCROLL_FRAMES):
                if bar.value() + notch > bar.maximum():
                    direction = -1
                elif bar.value() - notch < 0:
                    direction = 1
                target = bar.value() + direction * notch

                def frame(value: int = target) -> None:
                    bar.setValue(value)  # moves what is painted; the strip scrolled in is dirty
                    app.processEvents()  # the frame Qt paints for it

                wall, cpu = wall_and_cpu(frame)
                frame_ms.append(wall)
                frame_cpu.append(cpu)
                full_ms.append(timed(board.viewport().repaint) * 1000)  # all of it, for context
            size = board.viewport().size()
            profiles: dict[str, Any] = {}
            if enabled():  # a pass of its own, so sampling never slows the measured frames
                with spy("board_scroll_frame", profiles):
                    for step in range(SCROLL_FRAMES):
                        bar.setValue((step * notch) % max(1, bar.maximum()))
                        app.processEvents()
                with spy("board_first_paint", profiles):
                    for _ in range(FIRST_PAINTS):
                        first_paint()
            full_gc_ms = []
            for _ in range(5):  # the week reloaded since start-up: its objects are not set aside
                board.set_snapshot(services.board.snapshot(span), BoardMode.WEEK, first)
                app.processEvents()
                full_gc_ms.append(timed(gc.collect) * 1000)
            collector.stop()
            window.close()
            app.processEvents()
            time.sleep(0.05)
        finally:
            database.dispose()
        progress(f"board: a stream of sync changes for {board_stream.STREAM_S:.0f} s")
        stream = board_stream.measure(app, path, crew, NOW, OFFICE, local(MONDAY, 0, 0, OFFICE))
    note = f"{shown} items in the week's snapshot, viewport {size.width()}×{size.height()}"
    load = f"load average {os.getloadavg()[0]:.1f}"
    figures = [
        from_samples(
            "board_first_paint",
            "board paint: week view, first paint (layout + paint)",
            paint_ms,
            "ms",
            "≤ 50 ms",
            50.0,
            note=(
                f"{note}; the very first paint of the process: {cold_ms:.1f} ms; GUI thread CPU "
                f"median {statistics.median(paint_cpu):.1f} ms; {load}"
            ),
            cold_ms=cold_ms,
            cpu_median=statistics.median(paint_cpu),
        ),
        from_samples(
            "board_scroll_frame",
            "board paint: week view, one scroll frame",
            frame_ms,
            "ms",
            "≤ 16 ms",
            16.0,
            note=(
                f"one wheel notch ({notch} px): the painted pixels moved and the strip scrolled into "
                f"view painted; GUI thread CPU median {statistics.median(frame_cpu):.1f} ms; a full "
                f"repaint of the viewport for comparison: median {statistics.median(full_ms):.1f} ms, "
                f"p95 {percentile(full_ms, 0.95):.1f} ms; {load}"
            ),
            cpu_median=statistics.median(frame_cpu),
        ),
        from_samples(
            "board_snapshot_load",
            "board: week snapshot load from the store (worker thread)",
            load_ms,
            "ms",
            "≤ 200 ms",
            200.0,
            note=(
                f"BoardService.snapshot on SQLite, {shown} items; CPU median "
                f"{statistics.median(load_cpu):.1f} ms; {load}"
            ),
            cpu_median=statistics.median(load_cpu),
        ),
        from_samples(
            "board_full_gc",
            "board: a full garbage collection on the GUI thread, 200-tech week loaded",
            full_gc_ms,
            "ms",
            "—",
            None,
            note=(
                f"the week reloaded after start-up was set aside (gc.freeze); at most once a minute "
                f"(ui/gc_guard.py); before setting aside: {before_full_ms:.0f} ms; {load}"
            ),
            before_ms=before_full_ms,
        ),
        *board_stream.figures(stream, shown),
    ]
    for figure in figures:
        if figure.key in profiles:
            figure.extra["profile"] = profiles[figure.key]
    report(figures, out)
    return figures


if __name__ == "__main__":
    run(sys.argv[1] if len(sys.argv) > 1 else None)
