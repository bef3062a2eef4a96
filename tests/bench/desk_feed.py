"""Figure: desk → desk. A booking saved on one desk, until it is on another desk's open board.

Two desks on one store, each with its own connections: the front desk saves a job (from a worker
thread, as its window would); the back office runs the real desktop wiring (MainWindow, the
qasync loop, app.main.feed_relay) and the sample ends when its board has applied a snapshot
holding that job. The path measured: commit → wake-up (NOTIFY on PostgreSQL, PRAGMA data_version
every 50 ms on SQLite) → feed read → bus → bridge → the board's refresh (60 ms coalescing) →
snapshot load → on screen. Both stores: SQLite (one file, as beside `crewboard sync`) and a real
PostgreSQL server started for the run (tests/pg.py). Target from the issue: p95 ≤ 300 ms.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import qasync
from PySide6.QtWidgets import QApplication

import ui  # noqa: F401  (guards the interpreter before Qt is used)
from app.bus import Bus
from app.domain.time import FixedClock
from app.main import feed_relay
from app.services.bookings import NewBooking
from app.services.container import Services
from storage.database import open_database
from storage.feed_watch import StoreFeed
from tests.bench.common import Figure, from_samples, not_measurable, progress, report
from tests.bench.stores import postgresql_database, row_for
from ui.main_window import MainWindow
from ui.style import apply_style

ROUNDS = 40
NOW = datetime(2026, 11, 4, 16, 40, tzinfo=UTC)
OFFICE = "America/Chicago"
TARGET = "p95 ≤ 300 ms"
LIMIT_MS = 300.0
ROUND_PATIENCE_S = 30.0


def _measure(app: QApplication, url: str) -> list[float]:
    """Latencies in ms, one per job saved on the front desk."""
    clock = FixedClock(NOW)
    back_db = open_database(url, desk="back-office")
    front_db = open_database(url, desk="front-desk")
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    back = Services.build(back_db.unit_of_work, clock, Bus(), feed=StoreFeed(back_db))
    front = Services.build(front_db.unit_of_work, clock, Bus())
    relay = feed_relay(back)
    assert relay is not None
    window = MainWindow(back, office_zone=OFFICE)
    window.resize(1440, 860)
    window.show()
    samples: list[float] = []

    async def rounds() -> None:
        relaying = asyncio.ensure_future(relay())
        try:
            for n in range(ROUNDS):
                samples.append(await _one_round(window, front, n))
        finally:
            relaying.cancel()
            await asyncio.gather(relaying, return_exceptions=True)

    try:
        with loop:
            loop.run_until_complete(rounds())
    finally:
        window.close()
        asyncio.set_event_loop(None)
        back_db.dispose()
        front_db.dispose()
    return samples


class _Watch:
    """Waits for the back office's board to apply a snapshot holding one job."""

    def __init__(self, window: MainWindow) -> None:
        self._window = window
        self.job_id: str | None = None
        self.shown_at = 0.0
        self.seen = asyncio.Event()

    def check(self) -> None:
        snapshot = self._window.snapshot
        if self.job_id is None or snapshot is None or self.seen.is_set():
            return
        if any(job.id == self.job_id for job in snapshot.unassigned):
            self.shown_at = time.perf_counter()
            self.seen.set()


async def _one_round(window: MainWindow, front: Services, n: int) -> float:
    """Save one job on the front desk; ms until the back office's board shows it."""
    watch = _Watch(window)
    window.snapshot_applied.connect(watch.check)

    def save() -> tuple[str, float]:
        job = front.bookings.create(NewBooking(f"Customer {n}", "AC repair", timedelta(hours=1)))
        return job.id, time.perf_counter()  # the commit has returned

    try:
        watch.job_id, saved = await asyncio.get_running_loop().run_in_executor(None, save)
        watch.check()  # the board may have got there before the saving thread returned
        await asyncio.wait_for(watch.seen.wait(), ROUND_PATIENCE_S)
    finally:
        window.snapshot_applied.disconnect(watch.check)
    return max(0.0, watch.shown_at - saved) * 1000


def _figure(store: str, samples: list[float] | None, problem: str | None) -> Figure:
    key = f"desk_to_desk_{store}"
    name = f"desk → desk: job saved on one desk → on another desk's board ({store})"
    if not samples:
        return not_measurable(key, name, "ms", TARGET, problem or "no round completed")
    note = f"{len(samples)} jobs; wake-up by {'NOTIFY' if store == 'postgresql' else 'PRAGMA data_version'}"
    return from_samples(key, name, samples, "ms", TARGET, LIMIT_MS, note=note)


def run(out: str | None) -> list[Figure]:
    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    apply_style(app)
    figures = []
    with tempfile.TemporaryDirectory(prefix="crewboard-desks-") as tmp:
        progress(f"desk → desk on SQLite: {ROUNDS} jobs")
        figures.append(row_for("sqlite", lambda: _measure(app, str(Path(tmp) / "office.db")), _figure))
    with postgresql_database() as url:
        progress(f"desk → desk on PostgreSQL: {ROUNDS} jobs")
        figures.append(row_for("postgresql", lambda: _measure(app, url), _figure))
    report(figures, out)
    return figures


if __name__ == "__main__":
    run(sys.argv[1] if len(sys.argv) > 1 else None)
