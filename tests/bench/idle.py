"""Figure: what an idle calendar costs, in API requests and bytes per calendar per hour.

Twenty accounts (half Google, half Microsoft), each with two calendars holding a year of events.
Ten are connected to Crewboard, whose engine polls every 10 s (push off: this is the polling cost);
the other ten are read by a naive client that, every 10 s, lists every event of the same window the
engine keeps (a day back, 120 days ahead) from each calendar, page by page at the largest page size
each API allows (events.list with singleEvents, calendarView). Nothing changes on any calendar.
Both run at the same time for a measured window; requests come from the sandbox's request log and
bytes from its byte counter, per account, and are scaled to an hour.
"""

from __future__ import annotations

import datetime as dt
import statistics
import sys
import threading
import time
from datetime import timedelta

import httpx

from sync.engine import RoundReport, SyncEngine
from sync.engine.inbound import LOOKBACK
from tests.bench.common import Figure, from_samples, progress, report
from tests.bench.harness import EngineThread, connect, store
from tests.bench.phone import Phone
from tests.bench.sandbox_proc import SandboxProcess
from tests.bench.scale import specs

ACCOUNTS = 10
POLL_SECONDS = 10.0
WINDOW = 90.0
HORIZON = timedelta(days=120)  # SyncEngine's default horizon_days


class NaiveClient:
    """Re-reads the whole window of every calendar on each tick; no cursors, no push."""

    def __init__(self, phones: list[Phone]) -> None:
        self.phones = phones
        self.calendars = [(phone, calendar) for phone in phones for calendar in phone.calendars()]
        self.stop = threading.Event()
        self.polls = 0

    def run(self) -> None:
        next_tick = time.monotonic()
        while not self.stop.is_set():
            now = dt.datetime.now(dt.UTC)
            for phone, calendar in self.calendars:
                phone.list_window(calendar, now - LOOKBACK, now + HORIZON)
            self.polls += 1
            next_tick += POLL_SECONDS
            self.stop.wait(max(0.0, next_tick - time.monotonic()))


def count_rounds(engine: SyncEngine) -> list[dt.datetime]:
    """When each poll round of `engine` begins (its `run_due`, which `run_forever` calls on the
    poll, wrapped on this instance only)."""
    starts: list[dt.datetime] = []
    original = engine.run_due

    async def counted() -> RoundReport:
        starts.append(dt.datetime.now(dt.UTC))
        return await original()

    engine.run_due = counted  # type: ignore[method-assign]
    return starts


def per_calendar_hour(
    values: dict[str, int], emails: list[str], calendars: int, seconds: float
) -> list[float]:
    return [values.get(email, 0) / calendars * 3600 / seconds for email in emails]


