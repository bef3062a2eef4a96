"""Figures: the initial sync of 200 techs × 2 calendars with a year of events each, and a quiet round.

The sandbox (a child process) holds 100 Google and 100 Microsoft accounts, each with a primary and
a second calendar seeded with half a year back and half a year ahead: singles, all-day days off,
private, tentative, declined and free events, and weekly, biweekly and daily series with
exceptions. Every account is connected through its provider's real sign-in, both calendars set to
block. Then, timed in this process (which holds Crewboard and nothing of the provider):
- initial sync: one engine round from nothing stored to every busy block stored (`run_once`), with
  this process's peak resident memory (ru_maxrss) at its end;
- quiet round: further rounds over the same 400 calendars with nothing changed, wall and CPU time,
  and the API requests each round made (from the sandbox's request log).
"""

from __future__ import annotations

import argparse
import resource
import sqlite3
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from app.bus import Bus
from app.domain.time import SystemClock
from app.services.container import Services
from storage.database import open_database
from sync.engine.engine import READ_CONCURRENCY
from tests.bench.common import Figure, from_samples, percentile, progress, report
from tests.bench.harness import EngineThread, Store, connect, store
from tests.bench.profile import spy
from tests.bench.sandbox_proc import AccountSpec, SandboxProcess

TECHS = 200
# Peak RSS allowed for the initial sync, by size (issue 17 asks 500 MB at 1,000 techs).
RSS_LIMIT_MB = {200: 400, 1000: 500}
# A quiet round's CPU target applies at 1,000 techs (issue 17: ≤ 1 s); at 200 it is shown only.
QUIET_CPU_LIMIT_S = {1000: 1.0}
ZONES = ("America/Chicago", "America/New_York", "America/Denver", "America/Los_Angeles")
QUIET_ROUNDS = 5


def specs(count: int, prefix: str = "scale", year: bool = True) -> list[AccountSpec]:
    return [
        AccountSpec(
            "google" if index % 2 == 0 else "microsoft",
            f"{prefix}{index:03d}@{'gmail' if index % 2 == 0 else 'outlook'}.bench.example",
            f"{prefix.title()} Tech {index:03d}",
            ZONES[index % len(ZONES)],
            "Family",
            year,
        )
        for index in range(count)
    ]


def rss_now() -> int:
    for line in Path("/proc/self/status").read_text(encoding="utf-8").splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def count(db: Path, table: str) -> int:
    with sqlite3.connect(db) as conn:
        return int(conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])


def last_seq(control: str) -> int:
    entries = httpx.get(f"{control}/requests", params={"since": "0"}, timeout=30).json()
    return max((int(e["seq"]) for e in entries), default=0)


def requests_since(control: str, seq: int) -> list[dict[str, object]]:
    found: list[dict[str, object]] = httpx.get(
        f"{control}/requests", params={"since": str(seq)}, timeout=30
    ).json()
    return found


