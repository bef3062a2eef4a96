"""Figures of the booking page: offered starts for a service over 14 days with 50 techs, and
bookings per second sustained on SQLite and PostgreSQL without a double booking.

- slots: OnlineBookingService.slots (what GET /book/api/slots costs the server, without HTTP) on the
  availability group's busy crew, every tech qualified for a 60-minute service with a 30-minute buffer,
  asked again with the store unchanged (the row), and first after a change (in its note);
- bookings/s: 8 threads book 400 jobs at once, each at a start it was offered a moment before (so some
  are taken meanwhile and answered 409 with fresh slots); then every tech's jobs are checked for overlap.
"""

from __future__ import annotations

import random
import statistics
import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

from app.bus import Bus
from app.domain.time import FixedClock
from app.errors import StorageError
from app.services.container import Services
from app.services.online_booking import BookingPolicy, CustomerDetails, OnlineBookingService, SlotTaken
from app.services.service_types import ServiceTypeService
from storage.database import open_database
from tests.bench.availability import NOW, seed
from tests.bench.common import MISSING, OK, Figure, from_samples, percentile, progress, report, timed
from tests.bench.profile import enabled, spy
from tests.bench.stores import postgresql_database, row_for

RUNS = 100
WARMUP = 5
THREADS = 8
JOBS = 400
KIM = CustomerDetails("Kim Park", "+1 312 555 0100", "kim@example.com", "5 Oak St")


def _shop(url: str) -> tuple[Services, OnlineBookingService, str]:
    database = open_database(url)
    services = Services.build(database.unit_of_work, FixedClock(NOW), Bus())
    crew = seed(services)
    service = ServiceTypeService(services.uow).add(
        "AC repair", timedelta(minutes=60), timedelta(minutes=30), [t.id for t in crew.techs]
    )
    page = OnlineBookingService(services.uow, services.clock, services.bus, BookingPolicy("America/Chicago"))
    return services, page, service.id


def _slots(url: str, profiles: dict[str, Any]) -> tuple[list[float], list[float]]:
    """Milliseconds per search: asked again with the store unchanged (what the page keeps is
    searched again), and first after a change (a page that kept nothing reads the store)."""
    services, page, service = _shop(url)
    for _ in range(WARMUP):
        page.slots(service)
    again = [timed(lambda: page.slots(service)) * 1000 for _ in range(RUNS)]

    def first_after_a_change() -> object:
        fresh = OnlineBookingService(services.uow, services.clock, services.bus, page.policy)
        return fresh.slots(service)

    first = [timed(first_after_a_change) * 1000 for _ in range(RUNS)]
    if enabled():  # sampled apart from the timed runs, which a profiler would slow
        with spy("booking_slots", profiles):
            for _ in range(RUNS):
                first_after_a_change()
    return again, first


def _bookings(url: str) -> tuple[float, int, int, int, int]:
    """Jobs per second, jobs made, answers "taken", overlapping pairs found afterwards, lock waits run out."""
    services, page, service = _shop(url)
    made = taken = timed_out = 0
    lock = threading.Lock()
    gate = threading.Barrier(THREADS)

    def customer(seed_: int) -> None:
        nonlocal made, taken, timed_out
        chooser = random.Random(seed_)
        gate.wait()
        for _ in range(JOBS // THREADS):
            offered = page.slots(service)
            if not offered:
                return
            try:
                page.book(service, chooser.choice(offered[:20]).start, KIM)
            except SlotTaken:
                with lock:
                    taken += 1
            except StorageError:  # the store's lock wait ran out: counted, never hidden
                with lock:
                    timed_out += 1
            else:
                with lock:
                    made += 1

    threads = [threading.Thread(target=customer, args=(n,)) for n in range(THREADS)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    overlaps = 0
    jobs = [b for b in services.bookings.list() if b.tech_id is not None and b.interval is not None]
    by_tech: dict[str, list[tuple[datetime, datetime]]] = {}
    for job in jobs:
        assert job.interval is not None and job.tech_id is not None
        by_tech.setdefault(job.tech_id, []).append((job.interval.start, job.interval.end))
    for spans in by_tech.values():
        spans.sort()
        overlaps += sum(1 for a, b in pairwise(spans) if b[0] < a[1])
    return made / elapsed, made, taken, overlaps, timed_out


def _rate(store: str, result: tuple[float, int, int, int, int] | None, error: str | None) -> Figure:
    name = f"booking page: bookings per second sustained, {THREADS} at once ({store})"
    if result is None:
        return from_samples(
            f"booking_rate_{store}", name, [], "jobs/s", "no double booking", None, note=error or ""
        )
    rate, made, taken, overlaps, timed_out = result
    figure = from_samples(
        f"booking_rate_{store}",
        name,
        [rate],
        "jobs/s",
        "no double booking",
        None,
        judge_on="median",
        note=(
            f"{made} jobs, {taken} answered 'taken' with fresh slots, {timed_out} gave up waiting for the "
            f"store's write lock; {overlaps} overlapping jobs of one tech"
        ),
    )
    figure.status = OK if overlaps == 0 else MISSING
    return figure


def run(out: str | None) -> list[Figure]:
    figures: list[Figure] = []
    with tempfile.TemporaryDirectory(prefix="crewboard-bench-") as folder:
        progress("booking page: slots for a service over 14 days, 50 techs (SQLite)")
        profiles: dict[str, Any] = {}
        slots_ms, first_ms = _slots(f"sqlite:///{Path(folder) / 'slots.db'}", profiles)
        figures.append(
            from_samples(
                "booking_slots",
                "booking page: starts offered for a service over 14 days, 50 techs (server time)",
                slots_ms,
                "ms",
                "p95 ≤ 50 ms",
                50.0,
                note=(
                    "OnlineBookingService.slots over SQLite, every tech qualified; 60 min + 30 min buffer; "
                    "asked again, store unchanged; the first search after a change "
                    f"(reading the store): median {statistics.median(first_ms):.1f} ms, "
                    f"p95 {percentile(first_ms, 0.95):.1f} ms"
                ),
                first_after_change_ms={
                    "median": statistics.median(first_ms),
                    "p95": percentile(first_ms, 0.95),
                },
            )
        )
        if "booking_slots" in profiles:
            figures[-1].extra["profile"] = profiles["booking_slots"]
        progress(f"booking page: {JOBS} bookings from {THREADS} threads (SQLite)")
        rate_db = f"sqlite:///{Path(folder) / 'rate.db'}"
        figures.append(row_for("sqlite", lambda: _bookings(rate_db), _rate))
    with postgresql_database() as url:
        progress(f"booking page: {JOBS} bookings from {THREADS} threads (PostgreSQL)")
        figures.append(row_for("postgresql", lambda: _bookings(url), _rate))
    report(figures, out)
    return figures


if __name__ == "__main__":
    run(sys.argv[1] if len(sys.argv) > 1 else None)