def run(out: str | None) -> list[Figure]:
    crewboard_side = specs(ACCOUNTS, prefix="idlecb")
    naive_side = specs(ACCOUNTS, prefix="idlenaive")
    with SandboxProcess() as box, store() as made:
        box.seed(crewboard_side + naive_side)
        connect(made, box.urls, crewboard_side)
        engine = EngineThread(made, poll_seconds=POLL_SECONDS)
        phones = [Phone(box.urls, a.provider, a.email) for a in naive_side]
        naive = NaiveClient(phones)
        naive_thread = threading.Thread(target=naive.run, name="bench-naive", daemon=True)
        try:
            engine.call(engine.engine.run_once(), timeout=300)
            rounds = count_rounds(engine.engine)
            engine.start()
            naive_thread.start()
            time.sleep(3.0)  # both past their first full read
            control = httpx.Client(base_url=box.urls["control"], timeout=30)
            seq0 = max((int(e["seq"]) for e in control.get("/requests").json()), default=0)
            started = time.perf_counter()
            window_start = dt.datetime.now(dt.UTC)
            progress(
                f"idle: measuring {WINDOW:.0f} s of {ACCOUNTS * 2} + {len(naive.calendars)} idle calendars"
            )
            time.sleep(WINDOW)
            seconds = time.perf_counter() - started
            window_end = dt.datetime.now(dt.UTC)
            entries = control.get("/requests", params={"since": str(seq0)}).json()
            control.close()
        finally:
            naive.stop.set()
            naive_thread.join(60)
            for phone in phones:
                phone.close()
            engine.stop()
    requests: dict[str, int] = {}
    moved: dict[str, int] = {}  # bytes both ways, as the sandbox logged each exchange
    for entry in entries:
        account = str(entry.get("account") or "").lower()
        requests[account] = requests.get(account, 0) + 1
        moved[account] = moved.get(account, 0) + int(entry["bytes_in"]) + int(entry["bytes_out"])
    cb_emails = [a.email for a in crewboard_side]
    naive_emails = [a.email for a in naive_side]
    cb_req = per_calendar_hour(requests, cb_emails, 2, seconds)
    cb_bytes = per_calendar_hour(moved, cb_emails, 2, seconds)
    nv_req = per_calendar_hour(requests, naive_emails, 2, seconds)
    nv_bytes = per_calendar_hour(moved, naive_emails, 2, seconds)
    # Per poll, exactly: the requests between the first and the last round that began in the window.
    inside = [t for t in rounds if window_start <= t <= window_end]
    per_poll: list[float] = []
    if len(inside) >= 2:
        between: dict[str, int] = {}
        for entry in entries:
            when = dt.datetime.fromisoformat(str(entry["time"]).replace("Z", "+00:00"))
            if inside[0] <= when < inside[-1]:
                account = str(entry.get("account") or "").lower()
                between[account] = between.get(account, 0) + 1
        per_poll = [between.get(email, 0) / 2 / (len(inside) - 1) for email in cb_emails]
    ratio_req = statistics.median(nv_req) / max(statistics.median(cb_req), 1e-9)
    ratio_bytes = statistics.median(nv_bytes) / max(statistics.median(cb_bytes), 1e-9)
    unattributed = requests.get("", 0)
    figures = [
        from_samples(
            "idle_requests",
            "idle cost, Crewboard: API requests per calendar per poll",
            per_poll,
            "req/cal/poll",
            "≤ 1 request per calendar per poll",
            1.0,
            note=(
                f"{len(inside) - 1} polls between the first and last round begun in a {seconds:.0f} s window,"
                f" {ACCOUNTS * 2} calendars on {ACCOUNTS} accounts"
                + (f"; {unattributed} requests named no account" if unattributed else "")
            ),
        ),
        from_samples(
            "idle_requests_hour",
            "idle cost, Crewboard: API requests per calendar per hour",
            cb_req,
            "req/cal/h",
            "—",
            None,
            note="the window's requests scaled to an hour; at a 10 s poll 360 is one per poll",
        ),
        from_samples(
            "idle_bytes",
            "idle cost, Crewboard: bytes per calendar per hour",
            [b / 1e3 for b in cb_bytes],
            "kB/cal/h",
            "—",
            None,
            note="HTTP/1.1 messages both ways, before TLS",
        ),
        from_samples(
            "idle_naive_requests",
            "idle cost, naive full re-read: API requests per calendar per hour",
            nv_req,
            "req/cal/h",
            "—",
            None,
            note=(
                f"{naive.polls} ticks in all, {statistics.median(nv_req) * POLL_SECONDS / 3600:.2f} requests per "
                f"calendar per tick; {ratio_req:.1f}× Crewboard's requests"
            ),
        ),
        from_samples(
            "idle_naive_bytes",
            "idle cost, naive full re-read: bytes per calendar per hour",
            [b / 1e3 for b in nv_bytes],
            "kB/cal/h",
            "—",
            None,
            note=f"{ratio_bytes:.0f}× Crewboard's bytes",
        ),
    ]
    for figure in figures[1:]:
        figure.status = "info"
    figures[0].extra.update(ratio_requests=ratio_req, ratio_bytes=ratio_bytes, window_seconds=seconds)
    report(figures, out)
    return figures


if __name__ == "__main__":
    run(sys.argv[1] if len(sys.argv) > 1 else None)