def run(out: str | None, techs: int = TECHS) -> list[Figure]:
    rss_limit = RSS_LIMIT_MB.get(techs, 400)
    cpu_limit = QUIET_CPU_LIMIT_S.get(techs)
    suffix = "" if techs == TECHS else f"_{techs}"
    accounts = specs(techs)
    profiles: dict[str, Any] = {}
    with SandboxProcess() as box:
        seeded = box.seed(accounts)
        progress(
            f"scale: seeded {techs} accounts, {seeded['events']} events ({seeded['recurring']} series) "
            f"in {seeded['seconds']:.1f} s"
        )
        with store() as made:
            started = time.perf_counter()
            connected = connect(made, box.urls, accounts)
            connect_s = time.perf_counter() - started
            calendars = sum(len(c.calendars) for c in connected)
            progress(
                f"scale: connected {len(connected)} accounts ({calendars} calendars) in {connect_s:.1f} s"
            )
            pristine = Path(made.folder.name) / "connected.db"
            with sqlite3.connect(made.path) as source, sqlite3.connect(pristine) as copy:
                source.backup(copy)  # the store as connecting left it, for a second initial sync
            engine = EngineThread(made)
            try:
                before_seq = last_seq(box.urls["control"])
                rss_before = rss_now()
                cpu0 = time.process_time()
                t0 = time.perf_counter()
                with spy("scale_initial_sync", profiles):
                    first = engine.call(engine.engine.run_once(), timeout=900)
                initial_s = time.perf_counter() - t0
                initial_cpu = time.process_time() - cpu0
                peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
                initial_requests = len(requests_since(box.urls["control"], before_seq))
                blocks = count(made.path, "busy_blocks")
                mirrored = count(made.path, "remote_events")
                progress(
                    f"scale: initial sync {initial_s:.1f} s, {blocks} busy blocks, {mirrored} events, "
                    f"errors: {len(first.errors)}"
                )
                quiet_wall: list[float] = []
                quiet_cpu: list[float] = []
                quiet_requests: list[int] = []
                quiet_errors = 0
                quiet_sandbox_cpu: list[float] = []
                with spy("scale_quiet_round", profiles):
                    for _ in range(QUIET_ROUNDS):
                        seq = last_seq(box.urls["control"])
                        sandbox0 = box.cpu_seconds()
                        cpu0 = time.process_time()
                        t0 = time.perf_counter()
                        again = engine.call(engine.engine.run_once(), timeout=600)
                        quiet_wall.append(time.perf_counter() - t0)
                        quiet_cpu.append(time.process_time() - cpu0)
                        quiet_sandbox_cpu.append(box.cpu_seconds() - sandbox0)
                        quiet_requests.append(len(requests_since(box.urls["control"], seq)))
                        quiet_errors += len(again.errors)
                progress(f"scale: quiet rounds {', '.join(f'{w:.2f}' for w in quiet_wall)} s")
            finally:
                engine.stop()
            # The initial sync once more, from the same connected store, for a second sample.
            database = open_database(f"sqlite:///{pristine}")
            bus = Bus()
            again_store = Store(
                made.folder,
                database,
                Services.build(database.unit_of_work, SystemClock(), bus),
                bus,
                made.tokens,
            )
            second_engine = EngineThread(again_store)
            try:
                t0 = time.perf_counter()
                second = second_engine.call(second_engine.engine.run_once(), timeout=900)
                second_s = time.perf_counter() - t0
                second_errors = len(second.errors)
                second_blocks = count(pristine, "busy_blocks")
            finally:
                second_engine.stop()
                database.dispose()
            progress(f"scale: initial sync again {second_s:.1f} s")
        sandbox_rss = box.peak_rss()
    errors = "; ".join(sorted(set(first.errors.values())))[:300]
    runs = [initial_s, second_s]
    initial = Figure(
        f"scale_initial_sync{suffix}",
        f"scale: initial sync, {techs:,} techs × 2 calendars, a year each",
        "s",
        f"≤ 60 s, peak RSS ≤ {rss_limit} MB",
        median=statistics.median(runs),
        p95=percentile(runs, 0.95),
        n=len(runs),
        value=None,
        note=(
            f"runs {', '.join(f'{r:.1f}' for r in runs)} s, judged on the slower; {blocks} busy blocks and {mirrored} events stored from {seeded['events']} seeded "
            f"({seeded['recurring']} series); {initial_requests} API requests; CPU {initial_cpu:.1f} s; "
            f"peak RSS {peak_rss / 1e6:.0f} MB (before the sync {rss_before / 1e6:.0f} MB)"
            + (f"; {len(first.errors)} account error(s): {errors}" if first.errors else "")
            + (f"; the second run stored {second_blocks} busy blocks" if second_blocks != blocks else "")
        ),
        extra={
            "seconds": runs,
            "cpu_seconds": initial_cpu,
            "peak_rss_bytes": peak_rss,
            "rss_before_bytes": rss_before,
            "busy_blocks": blocks,
            "remote_events": mirrored,
            "seeded_events": seeded["events"],
            "seeded_series": seeded["recurring"],
            "api_requests": initial_requests,
            "account_errors": len(first.errors) + second_errors,
            "connect_seconds": connect_s,
            "sandbox_peak_rss_bytes": sandbox_rss,
        },
    )
    ok = max(runs) <= 60 and peak_rss <= rss_limit * 1e6 and not first.errors and not second_errors
    initial.value = max(runs)
    initial.limit = 60.0
    initial.status = "ok" if ok else "MISSING"
    rss = Figure(
        f"scale_peak_rss{suffix}",
        f"scale: peak RSS at the end of the first initial sync, {techs:,} techs",
        "MB",
        f"≤ {rss_limit} MB",
        median=peak_rss / 1e6,
        n=1,
        value=peak_rss / 1e6,
        limit=float(rss_limit),
        note="ru_maxrss of the process holding Crewboard (the sandbox runs in another process)",
    ).judge()
    per_calendar = [r / calendars for r in quiet_requests]
    quiet = from_samples(
        f"scale_quiet_round{suffix}",
        f"scale: quiet poll round over {calendars:,} calendars, push off (wall)",
        quiet_wall,
        "s",
        "≤ 2 s wall",
        2.0,
        note=(
            f"CPU median {statistics.median(quiet_cpu):.2f} s here and "
            f"{statistics.median(quiet_sandbox_cpu):.2f} s in the sandbox; {READ_CONCURRENCY} accounts are read at a time; "
            f"API requests per round {', '.join(str(r) for r in quiet_requests)} "
            f"({max(per_calendar):.2f} per calendar at most)"
            + (f"; {quiet_errors} account error(s)" if quiet_errors else "")
        ),
        cpu_seconds=quiet_cpu,
        sandbox_cpu_seconds=quiet_sandbox_cpu,
        requests=quiet_requests,
    )
    quiet_cpu_figure = from_samples(
        f"scale_quiet_round_cpu{suffix}",
        f"scale: quiet poll round over {calendars:,} calendars (CPU time of Crewboard's process)",
        quiet_cpu,
        "s",
        "—" if cpu_limit is None else f"≤ {cpu_limit:g} s",
        cpu_limit,
        judge_on="median",
        note=(
            f"time.process_time over all of the process's threads; {1000 * statistics.median(quiet_cpu) / calendars:.2f} ms "
            "a calendar"
        ),
    )
    connect_figure = Figure(
        f"scale_connect{suffix}",
        f"scale: connecting {techs:,} accounts through their sign-in pages",
        "s",
        "—",
        median=connect_s,
        n=1,
        note="setup, not a target: OAuth with PKCE (Google) and MSAL (Microsoft) per account",
    )
    figures = [initial, rss, quiet, quiet_cpu_figure, connect_figure]
    for figure, section in ((initial, "scale_initial_sync"), (quiet, "scale_quiet_round")):
        if section in profiles:
            figure.extra["profile"] = profiles[section]
    report(figures, out)
    return figures


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("out", nargs="?")
    parser.add_argument("--techs", type=int, default=TECHS)
    args = parser.parse_args()
    run(args.out, args.techs)
    sys.exit(0)
