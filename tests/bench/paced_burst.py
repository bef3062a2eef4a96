"""Figures: a paced burst, live. Many Google calendars change at once under a short project budget.

ACCOUNTS Google technicians with two calendars each (2 × ACCOUNTS calendars, a light week of
events) are connected to Crewboard through the sandbox's sign-in pages; the engine runs as
`crewboard sync` does without push (every calendar due in every 10 s round), with the project's
budget set to BUDGET requests a minute, as `[sync] google_requests_per_minute` in settings.toml
sets it. That budget is below the calendar count, so the pacer is engaged from the first round:
the initial sync is paced too. A few technicians have a job today, and a few calendars had a
notice read a moment before: the fresh calendars, which go first when reads are paced.

Once every calendar has been read once, one event is added to every calendar at the same moment
(in the sandbox's process, no HTTP), and the store is watched until each calendar's new event is
stored. Measured from the sandbox's request log: the most Calendar API requests in any sliding
60 s window over the engine's whole run (the pacer admits at most SHARE of the budget in any
window; the handful of writes for the jobs are counted too); the time from the change until each
calendar's event is stored, for all, the fresh group and the rest; and whether `crewboard health`,
run as its own process during the burst, says that reads are being paced.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import tempfile
import threading
import time
from bisect import bisect_left
from typing import Any

import httpx

from app.domain.ids import CalendarId
from app.domain.time import Interval
from app.services.bookings import NewBooking
from sync.core.pacer import SHARE
from sync.engine.read_pacer import PacerLimits, ReadPacer
from tests.bench.common import Figure, from_samples, percentile, progress, report
from tests.bench.harness import Connected, EngineThread, Store, calendar_ids, connect, store
from tests.bench.sandbox_proc import AccountSpec, SandboxProcess
from tests.bench.scale import ZONES

ACCOUNTS = 200
BUDGET = 360  # the project's requests a minute: below the 400 calendars, far below their 2,400 polls
JOB_TECHS = 5  # technicians with a job starting within the hour: their 10 calendars are fresh
NOTICED = 4  # primary calendars whose notice was read half a minute before the burst
TITLE = "Burst change"
PATIENCE = 600.0  # seconds to wait for the initial sync, and again for the burst to be read
HEALTH_AFTER = 5.0  # seconds into the burst when `crewboard health` is asked


def _specs() -> list[AccountSpec]:
    return [
        AccountSpec(
            "google",
            f"burst{index:03d}@gmail.bench.example",
            f"Burst Tech {index:03d}",
            ZONES[index % len(ZONES)],
            "Family",
            False,
        )
        for index in range(ACCOUNTS)
    ]


def most_in_a_window(times: list[float], window: float = 60.0) -> list[int]:
    """For each request (sorted times, seconds), how many fall in the `window` starting with it."""
    return [bisect_left(times, start + window) - index for index, start in enumerate(times)]


def _api_times(entries: list[dict[str, Any]]) -> list[float]:
    stamps = [
        dt.datetime.fromisoformat(str(e["time"]).replace("Z", "+00:00")).timestamp()
        for e in entries
        if "/calendar/v3/" in str(e.get("path", ""))
    ]
    return sorted(stamps)


def _book_jobs(made: Store, techs: list[Connected]) -> None:
    start = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)).replace(second=0, microsecond=0)
    for index, item in enumerate(techs):
        made.services.bookings.create(
            NewBooking(
                customer=f"Customer {index}",
                service="AC repair",
                duration=dt.timedelta(minutes=60),
                start=start,
                tech=item.tech.id,
                address="12 Elm St",
            ),
            force=True,
        )


class HealthWitness:
    """`crewboard health` run once as its own process against the bench's store, in a thread."""

    def __init__(self, made: Store) -> None:
        self._made = made
        self.output = ""
        self._thread = threading.Thread(target=self._run, name="bench-health", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        with tempfile.TemporaryDirectory(prefix="crewboard-bench-health-") as home:
            env = {
                **os.environ,
                "CREWBOARD_DB": str(self._made.path),
                "XDG_CONFIG_HOME": home,
                "CREWBOARD_LOG_DIR": home,
            }
            done = subprocess.run(
                [sys.executable, "-m", "app.cli", "health"],
                env=env,
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
            )
        self.output = done.stdout + done.stderr

    def join(self) -> bool:
        self._thread.join(150)
        return "Reads are being paced" in self.output


def _stored(made: Store, connected: list[Connected], window: Interval) -> set[CalendarId]:
    """The calendars whose burst event is stored as a busy block."""
    with made.database.unit_of_work() as uow:
        blocks = uow.busy.for_techs([item.tech.id for item in connected], window)
    return {b.calendar_id for b in blocks if b.title == TITLE and b.calendar_id is not None}


def _burst(
    box: SandboxProcess, made: Store, connected: list[Connected], witness: HealthWitness
) -> dict[CalendarId, float]:
    """Change every calendar at once; seconds until each one's change was stored."""
    start = (dt.datetime.now(dt.UTC) + dt.timedelta(days=3)).replace(
        hour=5, minute=0, second=0, microsecond=0
    )
    window = Interval(start, start + dt.timedelta(minutes=30))
    event = {"summary": TITLE, "start": start, "end": window.end}
    changes = [
        ("google", item.spec.email, None if calendar.primary else item.spec.second_calendar, event)
        for item in connected
        for calendar in item.calendars
    ]
    wanted = set(calendar_ids(connected))
    seen: dict[CalendarId, float] = {}
    sent = time.perf_counter()
    box.change(changes)
    asked = False
    while len(seen) < len(wanted) and time.perf_counter() - sent < PATIENCE:
        now = time.perf_counter()
        if not asked and now - sent >= HEALTH_AFTER:
            witness.start()
            asked = True
        for calendar_id in _stored(made, connected, window) - seen.keys():
            seen[calendar_id] = now - sent
        time.sleep(0.25)
    if not asked:
        witness.start()
    return seen


def run(out: str | None) -> list[Figure]:
    accounts = _specs()
    calendars = ACCOUNTS * 2
    with SandboxProcess() as box, store() as made:
        box.seed(accounts)
        progress(f"paced_burst: connecting {ACCOUNTS} Google accounts")
        connected = connect(made, box.urls, accounts)
        ids = calendar_ids(connected)
        fresh = {c.id for item in connected[:JOB_TECHS] for c in item.calendars}
        noticed = [item.primary.id for item in connected[JOB_TECHS : JOB_TECHS + NOTICED]]
        fresh.update(noticed)
        control = httpx.Client(base_url=box.urls["control"], timeout=60, trust_env=False)
        seq0 = max((int(e["seq"]) for e in control.get("/requests").json()), default=0)
        engine = EngineThread(made)
        engine.engine.pacer = ReadPacer(made.services.clock, PacerLimits.with_google_budget(BUDGET))
        polls = engine.engine.polls
        witness = HealthWitness(made)
        try:
            engine.start()
            progress(f"paced_burst: initial sync of {calendars} calendars, paced at {BUDGET} a minute")
            started = time.perf_counter()
            while any(polls.last_read(c) is None for c in ids) and time.perf_counter() - started < PATIENCE:
                time.sleep(0.5)
            initial = time.perf_counter() - started
            _book_jobs(made, connected[:JOB_TECHS])
            time.sleep(15.0)
            for calendar_id in noticed:  # as the push receiver does with a verified notice
                engine.engine.request_read(calendar_id)
            time.sleep(30.0)
            progress(f"paced_burst: initial sync took {initial:.0f} s; {calendars} calendars change at once")
            load = os.getloadavg()[0]
            seen = _burst(box, made, connected, witness)
            time.sleep(5.0)
            entries = control.get("/requests", params={"since": str(seq0)}).json()
            control.close()
        finally:
            engine.stop()
        shown = witness.join()
    return _figures(entries, seen, ids, fresh, initial, load, shown, out)


def _figures(
    entries: list[dict[str, Any]],
    seen: dict[CalendarId, float],
    ids: list[CalendarId],
    fresh: set[CalendarId],
    initial: float,
    load: float,
    shown: bool,
    out: str | None,
) -> list[Figure]:
    cap = BUDGET * SHARE
    times = _api_times(entries)
    windows = [float(n) for n in most_in_a_window(times)]
    minute = from_samples(
        "paced_burst_minute",
        f"paced burst, live: {len(ids)} Google calendars change at once, budget {BUDGET}/min: most requests in any minute",
        windows,
        "req/min",
        f"≤ {cap:.0f} (90 % of the budget); health says reads are paced",
        cap,
        judge_on="max",
        note=(
            f"max {max(windows, default=0):.0f} over every 60 s window from the engine's start (initial sync "
            f"{initial:.0f} s, paced too) to the burst's end, {len(times)} Calendar API requests; "
            f"`crewboard health` during the burst {'said' if shown else 'did NOT say'} "
            f"'Reads are being paced'; load average {load:.1f} as the burst began"
        ),
    )
    if not shown:
        minute.status = "MISSING"
    rest = [seen[c] for c in ids if c in seen and c not in fresh]
    early = [seen[c] for c in ids if c in seen and c in fresh]
    unread = len(ids) - len(seen)
    # What the budget allows: the bucket is spent when the burst comes, so reads go at the refill
    # rate, of which the fresh calendars (re-read every round) take their share first.
    limit = PacerLimits.with_google_budget(BUDGET).google_project
    floor = (len(ids) - len(fresh)) / (limit.rate - len(fresh) / 10.0)
    everyone = from_samples(
        "paced_burst_read",
        "paced burst, live: change → stored, every calendar",
        list(seen.values()),
        "s",
        "— (the budget sets it)",
        None,
        note=(
            f"max {max(seen.values(), default=float('nan')):.0f} s; {unread} never read; the budget's floor "
            f"is about {floor:.0f} s ({limit.rate * 60:.0f} reads a minute once the bucket is spent, "
            f"{len(fresh)} fresh calendars re-read every round)"
        ),
    )
    everyone.status = "info" if unread == 0 else "MISSING"
    rest_median = percentile(rest, 0.5) if rest else float("nan")
    first = from_samples(
        "paced_burst_fresh",
        "paced burst, live: change → stored, fresh calendars (jobs today, a notice lately)",
        early,
        "s",
        "p95 ≤ the other calendars' median",
        rest_median,
        note=(
            f"{len(early)} fresh calendars; the other {len(rest)}: median {rest_median:.0f} s, "
            f"p95 {percentile(rest, 0.95) if rest else float('nan'):.0f} s"
        ),
    )
    figures = [minute, everyone, first]
    report(figures, out)
    return figures


if __name__ == "__main__":
    run(sys.argv[1] if len(sys.argv) > 1 else None)
    sys.exit(0)
