"""`python -m tests.bench [--only GROUP ...]`: run every benchmark group, print one table, write JSON.

Each group runs in a child process with a deadline; a group that crashes or overruns still leaves
its rows in the table, marked as not measured with the reason. The JSON goes to $BENCH_OUT
(default bench-results.json) and holds the machine, every figure and how long the run took.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from tests.bench.common import MISSING, NOT_MEASURABLE, OK, Figure, figures_from_json
from tests.bench.machine import describe, one_line
from tests.bench.profile import ENV as PROFILE_ENV


@dataclass(frozen=True, slots=True)
class Group:
    name: str
    module: str
    deadline: float  # seconds
    placeholders: tuple[tuple[str, str, str, str], ...]  # (key, name, unit, target) if it yields nothing


GROUPS = (
    Group(
        "availability",
        "tests.bench.availability",
        120,
        (
            (
                "availability",
                "availability: earliest 2-h slot, 50 techs × 14 days (from the store)",
                "ms",
                "≤ 20 ms median",
            ),
        ),
    ),
    Group(
        "booking",
        "tests.bench.booking",
        420,
        (
            (
                "booking_slots",
                "booking page: starts offered for a service over 14 days, 50 techs (server time)",
                "ms",
                "p95 ≤ 50 ms",
            ),
        ),
    ),
    Group(
        "board",
        "tests.bench.board",
        300,  # seeding 8,000 items, the paints, then a 20 s stream of changes
        (
            ("board_first_paint", "board paint: week view, first paint (layout + paint)", "ms", "≤ 50 ms"),
            ("board_scroll_frame", "board paint: week view, one scroll frame", "ms", "≤ 16 ms"),
            (
                "board_snapshot_load",
                "board: week snapshot load from the store (worker thread)",
                "ms",
                "≤ 200 ms",
            ),
            (
                "board_stream_full_reloads",
                "board under a stream of sync changes: full reloads per second",
                "/s",
                "≤ 1 per second",
            ),
        ),
    ),
    Group(
        "latency",
        "tests.bench.latency",
        300,
        (
            ("outbound", "outbound latency: booking saved → event at the provider", "ms", "p95 ≤ 500 ms"),
            ("inbound_push", "inbound latency, push: phone edit → busy block stored", "ms", "p95 ≤ 500 ms"),
            ("inbound_poll", "inbound latency, polling (push paused, poll 10 s)", "s", "p95 ≤ 10.5 s"),
        ),
    ),
    Group(
        "idle",
        "tests.bench.idle",
        300,
        (
            (
                "idle_requests",
                "idle cost, Crewboard: API requests per calendar per poll",
                "req/cal/poll",
                "≤ 1 request per calendar per poll",
            ),
        ),
    ),
    Group(
        "push_cost",
        "tests.bench.push_cost",
        900,  # a 400 s window of idle calendars, after seeding and connecting them
        (
            (
                "push_idle_requests",
                "idle cost, push alive: API requests per calendar per hour",
                "req/cal/h",
                "≤ 15 requests",
            ),
        ),
    ),
    Group(
        "paced_burst",
        "tests.bench.paced_burst",
        900,  # 200 sign-ins, a paced initial sync, then the burst read at the budget's pace
        (
            (
                "paced_burst_minute",
                "paced burst, live: 400 Google calendars change at once, budget 360/min: most requests in any minute",
                "req/min",
                "≤ 324 (90 % of the budget); health says reads are paced",
            ),
            ("paced_burst_read", "paced burst, live: change → stored, every calendar", "s", "—"),
            (
                "paced_burst_fresh",
                "paced burst, live: change → stored, fresh calendars (jobs today, a notice lately)",
                "s",
                "p95 ≤ the other calendars' median",
            ),
        ),
    ),
    Group(
        "feed_prune",
        "tests.bench.feed_prune",
        240,  # seeding 500,000 entries on each store, then about 80 batches each
        (
            (
                "feed_prune_sqlite",
                "change feed: one prune batch of 2,000 entries, writer lock held (sqlite)",
                "ms",
                "p95 ≤ 50 ms",
            ),
            (
                "feed_prune_postgresql",
                "change feed: one prune batch of 2,000 entries, writer lock held (postgresql)",
                "ms",
                "p95 ≤ 50 ms",
            ),
        ),
    ),
    Group(
        "scale",
        "tests.bench.scale",
        600,
        (
            (
                "scale_initial_sync",
                "scale: initial sync, 200 techs × 2 calendars, a year each",
                "s",
                "≤ 60 s, peak RSS ≤ 400 MB",
            ),
            ("scale_quiet_round", "scale: quiet poll round over 400 calendars (wall)", "s", "≤ 2 s wall"),
        ),
    ),
    Group(
        "scale_1000",
        "tests.bench.scale_1000",
        2400,
        (
            (
                "scale_initial_sync_1000",
                "scale: initial sync, 1,000 techs × 2 calendars, a year each",
                "s",
                "≤ 60 s, peak RSS ≤ 500 MB",
            ),
            (
                "scale_quiet_round_1000",
                "scale: quiet poll round over 2,000 calendars, push off (wall)",
                "s",
                "≤ 2 s wall",
            ),
        ),
    ),
    Group(
        "push_flood",
        "tests.bench.push_flood",
        180,
        (
            (
                "push_flood_genuine",
                "push flood: a genuine notice's answer during 1,000 forged 1 MB requests",
                "ms",
                "p95 ≤ 1 s",
            ),
            ("push_flood_rss", "push flood: the receiver's RSS growth", "MB", "≤ 50 MB"),
        ),
    ),
    Group(
        "caldav",
        "tests.bench.caldav",
        420,
        (
            (
                "caldav_idle_requests",
                "idle cost, CalDAV: requests per calendar per poll",
                "req/cal/poll",
                "≤ 1",
            ),
            (
                "caldav_inbound_poll",
                "inbound latency, CalDAV (polling 10 s): phone edit → busy block stored",
                "s",
                "p95 ≤ 10.5 s",
            ),
            (
                "caldav_outbound",
                "outbound latency, CalDAV: booking saved → VEVENT stored",
                "ms",
                "p95 ≤ 500 ms",
            ),
        ),
    ),
    Group(
        "failover",
        "tests.bench.failover",
        300,
        (("failover", "failover: owner killed → standby owns sync", "s", "≤ 10 s"),),
    ),
    Group(
        "office",
        "tests.bench.office",
        480,
        (
            (
                "office_desk_to_provider",
                "office: desk booking → event at the provider (serve)",
                "ms",
                "p95 ≤ 1 s",
            ),
        ),
    ),
    Group(
        "desks",
        "tests.bench.desk_feed",
        240,
        (
            (
                "desk_to_desk_sqlite",
                "desk → desk: job saved on one desk → on another desk's board (sqlite)",
                "ms",
                "p95 ≤ 300 ms",
            ),
            (
                "desk_to_desk_postgresql",
                "desk → desk: job saved on one desk → on another desk's board (postgresql)",
                "ms",
                "p95 ≤ 300 ms",
            ),
        ),
    ),
)

PROGRESS = "  · "


def run_group(group: Group, logs: Path) -> tuple[list[Figure], float]:
    """Run one group in a child process; echo its progress lines, keep all its output in a log."""
    started = time.perf_counter()
    out = logs / f"{group.name}.json"
    log_path = logs / f"{group.name}.log"
    reason = ""
    with log_path.open("w", encoding="utf-8") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", group.module, str(out)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            encoding="utf-8",
            errors="replace",
        )
        assert process.stdout is not None
        stream = process.stdout

        def pump() -> None:
            for line in stream:
                log.write(line)
                if line.startswith(PROGRESS):
                    sys.stderr.write(line)
                    sys.stderr.flush()

        reader = threading.Thread(target=pump, daemon=True)
        reader.start()
        try:
            code = process.wait(timeout=group.deadline)
        except subprocess.TimeoutExpired:
            process.kill()
            code = None
            process.wait(30)
        reader.join(30)
    if code == 0:
        try:
            items = json.loads(out.read_text(encoding="utf-8") or "[]")
            return figures_from_json(items), time.perf_counter() - started
        except (OSError, ValueError) as error:
            reason = f"the {group.name} group gave no readable result ({error})"
    elif code is None:
        reason = f"the {group.name} group did not finish within {group.deadline:.0f} s"
    else:
        reason = f"the {group.name} group failed (exit {code})"
    tail = log_path.read_text(encoding="utf-8", errors="replace").splitlines()[-15:]
    sys.stderr.write(f"bench: {reason}; the end of its output ({log_path}):\n" + "\n".join(tail) + "\n")
    figures = [
        Figure(key, name, unit, target, status=NOT_MEASURABLE, note=reason)
        for key, name, unit, target in group.placeholders
    ]
    return figures, time.perf_counter() - started


def _number(value: float | None) -> str:
    if value is None:
        return "—"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    if abs(value) >= 100:
        return f"{value:.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def _verdict(figure: Figure) -> str:
    if figure.status == OK:
        return "ok"
    if figure.status == MISSING:
        return "MISSING"
    if figure.status == NOT_MEASURABLE:
        return "not measurable yet"
    return "—"


def table(figures: list[Figure]) -> str:
    """The figures as one Markdown table (it reads as plain text in a terminal too)."""
    header = "| figure | median | p95 | n | unit | target | verdict | note |"
    lines = [header, "|---|---:|---:|---:|---|---|---|---|"]
    for f in figures:
        lines.append(
            f"| {f.name} | {_number(f.median)} | {_number(f.p95)} | {f.n or '—'} | {f.unit} | {f.target} | "
            f"{_verdict(f)} | {f.note} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.bench", description=__doc__)
    parser.add_argument("--only", nargs="*", default=None, help="run only these groups")
    parser.add_argument(
        "--profile",
        action="store_true",
        help="sample the measured sections with py-spy and print where the time went",
    )
    args = parser.parse_args(argv)
    logs = Path(tempfile.mkdtemp(prefix="crewboard-bench-"))
    if args.profile:
        os.environ[PROFILE_ENV] = os.environ.get(PROFILE_ENV) or str(logs / "profiles")
    chosen = [g for g in GROUPS if args.only is None or g.name in args.only]
    out = Path(os.environ.get("BENCH_OUT") or "bench-results.json")
    machine = describe()
    load_before = os.getloadavg()
    started = time.perf_counter()
    began = datetime.now(UTC)
    figures: list[Figure] = []
    groups: dict[str, float] = {}
    for group in chosen:
        sys.stderr.write(f"bench: {group.name} …\n")
        sys.stderr.flush()
        found, seconds = run_group(group, logs)
        groups[group.name] = round(seconds, 1)
        figures.extend(found)
        sys.stderr.write(f"bench: {group.name} took {seconds:.1f} s\n")
    total = time.perf_counter() - started
    load_after = os.getloadavg()
    machine["load_average_before"] = [round(x, 2) for x in load_before]
    machine["load_average_after"] = [round(x, 2) for x in load_after]
    text = table(figures)
    missed = [f.name for f in figures if f.status == MISSING]
    unmeasured = [f.name for f in figures if f.status == NOT_MEASURABLE]
    print()
    print(f"Machine: {one_line(machine)}")
    print(
        f"Run: {began.strftime('%Y-%m-%d %H:%M UTC')}, {total:.0f} s in all; load average (1 min) "
        f"{load_before[0]:.2f} before, {load_after[0]:.2f} after"
    )
    print()
    print(text)
    print()
    print(f"Targets missed: {len(missed)}; not measurable yet: {len(unmeasured)}.")
    cores = os.cpu_count() or 1
    if load_before[0] > cores / 2:
        print(
            f"Note: other work kept about {load_before[0]:.1f} of the {cores} cores busy as the run began "
            "(the load average after it counts the benchmark's own processes); such figures read pessimistic."
        )
    for figure in figures:
        profile = figure.extra.get("profile")
        if profile:
            print()
            print(f"Profile of {figure.name} ({profile['samples']} samples; % of samples):")
            for label, entries in (("total", profile["total"][:12]), ("self", profile["self"][:8])):
                print(f"  {label}: " + "; ".join(f"{frame} {share}%" for frame, share in entries))
    payload = {
        "started": began.isoformat(),
        "seconds": round(total, 1),
        "group_seconds": groups,
        "machine": machine,
        "figures": [f.as_json() for f in figures],
        "table": text,
    }
    out.write_text(json.dumps(payload, indent=1, default=str) + "\n", encoding="utf-8")
    failed = any(f.status == NOT_MEASURABLE and "group" in f.note for f in figures)
    if args.profile or failed:
        print(f"Figures written to {out}; each group's output is in {logs}")
    else:
        shutil.rmtree(logs, ignore_errors=True)
        print(f"Figures written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
