"""Figure: pruning the change feed. How long one batch holds the store's writer lock.

The sync owner prunes entries older than 24 hours in transactions of 2,000 (sync.engine.feed_pruning);
while one runs, a desk's save waits for the store's writer lock (SQLite's file lock, PostgreSQL's
writer advisory lock). The feed here is a heavy day at 1,000 techs: 500,000 entries dated over 36
hours (about 14,000 an hour: every round's busy-time changes from a tenth of the techs), so a third
of them are due. Each sample is one batch's whole transaction, from BEGIN to COMMIT. Both stores:
a SQLite file and a real PostgreSQL server started for the run (tests/pg.py). Target: p95 ≤ 50 ms,
so a save that lands behind a batch still saves within the board's 300 ms desk → desk budget.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert

from app.domain.changes import ChangeKind
from app.domain.time import FixedClock
from storage.database import Database, open_database
from storage.orm import ChangeRow
from sync.engine.feed_pruning import BATCH, KEEP_AT_LEAST, RETENTION, FeedPruner
from tests.bench.common import Figure, from_samples, not_measurable, progress, report
from tests.bench.stores import postgresql_database, row_for

ENTRIES = 500_000
SPAN = timedelta(hours=36)
START = datetime(2026, 11, 2, 0, 0, tzinfo=UTC)
TARGET = "p95 ≤ 50 ms"
LIMIT_MS = 50.0
SEED_CHUNK = 20_000
TECHS = 1_000


def _seed(database: Database) -> None:
    """ENTRIES busy-time entries, evenly dated over SPAN from START, in commit order."""
    step = SPAN / ENTRIES
    with database.engine.begin() as connection:
        for first in range(1, ENTRIES + 1, SEED_CHUNK):
            rows = [
                {
                    "seq": seq,
                    "kind": ChangeKind.BUSY,
                    "item_id": f"tech-{seq % TECHS:04d}",
                    "at": START + step * (seq - 1),
                    "desk": "crewboard serve",
                }
                for seq in range(first, min(first + SEED_CHUNK, ENTRIES + 1))
            ]
            connection.execute(insert(ChangeRow), rows)


def _measure(url: str) -> tuple[list[float], int]:
    """Milliseconds per pruning transaction, and how many entries were pruned in all."""
    clock = FixedClock(START + SPAN)
    database = open_database(url, desk="crewboard serve", clock=clock)
    try:
        _seed(database)
        pruner = FeedPruner(database.unit_of_work, clock, max_batches=ENTRIES // BATCH + 1)
        samples: list[float] = []

        async def timed_call(work: Callable[[], int]) -> int:
            started = time.perf_counter()
            deleted = work()
            samples.append((time.perf_counter() - started) * 1000)
            return deleted

        pruned = asyncio.run(pruner.prune(timed_call))
        return samples[:-1] if len(samples) > 1 else samples, pruned  # the last finds too few: no full batch
    finally:
        database.dispose()


def _figure(store: str, measured: tuple[list[float], int] | None, problem: str | None) -> Figure:
    key = f"feed_prune_{store}"
    name = f"change feed: one prune batch of {BATCH:,} entries, writer lock held ({store})"
    if measured is None or not measured[0]:
        return not_measurable(key, name, "ms", TARGET, problem or "no batch ran")
    samples, pruned = measured
    expected = ENTRIES - max(KEEP_AT_LEAST, round(ENTRIES * (RETENTION / SPAN)))
    note = (
        f"{ENTRIES:,}-entry feed over {SPAN.total_seconds() / 3600:.0f} h; {pruned:,} pruned"
        f" (expected {expected:,}); load average {os.getloadavg()[0]:.1f}"
    )
    return from_samples(key, name, samples, "ms", TARGET, LIMIT_MS, note=note)


def run(out: str | None) -> list[Figure]:
    figures = []
    with tempfile.TemporaryDirectory(prefix="crewboard-feed-prune-") as tmp:
        progress(f"change feed prune on SQLite: {ENTRIES:,} entries")
        figures.append(row_for("sqlite", lambda: _measure(str(Path(tmp) / "office.db")), _figure))
    with postgresql_database() as url:
        progress(f"change feed prune on PostgreSQL: {ENTRIES:,} entries")
        figures.append(row_for("postgresql", lambda: _measure(url), _figure))
    report(figures, out)
    return figures


if __name__ == "__main__":
    run(sys.argv[1] if len(sys.argv) > 1 else None)
